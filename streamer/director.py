"""The Director decides what the host says next: replies and operator text first, then the script.

The speaker pulls one item at a time with next(), so nothing is decided before it is needed and a
comment is answered right after the sentence being synthesized. Control (comment, say, interrupt,
pause, resume) comes from another thread; an interrupt rewinds the script to the sentence that
was cut and drops every pending reply, atomically with the generation bump.

A reply injected for a command (its id on the control stream) is that command's errand: the
director reports `command` (state "done") once the reply's last sentence has been on air (OnAir
calls aired()), or (state "cancelled") when an interrupt dropped it. Until then the command is
owed, and a live restarted elsewhere carries it out again (streamer.control.ledger).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from streamer.pipeline.generation import Generation
from streamer.frames import Utterance
from streamer.script import Alternatives, Script, plain, split_sentences
from streamer.selling.products import Catalog, Product
from streamer.selling.rewording import Rewriter
from streamer.pipeline.pipe import END, Stopped

log = logging.getLogger("livehost.director")

_POLL_S = 0.05  # longest the speaker waits inside next() before looking at stop again


@dataclass(frozen=True, slots=True)
class Position:
    """Where the director is in the script: loop round, segment and sentence (all 0-based)."""

    round: int = 0
    segment: int = 0
    sentence: int = 0

    def as_dict(self) -> dict:
        return {"round": self.round, "segment": self.segment, "sentence": self.sentence}


@dataclass(frozen=True, slots=True)
class Pause:
    """Silence for `ms` milliseconds."""

    ms: int
    gen: int = 0
    position: Position | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """Play the avatar's action clip `name` (once, looped, or as the clip says when `loop` is None)."""

    name: str
    gen: int = 0
    position: Position | None = None
    loop: bool | None = None


class Lines:
    """Fixed sentences with the Reply interface (operator `say`, scripted fallbacks)."""

    def __init__(self, text: str, comment_id: int | None = None, source: str = "say"):
        self._left = deque(split_sentences(text))
        self._said: list[str] = []
        self.comment_id = comment_id
        self.source = source
        self.audience: int | None = None  # the number of the viewer event it answers, if any

    def next_sentence(self, timeout: float) -> str | None:
        if not self._left:
            return None
        self._said.append(self._left.popleft())
        return self._said[-1]

    def cancel(self) -> None:
        self._left.clear()

    @property
    def text(self) -> str:
        return " ".join(self._said)


@dataclass(eq=False)
class _Errand:
    """The speech a command asked for: open until every sentence of `reply` has been on air."""

    command: str
    reply: object
    unaired: set[int] = field(default_factory=set)  # utterances handed out and not yet heard to their end
    handed_all: bool = False  # the reply has no sentence left


def product_at(script: Script, catalog: Catalog, pos: Position) -> Product | None:
    """The product presented at script position `pos`: the last product segment before it (for a
    later loop, the script's last one when none comes before it)."""
    segments = script.segments
    before = [s for s in segments[:pos.segment] if s.kind == "product"]
    if not before and pos.round > 0:
        before = [s for s in segments if s.kind == "product"]
    return catalog.get(before[-1].name) if before else None


class Director:
    """Hands the speaker Utterance / Pause / Action items, then END when the script is over.

    Thread use: next() from the speaker thread only; aired() from the encoder's; inject(), cut(),
    pause() and resume() from any thread. `position` is the script item most recently handed out.
    """

    def __init__(self, script: Script, gen: Generation, on_event: Callable[..., None],
                 start: Position = Position(), *, catalog: Catalog = Catalog(), rewriter: Rewriter | None = None,
                 alternatives: Alternatives | None = None):
        self.script = script
        self.gen = gen
        self.on_event = on_event
        self.start = start
        self.catalog = catalog
        self.rewriter = rewriter if script.loop != 1 else None  # a script said once is never re-worded
        self.position: Position | None = None
        self._sentences = [split_sentences(s.text) if s.kind == "say" else [] for s in script.segments]
        self._alternatives = alternatives or Alternatives()
        self._cursor: Position | None = self._resolve(start)
        self.product: Product | None = product_at(script, catalog, start)
        self._agenda: deque = deque()  # Reply-like objects, spoken before the script
        self._errands: dict[int, _Errand] = {}  # id(reply) -> the command it carries out, until done
        self._paused = False
        self._hold_until = 0.0
        self._carried: Pause | None = None  # the rest of a script pause a reply cut into
        self._cv = threading.Condition()

    # -- control (any thread) -------------------------------------------------------------------
    def inject(self, reply, front: bool = False, command: str | None = None) -> None:
        """Queue a reply (anything with next_sentence/cancel/text) to speak before the script;
        `command`: the id of the command it carries out (reported done once it has been on air)."""
        with self._cv:
            (self._agenda.appendleft if front else self._agenda.append)(reply)
            self._open(reply, command)
            self._cv.notify_all()

    def cut(self, resume_at: Position | None, hold: float, at: float | None = None, then=None,
            command: str | None = None) -> int:
        """Interrupt: new generation, pending replies cancelled, script rewound to `resume_at`,
        and the script held for `hold` seconds (replies and say injected later still go first).
        `then`, if given, is the reply to speak first (queued in the same step), carrying out
        `command`. Every open errand ends "cancelled": what it had not said is dropped."""
        with self._cv:
            gen = self.gen.bump(at)
            for reply in self._agenda:
                reply.cancel()
                self._reply_done(reply, cut=True)
            self._agenda.clear()
            for errand in list(self._errands.values()):
                self._close(errand, "cancelled")
            if resume_at is not None:
                carried = self._carried
                if carried is not None and resume_at == carried.position:
                    # cut while the replies that took this pause's place were on air: its rest is owed
                    self._cursor = self._resolve(self.after(carried.position))
                else:
                    self._cursor = self._resolve(resume_at)
                    self._carried = None
            self._hold_until = time.monotonic() + hold
            if then is not None:
                self._agenda.append(then)
                self._open(then, command)
            self._cv.notify_all()
            return gen

    def carry(self, rest: Pause) -> None:
        """The speaker gave up the rest of a script pause for a waiting reply: it comes next after
        the replies (speaker thread)."""
        with self._cv:
            self._carried = rest

    def carried_at(self) -> Position | None:
        """The script pause whose rest comes after the replies now waiting or on air, if any."""
        with self._cv:
            return self._carried.position if self._carried is not None else None

    def aired(self, utterance_id: int) -> None:
        """Utterance `utterance_id`, and every one handed out before it, is over on air (called by
        OnAir when a sentence has been heard to its end): a command whose reply has no sentence
        left and none still to air is done."""
        with self._cv:
            for errand in list(self._errands.values()):
                errand.unaired = {u for u in errand.unaired if u > utterance_id}
                self._close_if_over(errand)

    def pause(self) -> None:
        with self._cv:
            self._paused = True

    def resume(self) -> None:
        with self._cv:
            self._paused = False
            self._hold_until = 0.0
            self._cv.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def pending(self) -> int:
        """Replies and texts waiting to be spoken (the current one included)."""
        return len(self._agenda)

    # -- the speaker's side -----------------------------------------------------------------------
    def next(self, stop: threading.Event):
        """The next item to speak; blocks while paused or waiting for a reply. Raises Stopped."""
        while True:
            if stop.is_set():
                raise Stopped
            with self._cv:
                gen = self.gen.value
                reply = self._agenda[0] if self._agenda else None
                if reply is None:
                    if self._paused or time.monotonic() < self._hold_until:
                        self._cv.wait(_POLL_S)
                        continue
                    return self._script_item(gen)
            try:
                sentence = reply.next_sentence(_POLL_S)
            except TimeoutError:
                continue
            with self._cv:
                if not self._agenda or self._agenda[0] is not reply:
                    continue  # cut meanwhile: what it said is stale
                errand = self._errands.get(id(reply))
                if sentence is None:
                    self._agenda.popleft()
                    self._reply_done(reply, cut=False)
                    if errand is not None:
                        errand.handed_all = True
                        self._close_if_over(errand)
                    continue
                u = Utterance(sentence, None, gen=gen, source=getattr(reply, "source", "say"),
                              reply_to=getattr(reply, "comment_id", None),
                              asked_at=getattr(reply, "asked_at", None))
                reply.asked_at = None  # only its first sentence measures how long the answer took
                if errand is not None:
                    errand.unaired.add(u.id)
            return u

    def _script_item(self, gen: int):
        if self._carried is not None:
            rest, self._carried = self._carried, None
            return Pause(rest.ms, gen, rest.position)
        while True:
            pos = self._cursor
            if pos is None:
                return END
            seg = self.script.segments[pos.segment]
            self._cursor = self._resolve(Position(pos.round, pos.segment, pos.sentence + 1))
            self.position = pos
            if seg.kind == "product":
                self._show(seg.name)
                continue
            if seg.kind == "say":
                return Utterance(self._sentence(pos), seg.voice, gen=gen, position=pos)
            if seg.kind == "pause":
                return Pause(seg.ms, gen, pos)
            return Action(seg.name, gen, pos)

    def _sentence(self, pos: Position) -> str:
        """The script's sentence at `pos` as said this time: re-worded when a re-wording is ready,
        else with its alternatives chosen; the next loop's re-wording is asked for now."""
        original = self._sentences[pos.segment][pos.sentence]
        where = (pos.segment, pos.sentence)
        text = self.rewriter.take(pos) if self.rewriter is not None and pos.round > 0 else None
        if text is None:
            text = self._alternatives.render(where, original)
        if self.rewriter is not None and (self.script.loop == 0 or pos.round + 1 < self.script.loop):
            self.rewriter.prepare(Position(pos.round + 1, pos.segment, pos.sentence), plain(original))
        return text

    def _show(self, product_id: str) -> None:
        """Product `product_id` is the current one from here on (an event when it changes)."""
        product = self.catalog.get(product_id)
        if product is None or product is self.product:
            return
        self.product = product
        self.on_event("product", product=product.id, name=product.name)

    # -- errands (call with the lock held) ---------------------------------------------------------
    def _open(self, reply, command: str | None) -> None:
        if command is not None:
            self._errands[id(reply)] = _Errand(command, reply)

    def _close_if_over(self, errand: _Errand) -> None:
        if errand.handed_all and not errand.unaired:
            self._close(errand, "done")

    def _close(self, errand: _Errand, state: str) -> None:
        if self._errands.pop(id(errand.reply), None) is not None:
            self.on_event("command", command_id=errand.command, state=state)

    def _reply_done(self, reply, cut: bool) -> None:
        if getattr(reply, "comment_id", None) is None and reply.source == "say":
            return
        seq = getattr(reply, "audience", None)
        self.on_event("reply", comment_id=getattr(reply, "comment_id", None), text=reply.text,
                      source=reply.source, cut=cut, **({"audience": seq} if seq is not None else {}))
        if seq is not None:  # a viewer's message from the platform's chat: what became of it
            said = reply.text
            self.on_event("audience_action", seq=seq, action="answered" if said else "dropped",
                          reason=("interrupted" if cut else None) if said or cut else "empty_reply",
                          reply=said or None)

    # -- script positions -------------------------------------------------------------------------
    def _resolve(self, pos: Position) -> Position | None:
        """`pos` moved forward to the first item that exists, or None past the script's end."""
        r, s, k = pos.round, pos.segment, pos.sentence
        segments = self.script.segments
        while self.script.loop == 0 or r < self.script.loop:
            while s < len(segments):
                count = len(self._sentences[s]) if segments[s].kind == "say" else 1
                if k < count:
                    return Position(r, s, k)
                s, k = s + 1, 0
            r, s, k = r + 1, 0, 0
        return None

    def after(self, pos: Position) -> Position:
        """The item following `pos` (past the end: a position that resolves to the end)."""
        nxt = self._resolve(Position(pos.round, pos.segment, pos.sentence + 1))
        return nxt if nxt is not None else Position(self.script.loop or pos.round + 1, 0, 0)
