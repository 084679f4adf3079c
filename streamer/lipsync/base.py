"""The interface every lipsync engine shares: prepare for an avatar, then frames for audio windows."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import Tick


class LipsyncError(Exception):
    """An engine cannot run (missing weights, bad avatar). One-line message."""


@dataclass(slots=True)
class LipPatch:
    """A new look for one region of an avatar frame.

    `box` is (x1, y1, x2, y2) in the avatar frame's own pixels; `image` is BGR uint8 of that
    region's size; `alpha` is float32 in [0, 1] of the same size (0 keeps the avatar frame).
    `premultiplied`: the image's colours are already multiplied by its alpha (as OpenGL draws them).
    The compositor blends it; the engine never touches the full frame.
    """

    box: tuple[int, int, int, int]
    image: np.ndarray
    alpha: np.ndarray
    premultiplied: bool = False


class LipFrame(NamedTuple):
    """A tick as it leaves lipsync: with its patch, or None to show the avatar frame as it is."""

    tick: Tick
    patch: LipPatch | None


class LipStream(ABC):
    """One live's lipsync state for one avatar. Used from a single stage thread.

    push() may hold ticks back (look-ahead, batching) and returns finished ones in order;
    every tick pushed comes out exactly once, from push(), flush() or reset().
    A None patch means "show the avatar frame as it is" (silence, idle).
    """

    @abstractmethod
    def push(self, tick: Tick) -> list[LipFrame]: ...

    def flush(self) -> list[LipFrame]:
        """Return every tick still held, finished."""
        return []

    def reset(self) -> list[LipFrame]:
        """Interrupt: drop pending work and state; return every tick still held, unpatched, so
        no video frame is lost. The next push starts fresh."""
        return []

    def close(self) -> None:
        """Release per-session resources."""


class LipsyncEngine(ABC):
    """A loaded lipsync model, shared by every session of a worker."""

    name: str = "engine"
    #: seconds a stream holds each tick (look-ahead and batching); the clock sends ticks this
    #: much earlier so that frames still reach the encoder on time
    delay_s: float = 0.0

    @abstractmethod
    def open(self, avatar: Avatar, realtime: bool = True) -> LipStream:
        """Start lip-syncing `avatar` for one session. A stream that is not `realtime` (a
        recording made as fast as possible) waits for its engine however slow it is."""
