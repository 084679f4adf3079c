"""What a room's scene is: the layers drawn over and under the avatar, and the music under the voice.

One shape for the API's room `settings.scene` and the demo's room YAML `scene:` key. Positions and
sizes are fractions of the canvas (a Box), text sizes fractions of its shorter side, so one scene
fits 720x1280, 1080x1920 and 1920x1080. Media are file paths here (the worker and the room file
resolve the API's media ids and relative paths before).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamer.settings import SettingsError

CHINESE_PLATFORMS = ("douyin", "bilibili", "kuaishou")  # they require AI-generated lives to be labelled
CORNERS = ("top-left", "top-right", "bottom-left", "bottom-right")
CARDS = ("starting_soon", "be_right_back")
AI_LABEL = {"zh": "AI生成", "en": "AI-generated"}
CARD_TEXT = {"zh": {"starting_soon": "直播马上开始", "be_right_back": "稍后回来"},
             "en": {"starting_soon": "Starting soon", "be_right_back": "Be right back"}}


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in canvas fractions: left, top, width, height (0..1)."""

    x: float
    y: float
    w: float
    h: float

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in pixels on a width x height canvas, on even pixels (whole chroma blocks)."""
        x = int(self.x * width) // 2 * 2
        y = int(self.y * height) // 2 * 2
        w = max(2, min(width - x, round(self.w * width)) // 2 * 2)
        h = max(2, min(height - y, round(self.h * height)) // 2 * 2)
        return x, y, w, h

    @classmethod
    def of(cls, data: Any, where: str, default: "Box") -> "Box":
        if data is None:
            return default
        if not isinstance(data, dict):
            raise SettingsError(f"scene.{where} must be a mapping {{x, y, w, h}} of canvas fractions")
        values = {}
        for k in ("x", "y", "w", "h"):
            v = data.get(k, getattr(default, k))
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
                raise SettingsError(f"scene.{where}.{k} must be a fraction of the canvas in 0..1, not {v!r}")
            values[k] = float(v)
        box = cls(**values)
        if box.w < 0.02 or box.h < 0.02 or box.x + box.w > 1.0001 or box.y + box.h > 1.0001:
            raise SettingsError(f"scene.{where} must be at least 0.02 wide and high and inside the canvas "
                                f"(x + w <= 1, y + h <= 1)")
        return box


@dataclass(frozen=True, slots=True)
class MusicSpec:
    """Background music: files played in order and looped, `volume_db` relative to the voice's
    target loudness, lowered by `duck_db` while the host speaks."""

    playlist: tuple[Path, ...]
    volume_db: float = -14.0
    duck_db: float = 12.0


@dataclass(frozen=True, slots=True)
class Logo:
    path: Path
    box: Box


@dataclass(frozen=True, slots=True)
class Title:
    text: str
    box: Box
    size: float = 0.04


@dataclass(frozen=True)
class Scene:
    """A room's scene. `background` is "blur" (the avatar's own frame, blurred, as phone apps do),
    or an image or video file (`background_path`). `ai_label` is the mark's text, "" for none."""

    captions: bool = True
    caption_style: str = "band"  # band | outline
    caption_box: Box = Box(0.05, 0.74, 0.90, 0.16)
    caption_size: float = 0.05
    ai_label: str = ""
    ai_label_corner: str = "top-right"
    background: str = "blur"  # blur | image | video
    background_path: Path | None = None
    logo: Logo | None = None
    title: Title | None = None
    product_card: bool = True
    product_card_box: Box = Box(0.04, 0.50, 0.50, 0.13)
    cards: dict[str, str] = field(default_factory=lambda: dict(CARD_TEXT["en"]))
    music: MusicSpec | None = None
    loudness: float = -16.0
    language: str = "en"

    @classmethod
    def from_settings(cls, data: dict | None, platform: str | None = None, language: str = "en") -> "Scene":
        """The scene of a room's `settings.scene` (media as paths); one-line SettingsError if wrong."""
        data = data or {}
        if not isinstance(data, dict):
            raise SettingsError("scene must be a mapping of scene settings")
        language = language if language in AI_LABEL else "en"
        d = Scene()
        style = data.get("caption_style", d.caption_style)
        if style not in ("band", "outline"):
            raise SettingsError(f"scene.caption_style must be 'band' or 'outline', not {style!r}")
        label = data.get("ai_label", "auto")
        if label not in ("auto", "on", "off", True, False):
            raise SettingsError(f"scene.ai_label must be 'auto', 'on' or 'off', not {label!r}")
        on = platform in CHINESE_PLATFORMS if label == "auto" else label in ("on", True)
        corner = data.get("ai_label_corner", d.ai_label_corner)
        if corner not in CORNERS:
            raise SettingsError(f"scene.ai_label_corner must be one of {', '.join(CORNERS)}, not {corner!r}")
        background, background_path = _background(data.get("background"))
        cards = data.get("cards") or {}
        if not isinstance(cards, dict) or set(cards) - set(CARDS):
            raise SettingsError(f"scene.cards takes {' and '.join(CARDS)}")
        return cls(
            captions=bool(data.get("captions", True)), caption_style=style,
            caption_box=Box.of(data.get("caption_box"), "caption_box", d.caption_box),
            caption_size=_fraction(data.get("caption_size", d.caption_size), "caption_size"),
            ai_label=(_text(data.get("ai_label_text"), "ai_label_text", 20) or AI_LABEL[language]) if on else "",
            ai_label_corner=corner, background=background, background_path=background_path,
            logo=_logo(data.get("logo")), title=_title(data.get("title")),
            product_card=bool(data.get("product_card", True)),
            product_card_box=Box.of(data.get("product_card_box"), "product_card_box", d.product_card_box),
            cards={k: _text(cards.get(k), f"cards.{k}", 60) or CARD_TEXT[language][k] for k in CARDS},
            music=_music(data.get("music")), loudness=_number(data.get("loudness", -16), "loudness", -30, -10),
            language=language)

    def texts(self) -> list[tuple[str, str]]:
        """(where, text) of what the operator wrote that the scene shows (advertising rules apply)."""
        texts = [("scene.title", self.title.text if self.title else ""), ("scene.ai_label_text", self.ai_label)]
        texts += [(f"scene.cards.{k}", v) for k, v in self.cards.items()]
        return [(where, text) for where, text in texts if text]

    def media(self) -> list[Path]:
        """Every file the scene uses."""
        paths = [self.background_path, self.logo.path if self.logo else None]
        return [p for p in paths if p is not None] + list(self.music.playlist if self.music else ())


def _text(value: Any, where: str, most: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > most:
        raise SettingsError(f"scene.{where} must be a text of at most {most} characters")
    return value.strip()


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SettingsError(f"scene.{where} must be a number in {low:g}..{high:g}, not {value!r}")
    return float(value)


def _fraction(value: Any, where: str) -> float:
    return _number(value, where, 0.01, 0.5)


def _path(value: Any, where: str) -> Path:
    if not isinstance(value, (str, Path)) or not str(value):
        raise SettingsError(f"scene.{where} must name a media file")
    return Path(value)


def _background(data: Any) -> tuple[str, Path | None]:
    if data is None:
        return "blur", None
    kind = data.get("type", "blur") if isinstance(data, dict) else None
    if kind not in ("blur", "image", "video"):
        raise SettingsError("scene.background must be {type: blur}, {type: image, media: ...} or "
                            "{type: video, media: ...}")
    return kind, (None if kind == "blur" else _path(data.get("media"), "background.media"))


def _logo(data: Any) -> Logo | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SettingsError("scene.logo must be {media, box} or null")
    return Logo(_path(data.get("media"), "logo.media"), Box.of(data.get("box"), "logo.box", Box(0.03, 0.03, 0.2, 0.08)))


def _title(data: Any) -> Title | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SettingsError("scene.title must be {text, box, size} or null")
    text = _text(data.get("text"), "title.text", 60)
    if not text:
        return None
    return Title(text, Box.of(data.get("box"), "title.box", Box(0.05, 0.10, 0.90, 0.07)),
                 _fraction(data.get("size", 0.04), "title.size"))


def _music(data: Any) -> MusicSpec | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SettingsError("scene.music must be {playlist, volume_db, duck_db} or null")
    playlist = data.get("playlist") or []
    if not isinstance(playlist, list) or len(playlist) > 50:
        raise SettingsError("scene.music.playlist must be a list of at most 50 audio files")
    if not playlist:
        return None
    return MusicSpec(tuple(_path(p, f"music.playlist.{i}") for i, p in enumerate(playlist)),
                     _number(data.get("volume_db", -14), "music.volume_db", -40, 0),
                     _number(data.get("duck_db", 12), "music.duck_db", 0, 30))
