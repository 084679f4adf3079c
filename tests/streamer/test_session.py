"""A live session in-process: it never stalls, and a failing voice does not stop it."""
from __future__ import annotations

import threading
import time

import numpy as np

from streamer.build import LiveSpec, RecordTo, Resources, build_live
from streamer.room import RoomPolicy
from streamer.script import parse_script
from streamer.settings import Settings
from streamer.voice import create_voice
from streamer.voice.base import Voice, VoiceError
from tests.helpers.media import read_media


class SlowVoice(Voice):
    """Speaks a tone, but takes 3x real time to 'synthesize' it."""

    def stream(self, text, cancel=None):
        for _ in range(10):
            time.sleep(0.3)
            yield (0.3 * np.sin(np.arange(1600) * 2 * np.pi * 180 / 16000)).astype(np.float32)


class BrokenVoice(Voice):
    def stream(self, text, cancel=None):
        yield np.zeros(0, np.float32)
        raise VoiceError("edge-tts voice zh-CN-XiaoxiaoNeural failed: cannot reach speech.platform.bing.com")


def live(avatars_dir, tmp_path, voice, seconds, realtime=True, make_voice=None, policy=None):
    settings = Settings(width=320, height=568, avatars_dir=avatars_dir, voice="broken")
    out = tmp_path / "live.flv"
    script = parse_script({"segments": [{"say": "One sentence for the test."}, {"pause": 200}], "loop": 0})
    events = []
    spec = LiveSpec(script=script, output=RecordTo(out, paced=realtime), duration=seconds, realtime=realtime,
                    policy=policy or RoomPolicy())
    session = build_live(spec, Resources(settings, make_voice=make_voice or (lambda _: voice)),
                         on_event=lambda kind, **f: events.append((kind, f)))
    t = time.monotonic()
    session.start()
    assert session.wait(seconds + 20), "the session did not end"
    return session, read_media(str(out)), time.monotonic() - t, events


def test_slow_voice_never_stalls_the_stream(avatars_dir, tmp_path):
    session, m, took, _ = live(avatars_dir, tmp_path, SlowVoice(), 4)
    pts = np.array([v[0] for v in m.video])
    assert len(pts) == 100 and np.allclose(np.diff(pts), 0.04, atol=0.002)
    assert took < 6.0, f"a 4 s live took {took:.1f} s"
    assert m.rms_at(0.5, 3.5) > 0.01  # what speech arrived in time was played
    assert session.state == "ended" and not session.errors


def test_failing_voice_is_reported_and_the_live_goes_on_in_silence(avatars_dir, tmp_path):
    session, m, _, events = live(avatars_dir, tmp_path, BrokenVoice(), 3)
    assert len(m.video) == 75
    assert m.rms_at(0, 3) < 0.001
    errors = [f for kind, f in events if kind == "error"]
    assert errors and "cannot reach" in errors[0]["message"]
    assert session.state == "ended"


def test_a_failing_voice_is_replaced_by_the_rooms_fallback_voice_and_said_so(avatars_dir, tmp_path):
    voices = {"espeak:en": create_voice("espeak:en")}
    session, m, _, events = live(avatars_dir, tmp_path, BrokenVoice(), 3,
                                 make_voice=lambda spec: voices.get(spec) or BrokenVoice(),
                                 policy=RoomPolicy(fallback_voice="espeak:en"))
    assert m.rms_at(0.2, 2.0) > 0.01  # the sentence is heard, in the fallback voice
    errors = [f["message"] for kind, f in events if kind == "error"]
    assert errors and "cannot reach" in errors[0] and "espeak:en speaks instead" in errors[0], errors
    assert session.state == "ended"


def test_stop_ends_a_live_promptly_and_closes_the_stream(avatars_dir, tmp_path):
    settings = Settings(width=320, height=568, avatars_dir=avatars_dir)
    out = tmp_path / "stopped.flv"
    script = parse_script({"segments": [{"say": "This live would go on for ever."}], "loop": 0})
    spec = LiveSpec(script=script, output=RecordTo(out, paced=True), voice="espeak:en")
    session = build_live(spec, Resources(settings))
    session.start()
    time.sleep(2)
    t = time.monotonic()
    session.stop()
    assert time.monotonic() - t < 2
    assert session.state == "ended"
    assert not [th for th in threading.enumerate() if th.name in ("director", "speaker", "clock", "output")]
    m = read_media(str(out))
    assert 30 <= len(m.video) <= 75  # about 2 s were made, and the file is readable to its end
