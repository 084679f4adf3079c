"""The admin API's `livehost` sub-commands: `db upgrade|downgrade|current`, `user create`, `serve`.

livehost/cli.py registers them with add_commands() and hands the parsed arguments to run().
Settings come from the environment (DATABASE_URL, REDIS_URL, LIVEHOST_*). Every failure a user can
cause (a bad URL, an unreachable server, a taken name) is one line on stderr and exit code 2."""
from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask

from backend.app import create_app
from backend.settings import ApiSettings
from db.commands import (CliError, check_database, check_known, check_redis, current, driver_message, head_revision,
                         migrate, positive, ready_schema, revision_name, run_command, sqlite_parent, upgrade)
from db.database import Database
from db.migrate import alembic_config
from db.models import ROLES, AuditEntry
from streamer.settings import SettingsError

log = logging.getLogger("livehost.api")

AppFactory = Callable[[ApiSettings], Flask]


def add_commands(sub) -> None:
    """Add the API's sub-commands to the `livehost` parser's sub-parsers."""
    d = sub.add_parser("db", help="database schema (Alembic): upgrade, downgrade, current revision")
    dsub = d.add_subparsers(dest="db_command", required=True)
    dsub.add_parser("upgrade", help="upgrade the schema to the newest revision (head)")
    dd = dsub.add_parser("downgrade", help="undo migrations: one step by default")
    dd.add_argument("revision", nargs="?", default="-1",
                    help="target revision: an id, 'base' (empty database) or -N steps (default -1)")
    dsub.add_parser("current", help="print the schema revision of the database")

    u = sub.add_parser("user", help="manage admin-dashboard accounts")
    usub = u.add_subparsers(dest="user_command", required=True)
    uc = usub.add_parser("create", help="create an account (password from $LIVEHOST_PASSWORD, else asked)")
    uc.add_argument("name", help="3-20 characters: a-z, 0-9 and _")
    uc.add_argument("--role", required=True, choices=ROLES)

    s = sub.add_parser("serve", help="serve the admin API (gunicorn; --dev for Flask's dev server)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--workers", type=positive, metavar="N",
                   help="worker processes (default: 1 without REDIS_URL, else 2 x cores + 1, at most 8)")
    s.add_argument("--threads", type=positive, default=16, metavar="N",
                   help="threads per worker (default 16; each open event stream holds one)")
    s.add_argument("--access-log", action="store_true", help="log every request to stderr")
    s.add_argument("--dev", action="store_true", help="Flask's development server instead of gunicorn")


def run(args, make_app: AppFactory | None = None) -> int:
    """Run a parsed API sub-command; the process exit code. `serve` serves the app that
    `make_app(settings)` builds (default: create_app; the `livehost` command adds the embedded
    scheduler and worker)."""
    def command() -> int:
        if args.command == "db":
            return {"upgrade": db_upgrade, "downgrade": db_downgrade, "current": db_current}[args.db_command](args)
        if args.command == "user":
            return user_create(args)
        return serve(args, make_app)
    return run_command(args, command)


# -- database -----------------------------------------------------------------------------------

def _settings() -> ApiSettings:
    try:
        return ApiSettings.from_env()
    except SettingsError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"cannot keep the API's secrets under {os.environ.get('LIVEHOST_VAR_DIR', 'var')}/: "
                       f"{e.strerror or e}") from None


def db_upgrade(args) -> int:
    url = _settings().database_url
    sqlite_parent(url)
    check_database(url)
    before, head = upgrade(url)
    if before == head:
        print(f"database schema: at {head} (head); nothing to do")
    else:
        print(f"database schema: upgraded {revision_name(before)} -> {head} (head)")
    return 0


def db_downgrade(args) -> int:
    from alembic import command

    url = _settings().database_url
    check_database(url)
    before = current(url)
    if before is None:
        print("database schema: at base; nothing to downgrade")
        return 0
    migrate(lambda u, rev: command.downgrade(alembic_config(u), rev), url, args.revision)
    print(f"database schema: downgraded {before} -> {revision_name(current(url))}")
    return 0


def db_current(args) -> int:
    url = _settings().database_url
    check_database(url)
    rev, head = current(url), head_revision()
    check_known(rev)
    if rev == head:
        print(f"{rev} (head)")
    else:
        print(f"{revision_name(rev)} (head is {head}; run `livehost db upgrade`)")
    return 0


# -- users --------------------------------------------------------------------------------------

def _password() -> str:
    from_env = os.environ.get("LIVEHOST_PASSWORD")
    if from_env is not None:
        return from_env
    if not _has_terminal():
        raise CliError("no password: set LIVEHOST_PASSWORD, or run in a terminal to be asked for one")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password again: ")
    except EOFError:
        raise CliError("no password: set LIVEHOST_PASSWORD or run in a terminal") from None
    if first != again:
        raise CliError("the two passwords differ")
    return first


def _has_terminal() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
        return True
    except OSError:
        return sys.stdin.isatty()


def user_create(args) -> int:
    # the API's modules (JWT, the resources) load only for this command, not for every parse
    from backend.auth import check_password, check_username
    from backend.errors import ApiError
    from backend.resources.users import create_user

    try:
        name = check_username(args.name)
    except ValueError as e:
        raise CliError(f"bad user name {args.name!r}: {e}") from None
    password = _password()
    try:
        check_password(password)
    except ValueError as e:
        raise CliError(str(e)) from None
    url = _settings().database_url
    ready_schema(url)
    database = Database(url)
    try:
        with database.sessions() as s:
            try:
                user = create_user(s, name, password, args.role)
            except ApiError as e:
                raise CliError(e.message) from None
            s.add(AuditEntry(user_id=None, username="(cli)", action="user.create", target=f"user:{user.id}",
                             detail={"username": user.username, "role": user.role}, ip=""))
            try:
                s.commit()
            except sa.exc.IntegrityError:  # created by someone else meanwhile
                raise CliError(f"user {name} already exists") from None
    except sa.exc.DBAPIError as e:
        raise CliError(f"cannot create the user: {driver_message(e)}") from None
    finally:
        database.dispose()
    print(f"user {user.username} created (role {user.role})")
    return 0


# -- serving ------------------------------------------------------------------------------------

def serve(args, make_app: AppFactory | None = None) -> int:
    from backend.serve import (  # gunicorn: loaded for this command only
        ServeOptions, check_port_free, default_workers, run_dev, run_gunicorn)

    if not 0 < args.port < 65536:
        raise CliError(f"--port must be 1-65535, not {args.port}")
    settings = _settings()
    workers = args.workers or default_workers(settings)
    if workers > 1 and not settings.redis_url:
        raise CliError("--workers above 1 needs REDIS_URL: logouts, rate limits and live control "
                       "are shared between workers through Redis")
    if args.dev and args.workers:
        raise CliError("--dev runs one process; leave out --workers")
    busy = check_port_free(args.host, args.port)
    if busy:
        raise CliError(busy)
    ready_schema(settings.database_url)
    if settings.redis_url:
        check_redis(settings.redis_url)
    options = ServeOptions(host=args.host, port=args.port, workers=workers, threads=args.threads,
                           access_log=args.access_log, debug=getattr(args, "verbose", False))
    make_app = make_app or create_app
    return run_dev(settings, options, make_app) if args.dev else run_gunicorn(settings, options, make_app)
