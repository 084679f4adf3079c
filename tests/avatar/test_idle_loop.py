"""The idle loop of a still portrait: it breathes and blinks, without visible jumps."""
from __future__ import annotations

import numpy as np
import pytest

from streamer.avatar.store import load_avatar


@pytest.fixture(scope="module")
def avatar(avatars_dir):
    return load_avatar(avatars_dir, "default")


def region(frame, box):
    x1, y1, x2, y2 = (int(v) for v in box)
    return frame[y1:y2, x1:x2].astype(np.float32)


def eye_band(face):
    """The band of the face box holding both eyes."""
    x1, y1, x2, y2 = face
    h = y2 - y1
    return (x1 + 0.1 * (x2 - x1), y1 + 0.25 * h, x2 - 0.1 * (x2 - x1), y1 + 0.5 * h)


def test_the_eyes_blink_once_and_reopen(avatar):
    band = eye_band(avatar.faces[0])
    first = region(avatar.frames[0], band)
    change = [np.abs(region(f, band) - first).mean() for f in avatar.frames]
    closed = int(np.argmax(change))
    assert change[closed] > 6.0, "the eyes never close"
    # The eyelids cover the dark irises: the band gets brighter while closed.
    assert region(avatar.frames[closed], band).mean() > first.mean() + 2.0
    blinking = [i for i, c in enumerate(change) if c > 1.5]
    assert 3 <= len(blinking) <= 12, f"blink frames: {blinking}"
    assert blinking == list(range(blinking[0], blinking[-1] + 1)), "one blink, not several"
    assert change[-1] < 1.5 and change[0] == 0  # open before and after


def test_the_body_breathes_while_the_face_stays_put(avatar):
    x1, y1, x2, y2 = avatar.faces[0]
    h = y2 - y1
    chest = (0, y2 + 1.2 * h, avatar.size[0], avatar.size[1])
    face = (x1, y1, x2, y1 + 0.25 * h)  # forehead: no blink, no breath
    first, last = avatar.frames[0], avatar.frames[-1]
    assert np.abs(region(last, chest) - region(first, chest)).mean() > 0.5, "no breathing"
    assert np.abs(region(last, face) - region(first, face)).max() <= 3  # JPEG noise only


def test_adjacent_frames_differ_only_slightly(avatar):
    frames = [f.astype(np.float32) for f in avatar.frames]
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert max(steps) < 1.0, f"a visible jump: mean step {max(steps):.2f}"
    assert sum(s > 0.05 for s in steps) > 50, "the loop is mostly frozen"
