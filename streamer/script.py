"""Scripts: what the host says, in order. A script is ordered segments (say, pause, action,
product) that may loop. Loaded from YAML/JSON, or from plain text where every non-empty line is said.

A say text may hold alternatives, `{今天|现在}` or `{Hi|Hello} there`: each time the sentence is
said one of them is chosen (never the one said last time), so a looping script is never the same
word for word. A `product` segment makes that product the current one for what follows."""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml


class ScriptError(Exception):
    """A script cannot be used. One-line message naming the file and segment."""


@dataclass(frozen=True, slots=True)
class Segment:
    kind: str  # "say" | "pause" | "action" | "product"
    text: str = ""
    ms: int = 0
    name: str = ""  # the clip of an action, the product id of a product
    voice: str | None = None


@dataclass(frozen=True)
class Script:
    """Segments played in order, `loop` times in all (0 = for ever)."""

    segments: tuple[Segment, ...]
    loop: int = 1
    title: str = ""


# Sentence ends in English and Chinese; the delimiter stays with its sentence.
_SENTENCE = re.compile(r"[^.!?。！？；;…]+(?:[.!?。！？；;…]+|$)")


_GROUP = re.compile(r"\{([^{}]*)\}")
_HELD = re.compile("\ue000(\\d+)\ue001")
_INNER_DOT = re.compile(r"(?<=[0-9A-Za-z])\.(?=[0-9A-Za-z])")  # "59.9", "v1.2", "example.com": not an end


def split_sentences(text: str) -> list[str]:
    """Cut text into sentences on English and Chinese punctuation, for streaming TTS. An
    alternatives group `{a|b}` is never cut, whatever punctuation it holds, nor a dot inside a
    number or a word ("59.9元")."""
    groups: list[str] = []

    def hold(m: re.Match) -> str:
        groups.append(m.group(0))
        return f"\ue000{len(groups) - 1}\ue001"

    held = _INNER_DOT.sub("\ue002", _GROUP.sub(hold, text.replace("\n", " ")))
    parts = [_HELD.sub(lambda m: groups[int(m.group(1))], m.group(0).strip()).replace("\ue002", ".")
             for m in _SENTENCE.finditer(held)]
    return [p for p in parts if re.search(r"\w", p)]


def check_alternatives(text: str) -> str | None:
    """Why the `{a|b}` groups of `text` are malformed (unbalanced or nested braces), or None."""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
            if depth > 1:
                return "alternatives cannot be nested: {a|{b|c}}"
        elif ch == "}":
            depth -= 1
            if depth < 0:
                return "a '}' closes no '{' (alternatives are written {a|b})"
    return "a '{' is not closed (alternatives are written {a|b})" if depth else None


class Alternatives:
    """Chooses the alternatives of sentences, a different one each time where there is a choice.
    One per live (the speaker's thread): `render(key, sentence)` remembers per key what it chose."""

    def __init__(self, rng: random.Random | None = None):
        self._rng = rng or random.Random()
        self._last: dict[tuple, int] = {}

    def render(self, key: tuple, sentence: str) -> str:
        if "{" not in sentence:
            return sentence
        count = [0]

        def choose(m: re.Match) -> str:
            options = m.group(1).split("|")
            slot = (*key, count[0])
            count[0] += 1
            choices = [i for i in range(len(options)) if i != self._last.get(slot)] or [0]
            pick = self._rng.choice(choices)
            self._last[slot] = pick
            return options[pick]
        return re.sub(r"\s{2,}", " ", _GROUP.sub(choose, sentence)).strip()


def plain(sentence: str) -> str:
    """A sentence with each alternatives group replaced by its first choice (for checks and counts)."""
    return _GROUP.sub(lambda m: m.group(1).split("|")[0], sentence)


def parse_script(data: object, source: str = "script") -> Script:
    if isinstance(data, list):
        data = {"segments": data}
    if not isinstance(data, dict):
        raise ScriptError(f"{source}: expected a mapping with 'segments' or a list of segments")
    raw = data.get("segments")
    if not isinstance(raw, list) or not raw:
        raise ScriptError(f"{source}: the script is empty (no segments)")
    segments = [_segment(item, i, source) for i, item in enumerate(raw)]
    if not any(s.kind == "say" and split_sentences(s.text) for s in segments):
        raise ScriptError(f"{source}: the script has nothing to say")
    loop = data.get("loop", 1)
    if loop is True or loop == "forever":
        loop = 0
    if not isinstance(loop, int) or isinstance(loop, bool) or loop < 0:
        raise ScriptError(f"{source}: loop must be a count >= 1 or 'forever', not {loop!r}")
    return Script(tuple(segments), loop, str(data.get("title", "")))


def _segment(item: object, i: int, source: str) -> Segment:
    where = f"{source}: segment {i + 1}"
    if isinstance(item, str):
        item = {"say": item}
    if not isinstance(item, dict):
        raise ScriptError(f"{where}: expected a mapping like {{say: text}}, not {item!r}")
    kinds = [k for k in ("say", "pause", "action", "product") if k in item]
    if len(kinds) != 1:
        raise ScriptError(f"{where}: needs exactly one of say, pause, action, product")
    kind = kinds[0]
    value = item[kind]
    voice = item.get("voice")
    if kind == "say":
        if not isinstance(value, str) or not value.strip():
            raise ScriptError(f"{where}: say needs non-empty text")
        problem = check_alternatives(value)
        if problem:
            raise ScriptError(f"{where}: {problem}")
        return Segment("say", text=value.strip(), voice=voice)
    if kind == "product":
        if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip():
            raise ScriptError(f"{where}: product needs the product's id, not {value!r}")
        return Segment("product", name=str(value).strip())
    if kind == "pause":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 600_000:
            raise ScriptError(f"{where}: pause is in milliseconds, 1..600000, not {value!r}")
        return Segment("pause", ms=int(value))
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
        raise ScriptError(f"{where}: action needs a clip name (letters, digits, _ -), not {value!r}")
    return Segment("action", name=value)


def load_script(path: str | Path) -> Script:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScriptError(f"script file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ScriptError(f"cannot read script {path}: {e}") from None
    suffix = path.suffix.lower()
    try:
        if suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            data = [line.strip() for line in text.splitlines() if line.strip()]
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise ScriptError(f"{path}: not valid {suffix[1:].upper()}: {str(e).splitlines()[0]}") from None
    if data is None or data == []:
        raise ScriptError(f"{path}: the script is empty (no segments)")
    return parse_script(data, str(path))
