"""The MuseTalk engine on a tiny random release (same classes and loading code as the real one):
avatar preparation, the stream's hold and order, silence never reaching the model, paste-back,
interrupt, and batching across lives."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("torch", reason="the musetalk extra is not installed (pip install 'livehost[musetalk]')")

from streamer.avatar.store import load_avatar  # noqa: E402
from streamer.frames import SAMPLES_PER_VIDEO_FRAME, FrameKind, Tick  # noqa: E402
from streamer.lipsync import create_engine  # noqa: E402
from streamer.lipsync.musetalk import avatar as mt_avatar  # noqa: E402
from streamer.lipsync.musetalk import write_tiny_release  # noqa: E402
from streamer.lipsync.musetalk.engine import LOOKAHEAD, MuseTalkEngine  # noqa: E402
from streamer.settings import Settings  # noqa: E402
from tests.helpers.process import livehost_cmd  # noqa: E402
from tests.helpers.speech import voiced  # noqa: E402


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    write_tiny_release(folder, "v15")
    return folder


@pytest.fixture(scope="module")
def engine(release) -> MuseTalkEngine:
    engine = create_engine("musetalk", Settings(models_dir=release, musetalk_batch=4))
    engine.wait_s = 60.0  # a tiny model on a busy 2-core CPU is not real time; these tests check content
    return engine


@pytest.fixture
def avatar(avatars_dir, tmp_path):
    """A private copy of the default avatar (preparation writes into its folder)."""
    shutil.copytree(avatars_dir / "default", tmp_path / "default")
    return load_avatar(tmp_path, "default")


def speech_ticks(seconds: float, start: int = 0, kind: FrameKind = FrameKind.SPEECH) -> list[Tick]:
    audio = voiced(seconds)[0] if kind is FrameKind.SPEECH else np.zeros(int(seconds * 16000), np.float32)
    n = len(audio) // SAMPLES_PER_VIDEO_FRAME
    return [Tick(start + i, audio[i * SAMPLES_PER_VIDEO_FRAME:(i + 1) * SAMPLES_PER_VIDEO_FRAME], kind, i % 5)
            for i in range(n)]


def run(stream, ticks):
    out = []
    for t in ticks:
        out += stream.push(t)
    return out + stream.flush()


def test_avatar_preparation_is_saved_and_reused(engine, avatar):
    data = engine.avatar_data(avatar)
    n = len(avatar)
    assert data.crops.shape == (n, 4) and data.masks.shape == (n, 256, 256) and data.latents.shape == (n, 8, 32, 32)
    w, h = avatar.size
    x1, y1, x2, y2 = data.crops.T
    assert (x1 >= 0).all() and (y1 >= 0).all() and (x2 <= w).all() and (y2 <= h).all()
    faces = avatar.faces
    assert (x1 <= faces[:, 2]).all() and (x2 >= faces[:, 0]).all(), "the crop is not on the face"
    mouth_y = (avatar.mouths[:, 1] + avatar.mouths[:, 3]) / 2
    assert ((y1 < mouth_y) & (mouth_y < y2)).all(), "the crop does not hold the mouth"
    # The mask replaces the lower face only, and fades out at the crop's border.
    assert data.masks[:, :72].max() == 0 and data.masks[:, 180:].max() >= 250
    assert data.masks[:, :, 0].max() == 0 and data.masks[:, -1, :].max() == 0
    again = mt_avatar.load(avatar, "v15")
    assert again is not None and np.array_equal(again.latents, data.latents)
    meta = json.loads((avatar.path / "musetalk" / "v15" / "meta.json").read_text())
    assert meta["landmarks"] == "dlib-68" and meta["mask"] == "jaw-landmarks" and meta["frames"] == n


def test_without_a_landmark_model_the_crop_comes_from_the_face_boxes(engine, avatar):
    data = mt_avatar.prepare(avatar, engine.model, landmarker=None)
    meta = json.loads((avatar.path / "musetalk" / "v15" / "meta.json").read_text())
    assert meta["landmarks"] is None and meta["mask"] == "jaw-boxes"
    mouth_y = (avatar.mouths[:, 1] + avatar.mouths[:, 3]) / 2
    assert ((data.crops[:, 1] < mouth_y) & (mouth_y < data.crops[:, 3])).all()
    assert data.masks[:, :72].max() == 0 and data.masks[:, 180:].max() >= 250


def test_every_tick_comes_out_once_in_order_after_the_hold(engine, avatar):
    stream = engine.open(avatar)
    ticks = (speech_ticks(0.6, kind=FrameKind.IDLE) + speech_ticks(1.2, start=15)
             + speech_ticks(0.6, start=45, kind=FrameKind.IDLE))
    out, first_out = [], None
    for k, t in enumerate(ticks):
        got = stream.push(t)
        if got and first_out is None:
            first_out = k
        out += got
    out += stream.flush()
    assert [t.index for t, _ in out] == [t.index for t in ticks]
    assert first_out == engine.delay_frames, "the stream must hold a fixed number of ticks"
    assert engine.delay_s == pytest.approx(engine.delay_frames / 25)
    patched = {t.index for t, p in out if p is not None}
    assert patched == {t.index for t in ticks if t.kind is FrameKind.SPEECH}
    assert stream.late == 0


def test_speech_changes_the_mouth_and_silence_never_calls_the_model(engine, avatar):
    stream = engine.open(avatar)
    before = engine.batcher.frames
    out = run(stream, speech_ticks(2.0, kind=FrameKind.IDLE))
    assert all(p is None for _, p in out) and engine.batcher.frames == before
    out = run(stream, speech_ticks(1.0, start=50))
    assert engine.batcher.frames == before + 25
    data = engine.avatar_data(avatar)
    for tick, patch in out:
        x1, y1, x2, y2 = data.crops[tick.avatar_index]
        assert patch.box == (x1, y1, x2, y2)
        assert patch.image.shape == (y2 - y1, x2 - x1, 3) and patch.image.dtype == np.uint8
        assert patch.alpha.shape == (y2 - y1, x2 - x1) and 0 <= patch.alpha.min() and patch.alpha.max() <= 1
    # Same avatar frame, different audio -> a different face (the audio really drives the model).
    by_frame: dict[int, list[np.ndarray]] = {}
    for tick, patch in out:
        by_frame.setdefault(tick.avatar_index, []).append(patch.image.astype(np.int16))
    diffs = [np.abs(a[0] - a[1]).mean() for a in by_frame.values() if len(a) >= 2]
    assert diffs and min(diffs) > 0.5, diffs


def test_interrupt_returns_held_ticks_unpatched_and_starts_fresh(engine, avatar):
    stream = engine.open(avatar)
    ticks = speech_ticks(0.8)
    out = []
    for t in ticks:
        out += stream.push(t)
    held = stream.reset()
    assert [t.index for t, _ in out + held] == [t.index for t in ticks]
    assert all(p is None for _, p in held) and len(held) == engine.delay_frames
    after = run(stream, speech_ticks(0.8, start=100))
    assert [t.index for t, _ in after] == list(range(100, 120))
    assert all(p is not None for _, p in after)


def test_lives_speaking_together_share_batches(engine, avatar):
    a, b = engine.open(avatar), engine.open(avatar)
    batches, frames = engine.batcher.batches, engine.batcher.frames
    ta, tb = speech_ticks(1.6), speech_ticks(1.6)
    out_a, out_b = [], []
    for x, y in zip(ta, tb):
        out_a += a.push(x)
        out_b += b.push(y)
    out_a += a.flush()
    out_b += b.flush()
    assert all(p is not None for _, p in out_a + out_b)
    done = engine.batcher.frames - frames
    assert done == 80
    # Each stream sends groups of 4; alone they would take 20 batches.
    assert engine.batcher.batches - batches < 20


def test_demo_records_a_musetalk_live(release, cli_env, tmp_path):
    out = tmp_path / "live.flv"
    env = dict(cli_env, LIVEHOST_LIPSYNC="musetalk", LIVEHOST_MODELS_DIR=str(release), LIVEHOST_MUSETALK_BATCH="4")
    demo = subprocess.run(livehost_cmd("demo", "--record", str(out), "--duration", "4", "--size", "320x568",
                                       "--no-console"), env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "not available" not in demo.stdout
    import av

    with av.open(str(out)) as c:
        frames = [f for f in c.decode(video=0)]
    assert len(frames) == 100 and (frames[0].width, frames[0].height) == (320, 568)


def test_missing_weights_fall_back_in_the_demo(cli_env, tmp_path):
    env = dict(cli_env, LIVEHOST_LIPSYNC="musetalk", LIVEHOST_MODELS_DIR=str(tmp_path / "none"))
    demo = subprocess.run(livehost_cmd("demo", "--record", str(tmp_path / "x.flv"), "--duration", "1", "--size",
                                       "320x568", "--no-console"), env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "lipsync musetalk is not available, using parametric" in demo.stdout
    assert str(tmp_path / "none" / "musetalkV15") in demo.stdout
    refused = subprocess.run(livehost_cmd("demo", "--record", str(tmp_path / "y.flv"), "--duration", "1", "--size",
                                          "320x568", "--no-console"),
                             env=dict(env, LIVEHOST_LIPSYNC_FALLBACK="refuse"), capture_output=True, text=True,
                             timeout=300)
    assert refused.returncode != 0 and "musetalkV15" in refused.stdout + refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr


def test_prepare_an_avatar_for_musetalk_from_the_cli(release, cli_env, tmp_path, avatars_dir):
    source = tmp_path / "face.jpg"
    import cv2

    cv2.imwrite(str(source), load_avatar(avatars_dir, "default").frames[0])
    env = dict(cli_env, LIVEHOST_AVATARS_DIR=str(tmp_path / "avatars"), LIVEHOST_MODELS_DIR=str(release))
    done = subprocess.run(livehost_cmd("avatar", "prepare", str(source), "--id", "host", "--engine", "musetalk"),
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    avatar = load_avatar(tmp_path / "avatars", "host")
    data = mt_avatar.load(avatar, "v15")
    assert data is not None and len(data) == len(avatar)
    assert "face landmarks: " in done.stderr and "shape_predictor_68_face_landmarks.dat" in done.stderr
    assert json.loads((avatar.path / "musetalk" / "v15" / "meta.json").read_text())["landmarks"] == "dlib-68"
    missing = subprocess.run(livehost_cmd("avatar", "prepare", str(source), "--id", "other", "--engine", "musetalk"),
                             env=dict(env, LIVEHOST_MODELS_DIR=str(tmp_path / "none")), capture_output=True,
                             text=True, timeout=300)
    assert missing.returncode != 0 and "livehost models download" in missing.stdout + missing.stderr
    assert not (tmp_path / "avatars" / "other").exists()


def test_lookahead_matches_the_feature_window():
    from streamer.lipsync.musetalk import window_indices

    # The last feature frame frame i reads is 2i + 5: inside the audio of frame i + LOOKAHEAD - 1.
    assert max(k for k in window_indices("v15", 10, 1000) if k is not None) // 2 == 10 + LOOKAHEAD - 1
