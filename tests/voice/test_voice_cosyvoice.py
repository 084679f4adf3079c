"""cosyvoice voices: speech streamed from a CosyVoice FastAPI server (a fake speaking its wire
format: form fields in, bare 16-bit PCM out, cut anywhere), and clear failures."""
from __future__ import annotations

import time
import wave
from urllib.parse import urlencode

import numpy as np
import pytest

from streamer.voice import VoiceError, create_voice
from tests.helpers.process import free_port
from tests.helpers.tts_servers import FakeCosyVoice, dominant_hz, tone

RATE = 16_000
ZH = "欢迎来到直播间，今天给大家推荐一款好物。"


@pytest.fixture
def server():
    with FakeCosyVoice() as fake:
        yield fake


@pytest.fixture
def prompt_wav(tmp_path):
    """A short 16 kHz reference recording on this machine."""
    path = tmp_path / "prompt.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(tone(220, 0.5, 16_000).tobytes())
    return path


def voice(url: str, **params):
    """create_voice for the server at `url`: the sft speaker 中文女 unless `params` pick a mode."""
    if "mode" not in params:
        params = {"spk_id": "中文女", **params}
    return create_voice(f"cosyvoice:{url}?{urlencode(params)}")


def synthesized(v, text: str = ZH) -> np.ndarray:
    return np.concatenate(list(v.stream(text)))


@pytest.mark.parametrize("server_rate, params", [(22_050, {}), (24_000, {"sample_rate": 24000})])
def test_speech_is_the_servers_audio_at_16khz(server, server_rate, params):
    server.rate = server_rate
    audio = synthesized(voice(server.url, **params))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(dominant_hz(audio) - server.tone_hz) < 5
    assert abs(len(audio) / RATE - server.seconds_of(ZH)) < 0.01
    assert abs(len(audio) - server.samples_sent * RATE / server_rate) <= 2  # all it sent, resampled
    assert 0.3 < float(np.sqrt(np.mean(audio ** 2))) < 0.4


def test_a_wrong_sample_rate_plays_the_speech_at_the_wrong_pitch(server):
    server.rate = 24_000  # a CosyVoice2 model, read as CosyVoice 1's 22050 Hz
    audio = synthesized(voice(server.url))
    assert abs(dominant_hz(audio) - server.tone_hz * 22_050 / 24_000) < 5


@pytest.mark.parametrize("params, path, fields, upload", [
    ({"spk_id": "英文男"}, "/inference_sft", {"spk_id": "英文男"}, False),
    ({"mode": "sft", "spk_id": "中文女"}, "/inference_sft", {"spk_id": "中文女"}, False),
    ({"mode": "zero_shot", "prompt_text": "希望你以后能够做的比我还好呦。"}, "/inference_zero_shot",
     {"prompt_text": "希望你以后能够做的比我还好呦。"}, True),
    ({"mode": "cross_lingual"}, "/inference_cross_lingual", {}, True),
    ({"mode": "instruct", "spk_id": "中文男", "instruct_text": "Speak cheerfully."}, "/inference_instruct",
     {"spk_id": "中文男", "instruct_text": "Speak cheerfully."}, False),
    ({"mode": "instruct2", "instruct_text": "用四川话说这句话<|endofprompt|>"}, "/inference_instruct2",
     {"instruct_text": "用四川话说这句话<|endofprompt|>"}, True),
])
def test_each_mode_sends_its_endpoint_exactly_its_form_fields(server, prompt_wav, params, path, fields, upload):
    if upload:
        params = {**params, "prompt_wav": str(prompt_wav)}
    synthesized(create_voice(f"cosyvoice:{server.url}?{urlencode(params)}"))
    (received,) = server.requests
    assert (received.method, received.path, received.params) == ("POST", path, {"tts_text": ZH, **fields})
    assert received.uploads == ({"prompt_wav": prompt_wav.stat().st_size} if upload else {})


def test_the_prompt_wav_is_read_again_for_each_request(server, prompt_wav):
    v = voice(server.url, mode="cross_lingual", prompt_wav=str(prompt_wav))
    synthesized(v)
    prompt_wav.write_bytes(prompt_wav.read_bytes() + bytes(1000))
    synthesized(v)
    assert [r.uploads["prompt_wav"] for r in server.requests] == [prompt_wav.stat().st_size - 1000,
                                                                  prompt_wav.stat().st_size]


def test_a_server_from_before_the_post_endpoints_is_asked_with_get(server):
    server.get_only = True
    v = voice(server.url)
    assert len(synthesized(v)) > 0
    assert len(synthesized(v, "你好")) > 0
    assert [(r.method, r.params) for r in server.requests] == [
        ("POST", {}), ("GET", {"tts_text": ZH, "spk_id": "中文女"}), ("GET", {"tts_text": "你好", "spk_id": "中文女"})]


def test_a_missing_field_fails_with_fastapis_message(server):
    server.fields["/inference_sft"] += ("speed",)  # a server version that needs one more field
    with pytest.raises(VoiceError) as raised:
        synthesized(voice(server.url))
    assert str(raised.value) == (f"CosyVoice server {server.url} answered HTTP 422 to /inference_sft: "
                                 "speed: Field required")


def test_server_errors_fail_with_the_status_and_body(server, tmp_path):
    not_wav = tmp_path / "prompt.mp3"
    not_wav.write_bytes(b"ID3" + bytes(100))
    with pytest.raises(VoiceError, match=r"answered HTTP 500 to /inference_cross_lingual: Internal Server Error$"):
        synthesized(voice(server.url, mode="cross_lingual", prompt_wav=str(not_wav)))


def test_an_unknown_speaker_breaks_the_answer_off(server):
    with pytest.raises(VoiceError, match=rf"^CosyVoice server {server.url} broke off its answer mid-stream"):
        synthesized(voice(server.url, spk_id="无名氏"))


def test_a_missing_prompt_wav_fails_before_any_request(server, tmp_path):
    with pytest.raises(VoiceError, match=r"cosyvoice prompt_wav .*nowhere\.wav cannot be read: No such file"):
        synthesized(voice(server.url, mode="cross_lingual", prompt_wav=str(tmp_path / "nowhere.wav")))
    assert server.requests == []


def test_no_server_fails_at_once_naming_it():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(VoiceError, match=rf"^cannot reach CosyVoice server {url} \(.*refused\)$"):
        synthesized(voice(url))
    assert time.monotonic() - started < 0.5


def test_check_proves_the_server_and_the_speaker(server):
    voice(server.url).check()
    assert [r.path for r in server.requests] == ["/inference_sft"]
    with pytest.raises(VoiceError, match="broke off"):
        voice(server.url, spk_id="无名氏").check()
    with pytest.raises(VoiceError, match="cannot reach"):
        voice(f"http://127.0.0.1:{free_port()}").check()


def test_the_voice_is_named_after_its_server():
    assert voice("http://10.0.0.7:50000").name == "cosyvoice:http://10.0.0.7:50000"


@pytest.mark.parametrize("query, words", [
    ("mode=sft&spk_id=a&speed=1.1", "unknown cosyvoice parameter 'speed'"),
    ("mode=zeroshot&spk_id=a", "mode must be one of sft, zero_shot, cross_lingual, instruct, instruct2, got 'zero"),
    ("mode=sft", "mode sft needs spk_id in the voice spec; spk_id is missing"),
    ("", "mode sft needs spk_id"),
    ("mode=zero_shot&prompt_wav=p.wav", "mode zero_shot needs prompt_text, prompt_wav in the voice spec; prompt_text"),
    ("mode=zero_shot&prompt_text=hi", "prompt_wav is missing"),
    ("mode=instruct&spk_id=a", "instruct_text is missing"),
    ("mode=zero_shot&prompt_text=hi&prompt_wav=p.wav&spk_id=a", "mode zero_shot takes no spk_id"),
    ("spk_id=a&sample_rate=fast", "cosyvoice parameter sample_rate must be a whole number, got 'fast'"),
    ("spk_id=a&sample_rate=100", "sample_rate must be the model's rate in Hz"),
    ("spk_id=a&timeout=-1", "timeout must be a positive number"),
])
def test_bad_specs_say_what_is_wrong(query, words):
    with pytest.raises(VoiceError, match=words) as raised:
        create_voice(f"cosyvoice:http://127.0.0.1:50000?{query}")
    assert "\n" not in str(raised.value)
