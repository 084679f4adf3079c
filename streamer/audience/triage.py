"""Triage: which of the audience's events the host answers, thanks or lets pass, and in what order.

A busy chat brings far more than a host can answer. The room's TriagePolicy says what is worth an
answer (everything, questions, keywords, mentions of the host), how many answers a minute, who and
what is blocked, what cuts the host off, and what is thanked. Comments wait in a small bounded
queue ordered by priority (paid messages, then questions and mentions, then chatter); when it is
full the lowest and oldest goes, and a comment that waited too long goes stale. Every decision is
counted and reported with the event's sequence number, so the dashboard and the database can say
what became of each message.

Triage is pure bookkeeping: it never speaks. streamer.audience.crowd asks it what to say next.
"""
from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from streamer.audience.events import AudienceEvent, Kind
from streamer.audience.speakable import AnyWords, WordFilter, speakable_name
from streamer.audience.thanks import Batch, thank_line
from streamer.settings import SettingsError

ANSWER_MODES = ("all", "questions", "keywords", "mentions")
INTERRUPTERS = ("superchat", "gift", "guard", "question")
THANKABLE = ("gift", "follow", "guard", "superchat")
NEAR_DUPLICATE = 90  # rapidfuzz ratio (0..100) at which two comments count as the same
RECENT = 64  # comments compared for near-duplicates
KEPT = 500  # recent events an operator can still answer by their number


@dataclass(frozen=True)
class TriagePolicy:
    """A room's `audience` settings (see the README's table); `language` is the room's."""

    answer: str = "all"
    keywords: tuple[str, ...] = ()
    host_names: tuple[str, ...] = ()
    replies_per_minute: int = 6
    queue_size: int = 30
    max_wait_s: float = 60.0
    dedupe_window_s: float = 120.0
    blocked_words: tuple[str, ...] = ()
    blocked_users: tuple[str, ...] = ()
    interrupt_on: tuple[str, ...] = ("superchat",)
    thank: tuple[str, ...] = ("gift", "guard", "follow")
    thank_min_value: float = 0.0
    thank_batch_s: float = 10.0
    read_names: bool = True
    language: str = "en"

    def __post_init__(self) -> None:
        if self.answer not in ANSWER_MODES:
            raise SettingsError(f"audience answer must be one of {', '.join(ANSWER_MODES)}, not {self.answer!r}")
        for name, values, allowed in (("interrupt_on", self.interrupt_on, INTERRUPTERS),
                                      ("thank", self.thank, THANKABLE)):
            bad = [v for v in values if v not in allowed]
            if bad:
                raise SettingsError(f"audience {name} takes {', '.join(allowed)}, not {bad[0]!r}")
        if not 0 <= self.replies_per_minute <= 600 or self.queue_size < 1:
            raise SettingsError("audience replies_per_minute must be 0..600 and queue_size at least 1")

    @classmethod
    def from_settings(cls, data: dict[str, Any] | None, language: str = "en") -> "TriagePolicy":
        data = data or {}
        if not isinstance(data, dict):
            raise SettingsError("audience settings must be a mapping")
        unknown = set(data) - set(cls.__dataclass_fields__) - {"language"}
        if unknown:
            raise SettingsError(f"unknown audience setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {"language": language}
        try:
            for key, value in data.items():
                default = cls.__dataclass_fields__[key].default
                if key == "language":
                    continue
                if isinstance(default, tuple):
                    values[key] = tuple(str(v) for v in (value or ()))
                elif isinstance(default, bool):
                    values[key] = bool(value)
                elif isinstance(default, (int, float)) and not isinstance(default, bool):
                    values[key] = type(default)(value)
                else:
                    values[key] = str(value)
        except (TypeError, ValueError) as e:
            raise SettingsError(f"bad audience settings: {e}") from None
        return cls(**values)


@dataclass(eq=False)
class Waiting:
    """A comment or paid message waiting for its answer."""

    seq: int
    event: AudienceEvent
    priority: int
    arrived: float
    name: str  # what the host may call the viewer ("" : no name)


@dataclass
class Counts:
    received: int = 0
    answered: int = 0
    thanked: int = 0
    skipped: int = 0
    dropped: int = 0


@dataclass
class Decision:
    """What triage made of one event on arrival: `action` queued, skipped, thanks, seen, or
    "interrupt" (answer it now, cutting the host off); `reason` for skipped."""

    seq: int
    action: str
    reason: str | None = None
    waiting: Waiting | None = None
    dropped: list[tuple[int, str]] = field(default_factory=list)  # (seq, reason) pushed out by it


_QUESTION_ZH = re.compile(r"什么|怎么|怎样|多少|几[号个点天时钱块]|哪|为什么|为啥|能不能|可不可以|是不是|有没有|咋|吗|呢[?？]?$|么[?？]?$")
_QUESTION_EN = re.compile(r"(?i)^\s*(how|what|why|when|where|who|which|can|could|do|does|did|is|are|will|would|"
                          r"should|any)\b")


def is_question(text: str) -> bool:
    return "?" in text or "？" in text or bool(_QUESTION_ZH.search(text)) or bool(_QUESTION_EN.search(text))


def _dedupe_key(text: str) -> str:
    """Case, width, spacing, punctuation and repeated characters ("hiiii!!!") ignored."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if c.isalnum())
    return re.sub(r"(.)\1{2,}", r"\1\1", text)


class Triage:
    """One live's triage. Thread-safe: events arrive from the sources' threads and the control
    stream, decisions are taken by the crowd's thread. `now` is time.monotonic(). `banned`: words
    (streamer.selling.banned) a viewer's name must not hold to be read aloud, besides the blocked ones."""

    def __init__(self, policy: TriagePolicy, seq_start: int = 1, clock=time.monotonic, banned=None):
        self.policy = policy
        self.clock = clock
        self.counts = Counts()
        self.online: int | None = None
        self._words = WordFilter(policy.blocked_words)
        self._unsayable = AnyWords(self._words, banned)  # what a name read aloud must not hold
        self._keywords = WordFilter(policy.keywords)
        self._mentions = WordFilter(policy.host_names)
        self._blocked_users = {u.strip().casefold() for u in policy.blocked_users if u.strip()}
        self._lock = threading.Lock()
        self._seq = seq_start - 1
        self._queue: list[Waiting] = []
        self._recent: deque[tuple[float, str]] = deque(maxlen=RECENT)  # (arrived, dedupe key) of comments
        self._kept: dict[int, AudienceEvent] = {}
        self._answers: deque[float] = deque()  # when the answers of the last minute were handed out
        self._comments: deque[float] = deque()  # when comments arrived, for comments a minute
        self._batches: dict[Kind, Batch] = {}

    # -- arrival (any thread) ------------------------------------------------------------------
    def receive(self, event: AudienceEvent) -> Decision:
        """Decide what to do with a new event; never blocks for long."""
        p = self.policy
        with self._lock:
            now = self.clock()
            self._seq += 1
            seq = self._seq
            self.counts.received += 1
            self._kept[seq] = event
            if len(self._kept) > KEPT:
                self._kept.pop(next(iter(self._kept)))
            kind = event.kind
            if kind == Kind.ONLINE:
                self.online = event.count
                return Decision(seq, "seen")
            if kind in (Kind.COMMENT, Kind.SUPERCHAT):
                self._comments.append(now)
            if self._is_blocked(event):
                return self._skip(seq, "blocked_user")
            if kind in (Kind.ENTER, Kind.LIKE):
                return Decision(seq, "seen")
            if kind in (Kind.GIFT, Kind.GUARD, Kind.FOLLOW):
                return self._to_thank(seq, event, now)
            # a comment or a paid message
            if self._words.hit(event.text) or self._words.hit(event.user):
                return self._skip(seq, "blocked_word")
            if not event.text.strip():
                return self._skip(seq, "empty") if kind == Kind.COMMENT else self._to_thank(seq, event, now)
            if p.replies_per_minute == 0:
                return self._skip(seq, "no_replies")
            question = is_question(event.text)
            if kind == Kind.COMMENT:
                if self._duplicate(event.text, now):
                    return self._skip(seq, "duplicate")
                reason = self._not_wanted(event.text, question)
                if reason:
                    return self._skip(seq, reason)
            if kind == Kind.SUPERCHAT and "superchat" in p.thank:
                self._batch(Kind.SUPERCHAT, seq, event, now)
            waiting = Waiting(seq, event, self._priority(event, question), now, self._name(event))
            if ("superchat" in p.interrupt_on and kind == Kind.SUPERCHAT) or \
                    ("question" in p.interrupt_on and question):
                self._handed(now)
                return Decision(seq, "interrupt", waiting=waiting)
            dropped = self._enqueue(waiting)
            if dropped and dropped[0][0] == seq:
                return Decision(seq, "dropped", "queue_full")
            return Decision(seq, "queued", waiting=waiting, dropped=dropped)

    def _is_blocked(self, event: AudienceEvent) -> bool:
        if not self._blocked_users:
            return False
        keys = {f"{event.platform}:{event.user_id}".casefold(), event.user.strip().casefold()}
        return bool(keys & self._blocked_users)

    def _skip(self, seq: int, reason: str) -> Decision:
        self.counts.skipped += 1
        return Decision(seq, "skipped", reason)

    def _not_wanted(self, text: str, question: bool) -> str | None:
        mode = self.policy.answer
        if mode == "questions" and not question:
            return "not_question"
        if mode == "keywords" and not self._keywords.hit(text):
            return "no_keyword"
        if mode == "mentions" and not self._mentions.hit(text):
            return "not_mentioned"
        return None

    def _duplicate(self, text: str, now: float) -> bool:
        window = self.policy.dedupe_window_s
        if window <= 0:
            return False
        key = _dedupe_key(text)
        while self._recent and now - self._recent[0][0] > window:
            self._recent.popleft()
        same = any(k == key or (len(key) >= 4 and fuzz.ratio(k, key) >= NEAR_DUPLICATE) for _, k in self._recent)
        if not same:
            self._recent.append((now, key))
        return same

    def _priority(self, event: AudienceEvent, question: bool) -> int:
        if event.kind == Kind.SUPERCHAT:
            return 3
        if question or self._mentions.hit(event.text):
            return 2
        return 1

    def _name(self, event: AudienceEvent) -> str:
        return speakable_name(event.user, self._unsayable) if self.policy.read_names else ""

    def _enqueue(self, waiting: Waiting) -> list[tuple[int, str]]:
        """Queue `waiting`; when full, drop the lowest-priority, oldest one (maybe `waiting` itself)."""
        self._queue.append(waiting)
        dropped = []
        while len(self._queue) > self.policy.queue_size:
            worst = min(self._queue, key=lambda w: (w.priority, w.arrived))
            self._queue.remove(worst)
            self.counts.dropped += 1
            dropped.append((worst.seq, "queue_full"))
        return dropped

    def _to_thank(self, seq: int, event: AudienceEvent, now: float) -> Decision:
        kind_name = str(event.kind)
        if kind_name not in self.policy.thank:
            return Decision(seq, "seen")
        if event.kind in (Kind.GIFT, Kind.GUARD) and event.value < self.policy.thank_min_value:
            return self._skip(seq, "below_min_value")
        self._batch(event.kind, seq, event, now)
        if kind_name in self.policy.interrupt_on:
            self._batches[event.kind].since = now - self.policy.thank_batch_s  # due at once
        return Decision(seq, "thanks")

    def _batch(self, kind: Kind, seq: int, event: AudienceEvent, now: float) -> None:
        batch = self._batches.setdefault(kind, Batch())
        batch.add(seq, f"{event.platform}:{event.user_id or event.user}", self._name(event), now)

    # -- what to say next (the crowd's thread) -------------------------------------------------
    def due_thanks(self) -> list[tuple[str, list[int], bool]]:
        """(line, seqs thanked, cut the host off) for every batch whose time has come."""
        out = []
        with self._lock:
            now = self.clock()
            for kind, batch in list(self._batches.items()):
                if batch.seqs and now - batch.since >= self.policy.thank_batch_s:
                    line = thank_line(kind, batch.names, batch.unnamed, self.policy.language)
                    urgent = str(kind) in self.policy.interrupt_on and kind != Kind.SUPERCHAT
                    out.append((line, batch.seqs, urgent))
                    self.counts.thanked += len(batch.seqs)
                    del self._batches[kind]
        return out

    def next_answer(self) -> tuple[Waiting | None, list[tuple[int, str]]]:
        """The comment to answer now if the rate allows (None if not), and the stale ones dropped."""
        stale = []
        with self._lock:
            now = self.clock()
            for w in [w for w in self._queue if now - w.arrived > self.policy.max_wait_s]:
                self._queue.remove(w)
                self.counts.dropped += 1
                stale.append((w.seq, "stale"))
            if not self._queue or not self._rate_allows(now):
                return None, stale
            best = max(self._queue, key=lambda w: (w.priority, -w.arrived))
            self._queue.remove(best)
            self._handed(now)
            return best, stale

    def _rate_allows(self, now: float) -> bool:
        while self._answers and now - self._answers[0] > 60.0:
            self._answers.popleft()
        return len(self._answers) < self.policy.replies_per_minute

    def _handed(self, now: float) -> None:
        self._answers.append(now)
        self.counts.answered += 1

    # -- the operator (any thread) ---------------------------------------------------------------
    def take(self, seq: int) -> Waiting | None:
        """Event `seq` to answer now (the operator's "answer now"), queued or not; None if unknown
        or not a comment."""
        with self._lock:
            for w in self._queue:
                if w.seq == seq:
                    self._queue.remove(w)
                    self._handed(self.clock())
                    return w
            event = self._kept.get(seq)
            if event is None or event.kind not in (Kind.COMMENT, Kind.SUPERCHAT) or not event.text.strip():
                return None
            self._handed(self.clock())
            return Waiting(seq, event, 3, self.clock(), self._name(event))

    def skip(self, seq: int) -> bool:
        """Take queued event `seq` out of the queue (the operator's "skip"); False if not queued."""
        with self._lock:
            for w in self._queue:
                if w.seq == seq:
                    self._queue.remove(w)
                    self.counts.skipped += 1
                    return True
            return False

    def block(self, user: str) -> list[int]:
        """Block "platform:user_id" or a name from now on; the queued comments it matches are
        taken out (their numbers returned)."""
        key = user.strip().casefold()
        with self._lock:
            self._blocked_users.add(key)
            gone = [w for w in self._queue if self._is_blocked(w.event)]
            for w in gone:
                self._queue.remove(w)
                self.counts.skipped += 1
            return [w.seq for w in gone]

    def drop_all(self) -> list[int]:
        """The live is ending: every waiting comment is dropped."""
        with self._lock:
            gone = [w.seq for w in self._queue]
            self.counts.dropped += len(gone)
            self._queue.clear()
            return gone

    # -- status ---------------------------------------------------------------------------------
    def status(self) -> dict:
        with self._lock:
            now = self.clock()
            while self._comments and now - self._comments[0] > 60.0:
                self._comments.popleft()
            c = self.counts
            return {"online": self.online, "per_minute": float(len(self._comments)), "queued": len(self._queue),
                    "received": c.received, "answered": c.answered, "thanked": c.thanked, "skipped": c.skipped,
                    "dropped": c.dropped}
