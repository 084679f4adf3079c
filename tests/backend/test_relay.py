"""A room's relay: the token that opens it (shown once, kept only as a hash, replaced at will),
and events posted over HTTP or a WebSocket reaching the room's running live as one `audience`
command on the real Redis stream; everything refused says why."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import subprocess
import threading
import urllib.request
from datetime import timedelta
from types import SimpleNamespace

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.orm import Session
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from werkzeug.serving import make_server

from backend.serve import AccessLogger, QuietRequestHandler
from db.migrate import upgrade_to_head
from db.models import Avatar, LiveSession, Room, Script, Voice
from streamer.control.bus import RedisBus
from tests.helpers.api import make_refs
from tests.helpers.process import free_port, livehost_cmd, wait_port

COMMENT = {"type": "comment", "platform": "douyin", "user_id": "u1", "user": "小明", "text": "多少钱？"}
GIFT = {"type": "gift", "user": "Ann", "gift": "rose", "count": 3, "value": 0.3, "currency": "CNY"}


@pytest.fixture
def refs(api, tokens) -> dict:
    """A script, an avatar and a voice for lives (and a first room)."""
    return make_refs(api, tokens)


def start_live(api, refs: dict, room_id: int, status: str = "live") -> int:
    """A session of the room in `status`, with a random id: its Redis keys meet no other test's."""
    with api.app_.extensions["livehost.db"].sessions() as s:
        live = LiveSession(id=random.randrange(10**8, 10**9), room_id=room_id, script_id=refs["script_id"],
                           avatar_id=refs["avatar_id"], voice_id=refs["voice_id"], status=status)
        s.add(live)
        s.commit()
        return live.id


def new_room(api, tokens, **fields) -> int:
    r = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "relay room", "platform": "custom", "server_url": "rtmp://127.0.0.1/live", **fields})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def relay_room(api, tokens, *, relay: bool = True) -> tuple[int, str]:
    """A new room with its relay source on (or off), and its relay token."""
    room_id = new_room(api, tokens, sources={"relay": relay})
    r = api.post(f"/api/rooms/{room_id}/relay-token", headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    return room_id, r.get_json()["token"]


def commands(api, session_id: int) -> list[dict]:
    return [c for _, c in api.app_.extensions["livehost.bus"].commands(session_id)]


def post(api, room_id: int, body, token: str | None = None, **headers):
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    return api.post(f"/api/rooms/{room_id}/relay/events", json=body, headers=headers)


def test_a_relay_token_is_shown_once_and_kept_only_as_its_hash(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    room = api.get(f"/api/rooms/{room_id}", headers=tokens["viewer"]).get_json()
    assert room["sources"]["relay_token_set"] is True and room["sources"]["relay_token_hint"] == token[-4:]
    assert room["sources"]["relay_events_url"] == f"/api/rooms/{room_id}/relay/events"
    assert room["sources"]["relay_ws_url"] == f"/api/rooms/{room_id}/relay/ws"
    assert len(token) >= 40 and token not in json.dumps(room)
    with api.app_.extensions["livehost.db"].engine.connect() as c:
        dump = " ".join(str(v) for row in c.execute(sa.text("SELECT * FROM rooms")) for v in row)
        audit = " ".join(str(v) for row in c.execute(sa.text("SELECT * FROM audit_log")) for v in row)
    assert token not in dump and token[:20] not in dump and token not in audit
    log = api.get("/api/audit?per_page=100", headers=tokens["admin"]).get_data(as_text=True)
    assert "room.relay_token" in log and token not in log


def test_relay_events_reach_the_running_live_as_one_audience_command(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    session_id = start_live(api, refs, room_id)
    r = post(api, room_id, {"events": [COMMENT, GIFT]}, token)
    assert r.status_code == 202, r.get_json()
    assert r.get_json() == {"accepted": 2, "session_id": session_id}
    (command,) = commands(api, session_id)
    assert command["type"] == "audience" and len(command["events"]) == 2
    comment, gift = command["events"]
    assert (comment["kind"], comment["platform"], comment["user"], comment["text"]) == \
        ("comment", "douyin", "小明", "多少钱？")
    assert (gift["kind"], gift["platform"], gift["gift"], gift["count"], gift["value"]) == \
        ("gift", "relay", "rose", 3, 0.3)
    # one event alone; the token as X-Livehost-Token or ?token=
    assert post(api, room_id, COMMENT, **{"X-Livehost-Token": token}).status_code == 202
    r = api.post(f"/api/rooms/{room_id}/relay/events?token={token}", json=GIFT)
    assert r.status_code == 202, r.get_json()
    assert [len(c["events"]) for c in commands(api, session_id)] == [2, 1, 1]


def test_a_missing_or_wrong_token_is_401(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    session_id = start_live(api, refs, room_id)
    for headers in ({}, {"Authorization": f"Bearer {token}x"}, {"Authorization": "Bearer "},
                    {"X-Livehost-Token": token[:-1]}, {"Authorization": tokens["operator"]["Authorization"]}):
        r = api.post(f"/api/rooms/{room_id}/relay/events", json=COMMENT, headers=headers)
        assert r.status_code == 401, headers
        assert r.get_json()["error"]["reason"] == "relay_token_invalid"
    other = new_room(api, tokens, sources={"relay": True})  # a room without a token, and one that does not exist
    assert post(api, other, COMMENT, token).status_code == 401
    assert post(api, 987654, COMMENT, token).status_code == 401
    assert commands(api, session_id) == []


def test_a_new_token_ends_the_old_one_at_once_and_a_removed_one_ends_all(api, tokens, refs):
    room_id, old = relay_room(api, tokens)
    start_live(api, refs, room_id)
    new = api.post(f"/api/rooms/{room_id}/relay-token", headers=tokens["operator"]).get_json()["token"]
    assert new != old
    assert post(api, room_id, COMMENT, old).status_code == 401
    assert post(api, room_id, COMMENT, new).status_code == 202
    assert api.delete(f"/api/rooms/{room_id}/relay-token", headers=tokens["operator"]).status_code == 204
    assert post(api, room_id, COMMENT, new).status_code == 401
    room = api.get(f"/api/rooms/{room_id}", headers=tokens["viewer"]).get_json()
    assert room["sources"]["relay_token_set"] is False and room["sources"]["relay_token_hint"] == ""


def test_without_a_running_live_or_with_the_relay_off_it_is_409(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    r = post(api, room_id, COMMENT, token)
    assert r.status_code == 409 and r.get_json()["error"]["reason"] == "no_live"
    start_live(api, refs, room_id, status="queued")  # not running yet
    assert post(api, room_id, COMMENT, token).get_json()["error"]["reason"] == "no_live"
    start_live(api, refs, room_id, status="ended")
    assert post(api, room_id, COMMENT, token).get_json()["error"]["reason"] == "no_live"
    starting = start_live(api, refs, room_id, status="starting")
    assert post(api, room_id, COMMENT, token).get_json() == {"accepted": 1, "session_id": starting}
    api.patch(f"/api/rooms/{room_id}", json={"sources": {"relay": False}}, headers=tokens["operator"])
    r = post(api, room_id, COMMENT, token)
    assert r.status_code == 409 and r.get_json()["error"]["reason"] == "relay_off"


BAD_EVENTS = [
    ({"type": "shout", "text": "hi"}, "type"),
    ({"type": "comment", "text": "   "}, "text"),
    ({"type": "comment", "text": "hi", "colour": "red"}, "colour"),
    ({"events": [COMMENT, {**GIFT, "count": "3"}]}, "events[1].count"),
    ({"events": [COMMENT, {**GIFT, "value": True}]}, "events[1].value"),
    ({"events": [COMMENT] * 101}, "events"),
    ({"events": []}, "events"),
    ([COMMENT], ""),
]


def test_a_bad_event_is_422_naming_the_field_and_nothing_is_sent(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    session_id = start_live(api, refs, room_id)
    for body, field in BAD_EVENTS:
        r = post(api, room_id, body, token)
        assert r.status_code == 422, (body, r.get_json())
        error = r.get_json()["error"]
        assert error["reason"] == "relay_event" and set(error["fields"]) == {field or "body"}, error
        assert error["params"]["field"] == (field or "body")
    assert commands(api, session_id) == []


def test_a_body_that_is_not_json_or_too_large_is_refused(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    session_id = start_live(api, refs, room_id)
    url, auth = f"/api/rooms/{room_id}/relay/events", {"Authorization": f"Bearer {token}"}
    r = api.post(url, data="{not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400
    r = api.post(url, data=json.dumps(COMMENT), headers={**auth, "Content-Type": "text/plain"})  # any type: JSON
    assert r.status_code == 202, r.get_json()
    body = json.dumps({"events": [{**COMMENT, "text": "x" * 500, "user": "y" * 64}] * 100})
    padded = body[:-1] + " " * (256 * 1024 - len(body)) + " }"  # one byte past 256 KiB
    assert len(padded) == 256 * 1024 + 1
    r = api.post(url, data=padded, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.get_json()["error"]["params"]["limit"] == 256 * 1024
    r = api.post(url, data=body, headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 202 and r.get_json()["accepted"] == 100
    r = api.post(url, data='{"type": "comment", "text": "\\ud800"}', headers={**auth, "Content-Type": "text/plain"})
    assert r.status_code == 422
    assert len(commands(api, session_id)) == 2


def test_past_the_room_s_rate_the_relay_answers_429(api, tokens, refs):
    api.app_.config["RELAY_LIMIT"] = "3/minute"
    room_id, token = relay_room(api, tokens)
    start_live(api, refs, room_id)
    answers = [post(api, room_id, COMMENT, token).status_code for _ in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    other, other_token = relay_room(api, tokens)  # the limit is the room's own
    start_live(api, refs, other)
    assert post(api, other, COMMENT, other_token).status_code == 202


def test_with_the_bus_down_the_relay_answers_503(api, tokens, refs):
    room_id, token = relay_room(api, tokens)
    start_live(api, refs, room_id)
    api.app_.extensions["livehost.bus"] = RedisBus(redis.Redis.from_url("redis://127.0.0.1:1/0",
                                                                        socket_connect_timeout=1))
    r = post(api, room_id, COMMENT, token)
    assert r.status_code == 503 and r.get_json()["error"]["reason"] == "redis_unavailable"


def test_only_operators_make_or_remove_relay_tokens(api, tokens, refs):
    room_id = refs["room_id"]
    for method in (api.post, api.delete):
        assert method(f"/api/rooms/{room_id}/relay-token", headers=tokens["viewer"]).status_code == 403
        assert method(f"/api/rooms/{room_id}/relay-token").status_code == 401
    assert api.post("/api/rooms/999999/relay-token", headers=tokens["operator"]).status_code == 404


# -- over a real server: the WebSocket, and the access log ---------------------------------------------
class Served:
    """The test client's app on a free loopback port (werkzeug's threaded server, as `livehost serve
    --dev` runs it, with its request log)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
        self.base = f"127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="api-server", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def served(api):
    server = Served(api.app_)
    yield server
    server.close()


def test_the_websocket_answers_every_message_and_survives_bad_ones(api, tokens, refs, served):
    room_id, token = relay_room(api, tokens)
    session_id = start_live(api, refs, room_id)
    with connect(f"ws://{served.base}/api/rooms/{room_id}/relay/ws?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps({"events": [COMMENT, GIFT]}))
        assert json.loads(ws.recv(timeout=10)) == {"ok": True, "accepted": 2, "session_id": session_id}
        for bad, field in (("{not json", None), (json.dumps({"type": "shout"}), "type"),
                           (json.dumps({"events": [COMMENT, {"type": "gift", "count": -1}]}), "events[1].count")):
            ws.send(bad)
            answer = json.loads(ws.recv(timeout=10))
            assert answer["ok"] is False and answer["error"] and answer["field"] == field, answer
        ws.send(json.dumps(COMMENT).encode())  # a binary message holding the same JSON
        assert json.loads(ws.recv(timeout=10))["accepted"] == 1
        ws.send(json.dumps(GIFT))
        assert json.loads(ws.recv(timeout=10))["ok"] is True
    assert [len(c["events"]) for c in commands(api, session_id)] == [2, 1, 1]


def test_the_websocket_closes_with_1008_on_a_bad_or_replaced_token(api, tokens, refs, served):
    room_id, token = relay_room(api, tokens)
    start_live(api, refs, room_id)
    url = f"ws://{served.base}/api/rooms/{room_id}/relay/ws"
    for query in ("", "?token=nonsense"):
        with connect(url + query, open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1008
    with connect(url, additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10) as ws:
        ws.send(json.dumps(COMMENT))
        assert json.loads(ws.recv(timeout=10))["ok"] is True
        api.post(f"/api/rooms/{room_id}/relay-token", headers=tokens["operator"])  # a new one
        ws.send(json.dumps(COMMENT))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd.code == 1008


def test_the_websocket_says_why_it_takes_nothing(api, tokens, refs, served):
    room_id, token = relay_room(api, tokens)
    with connect(f"ws://{served.base}/api/rooms/{room_id}/relay/ws?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps(COMMENT))
        answer = json.loads(ws.recv(timeout=10))
        assert answer["ok"] is False and answer["reason"] == "no_live"
        ws.send(json.dumps({"events": [{**COMMENT, "text": "x" * 500}] * 100}) + " " * 256 * 1024)
        answer = json.loads(ws.recv(timeout=10))
        assert answer["ok"] is False and answer["reason"] == "body_too_large"
        session_id = start_live(api, refs, room_id)
        ws.send(json.dumps(COMMENT))
        assert json.loads(ws.recv(timeout=10)) == {"ok": True, "accepted": 1, "session_id": session_id}


def test_the_access_logs_never_show_a_relay_token(api, tokens, refs, served, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    room_id, token = relay_room(api, tokens)
    start_live(api, refs, room_id)
    req = urllib.request.Request(f"http://{served.base}/api/rooms/{room_id}/relay/events?token={token}",
                                 data=json.dumps(COMMENT).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
    with connect(f"ws://{served.base}/api/rooms/{room_id}/relay/ws?token={token}", open_timeout=10) as ws:
        ws.send(json.dumps(COMMENT))
        ws.recv(timeout=10)
    lines = [rec.getMessage() for rec in caplog.records]
    assert any("/relay/events?token=***" in line for line in lines), lines
    assert not any(token in line for line in lines), lines
    # gunicorn's access log (backend.serve.AccessLogger) takes it out of the request line and query too
    query = f"token={token}&x=1"
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": f"/api/rooms/1/relay/events?{query}", "QUERY_STRING": query,
               "PATH_INFO": "/api/rooms/1/relay/events", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    response = SimpleNamespace(status="202 Accepted", headers=[], sent=10)
    atoms = AccessLogger.atoms(AccessLogger.__new__(AccessLogger), response, SimpleNamespace(headers=[]), environ,
                               timedelta(milliseconds=3))
    assert atoms["r"] == "POST /api/rooms/1/relay/events?token=***&x=1 HTTP/1.1" and atoms["q"] == "token=***&x=1"


def test_the_relay_works_under_gunicorn_and_its_access_log_hides_the_token(tmp_path, redis_url):
    """`livehost serve` (gunicorn, gthread workers) serves the relay's HTTP and WebSocket endpoints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", REDIS_URL=redis_url, PYTHONUNBUFFERED="1",
               LIVEHOST_VAR_DIR=str(tmp_path / "var"))
    upgrade_to_head(env["DATABASE_URL"])
    token = "relay-token-for-gunicorn-" + "x" * 20
    engine = sa.create_engine(env["DATABASE_URL"])
    with Session(engine) as s:
        room = Room(name="r", platform="custom", server_url="rtmp://127.0.0.1/live", sources={"relay": True},
                    relay_token_hash=hashlib.sha256(token.encode()).hexdigest(), relay_token_hint=token[-4:])
        script, avatar, voice = Script(name="s", segments=[]), Avatar(slug="a", name="a", status="ready"), \
            Voice(name="v", engine="espeak")
        s.add_all([room, script, avatar, voice])
        s.flush()
        live = LiveSession(id=random.randrange(10**8, 10**9), room_id=room.id, script_id=script.id,
                           avatar_id=avatar.id, voice_id=voice.id, status="live")
        s.add(live)
        s.commit()
        room_id, session_id = room.id, live.id
    engine.dispose()
    port = free_port()
    server = subprocess.Popen(livehost_cmd("serve", "--port", str(port), "--workers", "1", "--threads", "4",
                                           "--access-log"), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        wait_port(port, timeout=30)
        base = f"127.0.0.1:{port}/api/rooms/{room_id}/relay"
        req = urllib.request.Request(f"http://{base}/events?token={token}", data=json.dumps(COMMENT).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 202 and json.load(r) == {"accepted": 1, "session_id": session_id}
        with connect(f"ws://{base}/ws?token={token}", open_timeout=10) as ws:
            for body in (json.dumps({"events": [COMMENT, GIFT]}), "{not json", json.dumps(GIFT)):
                ws.send(body)
                assert json.loads(ws.recv(timeout=10))["ok"] is (body != "{not json")
        with connect(f"ws://{base}/ws?token=wrong", open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd.code == 1008
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0, out
    assert "gthread" in out and "Traceback" not in out, out
    assert "/relay/events?token=*** " in out and token not in out, out
    bus = RedisBus(redis.Redis.from_url(redis_url))
    assert [len(c["events"]) for _, c in bus.commands(session_id)] == [1, 2, 1]
