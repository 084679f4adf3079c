"""An idle loop from one still portrait: slow breathing and one blink.

The loop is played ping-pong, so it need not wrap; every motion starts and ends at rest (zero
velocity at both ends) so the turn-arounds do not jerk. Pixels that do not move stay
bit-identical to the still.
"""
from __future__ import annotations

import cv2
import numpy as np

from streamer.avatar.face import CHIN_Y

IDLE_FRAMES = 75  # 3 s at 25 fps; ping-pong makes it a 6 s breath
BLINK_START = 28
# Eyelid closure per frame of the blink: closes over 4 frames, opens a little slower.
BLINK = (0.3, 0.65, 0.9, 1.0, 0.95, 0.75, 0.5, 0.25, 0.08)


def idle_loop(image: np.ndarray, face: np.ndarray, eyes: list[tuple[float, float, float]],
              frames: int = IDLE_FRAMES) -> list[np.ndarray]:
    """`frames` BGR frames of `image` breathing (shoulders rise 1-2 px) and blinking once.

    `face` is the face box, `eyes` (centre x, centre y, size) from FaceFinder.eyes. The face
    itself does not move, so face and mouth boxes of the still hold for every frame.
    """
    h, w = image.shape[:2]
    breath = _BreathField(image.shape, face)
    out = []
    for i in range(frames):
        phase = 0.5 - 0.5 * float(np.cos(np.pi * i / max(1, frames - 1)))  # 0 -> 1, at rest at both ends
        frame = breath.apply(image, phase)
        k = i - BLINK_START
        if 0 <= k < len(BLINK) and frames > BLINK_START + len(BLINK):
            for eye in eyes:
                _close_eye(frame, eye, BLINK[k])
        out.append(frame)
    return out


class _BreathField:
    """Shoulders and chest rise by up to AMP px; the neck stretches; head and above stay still."""

    def __init__(self, shape: tuple[int, ...], face: np.ndarray):
        h, w = shape[:2]
        x1, y1, x2, y2 = face
        fw, fh = x2 - x1, y2 - y1
        self.amp = float(np.clip(1.6 * h / 512, 1.0, 3.0))
        chin = y1 + CHIN_Y * fh
        self.top = int(np.clip(chin, 0, h))
        ys = np.arange(self.top, h, dtype=np.float32)
        t = np.clip((ys - chin) / max(1.0, 0.9 * fh), 0, 1)
        ramp = t * t * (3 - 2 * t)
        xs = np.arange(w, dtype=np.float32)
        across = np.exp(-0.5 * ((xs - (x1 + x2) / 2) / (3.0 * fw)) ** 2)
        self.field = (ramp[:, None] * across[None, :]).astype(np.float32)
        self.map_x = np.broadcast_to(xs, self.field.shape).astype(np.float32)
        self.map_y0 = np.broadcast_to(ys[:, None] - self.top, self.field.shape).astype(np.float32)

    def apply(self, image: np.ndarray, phase: float) -> np.ndarray:
        frame = image.copy()
        if phase <= 0 or self.top >= image.shape[0]:
            return frame
        # Backward map: each pixel shows what was slightly below it, so the body moves up.
        map_y = self.map_y0 + np.float32(phase * self.amp) * self.field
        src = image[self.top:]
        frame[self.top:] = cv2.remap(src, self.map_x, map_y, cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
        return frame


_LID_SHADE = np.array([0.12, 0.09, 0.05], np.float32)  # B, G, R: skin in shadow turns warmer


def _close_eye(frame: np.ndarray, eye: tuple[float, float, float], closure: float) -> None:
    """Draw the upper eyelid down over the eye, in place: the skin above the eye is stretched
    down to a lid line that moves from the top of the opening to its bottom as `closure` -> 1."""
    cx, cy, size = eye
    hw, hh = 0.38 * size, 0.14 * size  # half width / height of the eye opening
    lid = 1.4 * hh  # the skin above the opening that becomes the lid (stays below the brow)
    x1, x2 = int(np.floor(cx - hw)), int(np.ceil(cx + hw)) + 1
    y1, y2 = int(np.floor(cy - hh - lid)), int(np.ceil(cy + hh)) + 2
    h, w = frame.shape[:2]
    if closure <= 0 or x1 < 0 or y1 < 0 or x2 > w or y2 > h:
        return
    xs = np.arange(x1, x2, dtype=np.float32)
    ys = np.arange(y1, y2, dtype=np.float32)[:, None]
    u = np.clip((xs - cx) / hw, -1, 1)
    opening = hh * (1 - u * u) ** 0.6  # per column, the half height of the eye opening
    top, bottom = cy - opening, cy + 0.8 * opening  # the lower lid is flatter
    line = top + closure * (bottom - top)  # where the lid edge is now
    base = cy - hh - lid
    stretch = (top - base) / np.maximum(line - base, 1e-3)
    src_y = np.where(ys <= line, base + (ys - base) * stretch, ys)
    map_x = np.broadcast_to(xs - x1, src_y.shape).astype(np.float32)
    region = frame[y1:y2, x1:x2]
    warped = cv2.remap(region.copy(), map_x, (src_y - y1).astype(np.float32), cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    # Soften the lid edge by a pixel and keep the eye corners untouched.
    soft = np.clip(line - ys + 1.0, 0, 1) * (np.abs(u) < 1)
    soft = soft * np.clip(1.0 - (np.abs(u) - 0.9) / 0.1, 0, 1)
    # A closed lid is a little darker than the skin under the brow: shade where it covers the eye.
    cover = (np.clip((ys - top + 1.0) / 2.0, 0, 1) * (ys <= line))[:, :, None]
    a = soft[:, :, None].astype(np.float32)
    warped = warped * (1.0 - cover * _LID_SHADE)
    region[:] = np.clip(warped * a + region * (1 - a) + 0.5, 0, 255).astype(np.uint8)
