"""The default avatar: built from the astronaut portrait, found on her face, quick to load."""
from __future__ import annotations

import time

import numpy as np

from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.store import load_avatar

# Where things are in skimage.data.astronaut() (512x512), read off the picture by eye.
FACE_CENTRE = (224, 112)
MOUTH_CENTRE = (224, 147)
EYES = ((202, 101), (246, 103))


def inside(point, box) -> bool:
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def test_default_avatar_loads_with_its_idle_loop(avatars_dir):
    avatar = load_avatar(avatars_dir, "default")
    assert len(avatar) == 75
    assert avatar.size == (512, 512)
    assert all(f.shape == (512, 512, 3) and f.dtype == np.uint8 for f in avatar.frames)
    assert avatar.faces.shape == avatar.mouths.shape == (75, 4)
    assert avatar.mouth_mask.dtype == np.float32 and avatar.mouth_mask.max() > 0.95
    m = avatar.mouth_mask
    assert max(m[0].max(), m[-1].max(), m[:, 0].max(), m[:, -1].max()) < 0.05  # feathered to 0


def test_face_box_surrounds_the_astronauts_face(avatars_dir):
    face = load_avatar(avatars_dir, "default").faces[0]
    assert inside(FACE_CENTRE, face)
    assert all(inside(eye, face) for eye in EYES)
    assert 70 <= face[2] - face[0] <= 130  # her face is about 95 px wide


def test_mouth_box_is_on_her_mouth_in_the_lower_half_of_the_face(avatars_dir):
    avatar = load_avatar(avatars_dir, "default")
    for face, mouth in zip(avatar.faces, avatar.mouths):
        fx1, fy1, fx2, fy2 = face
        x1, y1, x2, y2 = mouth
        assert inside(MOUTH_CENTRE, mouth)
        assert fx1 <= x1 < x2 <= fx2
        assert (y1 + y2) / 2 > (fy1 + fy2) / 2  # mouth centre in the lower half of the face
        assert 30 <= x2 - x1 <= 60  # her mouth is about 40 px wide


def test_ensure_default_avatar_is_idempotent_and_fast(avatars_dir):
    stamp = (avatars_dir / "default" / "avatar.json").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert ensure_default_avatar(avatars_dir) == avatars_dir / "default"
    assert time.perf_counter() - t0 < 0.5  # building it takes seconds
    assert (avatars_dir / "default" / "avatar.json").stat().st_mtime_ns == stamp


def test_loading_the_75_frame_avatar_takes_about_a_second_at_most(avatars_dir):
    load_avatar(avatars_dir, "default")  # warm the file cache, as a worker would have it
    t0 = time.perf_counter()
    load_avatar(avatars_dir, "default")
    assert time.perf_counter() - t0 < 1.5
