"""gptsovits voices: speech streamed from a GPT-SoVITS api_v2 server (a fake speaking its wire
format: a WAV header with placeholder sizes, then 16-bit PCM cut anywhere), and clear failures."""
from __future__ import annotations

import time
from urllib.parse import urlencode

import numpy as np
import pytest

from streamer.voice import VoiceError, create_voice
from tests.helpers.process import free_port
from tests.helpers.tts_servers import FakeGptSovits, dominant_hz

RATE = 16_000
ZH = "欢迎来到直播间，今天给大家推荐一款好物。"
EN = "Welcome to the live room, here is something good."
GPT, SOVITS = "GPT_weights_v2/host-e15.ckpt", "SoVITS_weights_v2/host_e8_s200.pth"


@pytest.fixture
def server():
    with FakeGptSovits() as fake:
        yield fake


def voice(url: str, **params):
    """create_voice for the server at `url` with api_v2's required parameters and `params`."""
    query = {"ref_audio_path": "ref/host.wav", "prompt_text": "我是主播。", "prompt_lang": "zh", **params}
    return create_voice(f"gptsovits:{url}?{urlencode(query)}")


def synthesized(v, text: str = ZH) -> np.ndarray:
    return np.concatenate(list(v.stream(text)))


@pytest.mark.parametrize("server_rate", [32_000, 24_000, 48_000])  # v2, v3, v4 models
def test_speech_is_the_servers_audio_at_16khz_whatever_rate_its_header_gives(server, server_rate):
    server.rate = server_rate
    audio = synthesized(voice(server.url))
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(dominant_hz(audio) - server.tone_hz) < 5
    assert abs(len(audio) / RATE - server.seconds_of(ZH)) < 0.01
    assert abs(len(audio) - server.samples_sent * RATE / server_rate) <= 2  # all it sent, resampled
    assert 0.3 < float(np.sqrt(np.mean(audio ** 2))) < 0.4  # the fake's tone at half scale


def test_the_request_carries_the_specs_parameters_with_their_types(server):
    v = voice(server.url, top_k=5, temperature=0.8, split_bucket="false", text_split_method="cut2",
              aux_ref_audio_paths="ref/a.wav,ref/b.wav", speed_factor=1.1, seed=42, streaming_mode=3)
    synthesized(v)
    assert server.requests[-1].params == {
        "text": ZH, "text_lang": "zh", "ref_audio_path": "ref/host.wav", "prompt_text": "我是主播。",
        "prompt_lang": "zh", "top_k": 5, "temperature": 0.8, "split_bucket": False, "text_split_method": "cut2",
        "aux_ref_audio_paths": ["ref/a.wav", "ref/b.wav"], "speed_factor": 1.1, "seed": 42,
        "streaming_mode": 3, "media_type": "wav"}


def test_text_lang_is_chosen_per_sentence_unless_the_spec_fixes_it(server):
    v = voice(server.url)
    synthesized(v, ZH)
    synthesized(v, EN)
    synthesized(v, "今天的 iPhone 特价")
    assert [r.params["text_lang"] for r in server.requests] == ["zh", "en", "zh"]
    synthesized(voice(server.url, text_lang="ja"), "こんにちは")
    assert server.requests[-1].params["text_lang"] == "ja"
    assert all(r.params["streaming_mode"] is True for r in server.requests)


def test_weights_are_switched_once_before_the_first_synthesis(server):
    v = voice(server.url, gpt_weights=GPT, sovits_weights=SOVITS)
    synthesized(v)
    synthesized(v, EN)
    assert [r.path for r in server.requests] == ["/set_gpt_weights", "/set_sovits_weights", "/tts", "/tts"]
    assert server.loaded == {"gpt": GPT, "sovits": SOVITS}


def test_weights_are_switched_again_after_a_failure(server):
    v = voice(server.url, gpt_weights=GPT, sovits_weights=SOVITS)
    server.fail = 500
    with pytest.raises(VoiceError):
        synthesized(v)
    server.fail = None
    assert len(synthesized(v)) > 0
    assert [r.path for r in server.requests] == ["/set_gpt_weights", "/set_sovits_weights", "/tts",
                                                 "/set_gpt_weights", "/set_sovits_weights", "/tts"]


def test_weights_the_server_lacks_fail_with_its_message(server):
    with pytest.raises(VoiceError, match=r"answered HTTP 400 to /set_sovits_weights: change sovits weight "
                                         r"failed: \[Errno 2\] No such file or directory: 'nope.pth'"):
        synthesized(voice(server.url, gpt_weights=GPT, sovits_weights="nope.pth"))
    assert "/tts" not in [r.path for r in server.requests]


def test_a_slow_first_chunk_within_the_timeout_still_plays(server):
    server.slow_first_chunk_s = 0.6
    assert abs(len(synthesized(voice(server.url, timeout=1))) / RATE - server.seconds_of(ZH)) < 0.01


@pytest.mark.parametrize("setup, params, message", [
    (None, {"text_lang": "fr"}, "answered HTTP 400 to /tts: text_lang: fr is not supported in version v2"),
    (None, {"text_split_method": "cut9"}, "answered HTTP 400 to /tts: text_split_method:cut9 is not supported"),
    (400, {}, "answered HTTP 400 to /tts: tts failed: CUDA out of memory"),
    (500, {}, "answered HTTP 500 to /tts: Internal Server Error"),
])
def test_error_answers_fail_with_the_servers_message(server, setup, params, message):
    server.fail = setup
    with pytest.raises(VoiceError) as raised:
        synthesized(voice(server.url, **params))
    assert str(raised.value) == f"GPT-SoVITS server {server.url} {message}"


def test_a_reference_audio_the_server_lacks_breaks_the_answer_off(server):
    server.ref_audio_paths = {"ref/host.wav"}
    with pytest.raises(VoiceError, match="broke off its answer mid-stream"):
        synthesized(voice(server.url, ref_audio_path="ref/other.wav"))


def test_no_server_fails_at_once_naming_it():
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(VoiceError, match=rf"^cannot reach GPT-SoVITS server {url} \(.*refused\)$"):
        synthesized(voice(url))
    assert time.monotonic() - started < 0.5


def test_check_proves_the_server_and_its_weights(server):
    voice(server.url, gpt_weights=GPT, sovits_weights=SOVITS).check()
    assert [r.path for r in server.requests] == ["/set_gpt_weights", "/set_sovits_weights", "/tts"]
    with pytest.raises(VoiceError, match="change gpt weight failed"):
        voice(server.url, gpt_weights="nope.ckpt").check()
    with pytest.raises(VoiceError, match="cannot reach"):
        voice(f"http://127.0.0.1:{free_port()}").check()


def test_the_voice_is_named_after_its_server():
    v = voice("http://10.0.0.5:9880")  # building it touches no network
    assert v.name == "gptsovits:http://10.0.0.5:9880"


@pytest.mark.parametrize("query, words", [
    ("ref_audio_path=r.wav&prompt_lang=zh&top_q=5", "unknown gptsovits parameter 'top_q'"),
    ("ref_audio_path=r.wav&prompt_lang=zh&top_k=five", "gptsovits parameter top_k must be a whole number, got 'five'"),
    ("ref_audio_path=r.wav&prompt_lang=zh&top_k=1.5", "top_k must be a whole number"),
    ("ref_audio_path=r.wav&prompt_lang=zh&temperature=hot", "temperature must be a number, got 'hot'"),
    ("ref_audio_path=r.wav&prompt_lang=zh&speed_factor=nan", "speed_factor must be a number"),
    ("ref_audio_path=r.wav&prompt_lang=zh&split_bucket=maybe", "split_bucket must be true or false"),
    ("ref_audio_path=r.wav&prompt_lang=zh&timeout=0", "timeout must be a positive number"),
    ("ref_audio_path=r.wav&prompt_lang=zh&streaming_mode=false", "streaming_mode must be true, 1, 2 or 3"),
    ("ref_audio_path=r.wav&prompt_lang=zh&media_type=ogg", "media_type cannot be set"),
    ("ref_audio_path=r.wav&prompt_lang=zh&text=hi", "text cannot be set"),
    ("ref_audio_path=r.wav&prompt_lang=zh&text_lang=", "text_lang is empty"),
    ("prompt_lang=zh&prompt_text=hi", "needs ref_audio_path="),
    ("ref_audio_path=&prompt_lang=zh", "ref_audio_path is empty"),
    ("ref_audio_path=r.wav", "needs prompt_lang="),
])
def test_bad_specs_say_which_parameter_is_wrong(query, words):
    with pytest.raises(VoiceError, match=words) as raised:
        create_voice(f"gptsovits:http://127.0.0.1:9880?{query}")
    assert "\n" not in str(raised.value)
