"""Shared fixtures: real servers started by the tests (nginx with the RTMP module, redis-server),
the shared test Redis, and the default avatar. What they are built from is in tests/helpers/;
a test needing a missing server skips locally but fails under CI (tests.helpers.process.need)."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.helpers.process import need
from tests.helpers.servers import REDIS_URL, NginxRtmp, RedisServer, nginx_binary, redis_available, rtmp_module


@pytest.fixture
def nginx_rtmp(tmp_path):
    """nginx-rtmp on a free loopback port (NginxRtmp), stopped after the test."""
    binary = nginx_binary()
    need(binary is not None, "nginx is not installed (apt-get install nginx libnginx-mod-rtmp)")
    module = rtmp_module()
    need(module is not None, "nginx RTMP module is not installed (apt-get install libnginx-mod-rtmp)")
    server = NginxRtmp(tmp_path / "nginx", module, binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def second_ingest(tmp_path):
    """Another nginx-rtmp, as a second platform."""
    need(nginx_binary() is not None and rtmp_module() is not None, "nginx with the RTMP module is not installed")
    server = NginxRtmp(tmp_path / "nginx-2", rtmp_module(), nginx_binary())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def avatars_dir(tmp_path_factory):
    """A folder with the default avatar prepared once for the whole test run."""
    from streamer.avatar.default import ensure_default_avatar  # conftest imports nothing of the live

    folder = tmp_path_factory.mktemp("avatars")
    ensure_default_avatar(folder)
    return folder


@pytest.fixture
def cli_env(avatars_dir, tmp_path):
    env = dict(os.environ)
    env.update(LIVEHOST_AVATARS_DIR=str(avatars_dir), LIVEHOST_VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def redis_bus():
    """A RedisBus on the shared test Redis (db 15); the keys of the sessions a test used are removed."""
    from streamer.control.link import connect_redis  # conftest imports nothing of the live

    reason = redis_available()
    need(reason is None, reason or "")
    bus = connect_redis(REDIS_URL)
    yield bus
    for k in bus.r.scan_iter("livehost:session:t-*"):
        bus.r.delete(k)


@pytest.fixture
def redis_server():
    """A private redis-server on a free loopback port (RedisServer), killed after the test."""
    binary = shutil.which("redis-server")
    need(binary is not None, "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.kill()
