"""Fixtures for the admin API: the app on SQLite and on the real MariaDB, Redis, users and tokens.

`api` is parametrized over both databases; MariaDB (127.0.0.1:3306, root, database `test`, or
$LIVEHOST_TEST_MYSQL_URL) and Redis (127.0.0.1:6379/15, or $LIVEHOST_TEST_REDIS_URL) are real
servers: locally a test skips when one is down, under CI it fails."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from backend import create_app
from backend.resources.users import create_user
from backend.settings import ApiSettings
from tests.conftest import need

MYSQL_URL = os.environ.get("LIVEHOST_TEST_MYSQL_URL", "mysql+pymysql://root:@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("LIVEHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PASSWORD = "correct horse battery"


def mysql_available() -> str | None:
    try:
        engine = sa.create_engine(MYSQL_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as e:  # noqa: BLE001
        return f"MariaDB/MySQL not reachable at {MYSQL_URL}: {type(e).__name__}"


def redis_available() -> str | None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return None
    except redis.RedisError as e:
        return f"Redis not reachable at {REDIS_URL}: {e}"


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


@pytest.fixture(scope="session")
def mysql_url():
    """A MariaDB database of this test process alone, so concurrent runs on one server never meet."""
    reason = mysql_available()
    need(reason is None, reason or "")
    with scratch_mysql_database("livehost_api") as url:
        yield url


@pytest.fixture
def redis_url():
    reason = redis_available()
    need(reason is None, reason or "")
    return REDIS_URL


def reset_schema(url: str) -> None:
    """Empty database with the current schema (Alembic's, once migrations exist)."""
    from backend.migrate import upgrade_to_head, wipe

    wipe(url)
    upgrade_to_head(url)


@pytest.fixture(params=["sqlite", "mariadb"])
def api(request, tmp_path, redis_url):
    """A test client of an app on a fresh database, with Redis for tokens, limits and control."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'api.db'}"
    else:
        url = request.getfixturevalue("mysql_url")
    reset_schema(url)
    prefix = uuid.uuid4().hex[:8]
    settings = ApiSettings.from_env(env={}, database_url=url, redis_url=redis_url, var_dir=tmp_path / "var",
                                    avatars_dir=tmp_path / "avatars", testing=True,
                                    jwt_secret="test-secret-" + prefix * 4, data_key="data-" + prefix)
    app = create_app(settings)
    app.extensions["livehost.limiter"].reset()
    client = app.test_client()
    client.db_kind = request.param
    client.app_ = app
    yield client
    app.extensions["livehost.db"].dispose()


def make_user(client, username: str, role: str) -> None:
    db = client.app_.extensions["livehost.db"]
    with db.sessions() as s:
        create_user(s, username, PASSWORD, role)
        s.commit()


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


@pytest.fixture
def tokens(api):
    """Access tokens for an admin, an operator and a viewer: {'admin': 'Bearer ...', ...}."""
    out = {}
    for role in ("admin", "operator", "viewer"):
        make_user(api, f"{role}_1", role)
        r = login(api, f"{role}_1")
        assert r.status_code == 200, r.get_json()
        out[role] = {"Authorization": f"Bearer {r.get_json()['access_token']}"}
    return out
