"""A room's live behaviour: how the host treats comments, interrupts and action clips.

The admin API stores these as the room's `settings` (JSON); `livehost demo --room FILE` reads the
same keys from YAML. Unknown keys are ignored here (the API validates what it stores).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streamer.audience.triage import TriagePolicy
from streamer.scene.spec import CHINESE_PLATFORMS, Scene
from streamer.selling.banned import BannedWords, banned_of, describe
from streamer.selling.products import Catalog, ProductError
from streamer.settings import SettingsError


@dataclass(frozen=True)
class RoomPolicy:
    """`answer_immediately`: every comment cuts the host off. `interrupt_gap_s`: silence after a
    bare interrupt before the script goes on. `speech_during_action`: "wait" or "interrupt".
    `language`: of the built-in default reply and fallback line ("en" or "zh"). `audience`: how
    the viewers' chat is triaged (streamer.audience.triage). `banned`: the words the host never
    says (built-in list, the room's additions and exceptions). `reword_loops`: with an LLM, each
    sentence of a looping script is re-worded for the next loop. `fallback_voice`: the voice spec
    that speaks a sentence whose own voice fails or gives no audio in time (a TTS server down)."""

    persona: str = ""
    answer_immediately: bool = False
    interrupt_gap_s: float = 1.0
    speech_during_action: str = "wait"
    keyword_replies: dict[str, str] = field(default_factory=dict)
    default_reply: str | None = None
    fallback_line: str | None = None
    max_reply_chars: int | None = None
    language: str = "en"  # of the built-in replies: "en" or "zh"
    audience: TriagePolicy = field(default_factory=TriagePolicy)  # what of the viewers' chat is answered
    banned: BannedWords = field(default_factory=BannedWords.for_room)
    reword_loops: bool = True
    fallback_voice: str = "espeak"

    def __post_init__(self) -> None:
        if self.speech_during_action not in ("wait", "interrupt"):
            raise SettingsError("speech_during_action must be 'wait' or 'interrupt', "
                                f"not {self.speech_during_action!r}")
        if not 0 <= self.interrupt_gap_s <= 60:
            raise SettingsError(f"interrupt_gap_s must be in 0..60 seconds, not {self.interrupt_gap_s}")

    @classmethod
    def from_settings(cls, data: dict[str, Any] | None, platform: str | None = None) -> "RoomPolicy":
        """The policy of a room's settings; a `language` of "auto" or none is the platform's."""
        data = data or {}
        language = room_language(data.get("language"), platform)
        try:
            gap = data.get("interrupt_gap_ms")
            return cls(persona=str(data.get("persona") or ""),
                       answer_immediately=bool(data.get("answer_immediately", False)),
                       interrupt_gap_s=1.0 if gap is None else float(gap) / 1000.0,
                       speech_during_action=str(data.get("speech_during_action") or "wait"),
                       keyword_replies={str(k): str(v) for k, v in (data.get("keyword_replies") or {}).items()},
                       default_reply=data.get("default_reply") or None,
                       fallback_line=data.get("fallback_line") or None,
                       max_reply_chars=data.get("max_reply_chars") or None,
                       language=language, audience=TriagePolicy.from_settings(data.get("audience"), language),
                       banned=banned_of(data), reword_loops=bool(data.get("reword_loops", True)),
                       fallback_voice=str(data.get("fallback_voice") or "espeak"))
        except (TypeError, ValueError, AttributeError) as e:
            raise SettingsError(f"bad room settings: {e}") from None

    def reply_rules(self):
        """The ReplyRules of this room (keyword replies, default reply, fallback line, length)."""
        from streamer.llm import ReplyRules  # ~0.1 s: loaded only when a live needs the rules

        from streamer.llm.reply import BUILT_IN

        reply, fallback = BUILT_IN.get(self.language, BUILT_IN["en"])
        given = {"keyword_replies": self.keyword_replies, "default_reply": self.default_reply or reply,
                 "fallback_line": self.fallback_line or fallback, "max_reply_chars": self.max_reply_chars,
                 "words": self.banned}
        return ReplyRules(**{k: v for k, v in given.items() if v is not None})


def room_language(language: Any, platform: str | None) -> str:
    """ "zh" or "en": the room's own choice, else Chinese on the Chinese platforms."""
    if language in ("zh", "en"):
        return language
    if language not in (None, "", "auto"):
        raise SettingsError(f"language must be 'auto', 'zh' or 'en', not {language!r}")
    return "zh" if platform in CHINESE_PLATFORMS else "en"


def load_room(path: str | Path) -> tuple[RoomPolicy, Catalog]:
    """A room from a YAML file: its settings (the keys of the API's room settings) and what it
    sells (`products:` in the API's product shape, `knowledge:` the shop's policies). The
    operator's texts are checked for banned words as the API checks them."""
    data = _read(path)
    settings = data.get("settings", data)
    policy = RoomPolicy.from_settings(settings, data.get("platform"))
    try:
        catalog = Catalog.from_room_file({"products": data.get("products"),
                                          "knowledge": data.get("knowledge", settings.get("knowledge"))})
    except ProductError as e:
        raise SettingsError(f"room file {path}: {e}") from None
    found = {place: policy.banned.words_in(text) for place, text in operator_texts(policy, catalog)}
    if any(found.values()):
        raise SettingsError(f"room file {path} holds banned words: {describe(found)}")
    return policy, catalog


def load_room_scene(path: str | Path) -> Scene:
    """The scene of a room file (its `scene:` key; media paths relative to the file)."""
    data = _read(path)
    settings = data.get("settings", data)
    scene = settings.get("scene")
    if isinstance(scene, dict):
        here = Path(path).parent
        media = lambda p: str(here / p) if isinstance(p, str) and p else p  # noqa: E731
        scene = dict(scene)
        for key in ("background", "logo"):
            if isinstance(scene.get(key), dict) and "media" in scene[key]:
                scene[key] = {**scene[key], "media": media(scene[key]["media"])}
        music = scene.get("music")
        if isinstance(music, dict) and isinstance(music.get("playlist"), list):
            scene["music"] = {**music, "playlist": [media(p) for p in music["playlist"]]}
    platform = data.get("platform")
    try:
        scene = Scene.from_settings(scene, platform, room_language(settings.get("language"), platform))
    except SettingsError as e:
        raise SettingsError(f"room file {path}: {e}") from None
    found = {place: banned_of(settings).words_in(text) for place, text in scene.texts()}
    if any(found.values()):
        raise SettingsError(f"room file {path} shows banned words: {describe(found)}")
    return scene


def _read(path: str | Path) -> dict:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        raise SettingsError(f"cannot read room file {path}: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"room file {path} must hold a mapping of settings")
    return data


def operator_texts(policy: RoomPolicy, catalog: Catalog) -> list[tuple[str, str]]:
    """(where, text) of every text of the room's own that the host may say."""
    texts = [("persona", policy.persona), ("default_reply", policy.default_reply or ""),
             ("fallback_line", policy.fallback_line or ""), ("knowledge", catalog.knowledge)]
    texts += [(f"keyword_replies.{k}", v) for k, v in policy.keyword_replies.items()]
    for p in catalog.products:
        texts += [(f"product {p.id} name", p.name)]
        texts += [(f"product {p.id} selling point {i + 1}", t) for i, t in enumerate(p.selling_points)]
        texts += [(f"product {p.id} faq {i + 1}", f.a) for i, f in enumerate(p.faq)]
    return [(place, text) for place, text in texts if text]
