"""Voices: stored settings become the spec a worker uses, checked by the streamer's own parser."""
from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np
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
        ({**ESPEAK, "engine": "polly"}, "engine", "'espeak', 'edge', 'piper', 'gptsovits' or 'cosyvoice'"),
        ({**ESPEAK, "name": ""}, "name", "at least 1 character"),
        ({**ESPEAK, "name": "n" * 101}, "name", "at most 100 characters"),
        ({**ESPEAK, "voice": "en:rate=999"}, "voice", "letters, digits, '_', '.' and '-' only"),
        ({**ESPEAK, "params": {"top_k": "5"}}, "params", "espeak voices take no server parameters"),
        ({**ESPEAK, "params": {"Top K": "5"}}, "params", "should match pattern"),
        ({**ESPEAK, "colour": "blue"}, "colour", "Extra inputs are not permitted"),
        ({"name": "x"}, "engine", "Field required"),
    ]
    for body, field, words in cases:
        r = api.post("/api/voices", json=body, headers=op)
        assert r.status_code == 422, body
        fields = r.get_json()["error"]["fields"]
        assert any(words in fields[k] for k in fields if k.split(".")[0] == field), (body, r.get_json())
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


def test_espeak_preview_is_a_wav(api, tokens):
    op = tokens["operator"]
    voice = api.post("/api/voices", json={**ESPEAK, "voice": "en"}, headers=op).get_json()
    r = api.post(f"/api/voices/{voice['id']}/preview?text=Testing one two three.", headers=op)
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    with wave.open(io.BytesIO(r.data)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16000, 2)
        assert 0.5 < w.getnframes() / 16000 < 5
    assert api.post(f"/api/voices/{voice['id']}/preview?text={'x' * 201}", headers=op).status_code == 422


def test_a_piper_voice_is_saved_with_its_speed_refuses_a_pitch_and_previews_as_speech(api, tokens):
    op = tokens["operator"]
    voice = api.post("/api/voices", json={"name": "Joe", "engine": "piper", "rate": 20}, headers=op).get_json()
    assert voice["spec"] == "piper:speed=1.2"
    r = api.post("/api/voices", json={"name": "High", "engine": "piper", "pitch": 10}, headers=op)
    assert r.status_code == 422 and "no pitch" in r.get_json()["error"]["fields"]["pitch"]
    r = api.post("/api/voices", json={"name": "Gone", "engine": "piper", "voice": "zh_CN-nobody"}, headers=op)
    assert r.status_code == 422 and "models/piper" in r.get_json()["error"]["fields"]["voice"]
    r = api.post(f"/api/voices/{voice['id']}/preview?text=Thank you all for joining us.", headers=op)
    assert r.status_code == 200 and r.mimetype == "audio/wav"
    with wave.open(io.BytesIO(r.data)) as w:
        assert (w.getnchannels(), w.getframerate()) == (1, 16000)
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert 0.8 < samples.size / 16000 < 4 and np.abs(samples).max() > 8000  # speech, not silence


def test_voice_in_use_cannot_be_deleted(api, tokens):
    voice = api.post("/api/voices", json=ESPEAK, headers=tokens["operator"]).get_json()
    use_in_schedule(api, voice_id=voice["id"])
    r = api.delete(f"/api/voices/{voice['id']}", headers=tokens["operator"])
    assert r.status_code == 409 and "used by schedule " in r.get_json()["error"]["message"]
    assert api.get(f"/api/voices/{voice['id']}", headers=tokens["operator"]).status_code == 200


# --- cloned voices: a GPT-SoVITS or CosyVoice server and a reference clip ------------------------------

SOVITS = {"name": "Host clone", "engine": "gptsovits", "voice": "http://127.0.0.1:9880",
          "params": {"prompt_lang": "zh", "top_k": "5"}}
REF_TEXT = "Hello everyone, welcome to the live room. Today we look at three new phones."


def clip_wav(seconds: float, rate: int = 16000, speech: bool = True) -> bytes:
    """A WAV file of `seconds` of espeak speech (repeated as needed) or of a quiet hum, at `rate` Hz."""
    from tests.helpers.speech import speech as say

    one = say(REF_TEXT) if speech else 0.001 * np.sin(np.arange(16000) * 2 * np.pi * 50 / 16000).astype(np.float32)
    audio = np.tile(one, int(seconds * 16000 / one.size) + 1)[: int(seconds * 16000)]
    if rate != 16000:
        audio = np.interp(np.arange(int(seconds * rate)) * 16000 / rate, np.arange(audio.size), audio)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((audio * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def put_clip(api, voice_id, headers, data, text=REF_TEXT, name="ref.wav"):
    return api.put(f"/api/voices/{voice_id}/reference", data={"file": (io.BytesIO(data), name), "text": text},
                   content_type="multipart/form-data", headers=headers)


def test_a_gptsovits_voice_is_its_server_and_parameters_and_speed(api, tokens):
    op = tokens["operator"]
    r = api.post("/api/voices", json={**SOVITS, "rate": 10}, headers=op)
    assert r.status_code == 201, r.get_json()
    voice = r.get_json()
    engine, url, params = parse_voice_spec(voice["spec"])
    assert (engine, url) == ("gptsovits", "http://127.0.0.1:9880") and voice["reference"] is None
    assert params["prompt_lang"] == "zh" and params["top_k"] == "5" and params["speed_factor"] == "1.1"
    for body, field, words in (({**SOVITS, "voice": "127.0.0.1:9880"}, "voice", "server's URL"),
                               ({**SOVITS, "pitch": 10}, "pitch", "no pitch"),
                               ({**SOVITS, "params": {"top_k": "many"}}, "params", "top_k"),
                               ({**SOVITS, "params": {"volume_boost": "2"}}, "params", "volume_boost"),
                               ({**SOVITS, "engine": "cosyvoice", "rate": 10, "params": {}}, "rate", "no speed")):
        r = api.post("/api/voices", json=body, headers=op)
        assert r.status_code == 422, body
        assert words in r.get_json()["error"]["fields"][field], r.get_json()


def test_a_reference_clip_is_checked_kept_given_to_the_server_and_removed(api, tokens):
    op = tokens["operator"]
    voice = api.post("/api/voices", json=SOVITS, headers=op).get_json()
    for data, words in ((clip_wav(2.0), "2.0 s long"), (clip_wav(12.0), "12.0 s long"),
                        (clip_wav(5.0, rate=8000), "8000 Hz"), (clip_wav(5.0, speech=False), "no speech"),
                        (b"not a sound at all", "cannot be decoded")):
        r = put_clip(api, voice["id"], op, data)
        assert r.status_code == 422 and words in r.get_json()["error"]["fields"]["file"], r.get_json()
    assert put_clip(api, voice["id"], op, clip_wav(5.0), text="").status_code == 422
    assert put_clip(api, voice["id"], tokens["viewer"], clip_wav(5.0)).status_code == 403
    r = put_clip(api, voice["id"], op, clip_wav(5.0, rate=32000))
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert got["reference"]["text"] == REF_TEXT and got["reference"]["seconds"] == 5.0
    assert got["reference"]["sample_rate"] == 32000
    _, _, params = parse_voice_spec(got["spec"])
    kept = Path(params["ref_audio_path"])  # no shared volume set: the server reads it from this machine
    assert kept.is_file() and params["prompt_text"] == REF_TEXT and params["prompt_lang"] == "zh"
    clip = api.get(f"/api/voices/{voice['id']}/reference", headers=tokens["viewer"])
    assert clip.status_code == 200 and clip.mimetype == "audio/wav"
    with wave.open(io.BytesIO(clip.data)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (1, 32000, 160000)
    again = put_clip(api, voice["id"], op, clip_wav(4.0)).get_json()  # replaced: the old file goes
    assert not kept.exists() and again["reference"]["seconds"] == 4.0
    kept = Path(parse_voice_spec(again["spec"])[2]["ref_audio_path"])
    r = api.delete(f"/api/voices/{voice['id']}/reference", headers=op)
    assert r.status_code == 200 and r.get_json()["reference"] is None and not kept.exists()
    assert "ref_audio_path" not in parse_voice_spec(r.get_json()["spec"])[2]
    assert api.get(f"/api/voices/{voice['id']}/reference", headers=op).status_code == 404
    espeak = api.post("/api/voices", json=ESPEAK, headers=op).get_json()
    r = put_clip(api, espeak["id"], op, clip_wav(5.0))
    assert r.status_code == 422 and "only gptsovits and cosyvoice" in r.get_json()["error"]["message"]


def test_every_engine_previews_a_server_voice_through_its_server_and_a_server_down_is_503(api, tokens):
    from tests.helpers.tts_servers import FakeCosyVoice, dominant_hz

    op = tokens["operator"]
    with FakeCosyVoice(tone_hz=1100.0, speed=8.0) as cosy:
        voice = api.post("/api/voices", json={"name": "Cosy", "engine": "cosyvoice", "voice": cosy.url,
                                              "params": {"mode": "sft", "spk_id": "中文女"}}, headers=op).get_json()
        r = api.post(f"/api/voices/{voice['id']}/preview", headers=op)
        assert r.status_code == 200 and r.mimetype == "audio/wav", r.get_data()[:300]
        assert cosy.requests[-1].params["tts_text"] == "大家好，欢迎来到直播间！"  # a Chinese speaker: Chinese
    with wave.open(io.BytesIO(r.data)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32767
    assert abs(dominant_hz(samples) - 1100) < 10 and 0.5 < samples.size / 16000 < 1.0
    r = api.post(f"/api/voices/{voice['id']}/preview", headers=op)  # the server is gone now
    assert r.status_code == 503 and "cannot reach CosyVoice server" in r.get_json()["error"]["message"], r.get_json()


def test_a_workers_spec_of_a_clone_points_each_server_at_the_clip_as_it_reads_it(tmp_path):
    from db.models import Voice
    from db.voices import saved_spec

    clip = {"file": "7-abc.wav", "text": "大家好，欢迎来到直播间。", "seconds": 4.0, "sample_rate": 32000}
    sovits = Voice(engine="gptsovits", voice="http://tts:9880", rate=0, pitch=0, params={}, reference=clip)
    _, _, params = parse_voice_spec(saved_spec(sovits, tmp_path, "/srv/gpt-sovits/livehost-voices/"))
    assert params == {"ref_audio_path": "/srv/gpt-sovits/livehost-voices/7-abc.wav", "prompt_text": clip["text"],
                      "prompt_lang": "zh"}  # where the server sees the shared volume
    here = parse_voice_spec(saved_spec(sovits, tmp_path))[2]["ref_audio_path"]
    assert here == str((tmp_path / "voices" / "7-abc.wav").resolve())
    for mode, wanted in (("zero_shot", {"prompt_wav", "prompt_text"}), ("cross_lingual", {"prompt_wav"}),
                         ("instruct2", {"prompt_wav", "instruct_text"}), ("sft", {"spk_id"})):
        extra = {"instruct_text": "用热情的语气说"} if mode == "instruct2" else {"spk_id": "中文女"} if mode == "sft" else {}
        cosy = Voice(engine="cosyvoice", voice="http://tts:50000", rate=0, pitch=0, params={"mode": mode, **extra},
                     reference=clip)
        spec = saved_spec(cosy, tmp_path)
        assert set(parse_voice_spec(spec)[2]) - {"mode"} == wanted, (mode, spec)
        create_voice(spec)  # the engine takes it
