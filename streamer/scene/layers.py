"""The scene's layers as the compositor draws them: each is an Overlay, a small I420 picture with its
alpha at a place on the canvas, rendered once per change and blended onto the frame in its own
rectangle only (a caption band at 720p costs a fraction of a millisecond).

Still layers (the background, the logo, the title, the AI label) go into the cached canvas of
each avatar frame once; the caption and the product card change with what is on air and are
blended onto every frame that shows them; a card (starting soon, be right back) is a whole
opaque frame of its own.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from streamer.scene import text
from streamer.scene.spec import Box, Scene
from streamer.selling.products import Product
from streamer.settings import SettingsError

log = logging.getLogger("livehost.scene")

BAND = (0, 0, 0, 150)  # the caption band: black at 60 %
MAX_BACKGROUND_MB = 48  # a background video's frames kept per live, where the avatar leaves it visible


@dataclass(slots=True)
class Overlay:
    """An RGBA picture placed at (x, y) on even pixels, as I420 planes with alpha weights."""

    x: int
    y: int
    y_plane: np.ndarray  # (h, w) uint8
    u: np.ndarray  # (h/2, w/2) uint8
    v: np.ndarray
    a: np.ndarray  # (h, w) float32 in 0..1
    a2: np.ndarray  # (h/2, w/2) float32

    @classmethod
    def of(cls, rgba: np.ndarray, x: int, y: int) -> "Overlay":
        """The overlay of `rgba` at (x, y), cut to where it is not transparent (less to blend)."""
        x, y = x // 2 * 2, y // 2 * 2
        rows, cols = np.nonzero(rgba[:, :, 3].any(axis=1))[0], np.nonzero(rgba[:, :, 3].any(axis=0))[0]
        if len(rows) and len(cols):
            top, left = rows[0] // 2 * 2, cols[0] // 2 * 2
            rgba = rgba[top:rows[-1] + 1, left:cols[-1] + 1]
            x, y = x + left, y + top
        rgba = np.pad(rgba, ((0, rgba.shape[0] % 2), (0, rgba.shape[1] % 2), (0, 0)))
        h, w = rgba.shape[:2]
        h, w = h // 2 * 2, w // 2 * 2
        rgba = rgba[:h, :w]
        yuv = cv2.cvtColor(np.ascontiguousarray(rgba[:, :, :3]), cv2.COLOR_RGB2YUV_I420)
        chroma = yuv[h:].reshape(-1)
        q = (h // 2) * (w // 2)
        a = rgba[:, :, 3].astype(np.float32) / 255.0
        return cls(x, y, np.ascontiguousarray(yuv[:h]), chroma[:q].reshape(h // 2, w // 2),
                   chroma[q:].reshape(h // 2, w // 2), a, cv2.resize(a, (w // 2, h // 2), interpolation=cv2.INTER_AREA))

    def blend(self, i420: np.ndarray, width: int, height: int) -> None:
        """Blend onto a writable I420 frame of width x height, in place (clipped to the canvas)."""
        h, w = self.y_plane.shape
        h, w = min(h, height - self.y), min(w, width - self.x)
        if h < 2 or w < 2:
            return
        x, y = self.x, self.y
        region = i420[y:y + h, x:x + w]
        region[:] = cv2.blendLinear(self.y_plane[:h, :w], region, self.a[:h, :w], 1.0 - self.a[:h, :w])
        chroma = i420[height:].reshape(2, height // 2, width // 2)
        a2 = self.a2[:h // 2, :w // 2]
        for k, plane in enumerate((self.u, self.v)):
            dst = chroma[k, y // 2:(y + h) // 2, x // 2:(x + w) // 2]
            dst[:] = cv2.blendLinear(plane[:h // 2, :w // 2], dst, a2, 1.0 - a2)


def read_image(path: Path, where: str) -> np.ndarray:
    """An image file as RGBA uint8 (transparency kept)."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SettingsError(f"scene {where}: cannot read image {Path(path).name}")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGRA)
    elif image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` scaled to cover width x height, centre-cropped."""
    ih, iw = image.shape[:2]
    s = max(width / iw, height / ih)
    w, h = max(width, round(iw * s)), max(height, round(ih * s))
    scaled = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    x, y = (w - width) // 2, (h - height) // 2
    return scaled[y:y + height, x:x + width]


def contain(image: np.ndarray, w: int, h: int) -> np.ndarray:
    """`image` scaled to fit inside w x h, aspect kept, centred on transparency (RGBA)."""
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    sw, sh = max(1, round(iw * s)), max(1, round(ih * s))
    out = np.zeros((h, w, 4), np.uint8)
    x, y = (w - sw) // 2, (h - sh) // 2
    out[y:y + sh, x:x + sw] = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
    return out


class Layers:
    """The overlays of one scene on a width x height canvas, rendered once per change.

    Thread use: still() and backdrop() at build time; caption() from the compositor thread,
    product() and card() from the compositor's and the encoder's (each caches its last result)."""

    def __init__(self, scene: Scene, width: int, height: int):
        self.scene, self.width, self.height = scene, width, height
        self.unit = min(width, height)
        self._caption: tuple[str, Overlay | None] = ("", None)
        self._product: tuple[Product | None, Overlay | None] = (None, None)
        self._still = self._still_layers()

    # -- still layers ---------------------------------------------------------------------------
    def still(self) -> list[Overlay]:
        """The logo, the title and the AI label (in that order, the label on top)."""
        return self._still

    def _still_layers(self) -> list[Overlay]:
        s, out = self.scene, []
        if s.logo is not None:
            x, y, w, h = s.logo.box.pixels(self.width, self.height)
            out.append(Overlay.of(contain(read_image(s.logo.path, "logo"), w, h), x, y))
        if s.title is not None:
            out.append(self._text_box(s.title.text, s.title.box, s.title.size, max_lines=2, band=BAND))
        if s.ai_label:
            out.append(self._label(s.ai_label))
        return out

    def _label(self, label: str) -> Overlay:
        size = max(14, round(self.unit * 0.028))
        f = text.font(size)
        w, h = round(f.getlength(label)) + size, round(size * 1.6)
        margin = round(self.unit * 0.025)
        corner = self.scene.ai_label_corner
        x = margin if corner.endswith("left") else self.width - w - margin
        y = margin if corner.startswith("top") else self.height - h - margin
        rgba = text.draw_lines([label], size, w, h, band=(0, 0, 0, 140))
        return Overlay.of(rgba, x, y)

    def _text_box(self, words: str, box: Box, size: float, max_lines: int, band=None, outline: int = 0,
                  valign: str = "center") -> Overlay:
        x, y, w, h = box.pixels(self.width, self.height)
        px = max(10, round(size * self.unit))
        lines, px = text.fit(words, px, w - px, max_lines)
        return Overlay.of(text.draw_lines(lines, px, w, h, band=band, outline=outline, valign=valign), x, y)

    # -- the background -------------------------------------------------------------------------
    def background_image(self) -> np.ndarray | None:
        """The background picture (BGR, canvas size), or None for the blurred avatar."""
        s = self.scene
        if s.background == "image":
            rgba = read_image(s.background_path, "background")
            return cv2.cvtColor(cover(rgba, self.width, self.height), cv2.COLOR_RGBA2BGR)
        if s.background == "video":
            return next(iter(self.background_video(1)))
        return None

    def background_video(self, most: int) -> Iterator[np.ndarray]:
        """A background video's first `most` frames (BGR, canvas size) at 25 fps, decoded one by one."""
        name = Path(self.scene.background_path).name
        given = 0
        try:
            with av.open(str(self.scene.background_path)) as container:
                stream = container.streams.video[0]
                step, due = float(stream.average_rate or 25) / 25.0, 0.0
                for i, frame in enumerate(container.decode(stream)):
                    if i + 1e-6 < due:
                        continue
                    due += step
                    given += 1
                    yield cover(frame.to_ndarray(format="bgr24"), self.width, self.height)
                    if given >= most:
                        break
        except (av.FFmpegError, IndexError, OSError) as e:
            raise SettingsError(f"scene background: cannot read video {name}: {e}") from None
        if not given:
            raise SettingsError(f"scene background: video {name} has no frames")

    # -- what changes with what is on air --------------------------------------------------------
    def caption(self, words: str) -> Overlay | None:
        """The caption of the sentence on air (the last one kept: a sentence lasts many frames)."""
        if words != self._caption[0]:
            s = self.scene
            over = None
            if words.strip():
                outline = 0 if s.caption_style == "band" else max(2, round(s.caption_size * self.unit / 12))
                over = self._text_box(words, s.caption_box, s.caption_size, max_lines=3,
                                      band=BAND if s.caption_style == "band" else None, outline=outline,
                                      valign="bottom")
            self._caption = (words, over)
        return self._caption[1]

    def product(self, product: Product | None) -> Overlay | None:
        """The product card: picture, name, price and link number."""
        if product is not self._product[0]:
            self._product = (product, self._product_card(product) if product is not None else None)
        return self._product[1]

    def _product_card(self, p: Product) -> Overlay:
        x, y, w, h = self.scene.product_card_box.pixels(self.width, self.height)
        card = np.zeros((h, w, 4), np.uint8)
        cv2.rectangle(card, (0, 0), (w - 1, h - 1), (255, 255, 255, 225), -1)
        pad = max(4, h // 12)
        left = pad
        picture = Path(p.image) if p.image else None
        if picture is not None and picture.is_file():
            try:
                side = h - 2 * pad
                card[pad:pad + side, pad:pad + side] = cover(read_image(picture, "product card"), side, side)
                left = 2 * pad + side
            except SettingsError:
                log.warning("product %s: its picture %s cannot be read; the card goes without it", p.id, picture.name)
        tw = max(10, w - left - pad)
        name_px = max(10, round(h * 0.22))
        lines, name_px = text.fit(p.name, name_px, tw, 1)
        rows = [(lines[0], name_px, (30, 30, 30))]
        if p.price is not None:
            symbol = {"CNY": "¥", "USD": "$", "EUR": "€"}.get(p.currency, p.currency + " ")
            rows.append((f"{symbol}{p.price:g}", round(h * 0.30), (230, 40, 40)))
        if p.link:
            rows.append((p.link if not p.link.isdigit() else
                         (f"{p.link}号链接" if self.scene.language == "zh" else f"link {p.link}"),
                         round(h * 0.17), (90, 90, 90)))
        block = np.zeros((h, tw, 4), np.uint8)
        top = pad
        for words, px, color in rows:
            px = min(px, max(10, (h - 2 * pad) // len(rows) * 10 // 13))
            lines, px = text.fit(words, px, tw, 1)
            image = text.draw_lines(lines, px, tw, round(px * 1.3), color=color, align="left", valign="top")
            hh = min(image.shape[0], h - top)
            if hh <= 0:
                break
            alpha = image[:hh, :, 3:4].astype(np.float32) / 255.0
            block[top:top + hh] = (image[:hh] * alpha + block[top:top + hh] * (1 - alpha)).astype(np.uint8)
            block[top:top + hh, :, 3] = np.maximum(block[top:top + hh, :, 3], image[:hh, :, 3])
            top += round(px * 1.3)
        a = block[:, :, 3:4].astype(np.float32) / 255.0
        region = card[:, left:left + tw]
        region[:, :, :3] = (block[:, :, :3] * a + region[:, :, :3] * (1 - a)).astype(np.uint8)
        return Overlay.of(card, x, y)

    def card_frame(self, name: str, backdrop: np.ndarray) -> np.ndarray:
        """A whole I420 frame for card `name` (starting soon, be right back) over `backdrop` (BGR)."""
        bgr = (backdrop.astype(np.float32) * 0.4).astype(np.uint8)
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        words = self.scene.cards.get(name, name)
        self._text_box(words, Box(0.08, 0.38, 0.84, 0.24), 0.08, max_lines=2, band=(0, 0, 0, 190)).blend(
            i420, self.width, self.height)
        for over in self._still:
            over.blend(i420, self.width, self.height)
        return i420
