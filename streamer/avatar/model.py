"""A prepared avatar in memory: its frames, face boxes and mouth boxes."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from streamer.frames import FPS, ping_pong


class AvatarError(Exception):
    """An avatar cannot be prepared or loaded. One-line message for the operator."""


class NoFaceError(AvatarError):
    """No face was found in a frame of the source; `frame` is its 0-based number."""

    def __init__(self, source: str, frame: int):
        super().__init__(f"no face found in frame {frame} of {source}")
        self.source = source
        self.frame = frame


@dataclass
class ActionClip:
    """One action clip in memory. Frames are BGR uint8 at the avatar's frame size, 25 fps;
    `audio` is float32 mono 16 kHz of exactly len(frames) * 640 samples, or None (silent).
    `loop` is the default playback: once, or looped until something else happens."""

    name: str
    frames: list[np.ndarray]
    audio: np.ndarray | None
    loop: bool = False

    @property
    def seconds(self) -> float:
        return len(self.frames) / FPS


@dataclass
class Avatar:
    """A prepared avatar. Frames are BGR uint8, all of one size; boxes are (x1, y1, x2, y2) int32.

    `faces[i]` and `mouths[i]` belong to `frames[i]`. `mouth_mask` is a float32 feathered mask
    in [0, 1] for a mouth box, resized to each frame's mouth box by whoever uses it.
    Frames are shown ping-pong (forwards then backwards) so the idle loop has no jump.
    `actions` are its action clips by name, at the same frame size (see streamer.avatar.actions).
    """

    id: str
    path: Path
    frames: list[np.ndarray]
    faces: np.ndarray
    mouths: np.ndarray
    mouth_mask: np.ndarray
    fps: int = 25
    actions: dict[str, ActionClip] = field(default_factory=dict)
    alphas: list[np.ndarray] | None = None  # float32 [0, 1] per frame: a transparent avatar (Live2D)
    live2d: Path | None = None  # a Live2D avatar's model file: rendered each frame by the live2d engine

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.frames[0].shape[:2]
        return w, h

    def __len__(self) -> int:
        return len(self.frames)

    def loop_index(self, n: int) -> int:
        """Avatar frame for the n-th video frame of the idle loop."""
        return ping_pong(n, len(self.frames))
