"""Shared fixtures: real servers started by the tests (nginx with the RTMP module), and the
rule that a test needing a missing server skips locally but fails under CI."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RTMP_MODULE_CANDIDATES = [Path("/usr/lib/nginx/modules/ngx_rtmp_module.so"),
                          Path("/usr/lib64/nginx/modules/ngx_rtmp_module.so")]


def need(condition: bool, reason: str) -> None:
    """Skip with `reason` when `condition` is false; under CI (LIVEHOST_REQUIRE_SERVERS=1) fail."""
    if condition:
        return
    if os.environ.get("LIVEHOST_REQUIRE_SERVERS") == "1":
        pytest.fail(f"required server missing under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_for(what, timeout: float, step: float = 0.05):
    """Poll `what()` until it returns something truthy (returned) or `timeout` s pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    return None


class NginxRtmp:
    """nginx with the RTMP module on a free loopback port; restartable on the same port."""

    def __init__(self, workdir: Path, module: Path, binary: str):
        self.dir, self.module, self.binary = workdir, module, binary
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(f"""
load_module {module};
daemon off;
master_process off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log info;
events {{ worker_connections 128; }}
rtmp {{
  server {{
    listen 127.0.0.1:{self.port};
    chunk_size 4096;
    application live {{ live on; record off; }}
  }}
}}
""")

    def url(self, stream: str) -> str:
        return f"rtmp://127.0.0.1:{self.port}/live/{stream}"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "-p", str(self.dir), "-e", str(self.dir / "logs/error.log"),
                                      "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def nginx_rtmp(tmp_path):
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    need(binary is not None, "nginx is not installed (apt-get install nginx libnginx-mod-rtmp)")
    module = next((m for m in RTMP_MODULE_CANDIDATES if m.exists()), None)
    need(module is not None, "nginx RTMP module is not installed (apt-get install libnginx-mod-rtmp)")
    server = NginxRtmp(tmp_path / "nginx", module, binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def avatars_dir(tmp_path_factory):
    """A folder with the default avatar prepared once for the whole test run."""
    from streamer.avatar.default import ensure_default_avatar

    folder = tmp_path_factory.mktemp("avatars")
    ensure_default_avatar(folder)
    return folder


def livehost_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "streamer.cli", *args]


@pytest.fixture
def cli_env(avatars_dir, tmp_path):
    env = dict(os.environ)
    env.update(LIVEHOST_AVATARS_DIR=str(avatars_dir), LIVEHOST_VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1")
    return env


REDIS_URL = os.environ.get("LIVEHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_bus():
    """A RedisBus on the shared test Redis (db 15); the keys of the sessions a test used are removed."""
    import redis

    from streamer.control.link import connect_redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as e:
        need(False, f"Redis not reachable at {REDIS_URL}: {e}")
    bus = connect_redis(REDIS_URL)
    yield bus
    for k in bus.r.scan_iter("livehost:session:t-*"):
        bus.r.delete(k)


class RedisServer:
    """A private redis-server on a free loopback port (no persistence), killable and restartable."""

    def __init__(self, binary: str):
        self.binary, self.port = binary, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)


@pytest.fixture
def redis_server():
    binary = shutil.which("redis-server")
    need(binary is not None, "redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.kill()
