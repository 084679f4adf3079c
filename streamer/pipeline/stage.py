"""What a stage is: a named thread with one setup object, a loop, and one hook for interrupts.

Every stage of a live gets the same StageSetup (stop, interrupt generation, error and event
callbacks, the wall clock), so a stage's constructor names only what is its own: its pipes and tools.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from streamer.frames import FrameKind, Tick
from streamer.pipeline.generation import Generation
from streamer.pipeline.pipe import END, Pipe, Stopped

log = logging.getLogger("livehost.stage")

EventHandler = Callable[..., None]


class WallClock:
    """Monotonic time and waiting, in one place, so that a test can give the stages another clock."""

    def now(self) -> float:
        return time.monotonic()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        """Sleep `seconds`, or less if the live stops; True if it did."""
        return stop.wait(seconds)


@dataclass(frozen=True)
class StageSetup:
    """What every stage of one live shares, built once by the live.

    `on_error(stage, exception)` fails the live; `on_event(kind, **fields)` reports what happened
    (from stage threads); `gen` is the live's interrupt generation.
    """

    stop: threading.Event
    gen: Generation
    on_error: Callable[[str, BaseException], None]
    on_event: EventHandler
    wall: WallClock = field(default_factory=WallClock)


class Stage(threading.Thread):
    """A pipeline stage: one thread running `loop()` until END, stop, or an error.

    A stage reads its input with receive(); the first item after an interrupt goes to
    interrupted() first, the one place where a stage drops what it holds. An exception in a
    stage is reported through the setup's `on_error` (the live fails and stops); Stopped is the
    normal way out when the live stops.
    """

    def __init__(self, name: str, setup: StageSetup, inp: Pipe | None = None, out: Pipe | None = None):
        super().__init__(name=name, daemon=True)
        self.setup = setup
        self.gen, self.stop_event, self.on_event, self.wall = setup.gen, setup.stop, setup.on_event, setup.wall
        self.inp, self.out = inp, out
        self._seen = setup.gen.value

    def loop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def receive(self):
        """The next item from `inp` (END at the end), after interrupted() if one happened since the last."""
        item = self.inp.get()
        if item is not END:
            self.look_for_interrupt(item)
        return item

    def look_for_interrupt(self, item) -> None:
        """Call interrupted(item) once if the live was interrupted since this stage last looked."""
        now = self.gen.value
        if now != self._seen:
            self._seen = now
            self.interrupted(item)

    def interrupted(self, item) -> None:
        """The live was cut off; `item` is the first one since. Drop or flush what is held."""

    def stale(self, tick: Tick) -> bool:
        """Is this tick's content (speech, a clip) from before the last interrupt?"""
        return tick.kind is not FrameKind.IDLE and self.gen.stale(tick.gen)

    def run(self) -> None:
        try:
            self.loop()
        except Stopped:
            pass
        except BaseException as e:  # noqa: BLE001 - a stage must never die silently
            log.exception("stage %s failed", self.name)
            self.setup.on_error(self.name, e)
