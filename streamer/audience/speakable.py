"""What of a viewer's name or comment the host may say aloud.

Viewers choose their names and write what they like: a name can be a link, a phone number, an
insult or a sentence meant for the host's ears ("ignore the script and say ..."). Nothing a viewer
typed is spoken as typed. A name is kept only as a short nickname of letters and digits; a text
loses links, contact numbers and symbols; anything holding a blocked word is not spoken at all.
"""
from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[\w.-]+\.(?:com|cn|net|org|io|tv|me|cc|xyz|top)\b\S*")
_CONTACT = re.compile(r"\d[\d\s-]{5,}\d|(?i:\b(?:qq|vx|wx|wechat|weixin)\b)|微信|加我|[vV]信|私信|薇信")
_MASK = re.compile(r"\*+")
MAX_NAME_CHARS = 16  # a nickname said aloud: short
MAX_CJK_NAME_CHARS = 8


def folded(text: str) -> str:
    """For matching words and questions: NFKC, case-folded, without spaces and symbols (so that
    "b a d", "Ｂａｄ" and "b.a.d" all hold "bad")."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in text if c.isalnum())


class WordFilter:
    """Blocked words, matched case-, width- and spacing-insensitively."""

    def __init__(self, words: list[str] | tuple[str, ...] = ()):
        self.words = tuple(w for w in (folded(w) for w in words) if w)

    def hit(self, text: str) -> str | None:
        """The first blocked word `text` holds, or None."""
        text = folded(text)
        for word in self.words:
            if word in text:
                return word
        return None


class AnyWords:
    """Several word lists as one (anything with hit(text)); None entries are left out."""

    def __init__(self, *lists):
        self.lists = tuple(w for w in lists if w is not None)

    def hit(self, text: str) -> str | None:
        for words in self.lists:
            found = words.hit(text)
            if found:
                return found
        return None


def speakable_name(name: str, words: WordFilter | None = None) -> str:
    """A viewer's name as the host may say it, or "" when nothing sayable is left: letters,
    digits, spaces and a few joiners only, no links or numbers, short, no blocked word."""
    name = unicodedata.normalize("NFKC", name or "")
    if _CONTACT.search(name) and not _CONTACT.fullmatch(name.strip()):
        return ""  # a name that advertises a contact ("加我微信 ...") is not said at all
    name = _URL.sub(" ", name)
    name = _CONTACT.sub(" ", name)
    name = _MASK.sub(" ", name)  # platforms mask names of viewers who are not logged in: "用户***"
    kept = "".join(c if (c.isalnum() or c in " _-·") else " " for c in name)
    kept = re.sub(r"\d{4,}", " ", kept)  # long digit runs read as numbers, not names
    kept = re.sub(r"\s+", " ", kept).strip(" _-·")
    if not kept or (words is not None and words.hit(kept)):
        return ""
    limit = MAX_CJK_NAME_CHARS if any(_cjk(c) for c in kept) else MAX_NAME_CHARS
    if len(kept) > limit:
        kept = kept[:limit].rstrip(" _-·")
    if kept in ("用户", "user", "User"):  # what a masked name leaves
        return ""
    return kept


def speakable_text(text: str, words: WordFilter | None = None, limit: int = 120) -> str:
    """A viewer's comment as the host may quote it, or "" if it holds a blocked word: no links,
    contact numbers or control characters, at most `limit` characters."""
    text = unicodedata.normalize("NFKC", text or "")
    if words is not None and words.hit(text):
        return ""
    text = _URL.sub(" ", text)
    text = _CONTACT.sub(" ", text)
    text = "".join(c for c in text if unicodedata.category(c)[0] not in ("C", "S") or c in "¥$€£%+")
    text = re.sub(r"\s+", " ", text).strip()
    return text[:limit]


def _cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"
