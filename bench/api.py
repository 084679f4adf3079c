"""Admin API throughput and latency over real HTTP: gunicorn (`livehost serve`) on MariaDB + Redis.

Starts the server on a free loopback port against its own database (`livehost_bench` on the
server of $DATABASE_URL, default the tests' MariaDB; wiped and migrated each run) and Redis
($REDIS_URL, default db 13), creates a user and some rooms, then drives keep-alive HTTP/1.1 from
client threads, each scenario bounded by a request count and a time limit:

  login  POST /api/auth/login (the login rate limit is lifted; scrypt dominates)
  rooms  GET /api/rooms with a Bearer token (JWT check, Redis blocklist lookup, one page of rows)

Prints requests/s and p50/p99 latency; asserts nothing.

    python -m bench.api [--seconds 10] [--requests 20000] [--clients 8] [--workers N] [--threads 16]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_DATABASE = "mysql+pymysql://root:@127.0.0.1:3306/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
BENCH_DATABASE = "livehost_bench"
USER, PASSWORD = "bench_operator", "bench password 1"


def bench_database_url(base: str) -> str:
    """`base`'s server with the bench's own database (created if missing); SQLite: a temp file."""
    url = make_url(base)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix='livehost-bench-')) / 'bench.db'}"
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    with engine.begin() as c:
        c.execute(sa.text(f"CREATE DATABASE IF NOT EXISTS `{BENCH_DATABASE}` CHARACTER SET utf8mb4"))
    engine.dispose()
    return url.set(database=BENCH_DATABASE).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def livehost(env: dict, *args: str) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "livehost", *args], env=env, capture_output=True, text=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise SystemExit(f"bench.api: `livehost {' '.join(args)}` failed: {p.stderr.strip()}")
    return p


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: dict[str, int] = field(default_factory=dict)
    wall: float = 0.0


class Client:
    """One keep-alive HTTP/1.1 connection to the server."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None):
        headers = {"Connection": "keep-alive"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            payload = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            raise
        return r.status, payload

    def close(self) -> None:
        self.conn.close()


def drive(port: int, clients: int, requests: int, seconds: float, call) -> Result:
    """`requests` calls of call(client) (at most `seconds`) from `clients` threads."""
    result, lock = Result(), threading.Lock()
    left = [requests]
    deadline = time.monotonic() + seconds

    def worker():
        client = Client(port)
        mine, errors = [], {}
        try:
            while time.monotonic() < deadline:
                with lock:
                    if left[0] <= 0:
                        break
                    left[0] -= 1
                t = time.perf_counter()
                try:
                    status, _ = call(client)
                    ok = status == 200
                    key = str(status)
                except (OSError, http.client.HTTPException) as e:
                    ok, key = False, type(e).__name__
                if ok:
                    mine.append(time.perf_counter() - t)
                else:
                    errors[key] = errors.get(key, 0) + 1
        finally:
            client.close()
        with lock:
            result.latencies.extend(mine)
            for k, v in errors.items():
                result.errors[k] = result.errors.get(k, 0) + v

    threads = [threading.Thread(target=worker, name=f"bench-client-{i}") for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.wall = time.perf_counter() - t0
    return result


def report(name: str, r: Result) -> None:
    n = len(r.latencies)
    if n == 0:
        print(f"  {name:6s} no successful requests; errors {r.errors}")
        return
    q = statistics.quantiles(r.latencies, n=100, method="inclusive") if n > 1 else [r.latencies[0]] * 99
    errors = f", errors {r.errors}" if r.errors else ""
    print(f"  {name:6s} {n:7d} requests in {r.wall:5.1f} s  {n / r.wall:8.1f} req/s   "
          f"p50 {q[49] * 1000:7.2f} ms   p99 {q[98] * 1000:7.2f} ms{errors}")


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench.api: the server exited with {server.returncode}")
        try:
            client = Client(port)
            status, _ = client.request("GET", "/api/health")
            client.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit("bench.api: the server did not become healthy in time")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10, help="time limit per scenario (default 10)")
    p.add_argument("--requests", type=int, default=20000, help="request limit per scenario (default 20000)")
    p.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: livehost serve's)")
    p.add_argument("--threads", type=int, default=16, help="threads per worker (default 16)")
    p.add_argument("--rooms", type=int, default=20, help="rooms in the database (default 20)")
    args = p.parse_args()

    try:
        url = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE)
    except sa.exc.SQLAlchemyError as e:
        print(f"bench.api: cannot prepare the bench database: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    var = Path(tempfile.mkdtemp(prefix="livehost-bench-var-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHOST_")}
    env.update(DATABASE_URL=url, REDIS_URL=redis_url, LIVEHOST_VAR_DIR=str(var),
               LIVEHOST_JWT_SECRET=secrets.token_urlsafe(48), LIVEHOST_DATA_KEY=secrets.token_urlsafe(32),
               LIVEHOST_LOGIN_LIMIT="1000000 per minute", LIVEHOST_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")

    from db.migrate import wipe

    wipe(url)
    livehost(env, "db", "upgrade")
    livehost(env, "user", "create", USER, "--role", "operator")
    port = free_port()
    serve = ["serve", "--port", str(port), "--threads", str(args.threads)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    log = open(var / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "livehost", *serve], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, server)
        client = Client(port)
        status, body = client.request("POST", "/api/auth/login", {"username": USER, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"bench.api: login failed with {status}: {body[:200]!r}")
        token = json.loads(body)["access_token"]
        for i in range(args.rooms):
            client.request("POST", "/api/rooms", {"name": f"room {i}", "platform": "custom",
                                                  "server_url": "rtmp://127.0.0.1/live",
                                                  "stream_key": f"key-{i:04d}"}, token)
        client.close()
        workers = next((line.split("(gunicorn, ")[1].rstrip(")\n") for line in open(var / "server.log")
                        if "(gunicorn, " in line), "?")
        print(f"admin API on {make_url(url).get_backend_name()} + Redis, gunicorn gthread: {workers}; "
              f"{args.clients} keep-alive clients, {os.cpu_count()} CPUs shared by client and server")

        login = {"username": USER, "password": PASSWORD}
        scenarios = [
            ("login", lambda c: c.request("POST", "/api/auth/login", login)),
            ("rooms", lambda c: c.request("GET", "/api/rooms?per_page=20", token=token)),
        ]
        for name, call in scenarios:
            drive(port, args.clients, args.clients * 2, 10, call)  # warm up every worker
            report(name, drive(port, args.clients, args.requests, args.seconds, call))
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        wipe(url)
        shutil.rmtree(var, ignore_errors=True)
        if make_url(url).get_backend_name() == "sqlite":
            shutil.rmtree(Path(make_url(url).database).parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
