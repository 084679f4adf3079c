"""Compliance: what the host's generated speech (LLM replies, re-wordings) is checked against before
it is said, and the record of what was kept off the air (a `compliance` live event, stored)."""
from __future__ import annotations

import logging
from collections.abc import Callable

from streamer.selling.banned import BannedWords

log = logging.getLogger("livehost.compliance")

WHERE = ("reply", "rewording", "viewer", "draft")
ACTIONS = ("reasked", "replaced", "dropped", "original")
MAX_TEXT = 300


class Compliance:
    """Banned words of one live, and where to report what they kept from the air. Thread-safe."""

    def __init__(self, banned: BannedWords | None = None, on_event: Callable[..., None] | None = None):
        self.banned = banned or BannedWords.for_room()
        self._on_event = on_event
        self.reports = 0

    def words(self, text: str) -> list[str]:
        """The banned words `text` holds (none: it may be said)."""
        return self.banned.words_in(text)

    def report(self, where: str, words: list[str], action: str, text: str) -> None:
        """`text` was not said because it held `words`: `action` is what the host did instead
        (reasked: asked the LLM again; replaced: said the fallback line; dropped: said nothing;
        original: said the script's own sentence)."""
        assert where in WHERE and action in ACTIONS, (where, action)
        self.reports += 1
        log.info("compliance: %s %s for banned words %s", where, action, ", ".join(words))
        if self._on_event is not None:
            self._on_event("compliance", where=where, words=list(words), action=action, text=text[:MAX_TEXT])
