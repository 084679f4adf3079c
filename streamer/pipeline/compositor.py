"""The compositor stage: avatar frame + lip patch -> one I420 (yuv420p) canvas frame for the encoder.

Pixels are converted once, in the cheapest place: each avatar frame is placed on the canvas and
converted to I420 the first time it is shown and cached; a lip patch is blended at avatar
resolution, mapped onto the canvas, converted on its own (small) region and written into the
cached frame's copy. A frame without a patch costs nothing but a cache lookup.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import FrameKind, Tick
from streamer.lipsync.base import LipPatch
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup

_CLIP_CACHE = 8  # clip canvases kept (a crossfade shows one frame for several ticks)


class Canvas:
    """Fits an avatar onto a width x height canvas: contained and centred, over a dark blurred
    cover of itself (as phone video apps do). Returns I420 buffers of shape (h * 3 // 2, w)."""

    def __init__(self, avatar: Avatar, width: int, height: int):
        self.avatar = avatar
        self.width, self.height = width, height
        aw, ah = avatar.size
        self.scale = min(width / aw, height / ah)
        self.w = min(width, 2 * round(aw * self.scale / 2))
        self.h = min(height, 2 * round(ah * self.scale / 2))
        self.x0 = (width - self.w) // 2 // 2 * 2
        self.y0 = (height - self.h) // 2 // 2 * 2
        self._background = self._cover(avatar.frames[0])
        self._cache: dict[int, np.ndarray] = {}
        self._clips: dict[tuple[str, int], np.ndarray] = {}

    def _cover(self, frame: np.ndarray) -> np.ndarray:
        """The frame scaled to cover the whole canvas (centre crop), blurred and darkened."""
        ah, aw = frame.shape[:2]
        cw = min(aw, round(ah * self.width / self.height))  # crop of the canvas' aspect
        ch = min(ah, round(aw * self.height / self.width))
        x, y = (aw - cw) // 2, (ah - ch) // 2
        small = cv2.resize(frame[y:y + ch, x:x + cw], (max(1, self.width // 8), max(1, self.height // 8)),
                           interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), 3)
        big = cv2.resize(small, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return (big * 0.45).astype(np.uint8)

    def _place(self, frame: np.ndarray) -> np.ndarray:
        bgr = self._background.copy()
        placed = cv2.resize(frame, (self.w, self.h),
                            interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        bgr[self.y0:self.y0 + self.h, self.x0:self.x0 + self.w] = placed
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        yuv.flags.writeable = False
        return yuv

    def frame(self, index: int) -> np.ndarray:
        """The I420 canvas for avatar frame `index` (cached; callers must not modify it)."""
        yuv = self._cache.get(index)
        if yuv is None:
            yuv = self._cache[index] = self._place(self.avatar.frames[index])
        return yuv

    def idle(self, n: int) -> np.ndarray:
        """The idle loop's canvas for video frame `n` (what an interrupted frame becomes)."""
        return self.frame(self.avatar.loop_index(n))

    def clip_frame(self, clip: str, index: int) -> np.ndarray:
        """The canvas for frame `index` of action clip `clip` (a few recent ones cached)."""
        key = (clip, index)
        yuv = self._clips.get(key)
        if yuv is None:
            if len(self._clips) >= _CLIP_CACHE:
                self._clips.pop(next(iter(self._clips)))
            yuv = self._clips[key] = self._place(self.avatar.actions[clip].frames[index])
        return yuv

    def render(self, tick: Tick, patch: LipPatch | None) -> np.ndarray:
        """The canvas for a tick: a clip frame, or the avatar frame with its lip patch, then the
        crossfade from a clip that just ended, if any."""
        if tick.kind is FrameKind.ACTION and tick.clip:
            out = self.clip_frame(tick.clip, tick.avatar_index)
        else:
            out = self.compose(tick.avatar_index, patch)
        if tick.fade is not None:
            clip, index, weight = tick.fade
            out = cv2.addWeighted(self.clip_frame(clip, index), weight, out, 1.0 - weight, 0.0)
        return out

    def compose(self, index: int, patch: LipPatch | None) -> np.ndarray:
        """Canvas frame for avatar frame `index` with `patch` blended in (a new buffer if patched)."""
        base = self.frame(index)
        if patch is None:
            return base
        out = base.copy()
        self._paste(out, index, patch)
        return out

    def _paste(self, out: np.ndarray, index: int, patch: LipPatch) -> None:
        x1, y1, x2, y2 = patch.box
        region = self.avatar.frames[index][y1:y2, x1:x2]
        blended = cv2.blendLinear(patch.image, region, patch.alpha, 1.0 - patch.alpha)
        s, ox, oy = self.scale, self.x0, self.y0
        # Canvas rectangle covering the patch, on even pixels so chroma blocks stay whole.
        cx1 = max(ox, int(math.floor((ox + x1 * s) / 2)) * 2)
        cy1 = max(oy, int(math.floor((oy + y1 * s) / 2)) * 2)
        cx2 = min(ox + self.w, int(math.ceil((ox + x2 * s) / 2)) * 2)
        cy2 = min(oy + self.h, int(math.ceil((oy + y2 * s) / 2)) * 2)
        w, h = cx2 - cx1, cy2 - cy1
        if w < 2 or h < 2:
            return
        # Exact mapping canvas -> patch pixels: src = (dst + cx1 - ox) / s - x1.
        m = np.array([[1 / s, 0, (cx1 - ox) / s - x1], [0, 1 / s, (cy1 - oy) / s - y1]], np.float64)
        rgn = cv2.warpAffine(blended, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REPLICATE)
        yuv = cv2.cvtColor(rgn, cv2.COLOR_BGR2YUV_I420)
        H, W = self.height, self.width
        out[cy1:cy2, cx1:cx2] = yuv[:h]
        n_src, n_dst = (h // 2) * (w // 2), (H // 2) * (W // 2)
        chroma_src = yuv[h:].reshape(-1)
        chroma_dst = out[H:].reshape(-1)
        for k in range(2):  # U then V
            src = chroma_src[k * n_src:(k + 1) * n_src].reshape(h // 2, w // 2)
            dst = chroma_dst[k * n_dst:(k + 1) * n_dst].reshape(H // 2, W // 2)
            dst[cy1 // 2:cy2 // 2, cx1 // 2:cx2 // 2] = src


class Picture(NamedTuple):
    """A tick with its canvas frame (I420, shape (h * 3 // 2, w)), on its way to the encoder."""

    tick: Tick
    i420: np.ndarray


class CompositorStage(Stage):
    """Reads LipFrames from `inp`, writes Pictures to `out`, then END; a stale tick shows idle."""

    def __init__(self, setup: StageSetup, inp: Pipe, out: Pipe, canvas: Canvas):
        super().__init__("compositor", setup, inp, out)
        self.canvas = canvas

    def loop(self) -> None:
        while True:
            item = self.receive()
            if item is END:
                self.out.put(END)
                return
            tick, patch = item
            frame = self.canvas.idle(tick.index) if self.stale(tick) else self.canvas.render(tick, patch)
            self.out.put(Picture(tick, frame))
