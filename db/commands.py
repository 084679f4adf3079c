"""What the server commands share (the API's `db`, `user`, `serve`; the scheduler's `scheduler`,
`worker`): one-line errors, option types, and the checks run before they start: the database and
Redis named in the settings answer, and the schema is at head (SQLite is upgraded on the spot).

Every failure a user can cause (a bad URL, an unreachable server) is a CliError: one line for
stderr, exit code 2."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from db.migrate import alembic_config, current_revision, upgrade_to_head

log = logging.getLogger("livehost.api")


class CliError(Exception):
    """A one-line message for the user; the command exits with code 2."""


def run_command(args, command: Callable[[], int]) -> int:
    """Run a server command: Alembic's chatter off unless --verbose, a CliError one line on
    stderr and exit code 2, Ctrl-C exit code 130."""
    if not getattr(args, "verbose", False):
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return command()
    except CliError as e:
        print(f"livehost: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130


def positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


# -- the database -------------------------------------------------------------------------------

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
        raise CliError(f"DATABASE_URL is not usable: {first_line(e)}") from None
    try:
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as e:
        raise CliError(f"cannot reach the database at {safe_url(url)}: {driver_message(e)}") from None
    finally:
        engine.dispose()


def driver_message(e: sa.exc.DBAPIError) -> str:
    """The database driver's own message of `e`, one line."""
    orig = e.orig
    args = getattr(orig, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):  # PyMySQL: (code, message)
        return first_line(args[1])
    return first_line(orig or e)


def first_line(e) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# -- the schema ---------------------------------------------------------------------------------

def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return _scripts().get_current_head()


def check_known(rev: str | None) -> None:
    """CliError when the database is at a revision these migrations do not have (a newer release)."""
    if rev is None:
        return
    try:
        _scripts().get_revision(rev)
    except CommandError:
        raise CliError(f"the database schema is at revision {rev}, which this livehost does not know "
                       "(was it migrated by a newer release?)") from None


def current(url: str) -> str | None:
    """The schema revision of the database at `url` (None: empty); CliError if unreadable."""
    try:
        return current_revision(url)
    except sa.exc.DBAPIError as e:
        raise CliError(f"cannot read the schema revision: {driver_message(e)}") from None


def revision_name(rev: str | None) -> str:
    return rev or "base"


def migrate(fn, url: str, *args) -> None:
    """Run the migration `fn(url, *args)`; CliError with one line if it is refused or fails."""
    try:
        fn(url, *args)
    except CommandError as e:
        raise CliError(f"migration refused: {first_line(e)}") from None
    except sa.exc.DBAPIError as e:
        raise CliError(f"migration failed (the database was left as the failing step found it): "
                       f"{driver_message(e)}") from None


def sqlite_parent(url: str) -> None:
    """Make the folder of a SQLite file (var/ by default) so a fresh checkout needs no setup."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def upgrade(url: str) -> tuple[str | None, str]:
    """Bring the schema at `url` to head; (revision before, revision after)."""
    before, head = current(url), head_revision()
    check_known(before)
    if before != head:
        migrate(upgrade_to_head, url)
    return before, head


def ready_schema(url: str) -> None:
    """SQLite (the embedded default) is upgraded to head on the spot; a server database must
    already be at head, migrated on purpose with `livehost db upgrade`."""
    sqlite_parent(url)
    check_database(url)
    if make_url(url).get_backend_name() == "sqlite":
        before, head = upgrade(url)
        if before != head:
            log.info("database schema upgraded %s -> %s", revision_name(before), head)
        return
    rev, head = current(url), head_revision()
    check_known(rev)
    if rev != head:
        raise CliError(f"the database schema is at {revision_name(rev)}, not {head} (head): "
                       "run `livehost db upgrade` first")


# -- Redis ----------------------------------------------------------------------------------------

def check_redis(url: str) -> None:
    """Ping Redis once; CliError with one line saying why not."""
    import redis  # only the commands that use Redis pay for loading it

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except ValueError as e:
        raise CliError(f"REDIS_URL is not a Redis URL: {first_line(e)}") from None
    except redis.RedisError as e:
        raise CliError(f"cannot reach Redis at {safe_url(url)}: {first_line(e)}") from None
