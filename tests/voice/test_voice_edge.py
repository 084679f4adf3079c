"""edge-tts voices: speech streamed from the service, and clear failures when it can't be reached."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from streamer.voice import VoiceError, create_voice
from streamer.voice.edge import EdgeVoice

RATE = 16_000
ZH = "欢迎来到直播间，今天给大家推荐一款好物。"


def rms(audio):
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_speech_from_the_service_is_decoded_to_16khz_float32(fake_edge):
    chunks = list(create_voice("edge").stream(ZH))
    audio = np.concatenate(chunks)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / RATE - fake_edge.spoken_seconds) < 0.15  # MP3 adds only encoder padding
    assert rms(audio) > 0.03
    assert fake_edge.requests == [("Microsoft Server Speech Text to Speech Voice (zh-CN, XiaoxiaoNeural)", ZH)]


def test_audio_is_yielded_while_the_service_is_still_sending(fake_edge):
    fake_edge.delay = 0.05  # a network that delivers the MP3 over ~1 s
    started = time.perf_counter()
    first_at = sent_before_first = None
    for _ in EdgeVoice().stream(ZH):
        if first_at is None:
            first_at = time.perf_counter() - started
            sent_before_first = fake_edge.audio_messages_sent
            finished_before_first = fake_edge.finished_sending.is_set()
    total = time.perf_counter() - started
    assert fake_edge.audio_messages_sent > 10
    assert not finished_before_first and sent_before_first <= 3
    assert first_at < 0.3 * total


def test_cancel_stops_the_stream_and_hangs_up_promptly(fake_edge):
    fake_edge.delay = 0.1  # ~3 s to send everything
    cancel = threading.Event()
    stream = EdgeVoice().stream(ZH, cancel)
    next(stream)
    cancel.set()
    started = time.perf_counter()
    rest = list(stream)
    assert time.perf_counter() - started < 1.0  # the rest would take ~3 s
    assert sum(map(len, rest)) < 0.2 * RATE
    assert fake_edge.client_left_early.wait(2.0)


def test_unknown_voice_fails_with_a_clear_message(fake_edge):
    with pytest.raises(VoiceError, match=r"edge-tts voice en-US-NobodyNeural failed: .*no audio") as raised:
        list(create_voice("edge:en-US-NobodyNeural").stream("Hello"))
    assert "\n" not in str(raised.value)


def test_check_passes_when_the_service_answers(fake_edge):
    EdgeVoice("en-US-AriaNeural").check()


def test_unresolvable_service_fails_at_once(edge_url):
    edge_url("wss://speech.invalid/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=x")
    started = time.perf_counter()
    with pytest.raises(VoiceError, match=r"^edge-tts voice zh-CN-XiaoxiaoNeural failed: cannot reach "
                                         r"speech\.platform\.bing\.com \(DNS"):
        EdgeVoice(timeout=5).check()
    assert time.perf_counter() - started < 4.0  # the timeout is 5 s


def test_service_that_never_answers_fails_after_the_timeout(edge_url):
    with socket.socket() as silent:  # accepts the TCP connection, then says nothing
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        edge_url(f"ws://127.0.0.1:{silent.getsockname()[1]}/edge/v1?TrustedClientToken=x")
        started = time.perf_counter()
        with pytest.raises(VoiceError, match=r"edge-tts voice zh-CN-XiaoxiaoNeural failed: .*(within 1 s|timed out)"):
            list(EdgeVoice(timeout=1).stream(ZH))
        elapsed = time.perf_counter() - started
    assert 0.9 < elapsed < 3.0


def test_without_network_the_real_service_fails_quickly_and_clearly():
    voice = EdgeVoice(timeout=3)
    started = time.perf_counter()
    try:
        voice.check()
    except VoiceError as e:
        message = str(e)
    else:
        pytest.skip("speech.platform.bing.com is reachable from here")
    assert time.perf_counter() - started < 3 + 1.0
    assert message.startswith("edge-tts voice zh-CN-XiaoxiaoNeural failed: ")
    assert "speech.platform.bing.com" in message and "\n" not in message
