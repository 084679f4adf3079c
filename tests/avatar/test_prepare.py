"""Preparing avatars from photos and videos: what the operator gets, and the one-line errors."""
from __future__ import annotations

from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from skimage import data

from streamer.avatar.model import AvatarError, NoFaceError
from streamer.avatar.prepare import prepare_avatar
from streamer.avatar.store import list_avatars, load_avatar

ASTRONAUT = np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def gradient(h: int = 512, w: int = 512) -> np.ndarray:
    ramp = np.linspace(40, 220, w, dtype=np.float32)[None, :] + np.linspace(0, 30, h)[:, None]
    return cv2.merge([ramp, ramp * 0.9, ramp * 0.8]).astype(np.uint8)


def write_video(path, frames, fps=25, rotation=0):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        if rotation:
            stream.set_display_rotation(rotation)
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "18"}
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def swaying(n: int) -> list[np.ndarray]:
    """The astronaut moving her head a little, like a real clip."""
    out = []
    for i in range(n):
        m = np.float32([[1, 0, 3 * np.sin(i / 4)], [0, 1, 2 * np.cos(i / 5)]])
        out.append(cv2.warpAffine(ASTRONAUT, m, (512, 512), borderMode=cv2.BORDER_REFLECT))
    return out


def nothing_left_behind(avatars_dir, avatar_id):
    if not avatars_dir.exists():
        return
    assert [p.name for p in avatars_dir.iterdir() if avatar_id in p.name] == []


def test_photo_becomes_an_idle_loop_with_progress(tmp_path):
    photo = tmp_path / "me.jpg"
    cv2.imwrite(str(photo), ASTRONAUT)
    seen = []
    folder = prepare_avatar(photo, "me", tmp_path / "avatars", progress=lambda d, t: seen.append((d, t)))
    assert folder == tmp_path / "avatars" / "me"
    avatar = load_avatar(tmp_path / "avatars", "me")
    assert len(avatar) == 75
    assert seen[-1] == (75, 75) and len(seen) == 75
    assert sorted(p.name for p in folder.iterdir()) == [
        "avatar.json", "faces.npy", "frames", "mouth_mask.png", "mouths.npy"]


@pytest.mark.parametrize("take", ["mirrored", "twice as big", "black and white", "on a tall canvas"])
def test_the_mouth_is_found_on_other_takes_of_a_portrait(tmp_path, take):
    image, (mx, my), scale = ASTRONAUT, (224, 149), 1  # her mouth: 40 px wide, lips part at y 149
    if take == "mirrored":
        image, mx = np.ascontiguousarray(ASTRONAUT[:, ::-1]), 511 - mx
    elif take == "twice as big":
        image, mx, my, scale = cv2.resize(ASTRONAUT, (1024, 1024)), 2 * mx, 2 * my, 2
    elif take == "black and white":
        image = cv2.cvtColor(cv2.cvtColor(ASTRONAUT, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    else:
        image, my = cv2.copyMakeBorder(ASTRONAUT, 400, 400, 0, 0, cv2.BORDER_REFLECT), my + 400
    photo = tmp_path / "take.png"
    cv2.imwrite(str(photo), image)
    prepare_avatar(photo, "take", tmp_path / "avatars")
    x1, y1, x2, y2 = load_avatar(tmp_path / "avatars", "take").mouths[0]
    assert abs((x1 + x2) / 2 - mx) <= 4 * scale
    assert abs((y1 + y2) / 2 - my) <= 8 * scale  # on the line between the lips or the teeth
    assert 32 * scale <= x2 - x1 <= 52 * scale


@pytest.mark.parametrize("picture", ["coffee", "gradient"])
def test_photo_without_a_face_names_frame_0(tmp_path, picture):
    image = gradient() if picture == "gradient" else data.coffee()[:, :, ::-1]
    photo = tmp_path / f"{picture}.png"
    cv2.imwrite(str(photo), image)
    with pytest.raises(NoFaceError) as e:
        prepare_avatar(photo, "cup", tmp_path / "avatars")
    assert e.value.frame == 0
    assert str(e.value) == f"no face found in frame 0 of {picture}.png"
    nothing_left_behind(tmp_path / "avatars", "cup")


def test_video_keeps_its_frames_with_steady_boxes(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", swaying(30))
    folder = prepare_avatar(clip, "clip", tmp_path / "avatars")
    avatar = load_avatar(tmp_path / "avatars", "clip")
    assert len(avatar) == 30 and avatar.size == (512, 512)
    assert '"kind": "video"' in (folder / "avatar.json").read_text()
    # Boxes follow the head (it moves by at most 3 px) without jitter.
    centres = (avatar.mouths[:, :2] + avatar.mouths[:, 2:]) / 2
    assert np.abs(centres - [224, 150]).max() < 12
    assert np.abs(np.diff(centres, axis=0)).max() <= 2


def test_video_is_resampled_to_25_fps_and_cut_at_max_seconds(tmp_path):
    clip = write_video(tmp_path / "clip30.mp4", swaying(90), fps=30)  # 3 s at 30 fps
    prepare_avatar(clip, "short", tmp_path / "avatars", max_seconds=2.0)
    assert len(load_avatar(tmp_path / "avatars", "short")) == 50


def test_phone_video_is_turned_upright(tmp_path):
    """Phones store portrait video sideways with a display rotation; the avatar must stand up."""
    upright = [f[:, 64:448] for f in swaying(10)]  # 384x512 portrait
    stored = [cv2.rotate(f, cv2.ROTATE_90_CLOCKWISE) for f in upright]  # shown turned back 90° CCW
    prepare_avatar(write_video(tmp_path / "phone.mp4", stored, rotation=90), "phone", tmp_path / "avatars")
    avatar = load_avatar(tmp_path / "avatars", "phone")
    assert avatar.size == (384, 512)
    x1, y1, x2, y2 = avatar.mouths[0]
    assert x1 < 224 - 64 < x2 and y1 < 150 < y2


def test_short_gaps_without_a_face_are_filled(tmp_path):
    frames = swaying(20)
    frames[8] = frames[9] = frames[10] = gradient()  # three frames: the longest gap that is filled
    prepare_avatar(write_video(tmp_path / "gap.mp4", frames), "gap", tmp_path / "avatars")
    avatar = load_avatar(tmp_path / "avatars", "gap")
    assert len(avatar) == 20
    faces = avatar.faces.astype(float)
    assert np.abs(faces[9] - (faces[7] + faces[11]) / 2).max() <= 3  # interpolated


def test_video_with_a_long_faceless_stretch_names_the_first_frame_beyond_the_gap_limit(tmp_path):
    frames = swaying(10) + [gradient()] * 6  # faceless from frame 10; 10, 11, 12 could be filled
    clip = write_video(tmp_path / "walkout.mp4", frames)
    with pytest.raises(NoFaceError) as e:
        prepare_avatar(clip, "walkout", tmp_path / "avatars")
    assert e.value.frame == 13
    assert "frame 13" in str(e.value) and "walkout.mp4" in str(e.value)
    nothing_left_behind(tmp_path / "avatars", "walkout")


@pytest.mark.parametrize("name", ["notes.mp4", "broken.png", "empty.jpg", "data.bin"])
def test_unreadable_source_is_a_one_line_error(tmp_path, name):
    source = tmp_path / name
    source.write_bytes(b"" if name == "empty.jpg" else b"this is not a picture\n" * 50)
    with pytest.raises(AvatarError) as e:
        prepare_avatar(source, "bad", tmp_path / "avatars")
    assert not isinstance(e.value, NoFaceError)
    assert name in str(e.value) and "\n" not in str(e.value)
    nothing_left_behind(tmp_path / "avatars", "bad")


def test_missing_source_and_bad_ids_are_refused(tmp_path):
    with pytest.raises(AvatarError, match="not found"):
        prepare_avatar(tmp_path / "nope.jpg", "x", tmp_path / "avatars")
    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), ASTRONAUT)
    for bad in ["", "Upper", "-x", "a/b", "..", "x" * 41, "名字"]:
        with pytest.raises(AvatarError, match="invalid avatar id"):
            prepare_avatar(photo, bad, tmp_path / "avatars")


def test_a_failed_prepare_keeps_the_previous_avatar(tmp_path):
    avatars = tmp_path / "avatars"
    photo, coffee = tmp_path / "me.png", tmp_path / "coffee.png"
    cv2.imwrite(str(photo), ASTRONAUT)
    cv2.imwrite(str(coffee), data.coffee()[:, :, ::-1])
    prepare_avatar(photo, "host", avatars)
    with pytest.raises(NoFaceError):
        prepare_avatar(coffee, "host", avatars)
    assert len(load_avatar(avatars, "host")) == 75
    assert list_avatars(avatars) == ["host"]
    assert [p.name for p in avatars.iterdir()] == ["host"]
