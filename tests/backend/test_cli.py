"""`livehost db`, `livehost user create` and `livehost serve`, run as a user runs them: as a
subprocess, with settings in the environment, answering over real HTTP."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from db.migrate import upgrade_to_head, wipe
from tests.helpers.api import PASSWORD
from tests.helpers.databases import alembic_head, need_mysql, scratch_mysql_database
from tests.helpers.process import free_port, livehost_cmd, wait_port


@pytest.fixture
def env(tmp_path):
    """The environment of a user with a fresh SQLite database and no Redis."""
    out = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEHOST_", "DATABASE_URL", "REDIS_URL"))}
    out.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", LIVEHOST_VAR_DIR=str(tmp_path / "var"),
               LIVEHOST_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    return out


def livehost(env, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(livehost_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def assert_one_line_error(p, *words):
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("livehost: error: "), p.stderr
    for w in words:
        assert w in lines[0], lines[0]


def users(env) -> dict[str, tuple[str, str]]:
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as c:
            return {r.username: (r.role, r.password_hash)
                    for r in c.execute(sa.text("SELECT username, role, password_hash FROM users"))}
    finally:
        engine.dispose()


def test_db_upgrade_downgrade_and_current_print_revisions(env):
    p = livehost(env, "db", "current")
    assert p.returncode == 0 and p.stdout.startswith("base") and "livehost db upgrade" in p.stdout
    p = livehost(env, "db", "upgrade")
    assert p.returncode == 0 and f"base -> {alembic_head()} (head)" in p.stdout, p.stdout + p.stderr
    p = livehost(env, "db", "upgrade")
    assert p.returncode == 0 and "nothing to do" in p.stdout
    assert livehost(env, "db", "current").stdout.strip() == f"{alembic_head()} (head)"
    p = livehost(env, "db", "downgrade", "base")
    assert p.returncode == 0 and f"{alembic_head()} -> base" in p.stdout, p.stdout + p.stderr
    assert livehost(env, "db", "current").stdout.startswith("base")
    assert livehost(env, "db", "upgrade").returncode == 0
    p = livehost(env, "db", "downgrade", "no_such_revision")
    assert_one_line_error(p, "no_such_revision")


def test_user_create_stores_a_hashed_password_and_the_role(env):
    p = livehost(env, "user", "create", "Anna_01", "--role", "operator")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "user anna_01 created (role operator)"
    role, password_hash = users(env)["anna_01"]  # the SQLite schema was made on the spot
    assert role == "operator" and PASSWORD not in password_hash
    assert check_password_hash(password_hash, PASSWORD)


def test_bad_name_taken_name_and_short_password_exit_2_with_one_line(env):
    assert livehost(env, "user", "create", "anna", "--role", "admin").returncode == 0
    assert_one_line_error(livehost(env, "user", "create", "ANNA", "--role", "viewer"), "already exists")
    assert_one_line_error(livehost(env, "user", "create", "a b!", "--role", "viewer"), "a-z, 0-9 and _")
    assert_one_line_error(livehost(env | {"LIVEHOST_PASSWORD": "short"}, "user", "create", "bob", "--role", "viewer"),
                          "8 to 128")
    no_password = {k: v for k, v in env.items() if k != "LIVEHOST_PASSWORD"}
    p = subprocess.run(livehost_cmd("user", "create", "bob", "--role", "viewer"), env=no_password,
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, start_new_session=True)
    assert_one_line_error(p, "LIVEHOST_PASSWORD")
    assert livehost(env, "user", "create", "bob", "--role", "superuser").returncode == 2  # argparse: choices
    # one rule everywhere: a password the API would refuse (and sign-in never match) is refused here too
    assert_one_line_error(livehost(env | {"LIVEHOST_PASSWORD": " spaced password "}, "user", "create", "bob",
                                   "--role", "viewer"), "begin or end with a space")
    assert set(users(env)) == {"anna"}


def test_bad_or_unreachable_database_is_one_line_without_the_password(env):
    assert_one_line_error(livehost(env | {"DATABASE_URL": "postgresish://u:pw@h/db"}, "db", "upgrade"),
                          "unknown kind of database")
    assert_one_line_error(livehost(env | {"DATABASE_URL": "not a url"}, "db", "current"), "not a database URL")
    port = free_port()  # nothing listens there
    for args in (("db", "upgrade"), ("user", "create", "carl", "--role", "viewer"), ("serve", "--port", "1")):
        p = livehost(env | {"DATABASE_URL": f"mysql+pymysql://root:s3cret@127.0.0.1:{port}/x"}, *args)
        assert_one_line_error(p, "cannot reach the database", str(port))
        assert "s3cret" not in p.stderr + p.stdout


def test_serve_answers_health_and_login_over_http_then_stops_cleanly(env):
    assert livehost(env, "user", "create", "anna", "--role", "admin").returncode == 0
    port = free_port()
    server = subprocess.Popen(livehost_cmd("serve", "--port", str(port), "--threads", "4", "--access-log"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/api/health", timeout=10) as r:
            assert r.status == 200 and json.load(r)["database"] == "ok"
        login = urllib.request.Request(f"{base}/api/auth/login", method="POST",
                                       data=json.dumps({"username": "anna", "password": PASSWORD}).encode(),
                                       headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(login, timeout=10) as r:
            assert r.status == 200
            token = json.load(r)["access_token"]
        me = urllib.request.Request(f"{base}/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(me, timeout=10) as r:
            assert json.load(r)["username"] == "anna"
        # a token in a URL opens only event streams, and the access log never prints it
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/api/auth/me?access_token={token}", timeout=10)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/api/sessions/7/events?access_token={token}", timeout=10)
        assert missing.value.code == 404  # past the sign-in: no such session
        # a browser's event stream does not hold up a stop (gunicorn would wait graceful_timeout, 20 s)
        feed = urllib.request.urlopen(f"{base}/api/events?access_token={token}", timeout=10)
        assert feed.readline().startswith(b"retry:")
        ended = {}
        reader = threading.Thread(target=lambda: ended.update(rest=feed.read(), at=time.monotonic()))
        reader.start()  # the browser reads on
    finally:
        stop_asked = time.monotonic()
        server.terminate()
        out, _ = server.communicate(timeout=30)
    stopped_in = time.monotonic() - stop_asked
    reader.join(10)
    assert server.returncode == 0, out
    assert stopped_in < 5.0, f"the server took {stopped_in:.1f} s to stop with an event stream open"
    assert ended["at"] - stop_asked < 5.0 and ended["rest"].strip() in (b"", b": keep-alive")  # it reconnects
    assert "gthread" in out and "Traceback" not in out, out
    assert "/api/sessions/7/events?access_token=***" in out and token not in out, out


def test_serve_refuses_a_port_in_use(env):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        p = livehost(env, "serve", "--port", str(busy.getsockname()[1]))
    assert_one_line_error(p, "already in use")


def test_serve_refuses_a_mysql_schema_behind_head(env):
    need_mysql()
    with scratch_mysql_database("livehost_cli") as url:
        wipe(url)
        try:
            p = livehost(env | {"DATABASE_URL": url}, "serve", "--port", str(free_port()))
            assert_one_line_error(p, "not", alembic_head(), "livehost db upgrade")
            upgrade_to_head(url)
            p = livehost(env | {"DATABASE_URL": url}, "db", "current")
            assert p.stdout.strip() == f"{alembic_head()} (head)"
        finally:
            wipe(url)


def test_serve_with_three_workers_scrapes_every_workers_requests(env, redis_url, tmp_path):
    """gunicorn's workers count their requests in shared files (PROMETHEUS_MULTIPROC_DIR, here given,
    emptied of a stale run's files at the start): whichever worker answers the scrape, it counts
    all the requests."""
    from prometheus_client.parser import text_string_to_metric_families

    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"stale")  # an earlier run's: would break the scrape
    port = free_port()
    server = subprocess.Popen(livehost_cmd("serve", "--port", str(port), "--workers", "3", "--threads", "2"),
                              env=env | {"REDIS_URL": redis_url, "PROMETHEUS_MULTIPROC_DIR": str(folder)},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        for _ in range(30):  # a new connection each: spread over the workers
            with urllib.request.urlopen(f"{base}/api/health", timeout=10) as r:
                assert r.status == 200
        for _ in range(6):
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as r:
                families = list(text_string_to_metric_families(r.read().decode()))
            counts = {s.labels["route"]: s.value for f in families for s in f.samples
                      if s.name == "livehost_http_requests_total" and s.labels.get("status") == "200"}
            assert counts.get("/api/health") == 30, counts
        writers = {p.stem.split("_")[-1] for p in folder.glob("counter_*.db")}
        assert writers and "999999" not in writers, writers  # the workers' own files, the stale one gone
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0, out
    assert out.count("Booting worker") == 3 and "Traceback" not in out, out
