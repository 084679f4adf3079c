"""Scripts: the API refuses what the streamer would refuse and stores text as plain data."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from db.models import AuditEntry
from streamer.script import ScriptError, parse_script
from tests.helpers.api import use_in_schedule

SHOW = {"name": "Morning show", "loop": 0, "segments": [
    {"say": "Hello everyone! Welcome to the live room."},
    {"pause": 1500},
    {"action": "wave"},
    {"say": "大家好，欢迎来到直播间。今天有新品！", "voice": "edge:zh-CN-XiaoxiaoNeural"},
    "Plain strings are said too.",
]}


def test_script_round_trip_with_counts(api, tokens):
    r = api.post("/api/scripts", json=SHOW, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    script = r.get_json()
    assert script["loop"] == 0 and script["name"] == "Morning show"
    assert script["segments"] == SHOW["segments"][:4] + [{"say": "Plain strings are said too."}]
    assert script["chars"] == sum(len(s["say"]) for s in script["segments"] if "say" in s)
    assert script["sentences"] == 5
    assert script["created_at"] and script["updated_at"]
    assert api.get(f"/api/scripts/{script['id']}", headers=tokens["viewer"]).get_json() == script
    listed = api.get("/api/scripts", headers=tokens["viewer"]).get_json()
    assert listed["total"] == 1 and listed["items"] == [script]
    parse_script({"segments": script["segments"], "loop": script["loop"]})  # a worker can play it
    r = api.patch(f"/api/scripts/{script['id']}", json={"segments": ["One. Two."], "loop": 3},
                  headers=tokens["admin"])
    changed = r.get_json()
    assert r.status_code == 200 and changed["segments"] == [{"say": "One. Two."}]
    assert (changed["loop"], changed["chars"], changed["sentences"], changed["name"]) == (3, 9, 2, "Morning show")
    assert changed["updated_at"] > script["updated_at"]
    assert api.delete(f"/api/scripts/{script['id']}", headers=tokens["operator"]).status_code == 204
    assert api.get(f"/api/scripts/{script['id']}", headers=tokens["viewer"]).status_code == 404
    with api.app_.extensions["livehost.db"].sessions() as s:
        actions = s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["script.create", "script.change", "script.delete"]


def test_sql_and_html_are_stored_as_plain_text(api, tokens):
    nasty = ["'; DROP TABLE scripts; --", "<script>alert(1)</script>", "Robert'); DELETE FROM users;-- \"x\""]
    body = {"name": nasty[0], "segments": [{"say": text} for text in nasty]}
    created = api.post("/api/scripts", json=body, headers=tokens["operator"]).get_json()
    got = api.get(f"/api/scripts/{created['id']}", headers=tokens["viewer"])
    assert got.get_json()["name"] == nasty[0]
    assert [s["say"] for s in got.get_json()["segments"]] == nasty
    assert got.mimetype == "application/json"
    assert api.get("/api/scripts", headers=tokens["viewer"]).get_json()["total"] == 1
    assert api.get("/api/users", headers=tokens["admin"]).get_json()["total"] == 3


BAD_SEGMENTS = [
    [],
    [{"pause": 500}],
    [{"say": "   "}],
    [{"say": "hi"}, {"pause": -5}],
    [{"say": "hi"}, {"pause": "long"}],
    [{"say": "hi"}, {"pause": 600_001}],
    [{"say": "hi"}, {"action": "jump around!"}],
    [{"say": "hi", "pause": 100}],
    [{"say": 42}],
    [{"say": "hi"}, 7],
    [{}],
]


@pytest.mark.parametrize("segments", BAD_SEGMENTS, ids=range(len(BAD_SEGMENTS)))
def test_segments_the_streamer_refuses_are_422_with_its_message(api, tokens, segments):
    with pytest.raises(ScriptError) as refused:
        parse_script({"segments": segments, "loop": 1}, "script")
    r = api.post("/api/scripts", json={"name": "bad", "segments": segments}, headers=tokens["operator"])
    assert r.status_code == 422
    assert r.get_json()["error"]["message"] == str(refused.value)


def test_bad_voices_and_unknown_keys_in_segments_are_422(api, tokens):
    cases = [
        ([{"say": "hi", "voice": "polly:joanna"}], "segments.0.voice", "unknown voice engine 'polly'"),
        ([{"say": "hi"}, {"say": "yo", "voice": "espeak:klingon"}], "segments.1.voice", "no language 'klingon'"),
        ([{"say": "hi", "voice": 5}], "segments.0.voice", "voice must be a voice spec"),
        ([{"say": "hi", "emotion": "happy"}], "segments.0", "unknown key 'emotion'"),
        ([{"say": "hi"}, {"pause": 100, "voice": "espeak"}], "segments.1", "only a say segment may name a voice"),
    ]
    for segments, field, words in cases:
        r = api.post("/api/scripts", json={"name": "bad", "segments": segments}, headers=tokens["operator"])
        assert r.status_code == 422, segments
        assert words in r.get_json()["error"]["fields"][field], r.get_json()


def test_wrong_types_and_malformed_bodies_are_4xx(api, tokens):
    op = tokens["operator"]
    cases = [
        ({"name": "x", "segments": "hello"}, "segments", "valid list"),
        ({"name": "x", "segments": ["hi"], "loop": "3"}, "loop", "valid integer"),
        ({"name": "x", "segments": ["hi"], "loop": -1}, "loop", "greater than or equal to 0"),
        ({"name": 5, "segments": ["hi"]}, "name", "valid string"),
        ({"name": "", "segments": ["hi"]}, "name", "at least 1 character"),
        ({"name": "x", "segments": ["hi"], "title": "extra"}, "title", "Extra inputs are not permitted"),
        ({"segments": ["hi"]}, "name", "Field required"),
    ]
    for body, field, words in cases:
        r = api.post("/api/scripts", json=body, headers=op)
        assert r.status_code == 422, body
        assert words in r.get_json()["error"]["fields"][field], r.get_json()
    r = api.post("/api/scripts", data='{"name": "x", "segments": [', content_type="application/json", headers=op)
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "the body is not valid JSON"
    assert api.post("/api/scripts", headers=op).status_code == 400
    assert api.post("/api/scripts", data="segments=hi", headers=op).status_code == 415
    assert api.patch("/api/scripts/999", json={"name": "x"}, headers=op).status_code == 404
    assert api.get("/api/scripts", headers=op).get_json()["total"] == 0


def test_script_size_limits(api, tokens):
    op = tokens["operator"]
    limit = api.app_.config["LIVEHOST"].max_script_chars
    full = {"name": "long", "segments": [{"say": "a" * (limit // 2)}, {"say": "字" * (limit // 2)}]}
    r = api.post("/api/scripts", json=full, headers=op)
    assert r.status_code == 201 and r.get_json()["chars"] == limit
    assert api.get(f"/api/scripts/{r.get_json()['id']}", headers=op).get_json()["segments"] == full["segments"]
    over = {"name": "too long", "segments": [{"say": "a" * (limit + 1)}]}
    r = api.post("/api/scripts", json=over, headers=op)
    assert r.status_code == 422
    message = f"the script has {limit + 1} characters of text; the limit is {limit}"
    assert r.get_json()["error"]["message"] == message
    huge = {"name": "huge", "segments": [{"say": "a" * api.app_.config["LIVEHOST"].max_body_bytes}]}
    r = api.post("/api/scripts", json=huge, headers=op)
    assert r.status_code == 413 and r.get_json()["error"]["code"] == "too_large"


def test_roles(api, tokens):
    script = api.post("/api/scripts", json=SHOW, headers=tokens["operator"]).get_json()
    url = f"/api/scripts/{script['id']}"
    assert api.post("/api/scripts", json=SHOW, headers=tokens["viewer"]).status_code == 403
    assert api.patch(url, json={"loop": 2}, headers=tokens["viewer"]).status_code == 403
    assert api.delete(url, headers=tokens["viewer"]).status_code == 403
    assert api.post("/api/scripts", json=SHOW).status_code == 401
    assert api.get(url).status_code == 401
    assert api.get(url, headers=tokens["viewer"]).status_code == 200


def test_script_in_use_cannot_be_deleted(api, tokens):
    script = api.post("/api/scripts", json=SHOW, headers=tokens["operator"]).get_json()
    use_in_schedule(api, script_id=script["id"], session=True)
    r = api.delete(f"/api/scripts/{script['id']}", headers=tokens["operator"])
    assert r.status_code == 409 and "used by session " in r.get_json()["error"]["message"]
