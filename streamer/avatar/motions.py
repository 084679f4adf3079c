"""Action clips made from one still portrait, for an avatar without recorded ones: nod, greet, sway.

Every motion starts on the still with zero speed and comes back to it the same way (a looped clip
comes back to it at its wrap), so going from the idle loop to a clip and back shows no jump.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from streamer.avatar.face import CHIN_Y

NOD_FRAMES = 38  # 1.5 s at 25 fps
GREET_FRAMES = 50  # 2 s
SWAY_FRAMES = 75  # 3 s, one full side-to-side period


def _ease(frames: int) -> np.ndarray:
    """0 -> 1 -> 0 over `frames`, at rest at both ends (sin^2)."""
    return np.sin(np.pi * np.arange(frames) / max(1, frames - 1)) ** 2


def nod(image: np.ndarray, face: np.ndarray, frames: int = NOD_FRAMES) -> list[np.ndarray]:
    """The head dips by about a tenth of the face height and comes back; the shoulders stay."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in face)
    fw, fh = x2 - x1, y2 - y1
    amp = 0.1 * fh
    ys = np.arange(h, dtype=np.float32)
    chin = y1 + CHIN_Y * fh
    # Down the picture: the background above the head stretches, the top of the head dips a
    # little less than the face (the forehead shows more, as in a nod), the neck takes up the
    # motion down to the shoulders, which stay.
    t_top = np.clip((ys - (y1 - 0.9 * fh)) / (1.1 * fh), 0, 1)
    t_neck = np.clip((ys - chin) / (0.7 * fh), 0, 1)
    down = t_top * t_top * (3 - 2 * t_top) * (1 - t_neck * t_neck * (3 - 2 * t_neck))
    xs = np.arange(w, dtype=np.float32)
    across = np.exp(-0.5 * ((xs - (x1 + x2) / 2) / (1.1 * fw)) ** 2)
    field = (down[:, None] * across[None, :]).astype(np.float32)
    map_x = np.broadcast_to(xs, (h, w)).astype(np.float32)
    map_y = np.broadcast_to(ys[:, None], (h, w)).astype(np.float32)
    out = []
    for e in _ease(frames):
        if e < 1e-6:
            out.append(image.copy())
            continue
        # Backward map: each pixel shows what was slightly above it, so the head moves down.
        out.append(cv2.remap(image, map_x, map_y - np.float32(e * amp) * field, cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE))
    return out


def greet(image: np.ndarray, face: np.ndarray, frames: int = GREET_FRAMES) -> list[np.ndarray]:
    """A slow lean in: the picture zooms in by 12% towards the face and back."""
    h, w = image.shape[:2]
    cx, cy = (face[0] + face[2]) / 2.0, (face[1] + face[3]) / 2.0
    out = []
    for e in _ease(frames):
        s = 1.0 + 0.12 * e
        m = np.float32([[s, 0, (1 - s) * cx], [0, s, (1 - s) * cy]])
        out.append(image.copy() if e < 1e-6 else
                   cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    return out


def sway(image: np.ndarray, face: np.ndarray, frames: int = SWAY_FRAMES) -> list[np.ndarray]:
    """One gentle side-to-side period, turning about the hips (below the picture); loops seamlessly:
    the frame after the last would be the still again."""
    h, w = image.shape[:2]
    cx, cy = (face[0] + face[2]) / 2.0, (face[1] + face[3]) / 2.0
    pivot = (float(cx), 1.6 * h)
    reach = 0.09 * (face[2] - face[0])  # how far the face swings to each side, in pixels
    degrees = np.degrees(reach / max(1.0, pivot[1] - cy))
    out = []
    for i in range(frames):
        a = degrees * np.sin(2 * np.pi * i / frames)
        m = cv2.getRotationMatrix2D(pivot, float(a), 1.0)
        out.append(image.copy() if i == 0 else
                   cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101))
    return out


# name -> (make frames from the still and its face box, loop by default)
STILL_CLIPS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], list[np.ndarray]], bool]] = {
    "nod": (nod, False),
    "greet": (greet, False),
    "sway": (sway, True),
}
