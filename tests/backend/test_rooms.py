"""Rooms, and the rule that a stream key never comes back out: not in a response, not in a log."""
from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

KEY = "live_123456789_SeCrEtKeY42"
ROOM = {"name": "Morning show", "platform": "bilibili",
        "server_url": "rtmp://live-push.bilivideo.com/live-bvc/", "stream_key": KEY}


def test_room_round_trip_with_masked_key(api, tokens):
    r = api.post("/api/rooms", json=ROOM, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    room = r.get_json()
    assert room["server_url"] == "rtmp://live-push.bilivideo.com/live-bvc"
    assert room["stream_key"] == "****eY42"
    got = api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json()
    assert got == room
    listed = api.get("/api/rooms", headers=tokens["viewer"]).get_json()
    assert listed["total"] == 1 and listed["items"] == [room]
    r = api.patch(f"/api/rooms/{room['id']}", json={"stream_key": "other_key_0000000000009"},
                  headers=tokens["operator"])
    assert r.get_json()["stream_key"] == "****0009"


def test_stream_key_is_encrypted_at_rest(api, tokens):
    api.post("/api/rooms", json=ROOM, headers=tokens["operator"])
    engine = api.app_.extensions["livehost.db"].engine
    with engine.connect() as c:
        dump = " ".join(str(v) for row in c.execute(sa.text("SELECT * FROM rooms")) for v in row)
    assert KEY not in dump and KEY[5:] not in dump


def test_stream_key_never_appears_in_any_response_or_log(api, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    bodies = []
    r = api.post("/api/rooms", json=ROOM, headers=tokens["operator"])
    bodies.append(r.get_data(as_text=True))
    rid = r.get_json()["id"]
    for call in (lambda: api.get(f"/api/rooms/{rid}", headers=tokens["admin"]),
                 lambda: api.get("/api/rooms", headers=tokens["admin"]),
                 lambda: api.patch(f"/api/rooms/{rid}", json={"stream_key": KEY, "name": "x"},
                                   headers=tokens["operator"]),
                 lambda: api.post("/api/rooms", json={**ROOM, "server_url": "http://bad"},
                                  headers=tokens["operator"]),
                 lambda: api.post("/api/rooms", json={**ROOM, "stream_key": KEY + " with space"},
                                  headers=tokens["operator"]),
                 lambda: api.post("/api/rooms", json=ROOM, headers=tokens["viewer"]),
                 lambda: api.get("/api/openapi.json")):
        bodies.append(call().get_data(as_text=True))
    everything = "\n".join(bodies) + "\n".join(rec.getMessage() for rec in caplog.records)
    assert KEY not in everything
    assert "SeCrEtKeY" not in everything


def test_only_rtmp_urls_are_accepted(api, tokens):
    for url in ("http://example.com/live", "rtmp://", "ftp://x/y", "rtmp://host/app?key=1",
                "javascript:alert(1)", "rtmp://ho st/app"):
        r = api.post("/api/rooms", json={**ROOM, "server_url": url}, headers=tokens["operator"])
        assert r.status_code == 422, url
        assert "server_url" in r.get_json()["error"]["fields"], r.get_json()
    r = api.post("/api/rooms", json={**ROOM, "server_url": "rtmps://live.example.com:443/app"},
                 headers=tokens["operator"])
    assert r.status_code == 201


def test_bad_room_input_is_a_clear_4xx(api, tokens):
    h = tokens["operator"]
    r = api.post("/api/rooms", data="{not json", headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.get_json()["error"]["message"]
    r = api.post("/api/rooms", json={**ROOM, "platform": "myspace"}, headers=h)
    assert r.status_code == 422 and "platform" in r.get_json()["error"]["fields"]
    r = api.post("/api/rooms", json={**ROOM, "name": 42}, headers=h)
    assert r.status_code == 422 and "name" in r.get_json()["error"]["fields"]
    r = api.post("/api/rooms", json={**ROOM, "colour": "red"}, headers=h)
    assert r.status_code == 422 and "colour" in r.get_json()["error"]["fields"]
    r = api.post("/api/rooms", json={**ROOM, "name": "x" * 101}, headers=h)
    assert r.status_code == 422
    assert api.get("/api/rooms/999999", headers=h).status_code == 404


def test_injection_strings_are_plain_data(api, tokens):
    for name in ("'; DROP TABLE rooms; --", "<script>alert(1)</script>", "Robert'); --"):
        r = api.post("/api/rooms", json={**ROOM, "name": name}, headers=tokens["operator"])
        assert r.status_code == 201 and r.get_json()["name"] == name
    names = [x["name"] for x in api.get("/api/rooms", headers=tokens["viewer"]).get_json()["items"]]
    assert "<script>alert(1)</script>" in names and len(names) == 3


# --- live behaviour settings ------------------------------------------------------------------

SETTINGS = {"persona": "A cheerful host who sells tea.", "answer_immediately": True, "interrupt_gap_ms": 2500,
            "speech_during_action": "interrupt",
            "keyword_replies": {"price": "It costs 9 yuan{user_suffix}.", "发货": "48小时内发货。"},
            "default_reply": "Thanks for asking, {user}!", "fallback_line": "Give me a second.",
            "max_reply_chars": 120, "language": "zh",
            "audience": {"answer": "questions", "keywords": ["price", "发货"], "host_names": ["Mia"],
                         "replies_per_minute": 10, "queue_size": 50, "max_wait_s": 90, "dedupe_window_s": 60,
                         "blocked_words": ["spam"], "blocked_users": ["bilibili:42", "Troll"],
                         "interrupt_on": ["superchat", "guard"], "thank": ["gift"], "thank_min_value": 1.5,
                         "thank_batch_s": 20, "read_names": False},
            "knowledge": "Shipping is free; returns within 7 days.", "banned_words": {"add": ["秒杀"], "allow": ["最"]},
            "products": [], "reword_loops": False, "record": True,
            "scene": {"captions": False, "caption_style": "outline", "caption_box": {"x": 0.1, "y": 0.8, "w": 0.8, "h": 0.1},
                      "caption_size": 0.06, "ai_label": "on", "ai_label_text": "AI数字人", "ai_label_corner": "bottom-left",
                      "background": {"type": "blur", "media": None}, "logo": None,
                      "title": {"text": "春茶节", "box": {"x": 0.05, "y": 0.05, "w": 0.9, "h": 0.06}, "size": 0.045},
                      "product_card": False, "product_card_box": {"x": 0.5, "y": 0.5, "w": 0.45, "h": 0.15},
                      "cards": {"starting_soon": "八点见", "be_right_back": ""},
                      "music": {"playlist": [], "volume_db": -20.0, "duck_db": 6.0}, "loudness": -14.0},
            "fallback_voice": "piper:speed=1.1"}
SCENE_DEFAULTS = {"captions": True, "caption_style": "band", "caption_box": {"x": 0.05, "y": 0.74, "w": 0.9, "h": 0.16},
                  "caption_size": 0.05, "ai_label": "auto", "ai_label_text": "", "ai_label_corner": "top-right",
                  "background": {"type": "blur", "media": None}, "logo": None, "title": None, "product_card": True,
                  "product_card_box": {"x": 0.04, "y": 0.5, "w": 0.5, "h": 0.13},
                  "cards": {"starting_soon": "", "be_right_back": ""},
                  "music": {"playlist": [], "volume_db": -14.0, "duck_db": 12.0}, "loudness": -16.0}
AUDIENCE_DEFAULTS = {"answer": "all", "keywords": [], "host_names": [], "replies_per_minute": 6, "queue_size": 30,
                     "max_wait_s": 60, "dedupe_window_s": 120, "blocked_words": [], "blocked_users": [],
                     "interrupt_on": ["superchat"], "thank": ["gift", "guard", "follow"], "thank_min_value": 0.0,
                     "thank_batch_s": 10, "read_names": True}


def test_room_settings_round_trip(api, tokens):
    r = api.post("/api/rooms", json={**ROOM, "settings": SETTINGS}, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    room = r.get_json()
    assert room["settings"] == SETTINGS
    assert api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json()["settings"] == SETTINGS
    changed = {**SETTINGS, "interrupt_gap_ms": 0, "speech_during_action": "wait", "keyword_replies": {}}
    r = api.patch(f"/api/rooms/{room['id']}", json={"settings": changed}, headers=tokens["operator"])
    assert r.status_code == 200 and r.get_json()["settings"] == changed
    assert api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json()["settings"] == changed


def test_room_settings_left_out_are_the_defaults(api, tokens):
    defaults = {"persona": "", "answer_immediately": False, "interrupt_gap_ms": 1000, "speech_during_action": "wait",
                "keyword_replies": {}, "default_reply": "", "fallback_line": "", "max_reply_chars": 300,
                "language": "auto", "audience": AUDIENCE_DEFAULTS, "knowledge": "",
                "banned_words": {"add": [], "allow": []}, "products": [], "reword_loops": True,
                "record": False, "scene": SCENE_DEFAULTS, "fallback_voice": "espeak"}
    room = api.post("/api/rooms", json=ROOM, headers=tokens["operator"]).get_json()
    assert room["settings"] == defaults
    r = api.patch(f"/api/rooms/{room['id']}", json={"settings": {"interrupt_gap_ms": 500}},
                  headers=tokens["operator"])
    assert r.get_json()["settings"] == {**defaults, "interrupt_gap_ms": 500}
    with api.app_.extensions["livehost.db"].sessions() as s:  # a room stored before these keys existed
        s.execute(sa.text("UPDATE rooms SET settings = :s WHERE id = :id"),
                  {"s": '{"persona": "old"}', "id": room["id"]})
        s.commit()
    got = api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"]).get_json()
    assert got["settings"] == {**defaults, "persona": "old"}


@pytest.mark.parametrize("settings,field", [
    ({"interrupt_gap_ms": -1}, "interrupt_gap_ms"), ({"interrupt_gap_ms": 60001}, "interrupt_gap_ms"),
    ({"interrupt_gap_ms": "1000"}, "interrupt_gap_ms"), ({"interrupt_gap_ms": 1.5}, "interrupt_gap_ms"),
    ({"interrupt_gap_ms": True}, "interrupt_gap_ms"), ({"interrupt_gap_ms": None}, "interrupt_gap_ms"),
    ({"speech_during_action": "sometimes"}, "speech_during_action"), ({"speech_during_action": ""},
                                                                       "speech_during_action"),
    ({"default_reply": "x" * 501}, "default_reply"), ({"default_reply": 7}, "default_reply"),
    ({"fallback_line": "x" * 501}, "fallback_line"),
    ({"max_reply_chars": 19}, "max_reply_chars"), ({"max_reply_chars": 2001}, "max_reply_chars"),
    ({"max_reply_chars": "300"}, "max_reply_chars"),
    ({"answer_immediately": "yes"}, "answer_immediately"), ({"persona": "x" * 4001}, "persona"),
    ({"keyword_replies": {"": "empty keyword"}}, "keyword_replies"),
    ({"keyword_replies": {"   ": "blank keyword"}}, "keyword_replies"),
    ({"keyword_replies": {"k" * 51: "long keyword"}}, "keyword_replies"),
    ({"keyword_replies": {"price": ""}}, "keyword_replies"),
    ({"keyword_replies": {"price": "x" * 501}}, "keyword_replies"),
    ({"keyword_replies": {"price": 9}}, "keyword_replies"),
    ({"keyword_replies": ["price"]}, "keyword_replies"),
    ({"keyword_replies": {f"k{i}": "v" for i in range(201)}}, "keyword_replies"),
    ({"colour": "red"}, "colour"),
    ({"fallback_voice": "festival"}, "fallback_voice"), ({"fallback_voice": ""}, "fallback_voice"),
    ({"fallback_voice": "gptsovits:ftp://tts"}, "fallback_voice"), ({"fallback_voice": "piper:.."}, "fallback_voice"),
])
def test_bad_room_settings_are_422_naming_the_field(api, tokens, settings, field):
    r = api.post("/api/rooms", json={**ROOM, "settings": settings}, headers=tokens["operator"])
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["message"].startswith(f"settings.{field}"), error
    assert any(k.startswith(f"settings.{field}") for k in error["fields"]), error
    room = api.post("/api/rooms", json=ROOM, headers=tokens["operator"]).get_json()
    r = api.patch(f"/api/rooms/{room['id']}", json={"settings": settings}, headers=tokens["operator"])
    assert r.status_code == 422 and r.get_json()["error"]["message"].startswith(f"settings.{field}")


def test_the_streamer_reads_what_the_api_stores():
    """RoomSettings (what the API stores) and RoomPolicy.from_settings (what a worker reads) use
    the same keys, and every value the API accepts is one the worker accepts."""
    from backend.resources.rooms import RoomSettings
    from streamer.llm import ReplyRules
    from streamer.room import RoomPolicy

    class Reads(dict):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            self.read = set()

        def get(self, k, default=None):
            self.read.add(k)
            return super().get(k, default)

        def __getitem__(self, k):
            self.read.add(k)
            return super().__getitem__(k)

    stored = Reads(RoomSettings.model_validate(SETTINGS).model_dump())
    policy = RoomPolicy.from_settings(stored)
    worker_reads = {"knowledge", "products", "scene", "record"}  # the live's catalog and scene (scheduler.worker.live_spec)
    assert stored.read | worker_reads == set(RoomSettings.model_fields), "the worker and the API disagree on the keys"
    assert (policy.persona, policy.answer_immediately, policy.interrupt_gap_s, policy.speech_during_action) == \
        (SETTINGS["persona"], True, 2.5, "interrupt")
    rules = policy.reply_rules()
    assert rules.match("What is the price?", "Ann") == "It costs 9 yuan, Ann."
    assert rules.match("hello", "Bob") == "Thanks for asking, Bob!"
    assert (rules.fallback_line, rules.max_reply_chars) == ("Give me a second.", 120)

    defaults = RoomPolicy.from_settings(RoomSettings().model_dump()).reply_rules()
    assert (defaults.default_reply, defaults.fallback_line, defaults.max_reply_chars) == \
        (ReplyRules().default_reply, ReplyRules().fallback_line, 300)
    chinese = RoomPolicy.from_settings(RoomSettings().model_dump(), "bilibili").reply_rules()
    assert chinese.match("你好", "小明") == "谢谢你的评论，小明！" and chinese.match("你好") == "谢谢你的评论！"
    assert "抱歉" in chinese.fallback_line
    english = RoomPolicy.from_settings(RoomSettings(language="en").model_dump(), "douyin").reply_rules()
    assert english.match("hi", "Ann") == "Thanks for your comment, Ann!"
    for edge in ({"interrupt_gap_ms": 0, "max_reply_chars": 20}, {"interrupt_gap_ms": 60000, "max_reply_chars": 2000}):
        policy = RoomPolicy.from_settings(RoomSettings.model_validate(edge).model_dump())
        assert policy.interrupt_gap_s == edge["interrupt_gap_ms"] / 1000
        assert policy.reply_rules().max_reply_chars == edge["max_reply_chars"]


def test_room_settings_api_round_trip_feeds_the_streamer(api, tokens):
    from streamer.room import RoomPolicy

    room = api.post("/api/rooms", json={**ROOM, "settings": SETTINGS}, headers=tokens["operator"]).get_json()
    policy = RoomPolicy.from_settings(api.get(f"/api/rooms/{room['id']}", headers=tokens["viewer"])
                                      .get_json()["settings"])
    assert policy.keyword_replies == SETTINGS["keyword_replies"] and policy.max_reply_chars == 120
    plain = api.post("/api/rooms", json=ROOM, headers=tokens["operator"]).get_json()
    policy, builtin = RoomPolicy.from_settings(plain["settings"]), RoomPolicy()
    assert policy.reply_rules() == builtin.reply_rules()  # a room's defaults are the streamer's own
    assert (policy.answer_immediately, policy.interrupt_gap_s, policy.speech_during_action) == \
        (builtin.answer_immediately, builtin.interrupt_gap_s, builtin.speech_during_action)
