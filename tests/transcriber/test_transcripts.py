"""Several real-time speakers at once: each gets its own transcript, committed in order, soon after
the speaker stops."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from tests.helpers.speech import speech
from tests.helpers.transcription import stream_sentences, wer

SPEAKERS = {
    "alice": ["Hello everyone, welcome to the live room.", "We will answer your questions after the break."],
    "bob": ["Please leave a comment if you have a question.", "Thank you for watching and see you tomorrow."],
    "carol": ["Good morning and welcome to our show.", "Let me show you how it works."],
}


@pytest.mark.slow
def test_three_realtime_speakers_each_get_their_own_transcript_committed_within_a_second(serve):
    url = serve(max_clients=4)
    clips = {uid: [speech(s) for s in sentences] for uid, sentences in SPEAKERS.items()}
    runs = {}

    def speak(uid: str) -> None:
        runs[uid] = stream_sentences(url, uid, clips[uid], gap=1.5, tail=1.5)

    threads = [threading.Thread(target=speak, args=(uid,)) for uid in SPEAKERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    delays = []
    for uid, sentences in SPEAKERS.items():
        run = runs[uid]
        assert all(m.get("uid") == uid for _, m in run.messages), "a message for another client arrived"
        assert run.messages[0][1] == {"uid": uid, "message": "SERVER_READY", "backend": "faster_whisper"}
        reference = " ".join(sentences)
        assert wer(reference, run.transcript()) < 0.10, (uid, run.transcript())
        # completed segments only ever grow at the end, in time order, and never change
        history: list[dict] = []
        for _, m in run.messages[1:]:
            done = [s for s in m["segments"] if s["completed"]]
            assert all(s["completed"] for s in m["segments"][:-1])
            assert all(float(a["end"]) <= float(b["start"]) + 1e-3 for a, b in zip(done, done[1:]))
            for s in done:
                assert s.keys() == {"start", "end", "text", "completed"} and isinstance(s["start"], str)
                assert len(s["start"].split(".")[1]) == 3
            overlap = [s for s in history if s in done]
            assert done[: len(overlap)] == overlap
            history = done
        got = run.commit_delays()
        assert len(got) == len(sentences), (uid, got)
        delays += got
    delays.sort()
    print(f"\ncommit delay over {len(delays)} sentences, 3 clients: p50 {delays[len(delays) // 2]:.2f} s, "
          f"max {delays[-1]:.2f} s")
    # Speed is measured by bench.transcriber (p50 0.8-1.2 s here); this only catches a service that
    # commits late the way WhisperLive's users report (~10 s), with room for a loaded CI machine.
    assert delays[-1] < 5.0


def test_language_is_reported_when_the_client_asks_for_detection(serve):
    url = serve()
    run = stream_sentences(url, "dora", [speech("Hello everyone, welcome to the live room.")], gap=1.0,
                           tail=1.0, options={"language": None})
    languages = [m for _, m in run.messages if "language" in m]
    assert languages and languages[0]["uid"] == "dora" and languages[0]["language"] == "en"
    assert 0 <= languages[0]["language_prob"] <= 1
    assert wer("Hello everyone, welcome to the live room.", run.transcript()) < 0.10


@pytest.mark.parametrize("audio_format", ["int16", "uint8"])
def test_int16_and_uint8_audio_when_the_options_ask_for_it(serve, audio_format):
    url = serve()
    clip = speech("Good morning and welcome to our show.")
    from websockets.sync.client import connect
    import time

    with connect(url) as ws:
        ws.send(json.dumps({"uid": "ivan", "language": "en", "audio_format": audio_format}))
        assert json.loads(ws.recv(timeout=10))["message"] == "SERVER_READY"
        if audio_format == "int16":
            pcm = (clip * 32767).astype("<i2").tobytes()
        else:  # unsigned 8-bit, 128 is silence
            pcm = np.clip(np.round(clip * 127 + 128), 0, 255).astype(np.uint8).tobytes()
        step = 3200 if audio_format == "int16" else 1600  # 0.1 s
        for i in range(0, len(pcm), step):
            ws.send(pcm[i:i + step])
            time.sleep(0.02)
        ws.send(b"END_OF_AUDIO")
        text = ""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = json.loads(ws.recv(timeout=10))
            if m.get("segments") and all(s["completed"] for s in m["segments"]):
                text = " ".join(s["text"] for s in m["segments"])
                break
    assert wer("Good morning and welcome to our show.", text) < 0.10
