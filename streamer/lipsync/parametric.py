"""Parametric lipsync: CPU only, no weights. Moves the avatar's lower face from the audio.

Each tick's 40 ms of audio gives a mouth openness (loudness, gated, fast to open and slower to
close) and a width (spread for bright vowels, rounded for dark ones). The mouth region of the
avatar frame is warped with an analytic displacement field: the lower lip and jaw drop, the upper
lip lifts a little, the corners move in or out; the gap between the lips is darkened.
"""
from __future__ import annotations

import logging
from collections import OrderedDict

import cv2
import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import FrameKind, Tick
from streamer.lipsync.base import LipFrame, LipPatch, LipsyncEngine, LipStream

log = logging.getLogger("livehost.lipsync")

GATE_DB = -50.0  # below this RMS level (dBFS) a tick is silence
RANGE_DB = 30.0  # the voice's loudest ticks open fully; this far below them stays closed
ATTACK, RELEASE = 0.7, 0.35  # per-tick smoothing toward the target openness
REST = 0.04  # openness below which the mouth is at rest and no patch is made

MAX_OPEN = 0.1  # lower-lip drop at full openness, in face heights
UPPER_LIFT = 0.18  # the upper lip lifts this fraction of the lower lip's drop
CORNER_SHIFT = 0.2  # corner movement at |width| = 1, in mouth half-widths (scaled by a falloff)
# The mouth interior, from the lips' own colour: dark under the upper lip, the tongue's dark red
# toward the lower lip (BGR factors).
_INNER_TOP = np.array([0.14, 0.13, 0.16], np.float32)
_INNER_BOTTOM = np.array([0.32, 0.32, 0.52], np.float32)


class ParametricEngine(LipsyncEngine):
    """The embedded default engine; stateless, shared by every session."""

    name = "parametric"

    def open(self, avatar: Avatar, realtime: bool = True) -> LipStream:
        log.debug("parametric lipsync opened for avatar %s (%d frames)", avatar.id, len(avatar))
        return ParametricStream(avatar)


class MouthShape:
    """Turns 40 ms audio windows into a smoothed mouth shape (openness 0..1, width -1..1)."""

    def __init__(self):
        self.openness = 0.0
        self.width = 0.0
        self._ref_db = -22.0  # running loudness of the voice, so quiet TTS still moves the mouth
        self._target = 0.0

    def reset(self) -> None:
        self.__init__()

    @property
    def at_rest(self) -> bool:
        return self._target == 0.0 and self.openness < REST

    def update(self, samples: np.ndarray | None) -> None:
        """Advance one tick; `samples` None means silence."""
        target, width = 0.0, self.width * 0.8
        if samples is not None and len(samples):
            x = np.asarray(samples, np.float32)
            db = 10.0 * np.log10(float(np.dot(x, x)) / len(x) + 1e-12)
            if db > GATE_DB:
                self._ref_db = max(db, self._ref_db - 0.03)
                level = np.clip((db - (self._ref_db - RANGE_DB)) / RANGE_DB, 0.0, 1.0)
                bright, hiss = _spectrum(x)
                target = float(0.85 * level ** 1.5 * (1.0 - 0.55 * hiss))
                width = bright
        self._target = target
        rate = ATTACK if target > self.openness else RELEASE
        self.openness += rate * (target - self.openness)
        self.width += 0.4 * (width - self.width)


def _spectrum(x: np.ndarray) -> tuple[float, float]:
    """(brightness -1..1: second formant region against the first, hiss 0..1: fricative energy)."""
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n).astype(np.float32))) ** 2
    hz = 16000.0 / n  # bin width: 25 Hz for 640 samples

    def band(lo: float, hi: float) -> float:
        return float(spec[int(lo / hz):int(hi / hz)].sum()) + 1e-12

    low, f2, high = band(200, 1000), band(1500, 3200), band(4000, 7500)
    bright = float(np.clip((10 * np.log10(f2 / low) + 14.0) / 10.0, -1.0, 1.0))
    frac = high / (low + band(1000, 4000) + high)
    hiss = float(np.clip((frac - 0.3) / 0.4, 0.0, 1.0))
    return bright, hiss


class _Rig:
    """Displacement fields for one mouth size, in a region around the lip line (origin at cx, cy).

    `a` is the mouth half-width and `fh` the face height, both px; `curve` is how far the lip
    line drops at the corners (negative: a smile).
    """

    def __init__(self, a: float, fh: float, curve: float):
        self.x0, self.x1 = -int(round(2.1 * a)), int(round(2.1 * a)) + 1
        self.y0, self.y1 = -int(round(0.2 * fh)), int(round(0.58 * fh)) + 1
        self.a, self.curve = a, curve
        xs = np.arange(self.x0, self.x1, dtype=np.float32)
        ys = np.arange(self.y0, self.y1, dtype=np.float32)[:, None]
        self.u = xs / a
        self.dmax = MAX_OPEN * fh
        self.q_u = _opening(self.u)
        t = ys - curve * np.minimum(self.u * self.u, 1.0)  # height above/below the lip line
        s1 = _smoothstep(0.0, 0.12 * fh, t)  # across the lower lip into the jaw
        s2 = 1.0 - _smoothstep(0.28 * fh, 0.5 * fh, t)  # below the chin the neck stays
        up = 1.0 - _smoothstep(0.0, 0.1 * fh, -t)
        jaw = np.maximum(0.0, 1.0 - (self.u / 2.0) ** 2) ** 2
        below = (t > 0) * s2 * (self.q_u * (1 - s1) + jaw * s1)
        self.field = (below - (t <= 0) * UPPER_LIFT * self.q_u * up).astype(np.float32)
        near_lips = np.exp(-0.5 * (t / (0.09 * fh)) ** 2)
        self.hfield = (CORNER_SHIFT * a * self.u * np.maximum(0, 1 - (self.u / 2.0) ** 2) ** 2
                       * near_lips).astype(np.float32)
        self.t = t.astype(np.float32)
        self.sharp = 1.0 / max(1.0, 0.012 * fh)  # the gap's edges soften on big faces
        self.gx = np.broadcast_to(xs - self.x0, self.field.shape).astype(np.float32)
        self.gy = np.broadcast_to(ys - self.y0, self.field.shape).astype(np.float32)
        edge_x = np.minimum(_smoothstep(2.1, 1.7, np.abs(self.u)), 1.0)
        edge_y = _smoothstep(-0.2 * fh, -0.12 * fh, ys) * _smoothstep(0.58 * fh, 0.5 * fh, ys)
        self.alpha = (edge_y * edge_x).astype(np.float32)
        self.alpha.setflags(write=False)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _opening(u: np.ndarray) -> np.ndarray:
    """Opening profile along the mouth: 1 in the middle, 0 at and beyond the corners."""
    return np.maximum(0.0, 1.0 - u * u) ** 0.8


class ParametricStream(LipStream):
    """One live's parametric lipsync for one avatar: a patch per speech tick, no look-ahead."""

    def __init__(self, avatar: Avatar):
        self.avatar = avatar
        self.mouth = MouthShape()
        self._rigs: OrderedDict[tuple, _Rig] = OrderedDict()
        self._looks: dict[tuple, _Look] = {}

    def push(self, tick: Tick) -> list[LipFrame]:
        if tick.kind is FrameKind.ACTION:  # an action clip plays its own frames
            self.mouth.reset()
            return [LipFrame(tick, None)]
        self.mouth.update(tick.audio if tick.kind is FrameKind.SPEECH else None)
        if self.mouth.at_rest:
            return [LipFrame(tick, None)]
        return [LipFrame(tick, self.render(tick.avatar_index, self.mouth.openness, self.mouth.width))]

    def reset(self) -> list[LipFrame]:
        self.mouth.reset()
        return []

    def render(self, index: int, openness: float, width: float) -> LipPatch | None:
        """The mouth region of avatar frame `index` with the mouth `openness` open (0..1)."""
        frame = self.avatar.frames[index]
        mx1, my1, mx2, my2 = (int(v) for v in self.avatar.mouths[index])
        fh = float(self.avatar.faces[index][3] - self.avatar.faces[index][1])
        cx, cy, a = (mx1 + mx2) // 2, (my1 + my2) // 2, max(4.0, (mx2 - mx1) / 2)
        look = self._looks.get((mx1, my1, mx2, my2))
        if look is None:
            look = self._looks[(mx1, my1, mx2, my2)] = _Look(frame, (mx1, my1, mx2, my2), fh)
        rig = self._rig(a, fh, look.curve)
        h, w = frame.shape[:2]
        x1, y1 = max(0, cx + rig.x0), max(0, cy + rig.y0)
        x2, y2 = min(w, cx + rig.x1), min(h, cy + rig.y1)
        if x2 - x1 < 4 or y2 - y1 < 4:
            return None
        sy = slice(y1 - (cy + rig.y0), y2 - (cy + rig.y0))
        sx = slice(x1 - (cx + rig.x0), x2 - (cx + rig.x0))
        d = float(openness) * rig.dmax
        # Backward maps: each output pixel samples the source where its content came from.
        map_y = cv2.scaleAdd(rig.field[sy, sx], -d, rig.gy[sy, sx])
        map_x = cv2.scaleAdd(rig.hfield[sy, sx], -float(width), rig.gx[sy, sx])
        if sy.start or sx.start:  # region clipped at the frame's top/left edge
            map_y -= sy.start
            map_x -= sx.start
        src = frame[y1:y2, x1:x2]
        out = cv2.remap(src, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if d >= 0.5:
            self._darken_gap(out, rig, look, sy, sx, d, float(width))
        return LipPatch(box=(x1, y1, x2, y2), image=out, alpha=rig.alpha[sy, sx])

    @staticmethod
    def _darken_gap(out: np.ndarray, rig: _Rig, look: _Look, sy: slice, sx: slice, d: float,
                    width: float) -> None:
        """Paint the opening between the lips (output coordinates, soft edges) into `out`."""
        # Only the few rows and columns the opening can reach.
        r0 = max(sy.start, int(np.floor(min(0.0, rig.curve) - UPPER_LIFT * d)) - 2 - rig.y0)
        r1 = min(sy.stop, int(np.ceil(max(0.0, rig.curve) + d)) + 3 - rig.y0)
        c0 = max(sx.start, int(np.floor(-1.15 * rig.a)) - rig.x0)
        c1 = min(sx.stop, int(np.ceil(1.15 * rig.a)) + 1 - rig.x0)
        if r1 <= r0 or c1 <= c0:
            return
        q = _opening(rig.u[c0:c1] / (1.0 + 0.12 * width)) * d
        t = rig.t[r0:r1, c0:c1]
        inside = np.minimum(t + UPPER_LIFT * q, q - t)  # px from the nearest lip edge, <0 outside
        down = np.clip((t + UPPER_LIFT * q) / np.maximum(q * (1.0 + UPPER_LIFT), 1.0), 0.0, 1.0)
        mix = np.clip(inside * rig.sharp, 0.0, 0.97)[:, :, None]
        colour = look.top + (down * down)[:, :, None] * (look.bottom - look.top)
        sub = out[r0 - sy.start:r1 - sy.start, c0 - sx.start:c1 - sx.start]
        sub[:] = sub * (1.0 - mix) + colour * mix

    def _rig(self, a: float, fh: float, curve: float) -> _Rig:
        # Quantised so that a video avatar's slowly varying boxes share a few rigs.
        step = max(1.0, 0.02 * fh)
        key = (round(a / step), round(fh / step), round(curve / step))
        rig = self._rigs.get(key)
        if rig is None:
            rig = self._rigs[key] = _Rig(key[0] * step, key[1] * step, key[2] * step)
            if len(self._rigs) > 64:
                self._rigs.popitem(last=False)
        else:
            self._rigs.move_to_end(key)
        return rig


class _Look:
    """What one avatar frame's mouth looks like: the lip line's curve and the interior colours."""

    def __init__(self, frame: np.ndarray, mouth: tuple[int, int, int, int], fh: float):
        self.curve = lip_curve(frame, mouth, fh)
        x1, y1, x2, y2 = (max(0, v) for v in mouth)
        region = frame[y1:y2, x1:x2].reshape(-1, 3).astype(np.float32)
        lips = np.array([90, 100, 140], np.float32)
        if len(region) >= 16:  # the lips' colour: leave out teeth and highlights
            bright = region.sum(axis=1)
            lips = region[bright <= np.percentile(bright, 60)].mean(axis=0)
        self.top, self.bottom = lips * _INNER_TOP, np.minimum(lips * _INNER_BOTTOM, 255)


def lip_curve(frame: np.ndarray, mouth: tuple[int, int, int, int], fh: float) -> float:
    """How many px the line between the lips lies below the mouth box centre line at its corners
    (negative in a smile), from the darkest row of each column near the centre line."""
    x1, y1, x2, y2 = mouth
    cy, a = (y1 + y2) / 2, (x2 - x1) / 2
    reach = max(2, int(round(0.06 * fh)))
    top, bottom = int(cy) - reach, int(cy) + reach + 1
    h, w = frame.shape[:2]
    if top < 0 or bottom > h or x1 < 0 or x2 > w or a < 6:
        return 0.0
    grey = cv2.cvtColor(frame[top:bottom, x1:x2], cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey = cv2.GaussianBlur(grey, (5, 3), 0)
    u = (np.arange(x1, x2) + 0.5 - (x1 + x2) / 2) / a
    cols = (np.abs(u) > 0.25) & (np.abs(u) < 0.85)
    if cols.sum() < 4:
        return 0.0
    rows = np.argmin(grey[:, cols], axis=0) + top + 0.5 - cy
    c = float(np.dot(rows, u[cols] ** 2) / np.dot(u[cols] ** 2, u[cols] ** 2))
    return float(np.clip(c, -0.08 * fh, 0.04 * fh))
