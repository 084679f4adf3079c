"""What the Director consumes to answer a live comment: a Reply hands out sentences as they are
ready; a Replier starts one per comment. Also the scripted (keyword rules) Replier."""
from __future__ import annotations

import logging
import queue
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from streamer.audience.speakable import speakable_name, speakable_text
from streamer.llm.context import ReplyContext
from streamer.script import split_sentences

log = logging.getLogger("livehost.llm")

DEFAULT_REPLY = "Thanks for your comment{user_suffix}!"
DEFAULT_FALLBACK = "Sorry, let me get back to that in a moment."
# the built-in lines in each room language: (default reply, fallback line)
BUILT_IN = {"en": (DEFAULT_REPLY, DEFAULT_FALLBACK),
            "zh": ("谢谢你的评论{user_suffix}！", "抱歉，这个问题我稍后再回答。")}
_END = object()


@dataclass(frozen=True)
class ReplyRules:
    """How the host answers without (or when failing to reach) an LLM; from the room's settings.

    `keyword_replies`: keyword -> reply; the longest keyword found in the comment (case-insensitive)
    wins. `default_reply`: said when no keyword matches. Replies may hold the placeholders {user},
    {comment} and {user_suffix} (", NAME" or nothing). `fallback_line`: said when the LLM fails or
    times out. `max_reply_chars`: a reply is cut at the last sentence end within this many chars.
    """

    keyword_replies: dict[str, str] = field(default_factory=dict)
    default_reply: str = DEFAULT_REPLY
    fallback_line: str = DEFAULT_FALLBACK
    max_reply_chars: int = 300
    words: object | None = None  # what viewers' names and comments must not hold to be said (has .hit(text))

    def __post_init__(self) -> None:
        if self.max_reply_chars < 10:
            raise ValueError(f"max_reply_chars must be at least 10, not {self.max_reply_chars}")

    def match(self, comment: str, user: str = "") -> str:
        """The reply text for `comment` by these rules, placeholders filled in."""
        folded = comment.casefold()
        for keyword in sorted(self.keyword_replies, key=len, reverse=True):
            if keyword.strip() and keyword.casefold() in folded:
                return fill(self.keyword_replies[keyword], comment, user, self.words)
        return fill(self.default_reply, comment, user, self.words)


def fill(template: str, comment: str, user: str, words=None) -> str:
    """Fill {user}, {comment} and {user_suffix} with what of the viewer's name and comment may be
    said aloud (streamer.audience.speakable; nothing that holds one of `words`); without a user
    name, tidy "Hi , !" to "Hi!"."""
    user, comment = speakable_name(user, words), speakable_text(comment, words)
    at = template.find("{user_suffix}")
    comma = "，" if at > 0 and _cjk(template[at - 1]) else ", "  # 谢谢你的评论，小明！
    text = (template.replace("{user_suffix}", f"{comma}{user}" if user else "")
            .replace("{user}", user).replace("{comment}", comment.strip()))
    if not user:
        text = re.sub(r"\s*[,，、]\s*(?=[!?.。！？；;…,，]|$)", "", text)  # "Thank you, !"
        text = re.sub(r"[ \t]+(?=[,，、!?.。！？；;…])", "", text)  # "Hi , welcome", "Thanks !"
        text = re.sub(r"[ \t]{2,}", " ", text).strip()
        if text[:1] in ",，、":  # "{user}, welcome!"
            text = text.lstrip(" ,，、")
            text = text[:1].upper() + text[1:]
    return text.strip()


def join_sentences(sentences: list[str]) -> str:
    """Sentences as one text: a space between them, none between two CJK sentences."""
    text = ""
    for s in sentences:
        if text and not (_cjk(text[-1]) and _cjk(s[0])):
            text += " "
        text += s
    return text


def _cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" or "\u3000" <= ch <= "\u303f"


class Reply:
    """One answer to one comment, handed out sentence by sentence.

    The consumer (the Director) calls next_sentence() in a loop; the producer (a Replier's worker)
    calls push() and finish(). Both sides may live on different threads. The reply never exceeds
    `max_chars`: a sentence that would pass the limit ends it (a first sentence that alone is too
    long is cut at a comma or space).
    """

    def __init__(self, comment: str, user: str = "", comment_id: int | None = None, source: str = "rules",
                 max_chars: int = 300, on_cancel: Callable[[], None] | None = None):
        self.comment, self.user, self.comment_id = comment, user, comment_id
        self._source = source
        self._max_chars = max_chars
        self._on_cancel = on_cancel
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._accepted: list[str] = []  # what push() let through, in order
        self._handed: list[str] = []  # what next_sentence() returned
        self._closed = False  # no more push() accepted: finished, full or cancelled
        self._over = False  # the consumer has seen the end
        self.cancelled = threading.Event()
        self.audience: int | None = None  # the number of the viewer event it answers, if any

    @property
    def source(self) -> str:
        """Where the sentences come from: "llm", "fallback" (the LLM failed) or "rules"."""
        return self._source

    @property
    def text(self) -> str:
        """Everything handed out by next_sentence() so far, joined."""
        with self._lock:
            return join_sentences(self._handed)

    def next_sentence(self, timeout: float) -> str | None:
        """The next sentence; None once the reply is over or cancelled (and on every later call).

        Raises TimeoutError when nothing arrives within `timeout` seconds; the caller loops.
        """
        if self._over or self.cancelled.is_set():
            return None
        try:
            item = self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError(f"no sentence within {timeout:g} s") from None
        if item is _END or self.cancelled.is_set():
            self._over = True
            return None
        with self._lock:
            self._handed.append(item)
        return item

    def cancel(self) -> None:
        """Stop the reply (an operator interrupt). Idempotent, returns at once, any thread."""
        with self._lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            self._closed = True
        self._queue.put(_END)  # wakes a consumer blocked in next_sentence()
        if self._on_cancel is not None:
            try:
                self._on_cancel()
            except Exception:  # noqa: BLE001 - cancelling must never raise into the caller
                log.exception("reply to comment %s: cancelling the producer failed", self.comment_id)

    # Producer side.

    def push(self, sentence: str) -> bool:
        """Queue one sentence. False when the reply takes no more (full, finished or cancelled)."""
        sentence = sentence.strip()
        with self._lock:
            if self._closed:
                return False
            if sentence:
                fits = len(join_sentences(self._accepted + [sentence])) <= self._max_chars
                if not fits and not self._accepted:
                    sentence, fits = _shorten(sentence, self._max_chars), True
                    self._closed = True
                if not fits:
                    self._closed = True
                    self._queue.put(_END)
                    return False
                self._accepted.append(sentence)
                self._queue.put(sentence)
            if self._closed:
                self._queue.put(_END)
            return not self._closed

    def finish(self, source: str | None = None) -> None:
        """No more sentences; `source` (when given) relabels the reply, e.g. "fallback"."""
        with self._lock:
            if source is not None:
                self._source = source
            if self._closed:
                return
            self._closed = True
        self._queue.put(_END)

    @property
    def spoken(self) -> int:
        """How many sentences the producer got accepted (said or about to be)."""
        with self._lock:
            return len(self._accepted)


def _shorten(sentence: str, limit: int) -> str:
    """A sentence too long for the reply, cut at its last comma or space within `limit`."""
    head = sentence[:limit - 3]
    cut = max(head.rfind(c) for c in "，,、 ")
    return (head[:cut] if cut > limit // 3 else head).rstrip(" ,，、") + ("…" if _cjk(head[-1]) else "...")


class Replier(ABC):
    """Starts a Reply for each viewer comment. reply() never blocks; close() stops its workers."""

    @abstractmethod
    def reply(self, comment: str, user: str = "", comment_id: int | None = None,
              context: ReplyContext | None = None) -> Reply:
        """A Reply to `comment` from viewer `user`, already being produced. `context`: the persona,
        facts and recent exchanges the answer is grounded in, where the replier uses any (LLM)."""

    def close(self) -> None:
        """Stop background work; pending replies end. The replier may be used again afterwards."""


class ScriptedReplier(Replier):
    """Replies from ReplyRules: the longest matching keyword's reply, else the default reply."""

    def __init__(self, rules: ReplyRules | None = None):
        self.rules = rules or ReplyRules()

    def reply(self, comment: str, user: str = "", comment_id: int | None = None,
              context: ReplyContext | None = None) -> Reply:
        reply = Reply(comment, user, comment_id, source="rules", max_chars=self.rules.max_reply_chars)
        for sentence in split_sentences(self.rules.match(comment, user)):
            if not reply.push(sentence):
                break
        reply.finish()
        return reply
