"""The compositor stage: avatar frame + lip patch -> one I420 (yuv420p) canvas frame for the encoder.

Pixels are converted once, in the cheapest place: each avatar frame is placed on the canvas and
converted to I420 the first time it is shown and cached; a lip patch is blended at avatar
resolution, mapped onto the canvas, converted on its own (small) region and written into the
cached frame's copy. A frame without a patch costs nothing but a cache lookup.

The scene (streamer.scene) is drawn here too: its background instead of the blurred cover, its
still layers (logo, title, AI label) baked into each cached canvas, and on every frame that shows
them the caption of the sentence on air (the tick's own utterance: it starts and ends on the frames
of its audio) and the current product's card. A frame cut by an interrupt shows no caption.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import cv2
import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import FrameKind, Tick, ping_pong
from streamer.lipsync.base import LipPatch
from streamer.pipeline.pipe import END, Pipe
from streamer.pipeline.stage import Stage, StageSetup
from streamer.scene.layers import MAX_BACKGROUND_MB, Layers, Overlay
from streamer.scene.spec import Scene
from streamer.selling.products import Product

_CLIP_CACHE = 8  # clip canvases kept (a crossfade shows one frame for several ticks)


class Canvas:
    """Fits an avatar onto a width x height canvas: contained and centred, over the scene's
    background (by default a dark blurred cover of itself, as phone video apps do), with the
    scene's layers. Returns I420 buffers of shape (h * 3 // 2, w).

    `product_at(position)` names the product a script position presents (None: no product cards);
    `product` is the current one (set from the ticks' positions; a reply keeps it). show_card()
    (any thread) puts a whole-frame card on air until show_card(None)."""

    def __init__(self, avatar: Avatar, width: int, height: int, scene: Scene = Scene(),
                 product_at: Callable[[object], Product | None] | None = None, product: Product | None = None):
        self.avatar = avatar
        self.width, self.height = width, height
        self.scene = scene
        aw, ah = avatar.size
        self.scale = min(width / aw, height / ah)
        self.w = min(width, 2 * round(aw * self.scale / 2))
        self.h = min(height, 2 * round(ah * self.scale / 2))
        self.x0 = (width - self.w) // 2 // 2 * 2
        self.y0 = (height - self.h) // 2 // 2 * 2
        self.layers = Layers(scene, width, height)
        backdrop = self.layers.background_image()
        self._background = backdrop if backdrop is not None else self._cover(avatar.frames[0])
        # a transparent avatar (Live2D) is drawn over the background: what lies under it, at its size
        self._plate = cv2.resize(self._background[self.y0:self.y0 + self.h, self.x0:self.x0 + self.w], (aw, ah),
                                 interpolation=cv2.INTER_AREA) if avatar.alphas else None
        self._video = self._video_strips() if scene.background == "video" else []
        self._still: list[Overlay] = self.layers.still() if self._video else []  # per frame over a video
        self._bake = [] if self._video else self.layers.still()
        self.product_at = product_at
        self.product = product if scene.product_card else None
        self.card: str | None = None
        self._position: object = None
        self._cards: dict[str, np.ndarray] = {}
        self._cache: dict[int, np.ndarray] = {}
        self._clips: dict[tuple[str, int], np.ndarray] = {}
        self._one = np.ones(0, np.float32)  # the image's weight when it comes premultiplied

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

    def _place(self, frame: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
        bgr = self._background.copy()
        if alpha is not None and self._plate is not None:
            frame = cv2.blendLinear(frame, self._plate, alpha, 1.0 - alpha)
        placed = cv2.resize(frame, (self.w, self.h),
                            interpolation=cv2.INTER_AREA if self.scale < 1 else cv2.INTER_LINEAR)
        bgr[self.y0:self.y0 + self.h, self.x0:self.x0 + self.w] = placed
        yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        for over in self._bake:
            over.blend(yuv, self.width, self.height)
        yuv.flags.writeable = False
        return yuv

    def frame(self, index: int) -> np.ndarray:
        """The I420 canvas for avatar frame `index` (cached; callers must not modify it)."""
        yuv = self._cache.get(index)
        if yuv is None:
            alphas = self.avatar.alphas
            yuv = self._cache[index] = self._place(self.avatar.frames[index], alphas[index] if alphas else None)
        return yuv

    def idle(self, n: int) -> np.ndarray:
        """The idle loop's canvas for video frame `n` (what an interrupted frame becomes): the
        scene without a caption."""
        return self._scene(self.frame(self.avatar.loop_index(n)), n, None)

    def show_card(self, card: str | None) -> None:
        """Show card `card` ("starting_soon", "be_right_back") on every frame from now; None: none."""
        self.card = card

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
        if tick.kind is FrameKind.ACTION and tick.clip and patch is None:
            out = self.clip_frame(tick.clip, tick.avatar_index)
        else:  # a drawn avatar (Live2D) draws its actions too: a patch on its one frame
            out = self.compose(0 if tick.kind is FrameKind.ACTION else tick.avatar_index, patch)
        if tick.fade is not None and self.avatar.live2d is None:
            clip, index, weight = tick.fade
            out = cv2.addWeighted(self.clip_frame(clip, index), weight, out, 1.0 - weight, 0.0)
        if self.product_at is not None and tick.position is not None and tick.position != self._position:
            self._position = tick.position
            self.product = self.product_at(tick.position) if self.scene.product_card else None
        u = tick.utterance
        caption = u.text if self.scene.captions and u is not None and tick.kind is FrameKind.SPEECH else None
        return self._scene(out, tick.index, caption)

    def _scene(self, out: np.ndarray, n: int, caption: str | None) -> np.ndarray:
        """`out` with what changes from frame to frame: a video background, the product card and
        the caption (or the card on air instead of all of it). Copies `out` only to draw on it."""
        card = self.card
        if card is not None:
            frame = self._cards.get(card)
            if frame is None:
                frame = self._cards[card] = self.layers.card_frame(card, self._background)
                frame.flags.writeable = False
            return frame
        product = self.layers.product(self.product) if self.product is not None else None
        words = self.layers.caption(caption) if caption else None
        if not (self._video or product or words):
            return out
        if not out.flags.writeable:
            out = out.copy()
        W, H = self.width, self.height
        if self._video:
            self._paste_video(out, n)
            for over in self._still:
                over.blend(out, W, H)
        for over in (product, words):
            if over is not None:
                over.blend(out, W, H)
        return out

    def _video_strips(self) -> list[list[np.ndarray]]:
        """A background video's frames where the avatar does not cover them: per frame the luma
        strips then the chroma (U and V together) strips of _strip_boxes, as many frames as
        MAX_BACKGROUND_MB holds."""
        W, H, x0, y0, w, h = self.width, self.height, self.x0, self.y0, self.w, self.h
        boxes = [(0, y0, 0, W), (y0 + h, H, 0, W), (y0, y0 + h, 0, x0), (y0, y0 + h, x0 + w, W)]
        self._strip_boxes = [b for b in boxes if b[1] > b[0] and b[3] > b[2]]
        if not self._strip_boxes:
            return []
        area = sum((y2 - y1) * (x2 - x1) for y1, y2, x1, x2 in self._strip_boxes) * 3 // 2
        frames = self.layers.background_video(most=max(1, (MAX_BACKGROUND_MB << 20) // area))
        strips = []
        for bgr in frames:  # one decoded frame at a time: only the strips are kept
            yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
            chroma = yuv[H:].reshape(2, H // 2, W // 2)
            strips.append([yuv[y1:y2, x1:x2].copy() for y1, y2, x1, x2 in self._strip_boxes]
                          + [chroma[:, y1 // 2:y2 // 2, x1 // 2:x2 // 2].copy()
                             for y1, y2, x1, x2 in self._strip_boxes])
        return strips

    def _paste_video(self, out: np.ndarray, n: int) -> None:
        W, H = self.width, self.height
        chroma = out[H:].reshape(2, H // 2, W // 2)
        frame, k = self._video[ping_pong(n, len(self._video))], len(self._strip_boxes)
        for (y1, y2, x1, x2), luma, uv in zip(self._strip_boxes, frame[:k], frame[k:]):
            out[y1:y2, x1:x2] = luma
            chroma[:, y1 // 2:y2 // 2, x1 // 2:x2 // 2] = uv

    def compose(self, index: int, patch: LipPatch | None) -> np.ndarray:
        """Canvas frame for avatar frame `index` with `patch` blended in (a new buffer if patched)."""
        base = self.frame(index)
        if patch is None:
            return base
        out = base.copy()
        self._paste(out, index, patch)
        return out

    def _ones(self, shape: tuple[int, ...]) -> np.ndarray:
        if self._one.shape != shape:
            self._one = np.ones(shape, np.float32)
        return self._one

    def _paste(self, out: np.ndarray, index: int, patch: LipPatch) -> None:
        x1, y1, x2, y2 = patch.box
        under = self._plate if self._plate is not None else self.avatar.frames[index]
        region = under[y1:y2, x1:x2]
        if patch.premultiplied:  # image + under * (1 - alpha)
            blended = cv2.blendLinear(patch.image, region, self._ones(patch.alpha.shape), 1.0 - patch.alpha)
        else:
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
