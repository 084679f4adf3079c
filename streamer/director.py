"""The Director walks a script and hands the Speaker one sentence, pause or action at a time."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from streamer.frames import Utterance
from streamer.script import Script, split_sentences
from streamer.stage import END, Pipe, Stage

log = logging.getLogger("livehost.director")


@dataclass(frozen=True, slots=True)
class Pause:
    """Silence for `ms` milliseconds."""

    ms: int


@dataclass(frozen=True, slots=True)
class Action:
    """Play the avatar's action clip `name` once."""

    name: str


@dataclass(frozen=True, slots=True)
class Position:
    """Where the director is in the script: loop round, segment and sentence (all 0-based)."""

    round: int = 0
    segment: int = 0
    sentence: int = 0


class Director(Stage):
    """Walks `script` in order (looping as it says) and puts Utterance / Pause / Action on `out`.

    The queue is small, so the director is never more than a sentence or two ahead of the voice.
    `position` is the next item to hand out, for status and for resuming after a restart.
    """

    def __init__(self, script: Script, out: Pipe, stop: threading.Event,
                 on_error: Callable[[str, BaseException], None], start: Position = Position()):
        super().__init__("director", stop, on_error)
        self.script = script
        self.out = out
        self.position = start

    def loop(self) -> None:
        rounds = self.script.loop
        r = self.position.round
        first = True
        while rounds == 0 or r < rounds:
            seg_start = self.position.segment if first else 0
            for s in range(seg_start, len(self.script.segments)):
                seg = self.script.segments[s]
                if seg.kind == "say":
                    sentences = split_sentences(seg.text)
                    k0 = self.position.sentence if first and s == seg_start else 0
                    for k in range(k0, len(sentences)):
                        self.position = Position(r, s, k)
                        self.out.put(Utterance(sentences[k], seg.voice))
                elif seg.kind == "pause":
                    self.position = Position(r, s, 0)
                    self.out.put(Pause(seg.ms))
                else:
                    self.position = Position(r, s, 0)
                    self.out.put(Action(seg.name))
                first = False
            first = False
            r += 1
        self.position = Position(r, 0, 0)
        log.info("script finished after %d round(s)", r)
        self.out.put(END)
