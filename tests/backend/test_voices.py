"""Voices: stored settings become the spec a worker uses, checked by the streamer's own parser."""
from __future__ import annotations

import io
import wave

import sqlalchemy as sa

from db.models import AuditEntry
from streamer.voice import create_voice, parse_voice_spec
from tests.helpers.api import use_in_schedule

XIAOXIAO = {"name": "Xiaoxiao", "engine": "edge", "voice": "zh-CN-XiaoxiaoNeural", "rate": 10, "pitch": -10}
ESPEAK = {"name": "Robot", "engine": "espeak", "voice": "cmn", "rate": 20, "pitch": 10}


def test_voice_round_trip_with_spec(api, tokens):
    r = api.post("/api/voices", json=XIAOXIAO, headers=tokens["operator"])
    assert r.status_code == 201, r.get_json()
    voice = r.get_json()
    assert voice["spec"] == "edge:zh-CN-XiaoxiaoNeural:rate=+10%,pitch=-20Hz"
    assert {k: voice[k] for k in XIAOXIAO} == XIAOXIAO
    assert api.get(f"/api/voices/{voice['id']}", headers=tokens["viewer"]).get_json() == voice
    listed = api.get("/api/voices", headers=tokens["viewer"]).get_json()
    assert listed["total"] == 1 and listed["items"] == [voice]
    r = api.patch(f"/api/voices/{voice['id']}", json={"rate": 0, "pitch": 0, "name": "Plain"},
                  headers=tokens["admin"])
    assert r.status_code == 200 and r.get_json()["spec"] == "edge:zh-CN-XiaoxiaoNeural"
    assert api.delete(f"/api/voices/{voice['id']}", headers=tokens["operator"]).status_code == 204
    assert api.get(f"/api/voices/{voice['id']}", headers=tokens["viewer"]).status_code == 404
    with api.app_.extensions["livehost.db"].sessions() as s:
        actions = s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["voice.create", "voice.change", "voice.delete"]


def test_espeak_percentages_become_espeak_units(api, tokens):
    voice = api.post("/api/voices", json=ESPEAK, headers=tokens["operator"]).get_json()
    assert voice["spec"] == "espeak:cmn:rate=210,pitch=55"  # 175 wpm and pitch 50 are 0 %
    engine, name, options = parse_voice_spec(voice["spec"])
    assert (engine, name, options) == ("espeak", "cmn", {"rate": 210, "pitch": 55})
    assert create_voice(voice["spec"]).language == "cmn"
    auto = api.post("/api/voices", json={"name": "Auto", "engine": "espeak"}, headers=tokens["operator"])
    assert auto.get_json()["spec"] == "espeak" and auto.get_json()["voice"] == ""
    slow = api.post("/api/voices", json={**ESPEAK, "voice": "", "rate": -50, "pitch": -50},
                    headers=tokens["operator"]).get_json()
    assert slow["spec"] == "espeak:rate=88,pitch=25"
    assert create_voice(slow["spec"]).rate == 88


def test_voices_the_streamer_refuses_are_422_on_voice(api, tokens):
    for body, words in (({**ESPEAK, "voice": "klingon"}, "espeak has no language 'klingon'"),
                        ({**XIAOXIAO, "voice": "en"}, "edge-tts voice en: Invalid voice 'en'")):
        r = api.post("/api/voices", json=body, headers=tokens["operator"])
        assert r.status_code == 422, body
        error = r.get_json()["error"]
        assert words in error["fields"]["voice"] and words in error["message"]
    voice = api.post("/api/voices", json=ESPEAK, headers=tokens["operator"]).get_json()
    r = api.patch(f"/api/voices/{voice['id']}", json={"engine": "edge"}, headers=tokens["operator"])
    assert r.status_code == 422 and "Invalid voice 'cmn'" in r.get_json()["error"]["fields"]["voice"]
    assert api.get(f"/api/voices/{voice['id']}", headers=tokens["operator"]).get_json() == voice


def test_bad_voice_bodies_are_4xx_with_clear_messages(api, tokens):
    op = tokens["operator"]
    cases = [
        ({**ESPEAK, "rate": "fast"}, "rate", "integer"),
        ({**ESPEAK, "rate": True}, "rate", "integer"),
        ({**ESPEAK, "rate": 101}, "rate", "less than or equal to 100"),
        ({**ESPEAK, "pitch": -51}, "pitch", "greater than or equal to -50"),
        ({**ESPEAK, "engine": "polly"}, "engine", "'espeak' or 'edge'"),
        ({**ESPEAK, "name": ""}, "name", "at least 1 character"),
        ({**ESPEAK, "name": "n" * 101}, "name", "at most 100 characters"),
        ({**ESPEAK, "voice": "en:rate=999"}, "voice", "should match pattern"),
        ({**ESPEAK, "colour": "blue"}, "colour", "Extra inputs are not permitted"),
        ({"name": "x"}, "engine", "Field required"),
    ]
    for body, field, words in cases:
        r = api.post("/api/voices", json=body, headers=op)
        assert r.status_code == 422, body
        assert words in r.get_json()["error"]["fields"][field], (body, r.get_json())
    r = api.post("/api/voices", data="{not json", content_type="application/json", headers=op)
    assert r.status_code == 400 and r.get_json()["error"]["message"] == "the body is not valid JSON"
    r = api.post("/api/voices", data="name=x", content_type="application/x-www-form-urlencoded", headers=op)
    assert r.status_code == 415
    assert api.get("/api/voices?per_page=500", headers=op).status_code == 422
    assert api.get("/api/voices", headers=op).get_json()["total"] == 0


def test_roles(api, tokens):
    voice = api.post("/api/voices", json=ESPEAK, headers=tokens["admin"]).get_json()
    url = f"/api/voices/{voice['id']}"
    assert api.post("/api/voices", json=ESPEAK, headers=tokens["viewer"]).status_code == 403
    assert api.patch(url, json={"rate": 5}, headers=tokens["viewer"]).status_code == 403
    assert api.delete(url, headers=tokens["viewer"]).status_code == 403
    assert api.post(f"{url}/preview", headers=tokens["viewer"]).status_code == 403
    assert api.post("/api/voices", json=ESPEAK).status_code == 401
    assert api.get("/api/voices").status_code == 401
    assert api.get(url, headers=tokens["viewer"]).status_code == 200


def test_espeak_preview_is_a_wav_and_edge_preview_says_why_not(api, tokens):
    op = tokens["operator"]
    voice = api.post("/api/voices", json={**ESPEAK, "voice": "en"}, headers=op).get_json()
    r = api.post(f"/api/voices/{voice['id']}/preview?text=Testing one two three.", headers=op)
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    with wave.open(io.BytesIO(r.data)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16000, 2)
        assert 0.5 < w.getnframes() / 16000 < 5
    assert api.post(f"/api/voices/{voice['id']}/preview?text={'x' * 201}", headers=op).status_code == 422
    edge = api.post("/api/voices", json=XIAOXIAO, headers=op).get_json()
    r = api.post(f"/api/voices/{edge['id']}/preview", headers=op)
    assert r.status_code == 422 and "offline with espeak voices only" in r.get_json()["error"]["message"]


def test_voice_in_use_cannot_be_deleted(api, tokens):
    voice = api.post("/api/voices", json=ESPEAK, headers=tokens["operator"]).get_json()
    use_in_schedule(api, voice_id=voice["id"])
    r = api.delete(f"/api/voices/{voice['id']}", headers=tokens["operator"])
    assert r.status_code == 409 and "used by schedule " in r.get_json()["error"]["message"]
    assert api.get(f"/api/voices/{voice['id']}", headers=tokens["operator"]).status_code == 200
