"""Loading avatars: unknown ids list what exists, broken folders say what is wrong."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from streamer.avatar.model import AvatarError
from streamer.avatar.store import list_avatars, load_avatar, save_avatar


def test_unknown_avatar_lists_the_available_ones(avatars_dir):
    with pytest.raises(AvatarError) as e:
        load_avatar(avatars_dir, "nobody")
    assert str(e.value) == "unknown avatar 'nobody' (available: default)"


def test_unknown_avatar_in_an_empty_folder(tmp_path):
    with pytest.raises(AvatarError, match=r"unknown avatar 'x' \(available: none\)"):
        load_avatar(tmp_path / "missing", "x")


def test_invalid_id_is_refused_before_touching_the_disk(avatars_dir):
    with pytest.raises(AvatarError, match="invalid avatar id"):
        load_avatar(avatars_dir, "../default")


def test_save_then_load_gives_back_the_same_avatar(tmp_path):
    ramp = np.linspace(0, 255, 64, dtype=np.float32)[None, :, None] * np.ones((48, 1, 3), np.float32)
    frames = [(ramp * (0.5 + 0.2 * i)).astype(np.uint8) for i in range(3)]
    faces = np.array([[10, 5, 50, 45]] * 3, np.int32)
    mouths = np.array([[20, 30, 40, 40]] * 3, np.int32)
    mask = np.zeros((16, 32), np.float32)
    mask[4:12, 8:24] = 1.0
    folder = save_avatar(tmp_path, "tiny", frames, faces, mouths, mask, source="test")
    avatar = load_avatar(tmp_path, "tiny")
    assert avatar.path == folder and avatar.id == "tiny" and avatar.fps == 25
    assert len(avatar) == 3 and avatar.size == (64, 48)
    assert np.array_equal(avatar.faces, faces) and np.array_equal(avatar.mouths, mouths)
    assert np.abs(avatar.mouth_mask - mask).max() < 1 / 255 + 1e-6
    assert np.abs(avatar.frames[2].astype(int) - frames[2]).max() <= 3  # JPEG quality 95
    assert list_avatars(tmp_path) == ["tiny"]


@pytest.fixture
def copy(avatars_dir, tmp_path):
    shutil.copytree(avatars_dir / "default", tmp_path / "host")
    return tmp_path / "host"


@pytest.mark.parametrize("damage, says", [
    (lambda f: (f / "frames" / "000010.jpg").unlink(), "frames/000010.jpg is missing"),
    (lambda f: (f / "frames" / "000003.jpg").write_bytes(b"junk"),
     "frames/000003.jpg is missing or unreadable"),
    (lambda f: (f / "mouths.npy").unlink(), "mouths.npy is missing"),
    (lambda f: np.save(f / "faces.npy", np.zeros((3, 4), np.int32)),
     "faces.npy has shape (3, 4), expected (75, 4)"),
    (lambda f: (f / "mouth_mask.png").unlink(), "mouth_mask.png is missing"),
    (lambda f: (f / "avatar.json").write_text("{not json"), "avatar.json is unreadable"),
    (lambda f: (f / "avatar.json").unlink(), "avatar.json is missing"),
])
def test_broken_folder_names_what_is_wrong(copy, damage, says):
    damage(copy)
    with pytest.raises(AvatarError) as e:
        load_avatar(copy.parent, "host")
    assert "avatar 'host' is broken" in str(e.value) and says in str(e.value)
