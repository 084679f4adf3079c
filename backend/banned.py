"""Banned words (违禁词) on save: a script, a product or a room's replies and persona holding a
word advertising law or the platforms forbid is refused with a 422 that names each word and the
field it is in, so the operator can change it before any live could say it. The words are the
streamer's (streamer.selling.banned): what is refused here is what a live would keep off the air."""
from __future__ import annotations

from collections.abc import Iterable

from backend.errors import REASONS, ApiError
from streamer.selling.banned import BannedWords


def check_banned(texts: Iterable[tuple[str, str]], banned: BannedWords) -> None:
    """422 "banned_words" if any of `texts` ((field, text) pairs, the field as the 422s of
    validation name it: "segments.2.say") holds a banned word; each field with its words."""
    found: dict[str, list[str]] = {}
    for field, text in texts:
        words = banned.words_in(text) if text else []
        if words:
            found[field] = words
    if not found:
        return
    fields = {field: REASONS["banned_words"].format(words=", ".join(words)) for field, words in found.items()}
    reasons = {field: {"reason": "banned_words", "params": {"words": words}} for field, words in found.items()}
    every = list(dict.fromkeys(word for words in found.values() for word in words))
    message = "banned words (违禁词): " + "; ".join(f"{', '.join(words)} in {field}" for field, words in found.items())
    raise ApiError(422, "banned_words", message, fields, reason="banned_words", params={"words": every},
                   field_reasons=reasons)
