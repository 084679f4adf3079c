"""A whole livehost deployment in miniature (tests/helpers/deployment.py): a MariaDB database of its
own, a private Redis (Celery's broker and the control bus), nginx-rtmp as the ingest, and
`livehost scheduler` / `livehost worker` as real processes."""
from __future__ import annotations

import pytest

from db.commands import upgrade
from db.database import Database
from tests.helpers.databases import scratch_database
from tests.helpers.deployment import Deployment


@pytest.fixture
def database():
    """A MariaDB database of this test alone at the schema's head."""
    with scratch_database() as db:
        yield db


@pytest.fixture(params=["sqlite", "mariadb"])
def any_database(request, tmp_path):
    """A database at the schema's head: SQLite, then a MariaDB one of this test alone."""
    if request.param == "sqlite":
        upgrade(url := f"sqlite:///{tmp_path / 'worker.db'}")
        db = Database(url)
        yield db
        db.dispose()
    else:
        with scratch_database() as db:
            yield db


@pytest.fixture
def deployment(database, redis_server, nginx_rtmp, avatars_dir, tmp_path):
    d = Deployment(database, redis_server.url, nginx_rtmp, avatars_dir, tmp_path)
    yield d
    d.stop_all()
