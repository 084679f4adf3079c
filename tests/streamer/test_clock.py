"""The media clock on a clock of the test's own: ticks leave on time whatever speech does, and a
second of live takes no second of the test."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from streamer.avatar.store import load_avatar
from streamer.frames import AUDIO_FRAME_SAMPLES, FPS, AudioFrame, FrameKind
from streamer.pipeline.clock import LEAD, Clock
from streamer.pipeline.generation import Generation
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import StageSetup, WallClock


class VirtualWall(WallClock):
    """Time that passes only when a stage waits: the test runs as fast as the code."""

    def __init__(self):
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.t += seconds
        return stop.is_set()


def run_clock(avatars_dir, frames: list[AudioFrame], ticks: int):
    stop, wall, errors = threading.Event(), VirtualWall(), []
    setup = StageSetup(stop, Generation(), lambda stage, e: errors.append(e), lambda kind, **f: None, wall)
    inp, out = Pipe(stop, 1000), Pipe(stop, 1000)
    for f in frames:
        inp.put(f)
    start = wall.t
    clock = Clock(setup, inp, out, load_avatar(avatars_dir, "default"), realtime=True, max_frames=ticks)
    clock.start()
    clock.join(timeout=10)
    assert not clock.is_alive() and not errors
    got = out.drain()
    assert got[-1] is END
    return got[:-1], wall.t - start


def speech(n: int) -> list[AudioFrame]:
    tone = (0.2 * np.sin(np.arange(AUDIO_FRAME_SAMPLES) * 0.3)).astype(np.float32)
    return [AudioFrame(tone, FrameKind.SPEECH) for _ in range(n)]


@pytest.mark.parametrize("spoken_ticks", [0, 10])
def test_clock_sends_a_tick_every_40ms_and_goes_idle_when_speech_runs_out(avatars_dir, spoken_ticks):
    ticks, elapsed = run_clock(avatars_dir, speech(2 * spoken_ticks), 50)
    assert [t.index for t in ticks] == list(range(50))
    kinds = [t.kind for t in ticks]
    assert kinds == [FrameKind.SPEECH] * spoken_ticks + [FrameKind.IDLE] * (50 - spoken_ticks)
    assert all(len(t.audio) == 2 * AUDIO_FRAME_SAMPLES for t in ticks)
    # The last tick left LEAD seconds before its time on the wall: never later, never earlier.
    assert elapsed == pytest.approx(49 / FPS - LEAD, abs=1e-6)
