"""Sessions over HTTP against the real databases and Redis: go live, live status, control
commands on the Redis stream, the audit log, the SSE event relay, and a bus that is down."""
from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone

import pytest
import redis

from backend import create_app
from db.models import AuditEntry, Avatar, Comment, LiveSession
from streamer.control.bus import RedisBus
from streamer.control.link import connect_redis
from tests.helpers.api import login, make_refs

CONTROL = [  # (path, body, the command's fields besides type/by/at)
    ("comments", {"text": "hi there"}, {"text": "hi there", "user": "", "interrupt": False}),
    ("interrupt", None, {}),
    ("say", {"text": "welcome everyone", "interrupt": True}, {"text": "welcome everyone", "interrupt": True}),
    ("action", {"name": "wave_2"}, {"name": "wave_2"}),
    ("pause", None, {}),
    ("resume", None, {}),
    ("card", {"card": "be_right_back"}, {"card": "be_right_back"}),
    ("card", {"card": None}, {"card": None}),
    ("stop", None, {}),
]
TYPES = {"comments": "comment"}


@pytest.fixture
def r(redis_url):
    """The test Redis, with no session streams left from earlier tests (ids restart per database)."""
    client = redis.Redis.from_url(redis_url)
    for k in client.scan_iter("livehost:session:[0-9]*"):  # not the streamer tests' (ids "t-...")
        client.delete(k)
    return client


@pytest.fixture
def refs(api, tokens, r):
    return make_refs(api, tokens, rooms=3)


def go_live(api, tokens, refs, room: int = 0, **extra):
    body = {k: refs[k] for k in ("script_id", "avatar_id", "voice_id")}
    body.update(room_id=refs["rooms"][room], **extra)
    return api.post("/api/sessions", headers=tokens["operator"], json=body)


def new_session(api, tokens, refs, room: int = 0) -> int:
    res = go_live(api, tokens, refs, room)
    assert res.status_code == 201, res.get_json()
    return res.get_json()["id"]


def set_status(api, session_id: int, status: str) -> None:
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.get(LiveSession, session_id).status = status
        s.commit()


def commands(r, session_id: int) -> list[tuple[str, dict]]:
    return [(i.decode(), json.loads(f[b"data"])) for i, f in r.xrange(f"livehost:session:{session_id}:commands")]


def audit_rows(api, **where) -> list[AuditEntry]:
    with api.app_.extensions["livehost.db"].sessions() as s:
        return s.query(AuditEntry).filter_by(**where).order_by(AuditEntry.id).all()


def post_control(api, headers, sid: int, path: str, body):
    url = f"/api/sessions/{sid}/{path}"
    return api.post(url, headers=headers, json=body) if body is not None else api.post(url, headers=headers)


# --- sessions ---------------------------------------------------------------------------------

def test_go_live_queues_a_session_and_refuses_a_second_on_the_room(api, tokens, refs):
    res = go_live(api, tokens, refs, duration_s=3600)
    assert res.status_code == 201, res.get_json()
    first = res.get_json()
    assert first["status"] == "queued" and first["room_id"] == refs["rooms"][0]
    planned = datetime.fromisoformat(first["planned_end_at"].replace("Z", "+00:00"))
    assert abs(planned - (datetime.now(timezone.utc) + timedelta(hours=1))) < timedelta(seconds=30)

    again = go_live(api, tokens, refs)
    assert again.status_code == 409
    assert f"session {first['id']}" in again.get_json()["error"]["message"]
    second = new_session(api, tokens, refs, room=1)

    detail = api.get(f"/api/sessions/{second}", headers=tokens["viewer"]).get_json()
    assert detail["queue_position"] == 2 and detail["live"] is None and detail["planned_end_at"] is None
    assert api.get(f"/api/sessions/{first['id']}", headers=tokens["viewer"]).get_json()["queue_position"] == 1

    set_status(api, first["id"], "live")
    assert api.get(f"/api/sessions/{second}", headers=tokens["viewer"]).get_json()["queue_position"] == 1
    page = api.get("/api/sessions?status=queued", headers=tokens["viewer"]).get_json()
    assert [s["id"] for s in page["items"]] == [second]
    page = api.get(f"/api/sessions?room_id={refs['rooms'][0]}", headers=tokens["viewer"]).get_json()
    assert page["total"] == 1 and page["items"][0]["status"] == "live"
    assert api.get("/api/sessions?status=paused", headers=tokens["viewer"]).status_code == 422

    rows = audit_rows(api, action="session.create")
    assert [(a.username, a.target) for a in rows] == [("operator_1", f"session:{first['id']}"),
                                                     ("operator_1", f"session:{second}")]


def test_go_live_needs_existing_rows_and_a_ready_avatar(api, tokens, refs):
    for field in ("room_id", "script_id", "avatar_id", "voice_id"):
        body = {k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")}
        body[field] = 4321
        res = api.post("/api/sessions", headers=tokens["operator"], json=body)
        assert res.status_code == 422 and field in res.get_json()["error"]["fields"], field
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.get(Avatar, refs["avatar_id"]).status = "preparing"
        s.commit()
    res = go_live(api, tokens, refs)
    assert res.status_code == 422
    assert res.get_json()["error"]["fields"]["avatar_id"] == \
        f"avatar {refs['avatar_id']} is not ready (status: preparing)"
    for bad in ({"duration_s": 0}, {"duration_s": "long"}, {"worker": "me"}):
        assert go_live(api, tokens, refs, **bad).status_code == 422
    assert go_live(api, tokens, refs).status_code == 422
    assert api.post("/api/sessions", headers=tokens["viewer"], json={"room_id": 1}).status_code == 403
    assert api.get("/api/sessions/99", headers=tokens["viewer"]).status_code == 404


HEARTBEAT = {  # what streamer.control.link.ControlLink writes: LiveSession.status() and its own fields
    "id": "1", "state": "live", "seconds": 42.08, "fps": 25.0, "bitrate": 2_500_000,
    "speaking": "Our tea is picked by hand in the spring.", "action": "wave", "paused": False,
    "pending_replies": 2, "position": {"round": 0, "segment": 3, "sentence": 1},
    "queues": {"audio": 12, "ticks": 3, "lips": 2, "frames": 1, "packets": 0}, "connected": True, "errors": 0,
    "cpu": 0.31, "encoder": {"preset": "superfast", "step": 1, "behind_s": 0.02, "overloaded": False},
    "destinations": [{"name": "rtmp://push.example.com/live/***", "connected": True, "bitrate": 2_400_000,
                      "reconnects": 1, "dropped": 0, "error": None},
                     {"name": "recording", "connected": False, "bitrate": 0, "reconnects": 0, "dropped": 0,
                      "error": "No space left on device"}],
    "worker": "gpu-0", "updated_at": 1_760_000_000.123, "commands_applied": 5, "command_cursor": "1760000000000-0",
    "audience": {"sources": [{"name": "bilibili:21452505", "platform": "bilibili", "connected": True,
                              "since": 1_760_000_000.0, "last_event_at": 1_760_000_001.5, "events": 130, "unknown": 3,
                              "malformed": 0, "reconnects": 1, "error": None}],
                 "online": 1234, "per_minute": 42.0, "queued": 5, "received": 130, "answered": 6, "thanked": 10,
                 "skipped": 80, "dropped": 20},
    "product": {"id": "3", "name": "Spring green tea"}, "tts_cache": {"hits": 4, "misses": 9},
    "scene": {"card": "be_right_back", "music": {"track": "loop.mp3", "tracks": 2, "playing": True, "errors": 1,
                                                 "ducked": False}}}


def test_live_status_comes_from_the_worker_heartbeat(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    set_status(api, sid, "live")
    RedisBus(r).set_status(sid, {**HEARTBEAT, "id": str(sid)}, ttl=30)  # as the worker does, on the real Redis
    detail = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()
    assert detail["live"] == {**{k: v for k, v in HEARTBEAT.items() if k != "id"},
                              "product": {"id": 3, "name": "Spring green tea"}}  # the streamer's id is a string
    assert detail["queue_position"] is None

    RedisBus(r).set_status(sid, {**HEARTBEAT, "speaking": None, "action": None, "paused": True}, ttl=30)
    live = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()["live"]
    assert (live["speaking"], live["action"], live["paused"]) == (None, None, True)

    r.delete(f"livehost:session:{sid}:status")  # the heartbeat expired: no worker reports
    RedisBus(r).set_status(sid, {"state": "starting", "worker": "gpu-1"}, ttl=30)
    live = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()["live"]
    assert live == {**{k: None for k in HEARTBEAT if k != "id"}, "state": "starting", "worker": "gpu-1"}
    r.delete(f"livehost:session:{sid}:status")
    assert api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()["live"] is None


@pytest.mark.parametrize("fields", [
    {"state": "live", "fps": "{not json"},  # not JSON at all
    {"state": "live", "fps": '"fast"'},  # JSON, of the wrong type
    {"state": "live", "speaking": "true"},  # the old boolean
    {"state": "live", "queues": '{"audio": "deep"}'},
    {"state": "live", "position": "\xff\xfe"},
])
def test_a_malformed_heartbeat_shows_the_session_without_live_status(api, tokens, refs, r, fields, caplog):
    sid = new_session(api, tokens, refs)
    set_status(api, sid, "live")
    r.hset(f"livehost:session:{sid}:status", mapping={k: v.encode("latin-1") for k, v in fields.items()})
    r.expire(f"livehost:session:{sid}:status", 30)
    res = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"])
    assert res.status_code == 200, res.get_data(as_text=True)
    assert res.get_json()["live"] is None and res.get_json()["status"] == "live"
    assert "unreadable live status" in caplog.text


# --- control --------------------------------------------------------------------------------

def test_each_control_puts_exactly_that_command_on_the_redis_stream(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    set_status(api, sid, "live")
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    for n, (path, body, fields) in enumerate(CONTROL, start=1):
        res = post_control(api, tokens["operator"], sid, path, body)
        kind = TYPES.get(path, path)
        assert res.status_code == (201 if path == "comments" else 202), (path, res.get_json())
        stream = commands(r, sid)
        assert len(stream) == n, path
        msg_id, command = stream[-1]
        if path != "comments":
            assert res.get_json()["command_id"] == msg_id and res.get_json()["type"] == kind
        else:
            fields = dict(fields, comment_id=res.get_json()["id"])
        at = datetime.fromisoformat(command.pop("at").replace("Z", "+00:00"))
        assert before <= at <= datetime.now(timezone.utc) + timedelta(seconds=1)
        assert command == {"type": kind, **fields, "by": "operator_1"}, path
    assert res.get_json()["status"] == "stopping"
    assert api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()["status"] == "stopping"

    assert [a.action for a in audit_rows(api, target=f"session:{sid}")] == [
        "session.create", "session.comment", "session.interrupt", "session.say", "session.action",
        "session.pause", "session.resume", "session.card", "session.card", "session.stop"]
    assert {a.username for a in audit_rows(api, target=f"session:{sid}")} == {"operator_1"}
    say = audit_rows(api, action="session.say")[0]
    assert say.detail["command_id"] == stream[2][0] and say.detail["text"] == "welcome everyone"


def test_viewer_gets_403_on_every_control_endpoint(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    for path, body, _ in CONTROL:
        res = post_control(api, tokens["viewer"], sid, path, body)
        assert res.status_code == 403 and res.get_json()["error"]["code"] == "forbidden", path
        assert post_control(api, {}, sid, path, body).status_code == 401, path
    assert commands(r, sid) == []
    assert api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()["status"] == "queued"
    assert [a.action for a in audit_rows(api, target=f"session:{sid}")] == ["session.create"]


def test_admin_may_control_too(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    assert post_control(api, tokens["admin"], sid, "interrupt", None).status_code == 202
    assert commands(r, sid)[0][1]["by"] == "admin_1"


@pytest.mark.parametrize("path,body,field", [
    ("comments", {"text": ""}, "text"), ("comments", {"text": "   "}, "text"),
    ("comments", {"text": "x" * 501}, "text"), ("comments", {"text": "ok", "user": "u" * 101}, "user"),
    ("comments", {"text": "ok", "interrupt": "yes"}, "interrupt"),
    ("comments", {}, "text"), ("say", {"text": "x" * 2001}, "text"), ("say", {"text": ""}, "text"),
    ("action", {"name": "wave hello"}, "name"), ("action", {"name": "a" * 41}, "name"),
    ("action", {"name": "<script>"}, "name"), ("action", {"name": ""}, "name"),
])
def test_bad_control_input_is_422(api, tokens, refs, r, path, body, field):
    sid = new_session(api, tokens, refs)
    res = api.post(f"/api/sessions/{sid}/{path}", headers=tokens["operator"], json=body)
    assert res.status_code == 422 and field in res.get_json()["error"]["fields"], res.get_json()
    assert commands(r, sid) == []


def test_stop_ends_a_queued_session_at_once_and_ended_sessions_take_no_commands(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    res = api.post(f"/api/sessions/{sid}/stop", headers=tokens["operator"])
    assert res.status_code == 202 and res.get_json()["status"] == "ended"
    detail = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"]).get_json()
    assert detail["status"] == "ended" and detail["ended_at"] and detail["queue_position"] is None
    assert [c["type"] for _, c in commands(r, sid)] == ["stop"]
    for path, body, _ in CONTROL:
        res = post_control(api, tokens["operator"], sid, path, body)
        assert res.status_code == 409, path
        assert res.get_json()["error"]["message"].startswith(f"session {sid} has ended"), path
    failed = new_session(api, tokens, refs)  # the room is free again
    set_status(api, failed, "failed")
    res = api.post(f"/api/sessions/{failed}/say", headers=tokens["operator"], json={"text": "hello?"})
    assert res.status_code == 409 and f"session {failed} has ended" in res.get_json()["error"]["message"]
    assert api.post("/api/sessions/999/interrupt", headers=tokens["operator"]).status_code == 404
    assert len(commands(r, sid)) == 1 and commands(r, failed) == []


def test_comments_with_sql_and_html_are_stored_and_returned_as_plain_data(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    nasty = [("'; DROP TABLE comments; --", "Robert'); DROP TABLE users;--"),
             ("<script>alert('x')</script> 1 OR 1=1", "<img src=x onerror=alert(1)>"),
             ('" UNION SELECT password_hash FROM users --', "弹幕用户😀")]
    ids = []
    for text, user in nasty:
        res = api.post(f"/api/sessions/{sid}/comments", headers=tokens["operator"],
                       json={"text": text, "user": user, "interrupt": True})
        assert res.status_code == 201, res.get_json()
        assert res.mimetype == "application/json"
        got = res.get_json()
        assert (got["text"], got["user"], got["interrupt"]) == (text, user, True)
        ids.append(got["id"])
    listed = api.get(f"/api/sessions/{sid}/comments", headers=tokens["viewer"]).get_json()
    assert [(c["id"], c["text"], c["user"]) for c in listed["items"]] == \
        [(i, t, u) for i, (t, u) in reversed(list(zip(ids, nasty)))]
    assert [(c["text"], c["user"]) for _, c in commands(r, sid)] == nasty
    with api.app_.extensions["livehost.db"].sessions() as s:
        assert s.query(Comment).count() == 3
    assert api.get("/api/users", headers=tokens["admin"]).get_json()["total"] == 3


# --- audit ----------------------------------------------------------------------------------

def test_audit_log_names_who_did_it_and_is_for_admins(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    api.post(f"/api/sessions/{sid}/say", headers=tokens["admin"], json={"text": "hello"})
    api.post(f"/api/sessions/{sid}/interrupt", headers=tokens["operator"])
    page = api.get("/api/audit?action=session.", headers=tokens["admin"]).get_json()
    assert [(e["action"], e["username"], e["target"]) for e in page["items"]] == [
        ("session.interrupt", "operator_1", f"session:{sid}"), ("session.say", "admin_1", f"session:{sid}"),
        ("session.create", "operator_1", f"session:{sid}")]
    assert page["items"][1]["detail"]["text"] == "hello" and page["items"][0]["ip"]
    only = api.get("/api/audit?action=session.say&username=admin_1", headers=tokens["admin"]).get_json()
    assert [e["action"] for e in only["items"]] == ["session.say"]
    assert api.get("/api/audit?action=room.", headers=tokens["admin"]).get_json()["total"] == 3  # make_refs
    assert api.get("/api/audit?action=%25", headers=tokens["admin"]).status_code == 422
    assert api.get("/api/audit", headers=tokens["operator"]).status_code == 403
    own = api.get(f"/api/sessions/{sid}/audit", headers=tokens["operator"]).get_json()
    assert [e["action"] for e in own["items"]] == ["session.interrupt", "session.say", "session.create"]
    assert api.get(f"/api/sessions/{sid}/audit", headers=tokens["viewer"]).status_code == 403


# --- the bus is down --------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nothing listens there


def test_control_with_the_bus_down_is_503_and_records_nothing(api, tokens, refs, caplog):
    sid = new_session(api, tokens, refs)
    api.app_.extensions["livehost.bus"] = connect_redis(f"redis://127.0.0.1:{closed_port()}/0")  # as the app makes it
    for path, body, _ in CONTROL:
        res = post_control(api, tokens["operator"], sid, path, body)
        assert res.status_code == 503, (path, res.get_json())
        assert "unreachable" in res.get_json()["error"]["message"] and "not sent" in res.get_json()["error"]["message"]
    assert "not sent" in caplog.text
    assert [a.action for a in audit_rows(api, target=f"session:{sid}")] == ["session.create"]
    with api.app_.extensions["livehost.db"].sessions() as s:
        assert s.query(Comment).count() == 0 and s.get(LiveSession, sid).status == "queued"
    detail = api.get(f"/api/sessions/{sid}", headers=tokens["viewer"])
    assert detail.status_code == 200 and detail.get_json()["live"] is None
    events = api.get(f"/api/sessions/{sid}/events", headers=tokens["viewer"])
    assert events.status_code == 503 and events.get_json()["error"]["code"] == "unavailable"


def test_an_app_whose_redis_is_down_answers_503_not_500(api, tokens, refs):
    sid = new_session(api, tokens, refs)
    settings = api.app_.config["LIVEHOST"].replace(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    app = create_app(settings)
    client = app.test_client()
    token = login(client, "operator_1").get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for path, body, _ in CONTROL:
        res = post_control(client, headers, sid, path, body)
        assert res.status_code == 503 and res.get_json()["error"]["code"] == "unavailable", path
    assert client.get(f"/api/sessions/{sid}/events", headers=headers).status_code == 503
    app.extensions["livehost.db"].dispose()


# --- server-sent events -----------------------------------------------------------------------

class SSE:
    """Reads a streamed test response frame by frame, as a browser's EventSource would."""

    def __init__(self, response):
        self.response, self.chunks, self.buf = response, iter(response.response), ""

    def frame(self) -> dict | None:
        """The next frame ({'id', 'event', 'data'} or {'comment'} or {'retry'}); None at the end."""
        while "\n\n" not in self.buf:
            try:
                self.buf += next(self.chunks).decode()
            except StopIteration:
                return None
        raw, self.buf = self.buf.split("\n\n", 1)
        out: dict = {}
        for line in raw.split("\n"):
            if line.startswith(":"):
                out["comment"] = line[1:].strip()
            else:
                name, _, value = line.partition(": ")
                out[name] = json.loads(value) if name == "data" else value
        return out

    def events(self, n: int) -> list[dict]:
        got = []
        while len(got) < n:
            f = self.frame()
            assert f is not None, f"the stream ended after {got}"
            if "event" in f:
                got.append(f)
        return got


def xadd(r, sid: int, event: dict) -> str:
    return r.xadd(f"livehost:session:{sid}:events", {"data": json.dumps(event)}).decode()


def open_events(client, sid: int, headers=None, query: str = "") -> SSE:
    res = client.get(f"/api/sessions/{sid}/events{query}", headers=headers or {}, buffered=False)
    assert res.status_code == 200, res.get_data()
    return SSE(res)


@pytest.mark.timeout(60)
def test_events_are_relayed_as_sse_and_resume_after_last_event_id(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    xadd(r, sid, {"type": "utterance", "text": "before we connected"})
    token = tokens["viewer"]["Authorization"].split()[1]
    sse = open_events(api, sid, query=f"?access_token={token}")  # EventSource cannot send headers
    res = sse.response
    assert res.mimetype == "text/event-stream"
    assert res.headers["Cache-Control"] == "no-cache" and res.headers["X-Accel-Buffering"] == "no"
    assert sse.frame() == {"retry": "3000"}

    sent = [{"type": "utterance_start", "text": "hello <b>world</b>\nline two"},
            {"type": "state", "state": "live", "fps": 25}]
    ids = [xadd(r, sid, e) for e in sent]
    got = sse.events(2)  # only what came after we connected
    assert [(f["id"], f["event"], f["data"]) for f in got] == list(zip(ids, ["utterance_start", "state"], sent))

    final = {"type": "state", "state": "ended"}
    ids.append(xadd(r, sid, final))
    assert sse.events(1)[0]["data"] == final
    assert sse.frame() is None  # the stream ends with the live

    resumed = open_events(api, sid, tokens["viewer"] | {"Last-Event-ID": ids[0]})
    assert [f["id"] for f in resumed.events(2)] == ids[1:] and resumed.frame() is None
    by_query = open_events(api, sid, tokens["viewer"], query=f"?last_event_id={ids[1]}")
    assert [f["id"] for f in by_query.events(1)] == ids[2:]


@pytest.mark.timeout(60)
def test_event_stream_stops_when_the_client_goes(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    sse = open_events(api, sid, tokens["viewer"])
    xadd(r, sid, {"type": "utterance", "text": "one"})
    assert sse.events(1)[0]["data"]["text"] == "one"
    started = datetime.now(timezone.utc)
    sse.response.close()  # the browser tab closed
    assert datetime.now(timezone.utc) - started < timedelta(seconds=2)
    xadd(r, sid, {"type": "utterance", "text": "two"})
    with pytest.raises(StopIteration):
        next(sse.chunks)


@pytest.mark.timeout(60)
def test_event_stream_keeps_alive_and_ends_with_the_session(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    app = create_app(api.app_.config["LIVEHOST"].replace(sse_keepalive_s=0.2))
    client = app.test_client()
    sse = open_events(client, sid, tokens["viewer"])
    assert sse.frame() == {"retry": "3000"}
    assert sse.frame() == {"comment": "keep-alive"}
    assert sse.frame() == {"comment": "keep-alive"}
    set_status(api, sid, "failed")  # the worker died; no final event was published
    frames = []
    while (f := sse.frame()) is not None:
        frames.append(f)
    assert all(f == {"comment": "keep-alive"} for f in frames)
    # reconnecting to a session that is over with nothing new: 204 tells EventSource to stop
    assert client.get(f"/api/sessions/{sid}/events", headers=tokens["viewer"]).status_code == 204
    app.extensions["livehost.db"].dispose()


@pytest.mark.timeout(60)
def test_event_stream_of_an_ended_session_replays_what_is_left_then_204(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    ids = [xadd(r, sid, {"type": "utterance", "text": str(i)}) for i in range(3)]
    set_status(api, sid, "ended")
    sse = open_events(api, sid, tokens["viewer"] | {"Last-Event-ID": ids[0]})
    assert [f["id"] for f in sse.events(2)] == ids[1:] and sse.frame() is None
    assert api.get(f"/api/sessions/{sid}/events", headers=tokens["viewer"]).status_code == 204
    res = api.get(f"/api/sessions/{sid}/events", headers=tokens["viewer"] | {"Last-Event-ID": ids[2]})
    assert res.status_code == 204


def test_event_stream_refuses_bad_requests(api, tokens, refs, r):
    sid = new_session(api, tokens, refs)
    res = api.get(f"/api/sessions/{sid}/events", headers=tokens["viewer"] | {"Last-Event-ID": "0; DROP"})
    assert res.status_code == 400 and "Last-Event-ID" in res.get_json()["error"]["message"]
    assert api.get(f"/api/sessions/{sid}/events?last_event_id=abc", headers=tokens["viewer"]).status_code == 422
    assert api.get(f"/api/sessions/{sid}/events").status_code == 401
    assert api.get(f"/api/sessions/{sid}/events?access_token=nonsense").status_code == 401
    assert api.get("/api/sessions/404/events", headers=tokens["viewer"]).status_code == 404
