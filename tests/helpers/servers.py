"""Servers the tests start or reach: nginx with the RTMP module as the ingest, a private
redis-server, and the shared test Redis (db 15, or $LIVEHOST_TEST_REDIS_URL)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import redis

from tests.helpers.process import free_port, wait_port

RTMP_MODULE_CANDIDATES = [Path("/usr/lib/nginx/modules/ngx_rtmp_module.so"),
                          Path("/usr/lib64/nginx/modules/ngx_rtmp_module.so")]
REDIS_URL = os.environ.get("LIVEHOST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def nginx_binary() -> str | None:
    """The nginx executable, or None when nginx is not installed."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def rtmp_module() -> Path | None:
    """nginx's RTMP module, or None when it is not installed."""
    return next((m for m in RTMP_MODULE_CANDIDATES if m.exists()), None)


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

    def publishes(self, stream: str) -> int:
        """How many times a publisher has started pushing `stream` (nginx-rtmp logs each at info)."""
        log = self.dir / "logs/error.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return text.count(f"publish: name='{stream}' ")

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


def redis_available() -> str | None:
    """None when the shared test Redis answers, else why not."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return None
    except redis.RedisError as e:
        return f"Redis not reachable at {REDIS_URL}: {e}"
