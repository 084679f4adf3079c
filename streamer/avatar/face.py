"""Face, mouth and eye boxes from OpenCV's Haar cascades, per frame and smoothed over time.

Boxes are float (x1, y1, x2, y2) in frame pixels until they are written. Proportions used below
are those of OpenCV's frontal-face boxes: the box runs from the forehead to just below the
mouth; eyes sit near 0.37 of its height, the line between the lips near 0.84, the chin near 1.1.
"""
from __future__ import annotations

import cv2
import numpy as np

from streamer.avatar.model import NoFaceError

MAX_GAP = 3  # frames without a face that are filled by interpolation
DETECT_SIDE = 480  # long side of the grey copy the detector runs on

LIP_Y = 0.84  # expected lip line, fraction of face height below the box top
CHIN_Y = 1.10


def _cascade(name: str) -> cv2.CascadeClassifier:
    c = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if c.empty():
        raise RuntimeError(f"OpenCV cascade {name} is missing")
    return c


class FaceFinder:
    """Finds the main face of each frame of one source, in order. Not thread-safe."""

    def __init__(self):
        self._face = _cascade("haarcascade_frontalface_default.xml")
        self._alt = _cascade("haarcascade_frontalface_alt2.xml")
        self._eye = _cascade("haarcascade_eye.xml")
        self._prev: np.ndarray | None = None

    def find(self, frame: np.ndarray) -> np.ndarray | None:
        """The largest face in `frame` (preferring one where the last face was), or None."""
        h, w = frame.shape[:2]
        scale = min(1.0, DETECT_SIDE / max(h, w))
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if scale < 1.0:
            grey = cv2.resize(grey, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(grey)
        box = None
        if self._prev is not None:
            box = self._near_previous(grey, self._prev * scale)
        if box is None:
            box = self._detect(grey, None)
        if box is None:
            return None
        self._prev = box / scale
        return self._prev.copy()

    def _near_previous(self, grey: np.ndarray, prev: np.ndarray) -> np.ndarray | None:
        # Search only around the last face, at about its size: several times faster than a full scan.
        side = prev[2] - prev[0]
        gh, gw = grey.shape
        x1, y1 = int(max(0, prev[0] - 0.6 * side)), int(max(0, prev[1] - 0.6 * side))
        x2, y2 = int(min(gw, prev[2] + 0.6 * side)), int(min(gh, prev[3] + 0.6 * side))
        roi = grey[y1:y2, x1:x2]
        if roi.shape[0] < 24 or roi.shape[1] < 24:
            return None
        box = self._detect(roi, (int(side * 0.7), int(side * 1.4)))
        return None if box is None else box + np.array([x1, y1, x1, y1], np.float64)

    def _detect(self, grey: np.ndarray, sizes: tuple[int, int] | None) -> np.ndarray | None:
        if sizes is None:
            lo = max(24, int(0.07 * min(grey.shape)))
            sizes = (lo, max(grey.shape))
        lo, hi = max(20, sizes[0]), max(21, sizes[1])
        for cascade in (self._face, self._alt):
            found, _, weights = cascade.detectMultiScale3(
                grey, scaleFactor=1.1, minNeighbors=5, minSize=(lo, lo), maxSize=(hi, hi),
                outputRejectLevels=True)
            if len(found):
                # The largest of the confident ones: a big, weak hit is a pattern, not a face.
                weights = np.asarray(weights, np.float64).ravel()
                sure = [r for r, wt in zip(found, weights) if wt >= 0.7 * weights.max()]
                x, y, bw, bh = max(sure, key=lambda r: r[2] * r[3])
                return np.array([x, y, x + bw, y + bh], np.float64)
        return None

    def eyes(self, frame: np.ndarray, face: np.ndarray) -> list[tuple[float, float, float]]:
        """Two eyes (centre x, centre y, size) inside `face`: Haar eye cascade, else face geometry."""
        x1, y1, x2, y2 = face
        fw, fh = x2 - x1, y2 - y1
        guesses = [(x1 + 0.31 * fw, y1 + 0.38 * fh), (x1 + 0.69 * fw, y1 + 0.38 * fh)]
        ry1, ry2 = int(max(0, y1 + 0.15 * fh)), int(y1 + 0.62 * fh)
        rx1, rx2 = int(max(0, x1)), int(x2)
        grey = cv2.cvtColor(frame[ry1:ry2, rx1:rx2], cv2.COLOR_BGR2GRAY)
        lo, hi = max(8, int(0.15 * fw)), max(9, int(0.45 * fw))
        found = self._eye.detectMultiScale(grey, 1.05, 3, minSize=(lo, lo), maxSize=(hi, hi))
        out = []
        for gx, gy in guesses:
            best, best_d = None, 0.16 * fw
            for ex, ey, ew, eh in found:
                cx, cy = rx1 + ex + ew / 2, ry1 + ey + eh / 2
                d = np.hypot(cx - gx, cy - gy)
                if d < best_d:
                    best, best_d = (cx, cy, float(ew)), d
            out.append(best or (gx, gy, 0.26 * fw))
        return [_refine_eye(frame, e) for e in out]


def _refine_eye(frame: np.ndarray, eye: tuple[float, float, float]) -> tuple[float, float, float]:
    # The darkest rows of the eye box (iris, pupil, lashes) give the centre of the opening.
    cx, cy, s = eye
    x1, x2 = int(cx - 0.25 * s), int(cx + 0.25 * s) + 1
    y1, y2 = int(cy - 0.3 * s), int(cy + 0.3 * s) + 1
    patch = frame[max(0, y1):y2, max(0, x1):x2]
    if patch.shape[0] < 5 or patch.shape[1] < 3:
        return eye
    rows = cv2.cvtColor(patch, cv2.COLOR_BGR2GRAY).astype(np.float32).mean(axis=1)
    rows = np.convolve(rows, np.ones(3) / 3, mode="same")
    k = int(np.argmin(rows[1:-1])) + 1
    if rows.max() - rows[k] < 12:
        return eye
    return cx, max(0, y1) + k + 0.5, s


def find_mouth(frame: np.ndarray, face: np.ndarray) -> tuple[float, float, float]:
    """Mouth (centre x, lip-line y, half width), relative to `face`: (x-x1)/fw, (y-y1)/fh, hw/fw.

    Starts from face geometry and moves to the dark line between the lips in the lower face.
    """
    x1, y1, x2, y2 = face
    fw, fh = x2 - x1, y2 - y1
    rel = [0.5, LIP_Y, 0.21]
    h, w = frame.shape[:2]
    # Rows: from below the nose to the chin; columns: the middle of the mouth.
    ya, yb = y1 + 0.68 * fh, y1 + 1.0 * fh
    xa, xb = x1 + 0.36 * fw, x1 + 0.64 * fw
    if ya < 0 or xa < 0 or yb > h or xb > w:
        return tuple(rel)
    band = cv2.resize(frame[int(ya):int(yb), int(xa):int(xb)], (24, 32), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY).astype(np.float32)
    rows = np.convolve(grey.mean(axis=1), [0.25, 0.5, 0.25], mode="same")[1:-1]
    sat = cv2.cvtColor(band, cv2.COLOR_BGR2HSV)[:, :, 1].astype(np.float32).mean(axis=1)[1:-1]
    ys = ya + (np.arange(1, 31) + 0.5) / 32 * (yb - ya)
    prior = np.exp(-0.5 * ((ys - (y1 + LIP_Y * fh)) / (0.07 * fh)) ** 2)
    darkness = (rows.max() - rows) * prior
    k = int(np.argmax(darkness))
    if darkness[k] < 10:  # no clear lip line: keep the geometric guess
        return tuple(rel)
    parting = _below_teeth(rows, sat, k, span=max(2, round(0.1 * fh / (yb - ya) * 32)))
    rel[1] = (ys[parting] - y1) / fh
    width = _mouth_width(frame, face, ys[k])
    if width is not None:
        rel[0], rel[2] = width
    return tuple(rel)


def _mouth_width(frame: np.ndarray, face: np.ndarray, line_y: float) -> tuple[float, float] | None:
    """(centre x, half width) relative to `face`, from the dark line between the lips at `line_y`
    that runs from corner to corner; None when it cannot be seen clearly."""
    x1, y1, x2, y2 = face
    fw, fh = x2 - x1, y2 - y1
    h, w = frame.shape[:2]
    ra, rb = int(line_y - 0.03 * fh), int(line_y + 0.03 * fh) + 1
    ca, cb = int(x1 + 0.2 * fw), int(x1 + 0.8 * fw)
    sa, sb = int(line_y - 0.12 * fh), int(line_y - 0.06 * fh)  # skin of the upper lip
    if sa < 0 or rb > h or ca < 0 or cb > w:
        return None
    grey = cv2.cvtColor(frame[sa:rb, ca:cb], cv2.COLOR_BGR2GRAY).astype(np.float32)
    line = np.convolve(grey[ra - sa:].min(axis=0), np.ones(5) / 5, mode="same")
    n = len(line)
    skin = float(np.median(grey[:sb - sa, int(0.25 * n):int(0.75 * n)]))
    centre = float(line[int(0.4 * n):int(0.6 * n)].min())
    if skin - centre < 15:
        return None
    dark = line < skin - 0.4 * (skin - centre)
    mid = int(round((x1 + x2) / 2)) - ca  # the face's centre column
    reach = int(0.1 * fw)
    left, right = mid - _run_end(dark, mid, -1, reach), _run_end(dark, mid, 1, reach) - mid
    # One side often fades into shadow: trust the longer side when they disagree a lot.
    half = max(left, right) if min(left, right) < 0.5 * max(left, right) else (left + right) / 2
    shift = float(np.clip((right - left) / 2 / fw, -0.03, 0.03)) if half == (left + right) / 2 else 0.0
    return 0.5 + shift, float(np.clip(half * 1.05 / fw, 0.15, 0.26))


def _below_teeth(rows: np.ndarray, sat: np.ndarray, k: int, span: int) -> int:
    """In a smile the darkest line is under the upper lip, above the teeth. If a thin band right
    below it is the brightest of the lower face and whiter than the skin (teeth, so colour images
    only), the lips part
    at the next dark line below: return that row instead of `k`."""
    skin, skin_sat = float(np.median(rows)), float(np.median(sat))
    below = rows[k + 1:k + 1 + span]
    if len(below) < 2:
        return k
    peak = k + 1 + int(np.argmax(below))
    if rows[peak] < max(skin + 20, rows.max() - 2):
        return k
    if skin_sat < 25 or sat[peak] > 0.8 * skin_sat:  # teeth are less saturated than skin
        return k
    after = rows[peak + 1:peak + 1 + span]
    if len(after) < 2:
        return k
    m = peak + 1 + int(np.argmin(after))
    # a real dark line: clearly below the teeth and not just the edge of the search window
    if rows[peak] - rows[m] < 0.3 * (rows[peak] - rows[k]) or m == peak + len(after):
        return k
    return m


def _run_end(dark: np.ndarray, start: int, step: int, reach: int) -> int:
    """Last index of the dark run from `start` going `step`, at least `reach` long, gaps <= 2."""
    i, gap, end = start, 0, start
    while 0 <= i + step < len(dark):
        i += step
        if dark[i] or abs(i - start) <= reach:
            gap, end = 0, i
        else:
            gap += 1
            if gap > 2:
                break
    return end


def mouth_box(face: np.ndarray, rel: tuple[float, float, float]) -> np.ndarray:
    """Mouth box (x1, y1, x2, y2) around the lips, centred on the lip line, 2:1 wide."""
    x1, y1, x2, y2 = face
    fw, fh = x2 - x1, y2 - y1
    cx, cy, hw = x1 + rel[0] * fw, y1 + rel[1] * fh, rel[2] * fw
    return np.array([cx - hw, cy - hw / 2, cx + hw, cy + hw / 2])


def fill_gaps(boxes: list[np.ndarray | None], source: str) -> np.ndarray:
    """(N, 4) boxes with runs of up to MAX_GAP missing ones interpolated.

    Raises NoFaceError naming the first frame that cannot be filled: the (MAX_GAP + 1)-th in a
    row without a face, or frame 0 when no frame has one.
    """
    n = len(boxes)
    missing = 0
    for i, b in enumerate(boxes):
        missing = missing + 1 if b is None else 0
        if missing > MAX_GAP:
            raise NoFaceError(source, i)
    known = [i for i, b in enumerate(boxes) if b is not None]
    if not known:
        raise NoFaceError(source, 0)
    idx = np.arange(n)
    arr = np.stack([boxes[i] for i in known]).astype(np.float64)
    return np.stack([np.interp(idx, known, arr[:, c]) for c in range(arr.shape[1])], axis=1)


def smooth(values: np.ndarray, sigma: float, median: int = 5) -> np.ndarray:
    """Median (over `median` frames) then Gaussian smoothing along axis 0 (frames), edges held.
    The median removes outliers, the Gaussian the jitter."""
    values = np.asarray(values, np.float64)
    n = len(values)
    if n < 3:
        return values.copy()
    m = median // 2
    pad = np.pad(values, ((m, m), (0, 0)), mode="edge")
    med = np.median(np.stack([pad[i:i + n] for i in range(2 * m + 1)]), axis=0)
    r = max(1, int(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.pad(med, ((r, r), (0, 0)), mode="edge")
    return np.stack([np.convolve(pad[:, c], k, mode="valid") for c in range(values.shape[1])], axis=1)


def smooth_boxes(boxes: np.ndarray) -> np.ndarray:
    """Face boxes with position smoothed lightly and size strongly (size jitter is pure noise)."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], axis=1)
    centre = smooth(np.stack([cx, cy], axis=1), 1.5)
    size = smooth(size, 4.0)
    return np.concatenate([centre - size / 2, centre + size / 2], axis=1)
