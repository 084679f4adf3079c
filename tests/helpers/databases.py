"""Databases of a test's own: scratch MariaDB databases on the test server (127.0.0.1:3306, root,
database `test`, or $LIVEHOST_TEST_MYSQL_URL) that concurrent runs never share, and schemas at head."""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from db.commands import upgrade
from db.database import Database
from db.migrate import alembic_config, upgrade_to_head, wipe
from tests.helpers.process import need

MYSQL_URL = os.environ.get("LIVEHOST_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")


def mysql_available() -> str | None:
    """None when the test MariaDB answers, else why not."""
    try:
        engine = sa.create_engine(MYSQL_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as e:  # noqa: BLE001
        return f"MariaDB/MySQL not reachable at {MYSQL_URL}: {type(e).__name__}"


def need_mysql() -> None:
    """Skip (fail under CI) when the test MariaDB does not answer."""
    reason = mysql_available()
    need(reason is None, reason or "")


@contextmanager
def scratch_mysql_database(prefix: str) -> Iterator[str]:
    """A URL like MYSQL_URL's for a database of this process alone (`prefix`_PID), dropped after
    use: concurrent test runs on one server cannot meet. MYSQL_URL's own database when the account
    may not create one."""
    name = f"{prefix}_{os.getpid()}"
    server = sa.create_engine(MYSQL_URL, connect_args={"connect_timeout": 2}, poolclass=sa.pool.NullPool)
    try:
        with server.begin() as c:
            c.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4"))
    except sa.exc.DBAPIError:
        yield MYSQL_URL
        return
    try:
        yield make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.begin() as c:
            c.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


@contextmanager
def scratch_database(prefix: str = "livehost_sched") -> Iterator[Database]:
    """A MariaDB database of its own at the schema's head, dropped after (needs the server)."""
    need_mysql()
    with scratch_mysql_database(f"{prefix}_{uuid.uuid4().hex[:6]}") as url:
        upgrade(url)
        db = Database(url)
        yield db
        db.dispose()


def reset_schema(url: str) -> None:
    """An empty database with the current schema, Alembic's. Migrating takes a third of a second (the
    SQLite table rebuilds of batch mode), so it is done once a run: a SQLite file is a copy of a
    migrated one; a MariaDB database already at head with the head's tables is emptied instead."""
    if url.startswith("sqlite:///"):
        shutil.copyfile(_sqlite_at_head(), url.removeprefix("sqlite:///"))
    elif not _emptied_at_head(url):
        wipe(url)
        upgrade_to_head(url)


@functools.cache
def _sqlite_at_head() -> str:
    path = os.path.join(tempfile.mkdtemp(prefix="livehost-schema-"), "head.db")
    upgrade_to_head(f"sqlite:///{path}")
    atexit.register(shutil.rmtree, os.path.dirname(path), True)
    return path


def _emptied_at_head(url: str) -> bool:
    """Empties every table when the database is at the head revision with exactly the head's
    tables (a test may have migrated it elsewhere); False, untouched, when it is not."""
    from db.models import Base

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as c:
            tables = set(sa.inspect(c).get_table_names())
            if "alembic_version" not in tables or tables - {"alembic_version"} != set(Base.metadata.tables):
                return False
            if c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() != alembic_head():
                return False
            c.execute(sa.text("SET FOREIGN_KEY_CHECKS=0"))
            for table in Base.metadata.tables:
                c.execute(sa.text(f"TRUNCATE TABLE `{table}`"))
            c.execute(sa.text("SET FOREIGN_KEY_CHECKS=1"))
        return True
    finally:
        engine.dispose()


@functools.cache
def alembic_head() -> str:
    """The head revision of migrations/, read from the scripts (not from a database)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
