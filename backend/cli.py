"""The admin API's `livehost` sub-commands: `db upgrade|downgrade|current`, `user create`, `serve`.

streamer/cli.py registers them with add_commands() and hands the parsed arguments to run().
Settings come from the environment (DATABASE_URL, REDIS_URL, LIVEHOST_*). Every failure a user can
cause (a bad URL, an unreachable server, a taken name) is one line on stderr and exit code 2."""
from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import os
import signal
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from backend.settings import ApiSettings

ROLES = ("admin", "operator", "viewer")
log = logging.getLogger("livehost.api")


class CliError(Exception):
    """A one-line message for the user; the command exits with code 2."""


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
    s.add_argument("--workers", type=_positive, metavar="N",
                   help="worker processes (default: 1 without REDIS_URL, else 2 x cores + 1, at most 8)")
    s.add_argument("--threads", type=_positive, default=16, metavar="N",
                   help="threads per worker (default 16; each open event stream holds one)")
    s.add_argument("--access-log", action="store_true", help="log every request to stderr")
    s.add_argument("--dev", action="store_true", help="Flask's development server instead of gunicorn")

    sc = sub.add_parser("scheduler", help="start scheduled lives on time, stop them at their end, restart the "
                                          "lives of dead workers (DATABASE_URL, REDIS_URL)")
    sc.add_argument("--interval", type=float, default=1.0, metavar="SECONDS", help="seconds between passes")
    sc.add_argument("--once", action="store_true", help="one pass, then exit")
    w = sub.add_parser("worker", help="run lives from the queue, up to --slots at once, sharing loaded models")
    w.add_argument("--slots", type=_positive, default=1, metavar="N", help="lives at once (default 1)")
    w.add_argument("--name", help="worker name (default: host-pid)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args) -> int:
    """Run a parsed API sub-command; the process exit code."""
    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if args.command == "db":
            return {"upgrade": db_upgrade, "downgrade": db_downgrade, "current": db_current}[args.db_command](args)
        if args.command == "user":
            return user_create(args)
        if args.command == "scheduler":
            return scheduler(args)
        if args.command == "worker":
            return worker(args)
        return serve(args)
    except CliError as e:
        print(f"livehost: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


# -- database -----------------------------------------------------------------------------------

def _settings() -> ApiSettings:
    try:
        return ApiSettings.from_env()
    except OSError as e:
        raise CliError(f"cannot keep the API's secrets under {os.environ.get('LIVEHOST_VAR_DIR', 'var')}/: "
                       f"{e.strerror or e}") from None


def safe_url(url: str) -> str:
    """The URL as it may be shown: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown only by its scheme
        return url.split("://", 1)[0] + "://..." if "://" in url else "(unparsable URL)"


def check_database(url: str) -> None:
    """Connect once; CliError with one line saying why not (bad URL, no driver, unreachable)."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        shown = f" ({url.split('://', 1)[0]}://...)" if "://" in url else ""  # never the password
        raise CliError(f"DATABASE_URL is not a database URL{shown}: expected "
                       "mysql+pymysql://user:password@host/db or sqlite:///path") from None
    try:
        engine = sa.create_engine(parsed, **({"connect_args": {"connect_timeout": 5}}
                                             if parsed.get_backend_name() == "mysql" else {}))
    except sa.exc.NoSuchModuleError:
        raise CliError(f"DATABASE_URL names an unknown kind of database: {parsed.drivername!r} "
                       "(use mysql+pymysql:// or sqlite://)") from None
    except ImportError as e:
        raise CliError(f"the driver for {parsed.drivername}:// is not installed ({e}); "
                       "use mysql+pymysql:// for MySQL/MariaDB") from None
    except (sa.exc.ArgumentError, TypeError, ValueError) as e:
        raise CliError(f"DATABASE_URL is not usable: {_first_line(e)}") from None
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as e:
        raise CliError(f"cannot reach the database at {safe_url(url)}: {_driver_message(e)}") from None
    finally:
        engine.dispose()


def _driver_message(e: sa.exc.DBAPIError) -> str:
    orig = e.orig
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):  # PyMySQL: (code, message)
        return _first_line(args[1])
    return _first_line(orig or e)


def _first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _scripts() -> ScriptDirectory:
    from backend.migrate import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return _scripts().get_current_head()


def _check_known(rev: str | None) -> None:
    """CliError when the database is at a revision these migrations do not have (a newer release)."""
    if rev is None:
        return
    try:
        _scripts().get_revision(rev)
    except CommandError:
        raise CliError(f"the database schema is at revision {rev}, which this livehost does not know "
                       "(was it migrated by a newer release?)") from None


def _current(url: str) -> str | None:
    from backend.migrate import current_revision

    try:
        return current_revision(url)
    except sa.exc.DBAPIError as e:
        raise CliError(f"cannot read the schema revision: {_driver_message(e)}") from None


def _name(rev: str | None) -> str:
    return rev or "base"


def _migrate(fn, url: str, *args) -> None:
    try:
        fn(url, *args)
    except CommandError as e:
        raise CliError(f"migration refused: {_first_line(e)}") from None
    except sa.exc.DBAPIError as e:
        raise CliError(f"migration failed (the database was left as the failing step found it): "
                       f"{_driver_message(e)}") from None


def _sqlite_parent(url: str) -> None:
    """Make the folder of a SQLite file (var/ by default) so a fresh checkout needs no setup."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the schema at `url` to head; (revision before, revision after)."""
    from backend.migrate import upgrade_to_head

    before, head = _current(url), head_revision()
    _check_known(before)
    if before != head:
        _migrate(upgrade_to_head, url)
    return before, head


def db_upgrade(args) -> int:
    url = _settings().database_url
    _sqlite_parent(url)
    check_database(url)
    before, head = upgrade(url)
    if before == head:
        print(f"database schema: at {head} (head); nothing to do")
    else:
        print(f"database schema: upgraded {_name(before)} -> {head} (head)")
    return 0


def db_downgrade(args) -> int:
    from alembic import command

    from backend.migrate import alembic_config

    url = _settings().database_url
    check_database(url)
    before = _current(url)
    if before is None:
        print("database schema: at base; nothing to downgrade")
        return 0
    _migrate(lambda u, rev: command.downgrade(alembic_config(u), rev), url, args.revision)
    print(f"database schema: downgraded {before} -> {_name(_current(url))}")
    return 0


def db_current(args) -> int:
    url = _settings().database_url
    check_database(url)
    rev, head = _current(url), head_revision()
    _check_known(rev)
    if rev == head:
        print(f"{rev} (head)")
    else:
        print(f"{_name(rev)} (head is {head}; run `livehost db upgrade`)")
    return 0


def ready_schema(url: str) -> None:
    """SQLite (the embedded default) is upgraded to head on the spot; a server database must
    already be at head, migrated on purpose with `livehost db upgrade`."""
    _sqlite_parent(url)
    check_database(url)
    if make_url(url).get_backend_name() == "sqlite":
        before, head = upgrade(url)
        if before != head:
            log.info("database schema upgraded %s -> %s", _name(before), head)
        return
    rev, head = _current(url), head_revision()
    _check_known(rev)
    if rev != head:
        raise CliError(f"the database schema is at {_name(rev)}, not {head} (head): "
                       "run `livehost db upgrade` first")


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
    from backend.auth import check_password, check_username
    from backend.db import Database
    from backend.errors import ApiError
    from backend.models import AuditEntry
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
        raise CliError(f"cannot create the user: {_driver_message(e)}") from None
    finally:
        database.dispose()
    print(f"user {user.username} created (role {user.role})")
    return 0


# -- serving ------------------------------------------------------------------------------------

def check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except ValueError as e:
        raise CliError(f"REDIS_URL is not a Redis URL: {_first_line(e)}") from None
    except redis.RedisError as e:
        raise CliError(f"cannot reach Redis at {safe_url(url)}: {_first_line(e)}") from None


def serve(args) -> int:
    from backend.serve import ServeOptions, check_port_free, default_workers, run_dev, run_gunicorn

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
    return run_dev(settings, options) if args.dev else run_gunicorn(settings, options)


# -- scheduler and workers ------------------------------------------------------------------------

def _dispatch_settings():
    from scheduler.dispatch import DispatchError, DispatchSettings

    try:
        settings = DispatchSettings.from_env()
    except DispatchError as e:
        raise CliError(str(e)) from None
    ready_schema(settings.database_url)
    check_redis(settings.redis_url)
    return settings


def scheduler(args) -> int:
    from scheduler.dispatch import Scheduler

    settings = _dispatch_settings()
    sched = Scheduler(dataclasses.replace(settings, interval_s=args.interval))
    if args.once:
        print(sched.tick())
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sched.stop())
    try:
        sched.run()
    finally:
        sched.close()
    return 0


def worker(args) -> int:
    from scheduler.worker import run_worker

    return run_worker(args.slots, args.name, _dispatch_settings())
