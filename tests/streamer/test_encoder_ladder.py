"""An overloaded live degrades instead of drifting: the encoder steps to a faster x264 preset
(veryfast -> superfast -> ultrafast) while frames reach it late, back up when they are on time,
and says so when even the fastest cannot keep real time. Every preset of a ladder writes the same
parameter sets, so a player pulling the live through nginx-rtmp decodes across a step."""
from __future__ import annotations

import time

import numpy as np
import pytest

from streamer.build import LiveSpec, PushTo, Resources, build_live
from streamer.pipeline import encoder as encoder_module
from streamer.pipeline.encoder import Encoder, Governor, preset_ladder
from streamer.script import parse_script
from streamer.settings import Settings
from tests.helpers.media import start_pull

SCRIPT = {"segments": [{"say": "The machine is busy, and the host keeps talking in real time all the same."},
                       {"pause": 300}], "loop": 0}


def frames(n: int, width: int = 320, height: int = 240) -> list[np.ndarray]:
    """Moving I420 pictures."""
    rng = np.random.default_rng(1)
    base = rng.integers(0, 255, (height * 3 // 2, width + n), dtype=np.uint8)
    return [np.ascontiguousarray(base[:, i:i + width]) for i in range(n)]


def test_ladders_go_at_most_three_presets_faster():
    assert preset_ladder("veryfast") == ("veryfast", "superfast", "ultrafast")
    assert preset_ladder("medium") == ("medium", "fast", "faster", "veryfast")
    assert preset_ladder("ultrafast") == ("ultrafast",)
    assert preset_ladder("no-such-preset") == ("no-such-preset",)


@pytest.mark.parametrize("preset, steps", [("veryfast", 3), ("medium", 2)])
def test_every_step_writes_the_same_parameter_sets_and_a_keyframe_first(preset, steps):
    """From medium, faster writes other parameter sets (no psy-rd: another chroma QP offset): the
    ladder ends at fast."""
    enc = Encoder(Settings(width=320, height=240, preset=preset))
    first = bytes(enc.video.codec_context.extradata)
    silence = np.zeros(640, np.float32)
    pictures = frames(4 * steps)
    index = 0
    for step in range(steps):
        if step:
            assert enc.step_preset(+1) is not None, f"no step to {enc.ladder[step]}"
        assert enc.preset == enc.ladder[step]
        assert bytes(enc.video.codec_context.extradata) == first
        video = []
        for _ in range(4):
            video += [p for p in enc.encode(index, pictures[index], silence) if p.stream.type == "video"]
            index += 1
        assert video and video[0].is_keyframe, f"{enc.preset}: the new encoder's first frame is not a keyframe"
    assert enc.step_preset(+1) is None and len(enc.ladder) == steps  # past the last step
    assert enc.encode(index, pictures[0], silence) is not None  # and it goes on encoding
    assert enc.step_preset(-1) is not None and enc.step == steps - 2
    enc.close()


def test_the_governor_steps_down_while_late_up_when_on_time_and_calls_overload_at_the_bottom():
    g = Governor(3, down_after=0.25, settle_s=2.0, up_after=30.0, overload_after=1.0)
    assert g.observe(0.0, 0.0) == 0
    assert g.observe(1.0, 0.3) == +1 and g.step == 1  # late: one step faster
    assert g.observe(2.0, 0.5) == 0  # settling
    assert g.observe(3.1, 0.6) == +1 and g.step == 2
    assert g.observe(6.0, 1.2) == 0 and g.overloaded  # the fastest, still a second late
    assert g.observe(7.0, 0.01) == 0 and not g.overloaded  # caught up
    assert g.observe(36.0, 0.0) == 0  # 29 s on time: not yet
    assert g.observe(37.1, 0.0) == -1 and g.step == 1  # 30 s on time: back up
    assert g.observe(40.0, 0.3) == +1 and g.up_after == 60.0  # too much: down again, and wait longer to go up


def slow_encoder(monkeypatch, seconds_by_preset: dict[str, float]) -> None:
    """Make each frame's encode take at least this long at each preset (a busy machine)."""
    real = encoder_module.Encoder.encode

    def encode(self, index, i420, audio):
        t = time.perf_counter()
        packets = real(self, index, i420, audio)
        left = seconds_by_preset.get(self.preset, 0.0) - (time.perf_counter() - t)
        if left > 0:
            time.sleep(left)
        return packets

    monkeypatch.setattr(encoder_module.Encoder, "encode", encode)


def run_live(nginx_rtmp, avatars_dir, stream: str, seconds: float):
    settings = Settings(width=320, height=568, avatars_dir=avatars_dir, lipsync="parametric", voice="espeak:en")
    events: list[tuple[str, dict]] = []
    live = build_live(LiveSpec(script=parse_script(SCRIPT), output=PushTo(nginx_rtmp.url(stream)), duration=seconds),
                      Resources(settings), on_event=lambda kind, **f: events.append((kind, f)))
    return live, events


@pytest.mark.slow
def test_a_live_too_slow_at_veryfast_steps_to_superfast_keeps_real_time_and_plays_across_the_step(
        nginx_rtmp, avatars_dir, monkeypatch):
    slow_encoder(monkeypatch, {"veryfast": 0.06, "superfast": 0.0})  # 60 ms a frame: 1.5 x real time
    url = nginx_rtmp.url("ladder")
    puller, result = start_pull(url)
    time.sleep(0.3)
    live, events = run_live(nginx_rtmp, avatars_dir, "ladder", 10.0)
    live.start()
    time.sleep(6.0)
    status = live.status()
    live.wait(30)
    puller.join(30)
    steps = [f for kind, f in events if kind == "encoder"]
    assert steps and steps[0]["preset"] == "superfast" and steps[0]["change"] == "faster", events
    assert status["encoder"]["preset"] == "superfast" and status["encoder"]["step"] == 1
    assert status["encoder"]["behind_s"] < 0.1 and not status["encoder"]["overloaded"], status["encoder"]
    assert not [kind for kind, _ in events if kind == "overloaded"]
    m = result["media"]
    pts = np.array([p for p, _, _ in m.video])
    assert len(pts) >= 25 * 9, f"only {len(pts)} frames"
    assert set(np.round(np.diff(pts), 3).tolist()) == {0.04}  # every frame, steady 25 fps across the step
    assert len(m.video_times) == len(pts), "frames that did not decode"
    assert pts[-1] - pts[0] >= 9.0


@pytest.mark.slow
def test_a_live_too_slow_at_every_preset_says_it_is_overloaded(nginx_rtmp, avatars_dir, monkeypatch):
    slow_encoder(monkeypatch, {"veryfast": 0.06, "superfast": 0.06, "ultrafast": 0.06})
    live, events = run_live(nginx_rtmp, avatars_dir, "overloaded", 9.0)
    live.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(kind == "overloaded" for kind, _ in events):
        time.sleep(0.1)
    status = live.status()
    live.stop()
    assert [f["preset"] for kind, f in events if kind == "encoder"] == ["superfast", "ultrafast"], events
    over = [f for kind, f in events if kind == "overloaded"]
    assert over and over[0]["preset"] == "ultrafast" and over[0]["behind_s"] >= 1.0, events
    assert status["encoder"]["overloaded"] and status["encoder"]["behind_s"] >= 1.0, status["encoder"]
