"""The parametric engine: lips that open with the voice and rest closed in silence."""
from __future__ import annotations

import numpy as np
import pytest

from streamer.avatar.store import load_avatar
from streamer.frames import SAMPLES_PER_VIDEO_FRAME, FrameKind, Tick
from streamer.lipsync import LipsyncError, create_engine, engine_or_fallback
from streamer.lipsync.parametric import ParametricEngine
from streamer.settings import Settings
from tests.helpers.speech import voiced


@pytest.fixture(scope="module")
def avatar(avatars_dir):
    return load_avatar(avatars_dir, "default")


@pytest.fixture
def stream(avatar):
    return create_engine("parametric").open(avatar)


def ticks(samples: np.ndarray, start: int = 0, kind: FrameKind = FrameKind.SPEECH,
          count: int = 75) -> list[Tick]:
    n = len(samples) // SAMPLES_PER_VIDEO_FRAME
    return [Tick(index=start + i, audio=samples[i * 640:(i + 1) * 640], kind=kind,
                 avatar_index=(start + i) % count) for i in range(n)]


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), np.float32)


def shown(avatar, tick, patch) -> np.ndarray:
    """The avatar frame as the compositor would show it (float32)."""
    frame = avatar.frames[tick.avatar_index].astype(np.float32)
    if patch is not None:
        x1, y1, x2, y2 = patch.box
        a = patch.alpha[:, :, None]
        frame[y1:y2, x1:x2] = patch.image * a + frame[y1:y2, x1:x2] * (1 - a)
    return frame


def mouth_change(avatar, tick, patch) -> float:
    """Mean change of the mouth box against the untouched frame."""
    x1, y1, x2, y2 = avatar.mouths[tick.avatar_index]
    before = avatar.frames[tick.avatar_index][y1:y2, x1:x2].astype(np.float32)
    return float(np.abs(shown(avatar, tick, patch)[y1:y2, x1:x2] - before).mean())


def run(stream, all_ticks):
    out = []
    for t in all_ticks:
        out += stream.push(t)
    return out + stream.flush()


def test_engines_by_name(tmp_path):
    assert isinstance(create_engine("parametric"), ParametricEngine)
    assert create_engine("parametric").name == "parametric"
    with pytest.raises(LipsyncError, match="unknown lipsync engine 'wav2lip' \\(known: parametric, musetalk, live2d\\)"):
        create_engine("wav2lip")


def test_missing_musetalk_weights_fall_back_to_parametric_or_refuse(tmp_path):
    settings = Settings(models_dir=tmp_path / "models")
    expected = str(tmp_path / "models" / "musetalkV15")
    with pytest.raises(LipsyncError) as refused:
        create_engine("musetalk", settings)
    assert expected in str(refused.value) and "livehost models download" in str(refused.value)
    engine, why = engine_or_fallback("musetalk", settings)
    assert isinstance(engine, ParametricEngine) and expected in why
    with pytest.raises(LipsyncError, match="musetalkV15"):
        engine_or_fallback("musetalk", settings.replace(lipsync_fallback="refuse"))


def test_silence_leaves_the_avatar_untouched(stream):
    results = run(stream, ticks(silence(2.0)))
    assert len(results) == 50
    assert all(patch is None for _, patch in results)


def test_every_tick_comes_out_once_in_order(stream):
    speech, _ = voiced(1.0)
    all_ticks = ticks(np.concatenate([silence(0.4), speech, silence(1.0)]))
    results = run(stream, all_ticks)
    assert [t.index for t, _ in results] == [t.index for t in all_ticks]


def test_louder_voice_opens_the_mouth_wider(stream, avatar):
    changes = []
    for level in (0.03, 0.1, 0.3):
        stream.reset()
        # a quiet room first sets the voice's loudness scale; then a steady vowel at `level`
        reference, _ = voiced(0.4, level=0.3, syllables_hz=0)
        run(stream, ticks(reference))
        stream.push(ticks(silence(0.4))[0])
        vowel, _ = voiced(0.6, level=level, syllables_hz=0)
        t, patch = run(stream, ticks(vowel, start=40))[-1]
        assert patch is not None
        changes.append(mouth_change(avatar, t, patch))
    assert changes[0] < changes[1] < changes[2], changes
    assert changes[2] > 2 * changes[0] and changes[2] > 8.0, changes


def test_mouth_follows_the_syllables(stream, avatar):
    speech, env = voiced(3.0, syllables_hz=4.0)
    results = run(stream, ticks(speech))
    change = np.array([mouth_change(avatar, t, p) for t, p in results])
    envelope = env[320::640][:len(change)]
    assert sum(p is not None for _, p in results) > 0.8 * len(results)
    assert np.corrcoef(change[5:], envelope[5:])[0, 1] > 0.6
    assert change.max() - np.percentile(change[5:], 10) > 6.0  # opens and closes visibly


def test_lips_close_and_rest_after_speech(stream, avatar):
    speech, _ = voiced(1.0, syllables_hz=0)
    results = run(stream, ticks(np.concatenate([speech, silence(1.0)])))
    after = results[25:]
    change = [mouth_change(avatar, t, p) for t, p in after]
    resting = [i for i, (_, p) in enumerate(after) if p is None]
    assert resting and resting[0] <= 8, "the mouth should close within about 300 ms"
    assert all(p is None for _, p in after[resting[0]:]), "and stay closed"
    assert all(b <= a + 0.5 for a, b in zip(change, change[1:resting[0]])), "closing smoothly"


def test_idle_and_action_ticks(stream):
    speech, _ = voiced(0.4, syllables_hz=0)
    run(stream, ticks(speech))
    # an interrupt: idle ticks let the mouth close smoothly, not in one frame
    idle = run(stream, ticks(speech, start=10, kind=FrameKind.IDLE))
    assert idle[0][1] is not None and idle[-1][1] is None
    run(stream, ticks(speech))
    assert all(p is None for _, p in run(stream, ticks(speech, kind=FrameKind.ACTION)))
    stream.reset()
    assert stream.push(ticks(silence(0.04))[0])[0][1] is None


def test_patch_lies_inside_the_frame_and_fades_out_at_its_borders(stream, avatar):
    speech, _ = voiced(1.0, syllables_hz=0)
    (_, _), *rest = run(stream, ticks(speech))
    t, patch = rest[-1]
    x1, y1, x2, y2 = patch.box
    w, h = avatar.size
    assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
    assert patch.image.shape == (y2 - y1, x2 - x1, 3) and patch.image.dtype == np.uint8
    assert patch.alpha.shape == (y2 - y1, x2 - x1) and patch.alpha.dtype == np.float32
    a = patch.alpha
    assert 0.0 <= a.min() and a.max() <= 1.0 and a.max() == pytest.approx(1.0)
    assert max(a[0].max(), a[-1].max(), a[:, 0].max(), a[:, -1].max()) < 0.01
    # the patch covers the mouth, with room around it for the jaw
    mx1, my1, mx2, my2 = avatar.mouths[t.avatar_index]
    assert x1 < mx1 and mx2 < x2 and y1 < my1 and my2 < y2


def test_the_lower_lip_drops_and_the_gap_is_dark(stream, avatar):
    patch = stream.render(0, 0.8, 0.0)
    mx1, my1, mx2, my2 = avatar.mouths[0]
    cx, lip = (mx1 + mx2) // 2, (my1 + my2) // 2
    x1, y1 = patch.box[:2]
    column = patch.image[:, cx - x1 - 3:cx - x1 + 4].astype(np.float32).mean(axis=(1, 2))
    before = avatar.frames[0][y1:patch.box[3], cx - 3:cx + 4].astype(np.float32).mean(axis=(1, 2))
    gap = slice(lip - y1 + 1, lip - y1 + 5)  # just below the lip line
    assert column[gap].mean() < before[gap].mean() - 60, "the mouth opening should be dark"
    assert np.abs(column[:5] - before[:5]).max() < 3, "above the upper lip nothing moves"
    mouth = slice(my1 - y1, my2 - y1)
    assert (before[mouth] > 120).all()
    dark = np.flatnonzero(column[mouth] < 90) + my1  # the opening, in frame rows
    assert len(dark) >= 5, "the lower lip drops by several px"
    assert lip - 2 <= dark.min() <= lip + 2, "the lips part at the lip line"
