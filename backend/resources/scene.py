"""A room's scene as the API takes it (RoomSettings.scene), and the still preview of a scene drawn by
the live's own compositor (POST /api/scene/preview).

The scene names media of the library (backend.resources.media) by id; a live (scheduler.worker)
and the preview give the streamer their files' paths (streamer.scene.spec.Scene.from_settings).
Positions and sizes are canvas fractions, so one scene fits every canvas size."""
from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, current_app
from pydantic import Field, StrictBool, StrictFloat, model_validator
from sqlalchemy import select

from backend.api import ANYONE, Model, route
from backend.banned import check_banned
from backend.db import db
from backend.errors import ApiError
from backend.resources.schedules import StrictId
from db.media import media_ids, scene_for_live, scene_media_paths
from db.models import Avatar, Media, Product, Room
from streamer.avatar.default import DEFAULT_ID, ensure_default_avatar
from streamer.avatar.model import Avatar as LoadedAvatar
from streamer.avatar.store import load_avatar
from streamer.scene.preview import render_preview
from streamer.selling.banned import banned_of
from streamer.selling.products import Product as SellingProduct
from streamer.settings import SettingsError

log = logging.getLogger("livehost.api")
bp = Blueprint("scene", __name__, url_prefix="/api/scene")

Fraction = Annotated[StrictFloat, Field(ge=0, le=1, allow_inf_nan=False)]
TextSize = Annotated[StrictFloat, Field(ge=0.01, le=0.5, allow_inf_nan=False,
                                        description="text height as a fraction of the canvas's shorter side")]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
Card = Literal["starting_soon", "be_right_back"]
PREVIEW_SIZES = ("720x1280", "1080x1920", "1920x1080", "1280x720")


class SceneBox(Model):
    """A rectangle of the canvas in fractions of its width and height."""

    x: Fraction
    y: Fraction
    w: Fraction = Field(description="at least 0.02; x + w <= 1")
    h: Fraction = Field(description="at least 0.02; y + h <= 1")

    @model_validator(mode="after")
    def _inside(self) -> "SceneBox":
        if self.w < 0.02 or self.h < 0.02 or self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise ValueError("a box must be at least 0.02 wide and high and inside the canvas (x + w <= 1, y + h <= 1)")
        return self


class Background(Model):
    type: Literal["blur", "image", "video"] = Field("blur", description="blur: the avatar's own picture, blurred")
    media: StrictId | None = Field(None, description="the picture or video (a media id); for image and video")

    @model_validator(mode="after")
    def _media(self) -> "Background":
        if self.type != "blur" and self.media is None:
            raise ValueError(f"a {self.type} background needs its media")
        return self


class Logo(Model):
    media: StrictId = Field(description="a picture of the media library")
    box: SceneBox = Field(default_factory=lambda: SceneBox(x=0.03, y=0.03, w=0.2, h=0.08))


class Title(Model):
    text: str = Field(min_length=1, max_length=60)
    box: SceneBox = Field(default_factory=lambda: SceneBox(x=0.05, y=0.10, w=0.90, h=0.07))
    size: TextSize = 0.04


class Cards(Model):
    starting_soon: str = Field("", max_length=60, description="'' for the built-in text")
    be_right_back: str = Field("", max_length=60, description="'' for the built-in text")


class Music(Model):
    playlist: list[StrictId] = Field(default_factory=list, max_length=50,
                                     description="sounds of the media library, played in order and looped")
    volume_db: StrictFloat = Field(-14, ge=-40, le=0, allow_inf_nan=False,
                                   description="the music's loudness relative to the voice's")
    duck_db: StrictFloat = Field(12, ge=0, le=30, allow_inf_nan=False,
                                 description="lowered by this while the host speaks")


class SceneSettings(Model):
    """What is drawn around the host and heard under the voice (streamer.scene.spec.Scene)."""

    captions: StrictBool = Field(True, description="the sentence on air burned into the picture")
    caption_style: Literal["band", "outline"] = "band"
    caption_box: SceneBox = Field(default_factory=lambda: SceneBox(x=0.05, y=0.74, w=0.90, h=0.16))
    caption_size: TextSize = 0.05
    ai_label: Literal["auto", "on", "off"] = Field(
        "auto", description="the AI-content mark; 'auto': on for Douyin, Bilibili and Kuaishou, which require it")
    ai_label_text: str = Field("", max_length=20, description="'' for the built-in AI生成 / AI-generated")
    ai_label_corner: Corner = "top-right"
    background: Background = Field(default_factory=Background)
    logo: Logo | None = None
    title: Title | None = None
    product_card: StrictBool = Field(True, description="the current product's picture, name, price and link")
    product_card_box: SceneBox = Field(default_factory=lambda: SceneBox(x=0.04, y=0.50, w=0.50, h=0.13))
    cards: Cards = Field(default_factory=Cards, description="the texts of the cards shown over the live")
    music: Music = Field(default_factory=Music)
    loudness: StrictFloat = Field(-16, ge=-30, le=-10, allow_inf_nan=False,
                                  description="the mix's target integrated loudness (LUFS)")


DEFAULT_SCENE = SceneSettings().model_dump()


def shown_scene(stored: Any) -> dict[str, Any]:
    """A stored scene with the defaults of the keys it was stored without."""
    return {**DEFAULT_SCENE, **(stored if isinstance(stored, dict) else {})}


def check_scene(scene: SceneSettings, room_settings: dict[str, Any], where: str = "settings.scene") -> dict:
    """`scene` as stored, if every medium it names exists and is of the right kind and its texts
    hold no word banned in the room (`room_settings`); else 422 naming each field."""
    stored = scene.model_dump()
    wanted = media_ids(stored)
    kinds = dict(db().execute(select(Media.id, Media.kind).where(Media.id.in_({i for _, i, _ in wanted}))).all()) \
        if wanted else {}
    fields, reasons = {}, {}
    for field, ident, kind in wanted:
        if ident not in kinds:
            fields[f"{where}.{field}"] = f"media {ident} does not exist"
            reasons[f"{where}.{field}"] = {"reason": "not_found", "params": {"what": "media", "id": ident}}
        elif kinds[ident] != kind:
            fields[f"{where}.{field}"] = f"media {ident} is {'an' if kinds[ident] == 'image' else 'a'} " \
                                         f"{kinds[ident]}, not {'an' if kind == 'image' else 'a'} {kind}"
    if fields:
        field, message = next(iter(fields.items()))
        raise ApiError(422, "invalid", f"{field}: {message}", fields, field_reasons=reasons)
    texts = [(f"{where}.title.text", scene.title.text if scene.title else ""),
             (f"{where}.ai_label_text", scene.ai_label_text)]
    texts += [(f"{where}.cards.{k}", v) for k, v in scene.cards.model_dump().items()]
    check_banned([(f, t) for f, t in texts if t], banned_of(room_settings))
    return stored


# --- the still preview ---------------------------------------------------------------------------

class PreviewIn(Model):
    scene: SceneSettings | None = Field(None, description="the scene to draw (unsaved); none: the room's saved one, "
                                        "else the default scene")
    room_id: StrictId | None = Field(None, description="the room whose platform, language and banned words apply")
    avatar: str | None = Field(None, max_length=64, description="a ready avatar's slug; none: the default avatar")
    width: int = Field(720, ge=16, le=4096)
    height: int = Field(1280, ge=16, le=4096)
    caption: str | None = Field(None, max_length=200, description="a sentence shown as on air")
    product: StrictId | None = Field(None, description="a product shown on the product card")
    card: Card | None = Field(None, description="a card shown over the picture")


_avatar_lock = threading.Lock()


@lru_cache(maxsize=2)
def _loaded_avatar(avatars_dir: Path, slug: str, mtime: float) -> LoadedAvatar:
    return load_avatar(avatars_dir, slug)


def preview_avatar(slug: str | None) -> LoadedAvatar:
    """The avatar a preview is drawn with (kept loaded: loading one takes a while)."""
    settings = current_app.config["LIVEHOST"]
    if slug is None:
        ensure_default_avatar(settings.avatars_dir)  # built once, in a few seconds
        slug = DEFAULT_ID
    elif db().scalar(select(Avatar.id).where(Avatar.slug == slug, Avatar.status == "ready")) is None:
        raise ApiError(422, "invalid", f"avatar: no ready avatar {slug!r}", {"avatar": f"no ready avatar {slug!r}"})
    folder = settings.avatars_dir / slug
    with _avatar_lock:
        try:
            return _loaded_avatar(settings.avatars_dir, slug, folder.stat().st_mtime)
        except (OSError, ValueError) as e:
            log.warning("scene preview: avatar %s cannot be loaded: %s", slug, e)
            raise ApiError(422, "invalid", f"avatar: avatar {slug!r} cannot be loaded",
                           {"avatar": f"avatar {slug!r} cannot be loaded"}) from None


@route(bp, "POST", "/preview", roles=ANYONE, body=PreviewIn, media="image/png",
       errors={404: "no such room or product"})
def preview(body: PreviewIn):
    """A PNG of the scene as viewers would see it at width x height (720x1280, 1080x1920,
    1920x1080 or 1280x720), drawn by the live's compositor: the avatar idle, or with `caption` on
    air, `product` on its card, `card` over the picture."""
    if f"{body.width}x{body.height}" not in PREVIEW_SIZES:
        message = f"the preview size is one of {', '.join(PREVIEW_SIZES)}"
        raise ApiError(422, "invalid", f"width: {message}", {"width": message, "height": message})
    s = db()
    room = s.get(Room, body.room_id) if body.room_id is not None else None
    if body.room_id is not None and (room is None or room.archived_at is not None):
        raise ApiError(404, "not_found", f"room {body.room_id} does not exist")
    room_settings = (room.settings if room else None) or {}
    if body.scene is not None:
        stored = check_scene(body.scene, room_settings, "scene")
    else:
        stored = shown_scene(room_settings.get("scene"))
    product = None
    if body.product is not None:
        row = s.get(Product, body.product)
        if row is None:
            raise ApiError(404, "not_found", f"product {body.product} does not exist")
        product = SellingProduct.from_dict({**row.facts(), "id": str(row.id),
                                            "image": str(current_app.config["LIVEHOST"].var_dir / "products" /
                                                         row.image) if row.image else ""})
    var_dir = current_app.config["LIVEHOST"].var_dir
    avatar = preview_avatar(body.avatar)
    try:
        scene = scene_for_live(stored, room.platform if room else None, room_settings.get("language"),
                               scene_media_paths(s, stored, var_dir))
        png = render_preview(scene, avatar, body.width, body.height, caption=body.caption, product=product,
                             card=body.card)
    except SettingsError as e:  # a media file that cannot be read
        raise ApiError(422, "invalid", f"scene: {e}", {"scene": str(e)}) from None
    response = Response(png, mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response
