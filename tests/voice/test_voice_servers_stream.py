"""What both self-hosted TTS servers' voices (gptsovits, cosyvoice) promise alike, against fakes speaking each
one's wire format: the first audio long before the server is done, a cancel that stops at once and hangs
up (the server sees it), and a server that stops answering failing within the voice's timeout."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlencode

import pytest

from streamer.voice import VoiceError, create_voice
from tests.helpers.tts_servers import FakeCosyVoice, FakeGptSovits

RATE = 16_000
ZH = "欢迎来到直播间，今天给大家推荐一款好物。"
ENGINES = {  # engine: (its fake, the parameters a voice needs, its name in errors)
    "gptsovits": (FakeGptSovits, {"ref_audio_path": "ref/host.wav", "prompt_text": "我是主播。", "prompt_lang": "zh"},
                  "GPT-SoVITS"),
    "cosyvoice": (FakeCosyVoice, {"spk_id": "中文女"}, "CosyVoice"),
}


@pytest.fixture(params=list(ENGINES))
def engine(request):
    fake, params, name = ENGINES[request.param]
    with fake() as server:
        def voice(**extra):
            return create_voice(f"{request.param}:{server.url}?{urlencode({**params, **extra})}")

        yield server, voice, name


def test_first_audio_is_yielded_long_before_the_server_finishes(engine):
    server, voice, _ = engine
    server.speed = 1.0  # synthesized in real time: ~1.8 s of audio takes ~1.8 s to arrive
    started = time.monotonic()
    first_at = finished_before_first = None
    for _ in voice().stream(ZH + "欢迎新来的朋友"):
        if first_at is None:
            first_at = time.monotonic() - started
            finished_before_first = server.finished_sending.is_set()
    total = time.monotonic() - started
    assert not finished_before_first
    assert first_at < 0.2 and total > 1.5


def test_cancel_stops_within_200ms_and_the_server_sees_the_hang_up(engine):
    server, voice, _ = engine
    server.speed = 1.0
    cancel = threading.Event()
    stream = voice().stream(ZH, cancel)
    received = len(next(stream))
    cancel.set()
    cancelled_at = time.monotonic()
    received += sum(map(len, stream))
    assert time.monotonic() - cancelled_at < 0.2
    assert server.client_left.wait(1.0) and server.left_at - cancelled_at < 0.2
    assert not server.finished_sending.is_set()
    assert received < 0.5 * server.seconds_of(ZH) * RATE


@pytest.mark.parametrize("hang", ["request", "headers"])
def test_cancel_while_the_server_is_still_thinking_hangs_up_at_once(engine, hang):
    server, voice, _ = engine
    server.hang = hang  # no audio yet: nothing flows that would reveal a forgotten connection
    cancel, cancelled_at = threading.Event(), []
    timer = threading.Timer(0.3, lambda: (cancelled_at.append(time.monotonic()), cancel.set()))
    timer.start()
    assert list(voice(timeout=3).stream(ZH, cancel)) == []
    assert time.monotonic() - cancelled_at[0] < 0.2
    assert server.client_left.wait(1.0) and server.left_at - cancelled_at[0] < 0.2


@pytest.mark.parametrize("hang", ["request", "headers", "audio"])
def test_a_server_that_stops_answering_fails_within_the_timeout(engine, hang):
    server, voice, name = engine
    server.hang = hang
    started = time.monotonic()
    with pytest.raises(VoiceError, match=rf"^{name} server {server.url} gave no audio within 1 s$"):
        list(voice(timeout=1).stream(ZH))
    assert 1.0 <= time.monotonic() - started < 1.5
    assert server.client_left.wait(0.5)
