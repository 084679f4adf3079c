"""The audience side of the admin API: a room's triage settings and audience sources (credentials
write-only, encrypted at rest, never in a response, a log line or the audit log), the test of a
source against the platform's API, and a live's audience: its events, newest first, and the
operator's answer, skip and block commands arriving on the real Redis stream."""
from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from db.models import AudienceEventRow, LiveSession
from streamer.settings import Settings
from tests.fakes.youtube_server import FakeYouTube
from tests.helpers.api import make_refs
from tests.helpers.process import free_port

COOKIE = "SESSDATA=5b1c%2C1790000000%2Csecret_cookie_9f3e"
BUVID = "BUVID-SECRET-0f9a8b7c6d5e"
API_KEY = "AIzaSy-SECRET-youtube-key-42"
OAUTH = "ya29.SECRET-oauth-token-77"
SECRETS = (COOKIE, BUVID, API_KEY, OAUTH)
SOURCES = {"bilibili_room_id": 21452505, "bilibili_cookie": COOKIE, "bilibili_buvid": BUVID,
           "youtube_video_id": "live123", "youtube_api_key": API_KEY, "youtube_oauth_token": OAUTH, "relay": True}
ROOM = {"name": "Tea room", "platform": "bilibili", "server_url": "rtmp://127.0.0.1/live", "stream_key": "k3y"}


def new_room(api, tokens, **fields) -> dict:
    r = api.post("/api/rooms", json={**ROOM, **fields}, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def everything_stored(api) -> str:
    """Every value of the rooms and audit_log tables, as text."""
    with api.app_.extensions["livehost.db"].engine.connect() as c:
        return " ".join(str(v) for table in ("rooms", "audit_log")
                        for row in c.execute(sa.text(f"SELECT * FROM {table}")) for v in row)


# -- sources -------------------------------------------------------------------------------------------
def test_sources_are_stored_and_shown_without_their_credentials(api, tokens):
    room = new_room(api, tokens, sources=SOURCES)
    assert room["sources"] == {
        "bilibili_room_id": 21452505, "bilibili_cookie_set": True, "bilibili_buvid_set": True,
        "youtube_video_id": "live123", "youtube_api_key_set": True, "youtube_oauth_token_set": True, "relay": True,
        "relay_token_set": False, "relay_token_hint": "", "relay_events_url": f"/api/rooms/{room['id']}/relay/events",
        "relay_ws_url": f"/api/rooms/{room['id']}/relay/ws"}
    assert api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json() == room
    plain = new_room(api, tokens)
    assert plain["sources"] == {**room["sources"], "bilibili_room_id": None, "bilibili_cookie_set": False,
                                "bilibili_buvid_set": False, "youtube_video_id": None, "youtube_api_key_set": False,
                                "youtube_oauth_token_set": False, "relay": False,
                                "relay_events_url": f"/api/rooms/{plain['id']}/relay/events",
                                "relay_ws_url": f"/api/rooms/{plain['id']}/relay/ws"}


def test_source_credentials_are_encrypted_and_never_come_back_out(api, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = [json.dumps(new_room(api, tokens, sources=SOURCES))]
    rid = json.loads(bodies[0])["id"]
    for call in (lambda: api.get(f"/api/rooms/{rid}", headers=tokens["admin"]),
                 lambda: api.get("/api/rooms", headers=tokens["admin"]),
                 lambda: api.patch(f"/api/rooms/{rid}", json={"sources": SOURCES}, headers=tokens["operator"]),
                 lambda: api.patch(f"/api/rooms/{rid}", json={"sources": {**SOURCES, "bilibili_cookie": COOKIE + "\n"}},
                                   headers=tokens["operator"]),
                 lambda: api.post("/api/rooms", json={**ROOM, "sources": SOURCES}, headers=tokens["viewer"]),
                 lambda: api.get("/api/audit?per_page=100", headers=tokens["admin"])):
        bodies.append(call().get_data(as_text=True))
    everything = "\n".join(bodies) + "\n".join(rec.getMessage() for rec in caplog.records) + everything_stored(api)
    for secret in SECRETS:
        assert secret not in everything and secret[8:20] not in everything, secret
    audit = api.get("/api/audit?per_page=100", headers=tokens["admin"]).get_json()["items"]
    change = next(e for e in audit if e["action"] == "room.change")
    assert "bilibili_cookie" in change["detail"]["sources"]  # which fields changed: never their values
    # what the worker reads back with the data key
    with api.app_.extensions["livehost.db"].sessions() as s:
        from db.models import Room

        room = s.get(Room, rid)
        assert room.source_secrets(api.app_.config["LIVEHOST"].data_key) == {
            "bilibili_cookie": COOKIE, "bilibili_buvid": BUVID, "youtube_api_key": API_KEY, "youtube_oauth_token": OAUTH}
        assert room.sources == {"bilibili_room_id": 21452505, "youtube_video_id": "live123", "relay": True}


def test_a_change_touches_only_the_sources_given(api, tokens):
    room = new_room(api, tokens, sources=SOURCES)
    url, h = f"/api/rooms/{room['id']}", tokens["operator"]
    r = api.patch(url, json={"sources": {"bilibili_cookie": "", "relay": False}}, headers=h)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()["sources"]
    assert (got["bilibili_cookie_set"], got["bilibili_buvid_set"], got["relay"]) == (False, True, False)
    assert got["bilibili_room_id"] == 21452505 and got["youtube_api_key_set"] is True
    got = api.patch(url, json={"sources": {"bilibili_room_id": None, "youtube_video_id": ""}}, headers=h).get_json()
    assert (got["sources"]["bilibili_room_id"], got["sources"]["youtube_video_id"]) == (None, None)
    assert got["sources"]["youtube_oauth_token_set"] is True
    got = api.patch(url, json={"name": "renamed"}, headers=h).get_json()  # no sources: none change
    assert got["sources"]["youtube_oauth_token_set"] is True and got["sources"]["bilibili_buvid_set"] is True
    with api.app_.extensions["livehost.db"].sessions() as s:
        from db.models import Room

        assert s.get(Room, room["id"]).source_secrets(api.app_.config["LIVEHOST"].data_key)["bilibili_cookie"] == ""


def test_bad_sources_are_422_naming_the_field(api, tokens):
    room = new_room(api, tokens)
    cases = [({"bilibili_room_id": 0}, "bilibili_room_id"), ({"bilibili_room_id": "21452505"}, "bilibili_room_id"),
             ({"bilibili_room_id": 2**31}, "bilibili_room_id"), ({"youtube_video_id": "a b"}, "youtube_video_id"),
             ({"youtube_video_id": "x" * 65}, "youtube_video_id"), ({"bilibili_cookie": "a\nb"}, "bilibili_cookie"),
             ({"youtube_api_key": "k" * 501}, "youtube_api_key"), ({"relay": "yes"}, "relay"),
             ({"relay": 1}, "relay"), ({"twitch": "x"}, "twitch")]
    for sources, field in cases:
        for r in (api.post("/api/rooms", json={**ROOM, "sources": sources}, headers=tokens["operator"]),
                  api.patch(f"/api/rooms/{room['id']}", json={"sources": sources}, headers=tokens["operator"])):
            assert r.status_code == 422, (sources, r.get_json())
            assert f"sources.{field}" in r.get_json()["error"]["fields"], (sources, r.get_json())
    assert api.get("/api/rooms", headers=tokens["viewer"]).get_json()["total"] == 1


# -- triage settings -----------------------------------------------------------------------------------
def test_triage_settings_left_out_are_the_defaults(api, tokens):
    room = new_room(api, tokens, settings={"audience": {"answer": "keywords", "keywords": ["价格", "price"]}})
    audience = room["settings"]["audience"]
    assert (audience["answer"], audience["keywords"], audience["replies_per_minute"], audience["interrupt_on"]) == \
        ("keywords", ["价格", "price"], 6, ["superchat"])
    with api.app_.extensions["livehost.db"].sessions() as s:  # stored before some keys existed
        s.execute(sa.text("UPDATE rooms SET settings = :s WHERE id = :id"),
                  {"s": '{"persona": "old", "audience": {"queue_size": 5}}', "id": room["id"]})
        s.commit()
    got = api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json()["settings"]
    assert got["persona"] == "old" and got["audience"]["queue_size"] == 5 and got["audience"]["answer"] == "all"


def test_bad_triage_settings_are_422_naming_the_field(api, tokens):
    room = new_room(api, tokens)
    cases = [({"answer": "some"}, "answer"), ({"keywords": ["x" * 51]}, "keywords"), ({"keywords": [""]}, "keywords"),
             ({"keywords": ["k"] * 101}, "keywords"), ({"keywords": "price"}, "keywords"),
             ({"host_names": ["n"] * 21}, "host_names"), ({"replies_per_minute": 61}, "replies_per_minute"),
             ({"replies_per_minute": -1}, "replies_per_minute"), ({"replies_per_minute": "6"}, "replies_per_minute"),
             ({"queue_size": 0}, "queue_size"), ({"queue_size": 501}, "queue_size"), ({"max_wait_s": 4}, "max_wait_s"),
             ({"max_wait_s": 601}, "max_wait_s"), ({"dedupe_window_s": 3601}, "dedupe_window_s"),
             ({"blocked_words": ["w"] * 501}, "blocked_words"), ({"blocked_users": ["u" * 101]}, "blocked_users"),
             ({"interrupt_on": ["follow"]}, "interrupt_on"), ({"thank": ["enter"]}, "thank"),
             ({"thank_min_value": -0.5}, "thank_min_value"), ({"thank_min_value": 100001}, "thank_min_value"),
             ({"thank_min_value": "1"}, "thank_min_value"), ({"thank_batch_s": 0}, "thank_batch_s"),
             ({"thank_batch_s": 301}, "thank_batch_s"), ({"read_names": "no"}, "read_names"),
             ({"loudness": 3}, "loudness")]
    for audience, field in cases:
        for r in (api.post("/api/rooms", json={**ROOM, "settings": {"audience": audience}}, headers=tokens["operator"]),
                  api.patch(f"/api/rooms/{room['id']}", json={"settings": {"audience": audience}},
                            headers=tokens["operator"])):
            assert r.status_code == 422, (audience, r.get_json())
            error = r.get_json()["error"]
            assert error["message"].startswith(f"settings.audience.{field}"), (audience, error)
    r = api.post("/api/rooms", json={**ROOM, "settings": {"audience": {"thank_min_value": 2, "max_wait_s": 5.0}}},
                 headers=tokens["operator"])
    assert r.status_code == 201 and r.get_json()["settings"]["audience"]["thank_min_value"] == 2.0


# -- the source test -----------------------------------------------------------------------------------
def test_a_source_test_reads_the_platform_with_saved_or_given_values(api, tokens, monkeypatch):
    room = new_room(api, tokens, sources={"youtube_video_id": "live123", "youtube_api_key": "test-key"})
    url, h = f"/api/rooms/{room['id']}/sources/test", tokens["operator"]
    with FakeYouTube("live123", api_key="test-key", title="Tea tasting") as fake:
        monkeypatch.setenv(Settings.variable("youtube_api_base"), fake.api_base)
        r = api.post(url, json={"platform": "youtube"}, headers=h)
        assert r.status_code == 200, r.get_json()
        out = r.get_json()
        assert (out["ok"], out["platform"], out["error"], out["reason"]) == (True, "youtube", None, None)
        assert out["detail"]["title"] == "Tea tasting"
        r = api.post(url, json={"platform": "youtube", "youtube_api_key": API_KEY}, headers=h)  # the form's key
        out = r.get_json()
        assert r.status_code == 200 and out["ok"] is False and out["reason"] == "source_unreachable", out
        assert out["error"] and API_KEY not in r.get_data(as_text=True)
        r = api.post(url, json={"platform": "youtube", "youtube_video_id": "other1"}, headers=h)
        assert r.get_json()["ok"] is False
        assert {rq.params.get("id") for rq in fake.requests if rq.path == "/videos"} >= {"live123", "other1"}
    assert API_KEY not in everything_stored(api)
    log = api.get("/api/audit?per_page=100", headers=tokens["admin"]).get_json()["items"]
    assert [e["detail"]["ok"] for e in log if e["action"] == "room.sources_test"] == [False, False, True]


def test_a_source_test_without_a_target_is_422_and_an_unreachable_platform_a_result(api, tokens, monkeypatch):
    room = new_room(api, tokens)
    url, h = f"/api/rooms/{room['id']}/sources/test", tokens["operator"]
    for platform, field in (("bilibili", "bilibili_room_id"), ("youtube", "youtube_video_id")):
        r = api.post(url, json={"platform": platform}, headers=h)
        assert r.status_code == 422 and field in r.get_json()["error"]["fields"], r.get_json()
    r = api.post(url, json={"platform": "twitch"}, headers=h)
    assert r.status_code == 422 and "platform" in r.get_json()["error"]["fields"]
    monkeypatch.setenv(Settings.variable("bilibili_api_base"), f"http://127.0.0.1:{free_port()}")
    r = api.post(url, json={"platform": "bilibili", "bilibili_room_id": 21452505, "bilibili_cookie": COOKIE},
                 headers=h)
    out = r.get_json()
    assert r.status_code == 200 and out["ok"] is False and out["reason"] == "source_unreachable", out
    assert out["params"]["platform"] == "bilibili" and COOKIE not in r.get_data(as_text=True)
    assert api.post(url, json={"platform": "bilibili"}, headers=tokens["viewer"]).status_code == 403
    assert api.post("/api/rooms/999999/sources/test", json={"platform": "bilibili"}, headers=h).status_code == 404


# -- a live's audience ---------------------------------------------------------------------------------
def make_live(api, tokens, status: str = "live") -> tuple[dict, int]:
    refs = make_refs(api, tokens)
    with api.app_.extensions["livehost.db"].sessions() as s:
        live = LiveSession(id=random.randrange(10**8, 10**9), room_id=refs["room_id"], script_id=refs["script_id"],
                           avatar_id=refs["avatar_id"], voice_id=refs["voice_id"], status=status)
        s.add(live)
        s.commit()
        return refs, live.id


def add_events(api, session_id: int, n: int) -> None:
    """What a worker records: n events, every third a gift, the comments' actions in turn."""
    start = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
    actions = ("queued", "answered", "skipped")
    with api.app_.extensions["livehost.db"].sessions() as s:
        for seq in range(1, n + 1):
            gift = seq % 3 == 0
            s.add(AudienceEventRow(session_id=session_id, seq=seq, platform="bilibili",
                                   kind="gift" if gift else "comment", user_id=str(1000 + seq),
                                   user_name=f"viewer {seq}", text="" if gift else f"comment {seq}",
                                   gift="rose" if gift else "", count=2 if gift else 0, value=0.2 if gift else 0.0,
                                   currency="CNY" if gift else "", at=start + timedelta(seconds=seq),
                                   action="thanked" if gift else actions[seq % 3],
                                   reason="duplicate" if not gift and seq % 3 == 2 else None,
                                   reply="Thanks!" if not gift and seq % 3 == 1 else None,
                                   raw={"cmd": "DANMU_MSG"}))
        s.commit()


def test_a_live_s_audience_is_listed_newest_first_page_by_page(api, tokens):
    _, sid = make_live(api, tokens)
    add_events(api, sid, 25)
    url, h = f"/api/sessions/{sid}/audience", tokens["viewer"]
    page = api.get(url + "?per_page=10", headers=h).get_json()
    assert page["total"] == 25 and [e["seq"] for e in page["items"]] == list(range(25, 15, -1))
    third = api.get(url + "?per_page=10&page=3", headers=h).get_json()
    assert [e["seq"] for e in third["items"]] == [5, 4, 3, 2, 1]
    first = third["items"][-1]
    assert first == {"id": first["id"], "seq": 1, "platform": "bilibili", "kind": "comment", "user_id": "1001",
                     "user": "viewer 1", "text": "comment 1", "gift": "", "count": 0, "value": 0.0, "currency": "",
                     "at": "2026-12-01T20:00:01Z", "action": "answered", "reason": None, "reply": "Thanks!"}
    gifts = api.get(url + "?kind=gift&per_page=100", headers=h).get_json()
    assert gifts["total"] == 8 and all(e["kind"] == "gift" and e["gift"] == "rose" for e in gifts["items"])
    skipped = api.get(url + "?action=skipped", headers=h).get_json()
    assert {e["reason"] for e in skipped["items"]} == {"duplicate"} and skipped["total"] == 8
    assert api.get(url + "?kind=gift&action=queued", headers=h).get_json()["total"] == 0
    for bad in ("?kind=shout", "?action=eaten", "?per_page=101", "?page=0"):
        r = api.get(url + bad, headers=h)
        assert r.status_code == 422, bad
    assert api.get("/api/sessions/999999/audience", headers=h).status_code == 404
    assert api.get(url).status_code == 401


def test_answer_skip_and_block_reach_the_live_on_the_bus(api, tokens):
    refs, sid = make_live(api, tokens)
    h = tokens["operator"]
    r = api.post(f"/api/sessions/{sid}/audience/7/answer", headers=h)
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["type"] == "answer" and r.get_json()["status"] == "live"
    assert api.post(f"/api/sessions/{sid}/audience/8/skip", headers=h).status_code == 202
    for _ in range(2):
        r = api.post(f"/api/sessions/{sid}/audience/block", json={"user": "bilibili:35481926"}, headers=h)
        assert r.status_code == 202, r.get_json()
    api.post(f"/api/sessions/{sid}/audience/block", json={"user": "  Troll  "}, headers=h)
    sent = [c for _, c in api.app_.extensions["livehost.bus"].commands(sid)]
    assert [{k: c[k] for k in c if k not in ("at",)} for c in sent] == [
        {"type": "answer", "seq": 7, "by": "operator_1"}, {"type": "skip", "seq": 8, "by": "operator_1"},
        {"type": "block", "user": "bilibili:35481926", "by": "operator_1"},
        {"type": "block", "user": "bilibili:35481926", "by": "operator_1"},
        {"type": "block", "user": "Troll", "by": "operator_1"}]
    room = api.get(f"/api/rooms/{refs['room_id']}", headers=tokens["viewer"]).get_json()
    assert room["settings"]["audience"]["blocked_users"] == ["bilibili:35481926", "Troll"]
    audit = api.get("/api/audit?per_page=100", headers=tokens["admin"]).get_json()["items"]
    assert [e["detail"]["user"] for e in audit if e["action"] == "room.block_user"] == ["Troll", "bilibili:35481926"]
    assert {"session.answer", "session.skip", "session.block"} <= {e["action"] for e in audit}
    r = api.post(f"/api/sessions/{sid}/audience/block", json={"user": ""}, headers=h)
    assert r.status_code == 422 and "user" in r.get_json()["error"]["fields"]


def test_a_live_that_is_over_takes_no_audience_command(api, tokens):
    _, sid = make_live(api, tokens, status="ended")
    h = tokens["operator"]
    for path, body in (("audience/3/answer", None), ("audience/3/skip", None), ("audience/block", {"user": "x"})):
        r = api.post(f"/api/sessions/{sid}/{path}", json=body, headers=h)
        assert r.status_code == 409 and r.get_json()["error"]["reason"] == "session_ended", path
        assert api.post(f"/api/sessions/999999/{path}", json=body, headers=h).status_code == 404
    assert api.app_.extensions["livehost.bus"].commands(sid) == []


def test_viewers_may_read_but_not_change_anything_of_the_audience(api, tokens):
    refs, sid = make_live(api, tokens)
    v, rid = tokens["viewer"], refs["room_id"]
    writes = [api.post(f"/api/sessions/{sid}/audience/1/answer", headers=v),
              api.post(f"/api/sessions/{sid}/audience/1/skip", headers=v),
              api.post(f"/api/sessions/{sid}/audience/block", json={"user": "x"}, headers=v),
              api.patch(f"/api/rooms/{rid}", json={"sources": {"relay": True}}, headers=v),
              api.patch(f"/api/rooms/{rid}", json={"settings": {"audience": {"answer": "questions"}}}, headers=v),
              api.post(f"/api/rooms/{rid}/relay-token", headers=v),
              api.delete(f"/api/rooms/{rid}/relay-token", headers=v),
              api.post(f"/api/rooms/{rid}/sources/test", json={"platform": "youtube"}, headers=v)]
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert api.app_.extensions["livehost.bus"].commands(sid) == []
    assert api.get(f"/api/sessions/{sid}/audience", headers=v).status_code == 200
    assert api.get(f"/api/rooms/{rid}", headers=v).get_json()["sources"]["relay"] is False
