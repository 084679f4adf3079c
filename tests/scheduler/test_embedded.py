"""The embedded default: `livehost serve` on SQLite without Redis runs the scheduler and a worker as
threads of its own process. Go live now through the API, see the live at nginx-rtmp, the worker in
/api/workers, interrupt the host with a comment and get its reply, stop the live."""
from __future__ import annotations

import time

import pytest

from backend.resources.users import create_user
from db.database import Database
from scheduler.claims import MemoryClaims
from tests.helpers.api import PASSWORD, api_call
from tests.helpers.deployment import Deployment
from tests.helpers.media import Player
from tests.helpers.process import free_port, wait_port


def test_memory_claims_follow_the_redis_rules():
    c = MemoryClaims()
    assert c.claim(7, "w1", 0.3) and not c.claim(7, "w2", 5)
    assert c.owners([7, 8]) == {7: "w1", 8: None}
    assert not c.renew(7, "w2", 5) and c.renew(7, "w1", 0.3)
    c.release(7, "w2")  # not the owner: nothing happens
    assert c.owners([7]) == {7: "w1"}
    time.sleep(0.35)
    assert c.owners([7]) == {7: None}, "a claim nobody renews expires"
    assert c.claim(7, "w2", 5) and not c.renew(7, "w1", 5)  # once another holds it, it is lost
    c.release(7, "w2")
    assert c.owners([7]) == {7: None}


@pytest.fixture
def embedded(nginx_rtmp, avatars_dir, tmp_path):
    from db.commands import upgrade

    url = f"sqlite:///{tmp_path / 'livehost.db'}"
    upgrade(url)
    db = Database(url)
    d = Deployment(db, "", nginx_rtmp, avatars_dir, tmp_path)
    del d.env["REDIS_URL"]
    with db.sessions() as s:
        create_user(s, "admin", PASSWORD, "admin")
        s.commit()
    yield d
    d.stop_all()
    db.dispose()


@pytest.mark.slow
def test_serve_without_redis_runs_the_live_itself(embedded):
    d = embedded
    port = free_port()
    d.start("serve", "--host", "127.0.0.1", "--port", str(port), log_name="api")
    wait_port(port, timeout=30)
    base = f"http://127.0.0.1:{port}"
    token = api_call(base, "POST", "/api/auth/login", body={"username": "admin", "password": PASSWORD})["access_token"]
    room, script = d.room("embedded"), d.script()
    player = Player(d.nginx.url("embedded"), timeout=30)
    player.start()
    live = api_call(base, "POST", "/api/sessions", token, {"room_id": room, "script_id": script,
                                                            "avatar_id": d.avatar_id, "voice_id": d.voice_id})
    sid = live["id"]

    def status() -> str:
        return api_call(base, "GET", f"/api/sessions/{sid}", token)["status"]

    try:
        assert d.wait_for(lambda: status() == "live", 30), f"status {status()}\n{d.logs()}"
        assert d.wait_for(lambda: len(player.video) >= 25, 30), f"no video at the ingest\n{d.logs()}"
        workers = api_call(base, "GET", "/api/workers", token)
        assert [(w["name"], w["slots"], w["running"]) for w in workers] == [("embedded", 1, 1)]
        api_call(base, "POST", f"/api/sessions/{sid}/comments", token,
                 {"text": "How much is the tea?", "user": "ann", "interrupt": True})

        def reply():
            items = api_call(base, "GET", f"/api/sessions/{sid}/comments", token)["items"]
            return items and items[0]["reply"]

        assert d.wait_for(reply, 30), f"the host did not answer\n{d.logs()}"
        api_call(base, "POST", f"/api/sessions/{sid}/stop", token, {})
        assert d.wait_for(lambda: status() == "ended", 30), f"status {status()}\n{d.logs()}"
    finally:
        player.stop()
