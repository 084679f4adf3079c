"""What MuseTalk needs of a prepared avatar, computed once and saved beside it.

For every avatar frame: the crop box the model regenerates (a 256x256 face in the model's
space), the blending mask in that box, and the VAE latents of the reference (masked crop + full
crop). They live in `<avatar>/musetalk/<version>/`:

    crops.npy     (N, 4) int32 crop boxes x1, y1, x2, y2 in frame pixels, inside the frame
    masks.npy     (N, 256, 256) uint8 blending masks in crop space (255 = the model's face)
    latents.npy   (N, 8, 32, 32) float16 reference latents (MuseTalkModel.encode_reference)
    meta.json     version, bbox_shift, extra_margin, mask kind, frame count, how long it took

The boxes follow MuseTalk's rule on 68 face landmarks per frame (streamer.avatar.landmarks, dlib's
predictor in place of the release's DWPose, same point layout): x spans the landmarks, the bottom
is the lowest landmark plus `extra_margin`, and the top is as far above the nose ridge as the
bottom is below it (`bbox_shift` moves the ridge; positive opens the mouth more). The mask, in
the release's "jaw" spirit, is the lower face below half the crop, feathered: from the face-parsing
network's labels when its weights are there (musetalk.parsing: skin, mouth and lips, not the
nose), else the region inside the landmarks' jaw line and below the nose. Without the landmark
model the crop and mask come from the avatar's own face and mouth boxes (streamer.avatar.face),
with the landmarks the rule needs estimated from the boxes. meta.json says which was used.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from streamer.avatar import landmarks
from streamer.avatar.landmarks import Landmarker
from streamer.avatar.model import Avatar, AvatarError

if TYPE_CHECKING:
    from streamer.lipsync.musetalk.model import MuseTalkModel
    from streamer.lipsync.musetalk.parsing import FaceParser

log = logging.getLogger("livehost.musetalk")

FACE = 256  # the model's face size
SKIN, NOSE, MOUTH, UPPER_LIP, LOWER_LIP = 1, 10, 11, 12, 13  # face-parsing labels (musetalk.parsing)
FORMAT = 1
# Defaults of the release: 1.5 extends the crop 10 px below the chin and does not shift it.
DEFAULT_EXTRA_MARGIN = {"v15": 10, "v1": 0}
ENCODE_CHUNK = 16  # avatar frames per encode_reference call, so progress moves and memory stays flat

Progress = Callable[[int, int], None]


@dataclass
class MuseTalkAvatar:
    """One avatar's MuseTalk data; rows belong to the avatar frames of the same index."""

    version: str
    crops: np.ndarray  # (N, 4) int32
    masks: np.ndarray  # (N, 256, 256) uint8
    latents: np.ndarray  # (N, 8, 32, 32) float16

    def __len__(self) -> int:
        return len(self.crops)


def folder_for(avatar: Avatar, version: str) -> Path:
    return Path(avatar.path) / "musetalk" / version


def crop_boxes(faces: np.ndarray, mouths: np.ndarray, size: tuple[int, int], bbox_shift: int = 0,
               extra_margin: int = 10) -> np.ndarray:
    """(N, 4) int32 crop boxes inside a frame of `size` (w, h) from face and mouth boxes."""
    w, h = size
    faces = np.asarray(faces, np.float64)
    mouths = np.asarray(mouths, np.float64)
    fh = faces[:, 3] - faces[:, 1]
    mouth_y = (mouths[:, 1] + mouths[:, 3]) / 2
    # A frontal face box ends about at the chin; the chin is never above the mouth + a quarter face.
    chin = np.maximum(faces[:, 3], mouth_y + 0.25 * fh)
    nose = mouth_y - 0.2 * fh
    y2 = chin + extra_margin
    y1 = nose + bbox_shift - (chin - nose)
    x1, x2 = faces[:, 0], faces[:, 2]
    return _inside(np.stack([x1, y1, x2, y2], axis=1), w, h)


def landmark_crop_boxes(points: np.ndarray, faces: np.ndarray, size: tuple[int, int], bbox_shift: int = 0,
                        extra_margin: int = 10) -> np.ndarray:
    """(N, 4) int32 crop boxes from (N, 68, 2) landmarks, by the release's rule: x from the
    landmarks' extent, the bottom at the lowest landmark (+ extra_margin), the top as far above
    the nose ridge (point 29, moved down by bbox_shift) as the bottom is below it. A frame whose
    box would start above the frame takes its face box (`faces`) instead, as the release does."""
    w, h = size
    points = np.asarray(points, np.float64)
    x1, x2 = points[..., 0].min(axis=1), points[..., 0].max(axis=1)
    bottom = points[..., 1].max(axis=1)
    ridge = points[:, landmarks.NOSE_RIDGE, 1] + bbox_shift
    y1 = ridge - (bottom - ridge)
    boxes = np.stack([x1, y1, x2, bottom], axis=1)
    bad = (boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])
    boxes[bad] = np.asarray(faces, np.float64)[bad]
    boxes[:, 3] += extra_margin
    return _inside(boxes, w, h)


def _inside(boxes: np.ndarray, w: int, h: int) -> np.ndarray:
    boxes = boxes.round()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    small = (boxes[:, 2] - boxes[:, 0] < 16) | (boxes[:, 3] - boxes[:, 1] < 16)
    if small.any():
        raise AvatarError(f"the face in frame {int(np.argmax(small))} is too small or off the frame for MuseTalk")
    return boxes.astype(np.int32)


def landmark_jaw_mask(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A 256x256 uint8 feathered mask in crop space: the lower face inside the jaw line, up to
    the nose's lower edge, kept below half the crop's height (the part the model regenerates),
    pulled in from the jaw line a little so that no background is blended."""
    x1, y1, x2, y2 = (float(v) for v in crop)
    scale = np.array([FACE / max(1.0, x2 - x1), FACE / max(1.0, y2 - y1)])
    p = (np.asarray(points, np.float64) - (x1, y1)) * scale
    outline = np.concatenate([p[landmarks.JAW], p[list(landmarks.NOSTRILS)]])
    mask = np.zeros((FACE, FACE), np.float32)
    cv2.fillPoly(mask, [np.round(outline * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    feather = FACE * 0.04
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    mask[: FACE // 2] = 0.0
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return _fade_border(mask, feather)


def _fade_border(mask: np.ndarray, feather: float) -> np.ndarray:
    """Fade `mask` to nothing at the crop's border, so the paste never shows the box; as uint8."""
    ramp = np.clip(np.minimum(np.arange(FACE), np.arange(FACE)[::-1]) / (2 * feather), 0, 1).astype(np.float32)
    mask = mask * ramp[:, None] * ramp[None, :]
    return (mask * 255).round().astype(np.uint8)


def blend_box(crop: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The square the parser looks at: 1.5x the crop's longer side around its centre (the
    release's blend box), clipped to the frame of `size` (w, h). int32 x1, y1, x2, y2."""
    x1, y1, x2, y2 = (float(v) for v in crop)
    half = int(max(x2 - x1, y2 - y1) // 2 * 1.5)
    cx, cy = int((x1 + x2) // 2), int((y1 + y2) // 2)
    w, h = size
    return np.array([max(0, cx - half), max(0, cy - half), min(w, cx + half), min(h, cy + half)], np.int32)


def parsing_mask(labels: np.ndarray, crop: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A 256x256 uint8 feathered mask in `crop` space from a face-parsing label map of the frame
    region `box` (musetalk.parsing): the release's "jaw" idea, i.e. skin, mouth and lips, minus
    the nose and a margin around it, pulled in from the face's outline, below half the crop only."""
    bx1, by1, bx2, by2 = (int(v) for v in box)
    region = cv2.resize(labels, (bx2 - bx1, by2 - by1), interpolation=cv2.INTER_NEAREST)
    x1, y1, x2, y2 = (int(v) for v in crop)
    inside = region[y1 - by1:y2 - by1, x1 - bx1:x2 - bx1]
    inside = cv2.resize(inside, (FACE, FACE), interpolation=cv2.INTER_NEAREST)
    face = np.isin(inside, (SKIN, MOUTH, UPPER_LIP, LOWER_LIP)).astype(np.uint8)
    nose = cv2.dilate((inside == NOSE).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (25, 25)))
    lips = np.isin(inside, (MOUTH, UPPER_LIP, LOWER_LIP)).astype(np.uint8)
    face = cv2.erode(face, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11)))  # off the outline
    mask = ((face & (1 - nose)) | lips).astype(np.float32)
    mask[: FACE // 2] = 0.0
    feather = FACE * 0.04
    return _fade_border(cv2.GaussianBlur(mask, (0, 0), feather), feather)


def jaw_mask(crop: np.ndarray, mouth: np.ndarray) -> np.ndarray:
    """A 256x256 uint8 feathered mask of the lower face in crop space: an ellipse around the
    mouth reaching the jaw, kept below half the crop's height, soft at every edge."""
    x1, y1, x2, y2 = (float(v) for v in crop)
    sx, sy = FACE / max(1.0, x2 - x1), FACE / max(1.0, y2 - y1)
    mx = ((mouth[0] + mouth[2]) / 2 - x1) * sx
    my = ((mouth[1] + mouth[3]) / 2 - y1) * sy
    mask = np.zeros((FACE, FACE), np.float32)
    axes = (int(FACE * 0.4), int(max(FACE - my, FACE * 0.2) * 0.95))
    cv2.ellipse(mask, (int(round(mx)), int(round(my))), axes, 0, 0, 360, 1.0, -1, cv2.LINE_AA)
    mask[: FACE // 2] = 0.0  # the upper face (eyes, nose) always stays the avatar's own
    feather = FACE * 0.05
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    return _fade_border(mask, feather)


def face_crops(avatar: Avatar, crops: np.ndarray, indices: range) -> np.ndarray:
    """(n, 256, 256, 3) uint8 BGR crops of the avatar frames `indices`."""
    out = np.empty((len(indices), FACE, FACE, 3), np.uint8)
    for k, i in enumerate(indices):
        x1, y1, x2, y2 = (int(v) for v in crops[i])
        out[k] = cv2.resize(avatar.frames[i][y1:y2, x1:x2], (FACE, FACE), interpolation=cv2.INTER_AREA)
    return out


def prepare(avatar: Avatar, model: MuseTalkModel, bbox_shift: int = 0, extra_margin: int | None = None,
            progress: Progress | None = None, landmarker: Landmarker | None = None,
            parser: FaceParser | None = None) -> MuseTalkAvatar:
    """Compute and save `avatar`'s MuseTalk data for `model`'s version; returns it.

    With a `landmarker` the crop boxes follow 68 landmarks per frame (the release's rule); without
    one they come from the avatar's face and mouth boxes. The mask comes from face parsing with a
    `parser`, else from the landmarks' jaw line, else from the mouth box. Raises AvatarError
    (NoFaceError naming the frame) when the landmarker finds no face.
    """
    t0 = time.perf_counter()
    version = model.version
    margin = DEFAULT_EXTRA_MARGIN[version] if extra_margin is None else extra_margin
    n = len(avatar)
    # Progress in frame-steps: landmarks count 2 per frame (find + fit), parsing and latents 1 each.
    steps = n * (1 + (2 if landmarker else 0) + (1 if parser else 0))
    done = 0

    def advance(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, steps)

    if landmarker is not None:
        faces, points = landmarker.track(avatar.frames, f"avatar {avatar.id}",
                                         progress=(lambda k, _: progress(k, steps)) if progress else None)
        done = 2 * n
        crops = landmark_crop_boxes(points, faces, avatar.size, bbox_shift, margin)
        masks = np.stack([landmark_jaw_mask(crops[i], points[i]) for i in range(n)])
        how = {"landmarks": "dlib-68", "mask": "jaw-landmarks"}
    else:
        crops = crop_boxes(avatar.faces, avatar.mouths, avatar.size, bbox_shift, margin)
        masks = np.stack([jaw_mask(crops[i], avatar.mouths[i]) for i in range(n)])
        how = {"landmarks": None, "mask": "jaw-boxes"}
    if parser is not None:
        for start in range(0, n, ENCODE_CHUNK):
            part = range(start, min(n, start + ENCODE_CHUNK))
            boxes = [blend_box(crops[i], avatar.size) for i in part]
            labels = parser.labels([avatar.frames[i][b[1]:b[3], b[0]:b[2]] for i, b in zip(part, boxes)])
            for k, i in enumerate(part):
                masks[i] = parsing_mask(labels[k], crops[i], boxes[k])
            advance(len(part))
        how["mask"] = "parsing"
    latents = np.empty((n, 8, 32, 32), np.float16)
    for start in range(0, n, ENCODE_CHUNK):
        part = range(start, min(n, start + ENCODE_CHUNK))
        latents[part.start:part.stop] = model.encode_reference(face_crops(avatar, crops, part))
        advance(len(part))
    data = MuseTalkAvatar(version, crops, masks, latents)
    took = time.perf_counter() - t0
    save(avatar, data, {"bbox_shift": bbox_shift, "extra_margin": margin, **how, "seconds": round(took, 2)})
    log.info("avatar %s prepared for MuseTalk %s (crop from %s, %s mask): %d frames in %.1f s", avatar.id, version,
             "68 landmarks" if landmarker else "face boxes", how["mask"], n, took)
    return data


def save(avatar: Avatar, data: MuseTalkAvatar, meta: dict) -> Path:
    """Write `data` atomically (a temporary folder renamed into place)."""
    final = folder_for(avatar, data.version)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{data.version}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        np.save(tmp / "crops.npy", data.crops)
        np.save(tmp / "masks.npy", data.masks)
        np.save(tmp / "latents.npy", data.latents)
        info = {"format": FORMAT, "version": data.version, "frames": len(data), **meta}
        (tmp / "meta.json").write_text(json.dumps(info, indent=2))
        old = final.parent / f".old-{data.version}-{uuid.uuid4().hex[:8]}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def load(avatar: Avatar, version: str) -> MuseTalkAvatar | None:
    """The saved data for `version`, or None when it is missing or no longer matches the avatar."""
    folder = folder_for(avatar, version)
    try:
        meta = json.loads((folder / "meta.json").read_text())
        crops = np.load(folder / "crops.npy")
        masks = np.load(folder / "masks.npy")
        latents = np.load(folder / "latents.npy")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("MuseTalk data of avatar %s is unreadable (%s); preparing it again", avatar.id, e)
        return None
    n = len(avatar)
    if (meta.get("format") != FORMAT or crops.shape != (n, 4) or masks.shape != (n, FACE, FACE)
            or latents.shape != (n, 8, 32, 32)):
        log.warning("MuseTalk data of avatar %s does not match its %d frames; preparing it again", avatar.id, n)
        return None
    return MuseTalkAvatar(version, crops, masks, latents)


def ensure(avatar: Avatar, model: MuseTalkModel, landmarker: Landmarker | None = None,
           parser: FaceParser | None = None) -> MuseTalkAvatar:
    """The avatar's saved data for `model`, prepared now (and saved) if it is missing."""
    data = load(avatar, model.version)
    if data is None:
        log.info("avatar %s has no MuseTalk %s data yet; preparing it now", avatar.id, model.version)
        data = prepare(avatar, model, landmarker=landmarker, parser=parser)
    return data
