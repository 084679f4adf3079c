"""Banned words (违禁词): what the host must never say in a selling live.

A built-in list (banned_words.yaml: absolute claims, false authority, medical claims, guarantees)
plus each room's additions, minus its exceptions. Matching sees through what people write to get
past a filter: spaces and punctuation ("第 一", "最.低.价"), full-width letters and digits
("ＮＯ．１", "１００％"), case, and simple pinyin for the Chinese characters of a listed word
("zui di jia", "di yi pin pai", "zui低价"). A pinyin or Latin word must stand on its own (not inside
a longer Latin word), so "secure" does not hold "cure". A hit inside an allowed word ("最近" holds
"最") is no hit.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

BUILT_IN_FILE = Path(__file__).with_name("banned_words.yaml")
MAX_WORD_CHARS = 30


@dataclass(frozen=True, slots=True)
class Hit:
    """One banned word in a text: `word` as listed, `found` as written, at text[start:end]."""

    word: str
    start: int
    end: int
    found: str


def _keep(ch: str) -> bool:
    return ch.isalnum() or ch == "%"


def _fold(text: str) -> tuple[str, list[int]]:
    """`text` without spaces and punctuation, width- and case-folded, with the index in `text`
    of every character kept."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if _keep(c):
                out.append(c)
                where.append(i)
    return "".join(out), where


def _is_han(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


@functools.lru_cache(maxsize=4096)
def _syllable(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin  # ~0.15 s: only once a list is compiled

    return lazy_pinyin(ch, style=Style.NORMAL)[0]


def _pattern(folded_word: str) -> str:
    """A regex for a folded word: each Chinese character as itself or its pinyin."""
    parts = []
    for ch in folded_word:
        if _is_han(ch):
            parts.append(f"(?:{re.escape(ch)}|{re.escape(_syllable(ch))})")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


class _Matcher:
    """One compiled alternation of folded words, longest first; group names map back to words."""

    def __init__(self, words: Iterable[str]):
        folded: dict[str, str] = {}
        for word in words:
            f, _ = _fold(word)
            if f and f not in folded:
                folded[f] = word
        self.words = [folded[f] for f in sorted(folded, key=len, reverse=True)]
        order = sorted(folded, key=len, reverse=True)
        self._regex = re.compile("|".join(f"({_pattern(f)})" for f in order)) if order else None

    def spans(self, folded: str, where: list[int], text: str) -> list[tuple[str, int, int]]:
        """(listed word, start, end) in `folded` of every standalone match."""
        if self._regex is None:
            return []
        found = []
        for m in self._regex.finditer(folded):
            start, end = m.span()
            if not (_standalone(text, where, start, end)):
                continue
            found.append((self.words[m.lastindex - 1], start, end))
        return found


def _standalone(text: str, where: list[int], start: int, end: int) -> bool:
    """A match that begins or ends with a Latin letter must not run on into more Latin letters in
    the original text ("cure" in "secure", "zui" in "Zuider")."""
    first, last = where[start], where[end - 1]
    if _latin(text[first]) and first > 0 and _latin(text[first - 1]):
        return False
    if _latin(text[last]) and last + 1 < len(text) and _latin(text[last + 1]):
        return False
    return True


class BannedWords:
    """A compiled list of banned words with its exceptions. Thread-safe; reuse it (for_room caches)."""

    def __init__(self, words: Iterable[str], allow: Iterable[str] = ()):
        self._banned = _Matcher(w for w in words if w and w.strip())
        self._allowed = _Matcher(w for w in allow if w and w.strip())

    @property
    def words(self) -> list[str]:
        return list(self._banned.words)

    @classmethod
    def for_room(cls, add: Iterable[str] = (), allow: Iterable[str] = ()) -> "BannedWords":
        """The built-in list plus a room's additions, minus its exceptions (compiled once per list)."""
        return _for_room(tuple(sorted({w.strip() for w in add if w and w.strip()})),
                         tuple(sorted({w.strip() for w in allow if w and w.strip()})))

    def find(self, text: str) -> list[Hit]:
        """Every banned word in `text`, in order (the longest listed word at a place)."""
        if not text:
            return []
        folded, where = _fold(text)
        allowed = self._allowed.spans(folded, where, text)
        hits = []
        for word, start, end in self._banned.spans(folded, where, text):
            if any(a <= start and end <= b for _, a, b in allowed):
                continue
            first, last = where[start], where[end - 1] + 1
            hits.append(Hit(word, first, last, text[first:last]))
        return hits

    def words_in(self, text: str) -> list[str]:
        """The distinct listed words `text` holds, in order."""
        return list(dict.fromkeys(h.word for h in self.find(text)))

    def hit(self, text: str) -> str | None:
        """The first listed word `text` holds, or None (the interface of speakable's WordFilter)."""
        hits = self.find(text)
        return hits[0].word if hits else None




@functools.lru_cache(maxsize=1)
def built_in() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(words, allowed words) of the built-in list."""
    data = yaml.safe_load(BUILT_IN_FILE.read_text(encoding="utf-8"))
    words = tuple(str(w) for group in data["words"].values() for w in group)
    return words, tuple(str(w) for w in data.get("allow") or ())


@functools.lru_cache(maxsize=64)
def _for_room(add: tuple[str, ...], allow: tuple[str, ...]) -> BannedWords:
    words, allowed = built_in()
    excepted = {_fold(w)[0] for w in allow}
    return BannedWords((w for w in words + add if _fold(w)[0] not in excepted), allowed + allow)


def banned_of(settings: dict | None) -> BannedWords:
    """The banned words of a room's settings: key "banned_words" = {"add": [...], "allow": [...]}.
    An exception that is itself a listed word takes that word off the list."""
    given = (settings or {}).get("banned_words") or {}
    if not isinstance(given, dict):
        raise ValueError("banned_words must be a mapping with 'add' and 'allow' lists")
    add, allow = given.get("add") or [], given.get("allow") or []
    if not all(isinstance(w, str) for w in [*add, *allow]):
        raise ValueError("banned_words.add and banned_words.allow must be lists of words")
    return BannedWords.for_room(add, allow)


def describe(hits_by_place: dict[str, list[str]]) -> str:
    """One line naming each banned word and where: 'segment 3: 最低价, 第一; persona: 治愈'."""
    return "; ".join(f"{place}: {', '.join(words)}" for place, words in hits_by_place.items() if words)
