"""Action clips: prepared from videos at 25 fps and the avatar's size with their sound, stored
atomically, loaded with the avatar, made from the still for the default avatar, and the CLI."""
from __future__ import annotations

import functools
import json
import logging
import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from streamer.avatar.actions import (
    list_actions,
    prepare_action,
    remove_action,
)
from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.model import AvatarError
from streamer.avatar.store import load_actions, load_avatar, save_avatar
from tests.helpers.process import livehost_cmd

SIZE = (240, 320)  # the test avatar: portrait, while the sources are landscape 320x240
TONE_HZ, TONE_START = 440.0, 0.5  # the sources' sound: silence, then a tone from 0.5 s


def write_video(path, seconds=2.0, fps=30, tone=True, size=(320, 240)):
    """A test source: frame i shows grey level 10 + 4 i in a centre patch and a moving white
    square; a blue band on top and a red band at the left edge; a 440 Hz tone from 0.5 s in AAC."""
    w, h = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "10"}
        audio = out.add_stream("aac", rate=44100, layout="mono") if tone else None
        for i in range(int(round(seconds * fps))):
            img = np.full((h, w, 3), 128, np.uint8)
            img[:20] = (255, 0, 0)
            img[:, :30] = (0, 0, 255)
            x = 40 + 6 * i % (w - 80)
            img[h - 50:h - 30, x:x + 20] = 255
            img[h // 2 - 30:h // 2 + 30, w // 2 - 30:w // 2 + 30] = 10 + 4 * i
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            t = np.arange(int(seconds * 44100)) / 44100
            pcm = np.where(t >= TONE_START, 0.5 * np.sin(2 * np.pi * TONE_HZ * t), 0).astype(np.float32)
            for start in range(0, len(pcm), 1024):
                frame = av.AudioFrame.from_ndarray(pcm[None, start:start + 1024], format="fltp", layout="mono")
                frame.sample_rate, frame.pts = 44100, start
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("sources")
    notes = d / "notes.mp4"
    notes.write_text("this is not a video\n" * 50)
    with av.open(str(d / "voice.wav"), "w") as out:  # sound only
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 16000), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = 16000, 0
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return {"tone": write_video(d / "wave.mp4"), "silent": write_video(d / "mute.mp4", tone=False),
            "slow": write_video(d / "slow.mp4", fps=12), "notes": notes, "sound only": d / "voice.wav"}


def make_avatars(folder):
    """An avatars folder with one 240x320 avatar 'host' (a single grey frame is enough here)."""
    frame = np.full((SIZE[1], SIZE[0], 3), 90, np.uint8)
    boxes = np.array([[60, 60, 180, 200]], np.int32)
    save_avatar(folder, "host", [frame], boxes, boxes, np.ones((8, 8), np.float32), source="test")
    return folder


@pytest.fixture
def avatars(tmp_path):
    return make_avatars(tmp_path / "avatars")


def patch(frame) -> float:
    h, w = frame.shape[:2]
    return float(frame[h // 2 - 15:h // 2 + 15, w // 2 - 15:w // 2 + 15].mean())


@functools.cache
def source_levels(source) -> np.ndarray:
    with av.open(str(source)) as c:
        return np.array([patch(f.to_ndarray(format="bgr24")) for f in c.decode(video=0)])


def source_index(frame, source) -> int:
    """Which source frame an output frame shows: the one whose centre patch matches (as decoded)."""
    return int(np.argmin(np.abs(source_levels(source) - patch(frame))))


@pytest.mark.parametrize("kind, fps", [("tone", 30), ("slow", 12)])
def test_video_becomes_25_fps_frames_at_the_avatars_size(avatars, sources, kind, fps):
    seen = []
    folder = prepare_action(avatars, "host", "wave", sources[kind], progress=lambda d, t: seen.append((d, t)))
    assert folder == avatars / "host" / "actions" / "wave"
    clip = load_actions(avatars / "host")["wave"]
    assert len(clip.frames) == 50 and clip.seconds == 2.0
    assert all(f.shape == (SIZE[1], SIZE[0], 3) and f.dtype == np.uint8 for f in clip.frames)
    # Output frame k (at k / 25 s) shows the source frame due by then: 30 fps drops, 12 fps repeats.
    assert [source_index(f, sources[kind]) for f in clip.frames] == [int(k * fps / 25 + 1e-9) for k in range(50)]
    assert seen[-1] == (50, 50) and len(seen) >= 50


def test_frames_cover_the_avatar_and_are_centre_cropped(avatars, sources):
    prepare_action(avatars, "host", "wave", sources["tone"])
    frame = load_actions(avatars / "host")["wave"].frames[0].astype(int)
    blue, red = frame[:, :, 0] - frame[:, :, 2], frame[:, :, 2] - frame[:, :, 0]
    assert (blue[:20] > 150).mean() > 0.9  # the top band spans the full width: no bars, no stretch
    assert (red > 150).mean() < 0.001  # the left edge was cropped away


def test_sound_becomes_16_khz_float32_in_step_with_the_frames(avatars, sources):
    prepare_action(avatars, "host", "wave", sources["tone"])
    audio = load_actions(avatars / "host")["wave"].audio
    assert audio.dtype == np.float32 and audio.shape == (50 * 640,)
    spectrum = np.abs(np.fft.rfft(audio[16000:] * np.hanning(16000)))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - TONE_HZ) <= 2
    start = int(TONE_START * 16000)
    before, after = audio[:start - 400], audio[start + 400:2 * start]
    assert np.sqrt(np.mean(before ** 2)) < 0.01 and np.sqrt(np.mean(after ** 2)) > 0.25  # on time


def test_silent_video_has_no_audio_and_loop_round_trips(avatars, sources):
    prepare_action(avatars, "host", "spin", sources["silent"], loop=True)
    prepare_action(avatars, "host", "wave", sources["tone"])
    clips = load_avatar(avatars, "host").actions
    assert clips["spin"].audio is None and clips["spin"].loop is True
    assert clips["wave"].audio is not None and clips["wave"].loop is False
    assert list_actions(avatars, "host") == [
        {"name": "spin", "frames": 50, "seconds": 2.0, "loop": True, "has_audio": False},
        {"name": "wave", "frames": 50, "seconds": 2.0, "loop": False, "has_audio": True}]
    meta = json.loads((avatars / "host" / "actions" / "spin" / "clip.json").read_text())
    assert meta["fps"] == 25 and meta["source"] == "mute.mp4" and meta["created"]
    assert not (avatars / "host" / "actions" / "spin" / "audio.npy").exists()


def test_a_long_source_is_cut_at_max_seconds_with_a_warning(avatars, sources, caplog):
    with caplog.at_level(logging.WARNING, logger="livehost.avatar"):
        prepare_action(avatars, "host", "short", sources["tone"], max_seconds=1.0)
    clip = load_actions(avatars / "host")["short"]
    assert len(clip.frames) == 25 and clip.audio.shape == (25 * 640,)
    assert "kept the first 1 s" in caplog.text


def test_a_failed_replacement_keeps_the_old_clip(avatars, sources):
    prepare_action(avatars, "host", "wave", sources["tone"])

    def interrupted(done, total):
        if done == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare_action(avatars, "host", "wave", sources["slow"], loop=True, progress=interrupted)
    clip = load_actions(avatars / "host")["wave"]
    assert source_index(clip.frames[49], sources["tone"]) == 58 and clip.audio is not None and not clip.loop
    assert sorted(p.name for p in (avatars / "host" / "actions").iterdir()) == ["wave"]
    prepare_action(avatars, "host", "wave", sources["slow"], loop=True)  # a whole one replaces it
    clip = load_actions(avatars / "host")["wave"]
    assert source_index(clip.frames[49], sources["slow"]) == 23 and clip.audio is not None and clip.loop
    assert sorted(p.name for p in (avatars / "host" / "actions").iterdir()) == ["wave"]


def test_a_broken_clip_is_skipped_and_the_avatar_still_loads(avatars, sources, caplog):
    prepare_action(avatars, "host", "wave", sources["tone"])
    prepare_action(avatars, "host", "spin", sources["silent"])
    (avatars / "host" / "actions" / "spin" / "frames" / "000007.jpg").unlink()
    with caplog.at_level(logging.WARNING, logger="livehost.avatar"):
        avatar = load_avatar(avatars, "host")
    assert list(avatar.actions) == ["wave"]
    assert "action clip spin is broken: frames/000007.jpg is missing" in caplog.text


def test_remove_deletes_the_clip(avatars, sources):
    prepare_action(avatars, "host", "wave", sources["silent"])
    remove_action(avatars, "host", "wave")
    assert list_actions(avatars, "host") == [] and load_avatar(avatars, "host").actions == {}
    with pytest.raises(AvatarError, match=r"avatar 'host' has no action clip 'wave' \(available: none\)"):
        remove_action(avatars, "host", "wave")


@pytest.mark.parametrize("avatar, name, source, says", [
    ("host", "bad name", "tone", "invalid action clip name 'bad name'"),
    ("host", "../up", "tone", "invalid action clip name"),
    ("host", "x" * 41, "tone", "invalid action clip name"),
    ("host", "wave", "missing.mp4", "source not found"),
    ("host", "wave", "notes", "cannot read notes.mp4: not a supported video"),
    ("host", "wave", "sound only", "voice.wav: it has no video stream"),
    ("nobody", "wave", "tone", "unknown avatar 'nobody' (available: host)"),
])
def test_bad_input_is_a_one_line_error_that_leaves_nothing_behind(avatars, sources, tmp_path,
                                                                  avatar, name, source, says):
    path = sources.get(source, tmp_path / source)
    with pytest.raises(AvatarError) as e:
        prepare_action(avatars, avatar, name, path)
    assert says in str(e.value) and "\n" not in str(e.value)
    actions = avatars / "host" / "actions"
    assert not actions.exists() or list(actions.iterdir()) == []


@pytest.fixture(scope="module")
def default(avatars_dir):
    return load_avatar(avatars_dir, "default")


@pytest.mark.parametrize("name, seconds, loop", [("nod", 1.5, False), ("greet", 2.0, False), ("sway", 3.0, True)])
def test_default_avatar_has_clips_that_move_and_come_back_to_the_still(default, name, seconds, loop):
    clip = default.actions[name]
    assert abs(clip.seconds - seconds) <= 0.1 and clip.loop is loop and clip.audio is None
    assert all(f.shape == default.frames[0].shape for f in clip.frames)
    still = default.frames[0].astype(np.float32)
    away = [np.abs(f.astype(np.float32) - still).mean() for f in clip.frames]
    frames = [f.astype(np.float32) for f in clip.frames] + ([clip.frames[0]] if loop else [])
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert max(away) > 3.0, "the clip hardly moves"
    assert away[0] < 0.5, "it does not start on the idle frame"
    if loop:  # the wrap back to the first frame is no bigger than any other step
        assert steps[-1] <= 1.2 * max(steps[:-1])
    else:  # it ends on the idle frame, easing in and out
        assert away[-1] < 0.5 and max(steps[0], steps[-1]) < 0.35 * max(steps)


def test_an_existing_default_avatar_without_clips_gets_them(avatars_dir, tmp_path):
    shutil.copytree(avatars_dir / "default", tmp_path / "default")
    shutil.rmtree(tmp_path / "default" / "actions")
    stamp = (tmp_path / "default" / "avatar.json").stat().st_mtime_ns
    ensure_default_avatar(tmp_path)
    assert [c["name"] for c in list_actions(tmp_path, "default")] == ["greet", "nod", "sway"]
    assert (tmp_path / "default" / "avatar.json").stat().st_mtime_ns == stamp


def run_cli(env, *args):
    return subprocess.run(livehost_cmd("avatar", "action", *args), env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def env(cli_env, tmp_path):
    return dict(cli_env, LIVEHOST_AVATARS_DIR=str(make_avatars(tmp_path / "cli-avatars")))


def test_cli_adds_lists_and_removes_a_clip(env, sources):
    added = run_cli(env, "add", "host", "wave", str(sources["tone"]), "--loop")
    assert added.returncode == 0, added.stderr
    assert "action clip wave of avatar host ready in" in added.stdout and "50/50" in added.stderr
    listed = run_cli(env, "list", "host")
    assert listed.returncode == 0
    assert listed.stdout.split("\n")[:2] == ["NAME  FRAMES  SECONDS  LOOP  AUDIO",
                                             "wave      50     2.00  yes   yes"]
    removed = run_cli(env, "remove", "host", "wave")
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert "has no action clips" in run_cli(env, "list", "host").stdout


@pytest.mark.parametrize("args, says", [
    (["add", "host", "bad name", "tone"], "invalid action clip name"),
    (["add", "host", "wave", "notes"], "cannot read notes.mp4"),
    (["add", "nobody", "wave", "tone"], "unknown avatar 'nobody'"),
    (["remove", "host", "wave"], "has no action clip 'wave'"),
])
def test_cli_rejects_bad_input_with_exit_code_2_and_one_line(env, sources, args, says):
    result = run_cli(env, *[str(sources.get(a, a)) for a in args])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("livehost: error:")]
    assert len(lines) == 1 and says in lines[0]
