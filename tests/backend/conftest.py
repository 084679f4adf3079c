"""Fixtures for the admin API: the app on SQLite and on the real MariaDB, Redis, users and tokens.

`api` is parametrized over both databases; MariaDB (127.0.0.1:3306, root, database `test`, or
$LIVEHOST_TEST_MYSQL_URL) and Redis (127.0.0.1:6379/15, or $LIVEHOST_TEST_REDIS_URL) are real
servers: locally a test skips when one is down, under CI it fails."""
from __future__ import annotations

import uuid

import pytest

from backend import create_app
from backend.settings import ApiSettings
from tests.helpers.api import login, make_user
from tests.helpers.databases import need_mysql, reset_schema, scratch_mysql_database
from tests.helpers.process import need
from tests.helpers.servers import REDIS_URL, redis_available


@pytest.fixture(scope="session")
def mysql_url():
    """A MariaDB database of this test process alone, so concurrent runs on one server never meet."""
    need_mysql()
    with scratch_mysql_database("livehost_api") as url:
        yield url


@pytest.fixture
def redis_url():
    """The shared test Redis's URL (db 15)."""
    reason = redis_available()
    need(reason is None, reason or "")
    return REDIS_URL


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
