"""Rooms, and the rule that a stream key never comes back out: not in a response, not in a log."""
from __future__ import annotations

import logging

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
