"""A still of a scene, drawn by the live's own compositor: what the dashboard shows while a room's
scene is edited, and what a live with that scene puts on air (its first idle frame)."""
from __future__ import annotations

import cv2
import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import FrameKind, Tick, Utterance, silence
from streamer.pipeline.compositor import Canvas
from streamer.scene.spec import Scene
from streamer.selling.products import Product
from streamer.settings import SettingsError


def render_preview(scene: Scene, avatar: Avatar, width: int, height: int, *, caption: str | None = None,
                   product: Product | None = None, card: str | None = None) -> bytes:
    """The PNG of frame 0 of a live with `scene` on a width x height canvas, with `caption` on air,
    `product` presented and `card` shown when given. SettingsError when a media file cannot be read."""
    if width % 2 or height % 2 or not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise SettingsError(f"a preview size must be even and 16..4096 pixels a side, not {width}x{height}")
    canvas = Canvas(avatar, width, height, scene, product=product)
    canvas.show_card(card)
    kind = FrameKind.SPEECH if caption else FrameKind.IDLE
    tick = Tick(0, silence(640), kind, avatar.loop_index(0), Utterance(caption) if caption else None)
    bgr = cv2.cvtColor(np.ascontiguousarray(canvas.render(tick, None)), cv2.COLOR_YUV2BGR_I420)
    ok, png = cv2.imencode(".png", bgr)
    if not ok:
        raise SettingsError("the preview could not be encoded as PNG")
    return png.tobytes()
