"""Piper voices (offline neural TTS): real speech that Whisper reads back, alone and in a live pulled
back from nginx-rtmp; streamed, cancelled, and refused clearly when the voice is not there."""
from __future__ import annotations

import subprocess
import threading
import time

import numpy as np
import pytest
from scipy.signal import resample_poly

from streamer.voice import VoiceError, create_voice, voice_spec
from tests.helpers.media import start_pull
from tests.helpers.process import livehost_cmd
from tests.helpers.transcription import wer

RATE = 16_000
SENTENCES = "Good morning and welcome to our show. Please leave a comment if you have a question."


@pytest.fixture(scope="module")
def whisper():
    from transcriber.engine import WhisperEngine

    return WhisperEngine("tiny.en")


def heard(whisper, audio: np.ndarray) -> str:
    return " ".join(p.text for p in whisper.transcribe(audio, "en").pieces)


def test_the_bundled_piper_voice_speaks_words_whisper_reads_back(whisper):
    chunks = list(create_voice("piper").stream(SENTENCES))
    audio = np.concatenate(chunks)
    assert audio.dtype == np.float32 and 3.0 < audio.size / RATE < 8.0
    assert len(chunks) > 10  # streamed in slices, not one block
    assert wer(SENTENCES, heard(whisper, audio)) < 0.10, heard(whisper, audio)


def test_speed_changes_the_length_and_saved_voices_map_rate_to_speed():
    # Piper draws each phoneme's length at random, and its pauses do not scale with the speed: over a few
    # sentences 1.5x speed gives 0.70-0.78 of the length (a short sentence varies from 0.72 to 0.82)
    text = "Thank you all for joining us tonight. Today we look at three new phones, and I answer your questions."
    normal = np.concatenate(list(create_voice("piper").stream(text)))
    fast = np.concatenate(list(create_voice(voice_spec("piper", "", 50, 0)).stream(text)))
    assert voice_spec("piper", "", 50, 20) == "piper:speed=1.5"  # Piper has no pitch
    assert 0.55 < fast.size / normal.size < 0.85, (fast.size, normal.size)


def test_cancel_stops_the_stream_at_once():
    cancel = threading.Event()
    got = []
    t0 = time.monotonic()
    for chunk in create_voice("piper").stream(" ".join([SENTENCES] * 4), cancel):
        got.append(chunk)
        if len(got) == 3:
            cancel.set()
            cancelled_at = time.monotonic()
    assert len(got) == 3 and time.monotonic() - cancelled_at < 0.05, time.monotonic() - t0


@pytest.mark.parametrize("spec, words", [
    ("piper:no-such-voice", ["no-such-voice", "models/piper"]),
    ("piper:..", ["give a voice's .onnx file", "models/piper"]),
    ("piper:.", ["give a voice's .onnx file"]),
    ("piper:speed=0", ["speed"]),
    ("piper:speaker=-1", ["speaker"]),
    ("piper:speaker=3", ["1 speaker", "speaker 3"]),
    ("piper:pitch=5", ["unknown option 'pitch'", "speed, speaker"]),
])
def test_a_bad_piper_spec_is_refused_with_what_to_do(spec, words):
    with pytest.raises(VoiceError) as e:
        create_voice(spec).check()
    assert all(w in str(e.value) for w in words), str(e.value)


@pytest.mark.slow
def test_a_live_with_a_piper_voice_is_heard_in_the_stream_pulled_back_from_nginx_rtmp(nginx_rtmp, cli_env, tmp_path,
                                                                                     whisper):
    script = tmp_path / "script.yaml"
    script.write_text(f"segments:\n  - say: {SENTENCES}\n  - pause: 1000\n")
    url = nginx_rtmp.url("piper")
    puller, result = start_pull(url)
    time.sleep(0.5)
    demo = subprocess.run(livehost_cmd("demo", "--push", url, "--voice", "piper", "--script", str(script),
                                       "--size", "320x568"),
                          env=cli_env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "piper voice en_US-joe-medium.onnx loaded" in demo.stderr, demo.stderr[-2000:]  # not espeak
    puller.join(30)
    m = result["media"]
    assert m is not None and m.audio_rate == 44100, result
    audio = np.concatenate([pcm for _, pcm in m.pcm]).astype(np.float32)
    speech = resample_poly(audio, 160, 441).astype(np.float32)
    assert wer(SENTENCES, heard(whisper, speech)) < 0.10, heard(whisper, speech)
