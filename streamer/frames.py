"""The media clock and the small typed values that travel between pipeline stages.

Audio inside the pipeline is 16 kHz mono float32 in 20 ms frames (320 samples); video is 25 fps;
one video frame owns exactly two audio frames. Timestamps are derived from counters only.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

SAMPLE_RATE = 16_000
AUDIO_FRAME_SAMPLES = 320  # 20 ms
FPS = 25
AUDIO_FRAMES_PER_VIDEO_FRAME = 2
SAMPLES_PER_VIDEO_FRAME = AUDIO_FRAME_SAMPLES * AUDIO_FRAMES_PER_VIDEO_FRAME  # 640 = 40 ms



class FrameKind(Enum):
    """What a frame of media is (LiveTalking's `audiotype` idea): the host speaking, the idle
    loop (silence, pauses), or an action clip playing its own frames."""

    SPEECH = "speech"
    IDLE = "idle"
    ACTION = "action"


_ids = itertools.count(1)


@dataclass(slots=True)
class Utterance:
    """One sentence for the host to say, with the voice spec that says it.

    `gen` is the live's interrupt generation when the director handed it out (an interrupt
    makes it stale everywhere in the pipeline); `position` is its place in the script (None for
    replies and operator text); `source` is "script", "reply" or "say"; `reply_to` a comment id;
    `asked_at` when that comment came (its first sentence on air reports the reply's latency).
    """

    text: str
    voice: str | None = None
    id: int = field(default_factory=lambda: next(_ids))
    gen: int = 0
    position: object = None  # streamer.director.Position | None
    source: str = "script"
    reply_to: int | None = None
    asked_at: float | None = None  # when the comment it answers came (time.time()), for the reply's latency


@dataclass(slots=True)
class AudioFrame:
    """20 ms of 16 kHz mono float32 audio (320 samples) and what it is."""

    samples: np.ndarray
    kind: FrameKind = FrameKind.SPEECH
    utterance: Utterance | None = None
    gen: int = 0
    position: object = None  # the script item it belongs to (a sentence or a pause), if any


@dataclass(slots=True)
class Tick:
    """One video frame's worth of media: frame number, 40 ms of audio, and which avatar frame to show.

    `index` counts video frames from the start of the live; the audio of tick n starts at
    sample n * 640. `avatar_index` is the avatar frame (idle loop or action clip) to show.
    """

    index: int
    audio: np.ndarray  # float32, 640 samples at 16 kHz
    kind: FrameKind
    avatar_index: int
    utterance: Utterance | None = None
    clip: str | None = None  # action clip name when kind is ACTION
    gen: int = 0  # interrupt generation of its content; stale once an interrupt follows
    position: object = None  # script item it belongs to (sentence, pause or action), if any
    fade: tuple[str, int, float] | None = None  # (clip, clip frame, weight) blended over it: a crossfade


def silence(samples: int = AUDIO_FRAME_SAMPLES) -> np.ndarray:
    return np.zeros(samples, dtype=np.float32)


def ping_pong(n: int, count: int) -> int:
    """Index into `count` frames played forwards then backwards, so a loop has no jump."""
    if count <= 1:
        return 0
    period = 2 * count - 2
    k = n % period
    return k if k < count else period - k
