"""Incremental sentence cutting for text that arrives a few characters at a time (LLM tokens)."""
from __future__ import annotations

import re

# Same sentence ends as streamer.script.split_sentences, plus newlines; the delimiter stays with
# its sentence, and closing quotes or brackets right after it stay too.
ENDS = ".!?。！？；;…"
_CLOSERS = "\"'”’」』)）】》"
_COMMAS = "，,、"
LONG_RUN = 80  # characters without a sentence end after which a comma may end a piece
_MIN_PIECE = 8  # never cut a comma piece shorter than this
_WORD = re.compile(r"\w")


class SentenceCutter:
    """Cuts a growing text into sentences for streaming TTS. Not thread-safe: one owner.

    feed() takes the next piece of text and returns the sentences it completed; flush() returns
    what is left once the text is over. A sentence end only counts once the character after it
    has arrived, so "3." followed by "5" stays "3.5" and "!" followed by "!" stays "!!". A run of
    more than LONG_RUN characters without a sentence end is cut after its last comma.
    """

    def __init__(self) -> None:
        self._buf = ""

    def feed(self, delta: str) -> list[str]:
        self._buf += delta
        return self._cut(final=False)

    def flush(self) -> list[str]:
        out = self._cut(final=True)
        rest, self._buf = self._buf, ""
        return out + _keep([rest])

    def _cut(self, final: bool) -> list[str]:
        buf, pieces, start, i = self._buf, [], 0, 0
        while i < len(buf):
            ch = buf[i]
            if ch == "\n":
                pieces.append(buf[start:i])
                start = i = i + 1
                continue
            if ch not in ENDS:
                i += 1
                continue
            j = i
            while j < len(buf) and buf[j] in ENDS:
                j += 1
            run_end = j
            while j < len(buf) and buf[j] in _CLOSERS:
                j += 1
            if j == len(buf) and not final:
                break  # the run may go on, or a digit may follow "3."
            if run_end - i == 1 and ch == "." and j == run_end and j < len(buf) and _ascii_alnum(buf[j]):
                i = j  # "3.5", "v1.2", "example.com": a dot inside a word is not an end
                continue
            pieces.append(buf[start:j])
            start = i = j
        rest = buf[start:]
        while len(rest) > LONG_RUN:
            k = _last_comma(rest)
            if k is None:
                break
            pieces.append(rest[:k + 1])
            rest = rest[k + 1:]
        self._buf = rest
        return _keep(pieces)


def _last_comma(text: str) -> int | None:
    """Index of the last comma that can end a piece (not "1,000", not the last character)."""
    for k in range(len(text) - 2, _MIN_PIECE - 1, -1):
        if text[k] in _COMMAS:
            if text[k] == "," and text[k - 1].isdigit() and text[k + 1].isdigit():
                continue
            return k
    return None


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _keep(pieces: list[str]) -> list[str]:
    """Stripped pieces that have something to say (at least one word character)."""
    return [p for p in (p.strip() for p in pieces) if _WORD.search(p)]
