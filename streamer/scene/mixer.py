"""The live's sound, frame by frame: the voice (and an action clip's own sound) brought to a steady
loudness whatever the engine, the room's music under it, ducked while the host speaks, and a
limiter so that no sample clips.

Loudness is measured as ITU-R BS.1770 does (K-weighted mean square, LUFS), on 40 ms frames with a
few seconds of memory, so the level follows an engine or a voice, not each word.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import sosfilt

from streamer.frames import FPS, SAMPLE_RATE, FrameKind
from streamer.scene.music import MusicPlayer
from streamer.scene.spec import MusicSpec

FRAME_S = 1 / FPS
CEILING = 0.98  # the limiter's highest sample


def k_weighting(rate: int) -> np.ndarray:
    """BS.1770's K filter at `rate` as second-order sections: a high shelf (+4 dB above ~1.7 kHz,
    the head's effect) then a high-pass at ~38 Hz (the RLB curve)."""
    k = math.tan(math.pi * 1681.974450955533 / rate)
    q = 0.7071752369554196
    vh = 10 ** (3.999843853973347 / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    k = math.tan(math.pi * 38.13547087602444 / rate)
    q = 0.5003270373238773
    a0 = 1 + k / q + k * k
    high_pass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, high_pass])


def lufs(mean_square: float) -> float:
    return -0.691 + 10 * math.log10(max(mean_square, 1e-20))


class Leveller:
    """Brings a signal to `target` LUFS: the K-weighted power of its frames that carry sound (gated
    at -70 LUFS and 20 LU under its running level, so pauses between words don't count), averaged
    over `memory_s`, gives the gain (within -`cut_db`..+`boost_db`), ramped across each frame."""

    def __init__(self, target: float, memory_s: float = 3.0, boost_db: float = 30.0, cut_db: float = 30.0):
        self.target, self.boost_db, self.cut_db = target, boost_db, cut_db
        self._sos = k_weighting(SAMPLE_RATE)
        self._zi = np.zeros((2, 2))
        self._alpha = FRAME_S / memory_s
        self._power: float | None = None
        self._frames = 0
        self.gain_db: float | None = None

    @property
    def level(self) -> float | None:
        """The running loudness of what was heard, LUFS (None before any sound)."""
        return None if self._power is None else lufs(self._power)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self._zi = sosfilt(self._sos, x, zi=self._zi)
        power = float(np.mean(y * y))
        if lufs(power) > -70 and (self._power is None or lufs(power) > lufs(self._power) - 20):
            self._frames += 1  # a plain mean at first, then a moving one: the first words set the level
            alpha = max(self._alpha, 1 / self._frames)
            self._power = power if self._power is None else self._power + alpha * (power - self._power)
        if self._power is None:
            return x
        want = min(self.boost_db, max(-self.cut_db, self.target - lufs(self._power)))
        start = want if self.gain_db is None else self.gain_db
        self.gain_db = want
        return x * ramp(start, want, len(x))


class Ducker:
    """How far the music is lowered: `depth_db` while the host is heard (held `hold_s` over short
    gaps), reached with an `attack_s` time constant and let go with `release_s`."""

    def __init__(self, depth_db: float, attack_s: float = 0.06, release_s: float = 0.25, hold_s: float = 0.3):
        self.depth_db = depth_db
        self._attack = 1 - math.exp(-FRAME_S / attack_s)
        self._release = 1 - math.exp(-FRAME_S / release_s)
        self._hold = round(hold_s / FRAME_S)
        self._since = self._hold
        self.db = 0.0

    @property
    def ducked(self) -> bool:
        return self.db < -self.depth_db / 2

    def __call__(self, heard: bool) -> tuple[float, float]:
        """The gain in dB at the start and the end of this frame."""
        self._since = 0 if heard else self._since + 1
        want = -self.depth_db if self._since <= self._hold else 0.0
        start = self.db
        self.db += (want - self.db) * (self._attack if want < self.db else self._release)
        return start, self.db


def ramp(start_db: float, end_db: float, n: int) -> np.ndarray:
    """Linear gains going from start_db to end_db over n samples."""
    if start_db == end_db:
        return np.full(n, 10 ** (start_db / 20), dtype=np.float32)
    return np.linspace(10 ** (start_db / 20), 10 ** (end_db / 20), n, endpoint=False, dtype=np.float32)


class Limiter:
    """No sample over `ceiling`: a peak is brought down on that very sample (no look-ahead needed
    then) and the gain recovers in `release_s`."""

    def __init__(self, ceiling: float = CEILING, release_s: float = 0.1):
        self.ceiling = ceiling
        self._step = 1 / (release_s * SAMPLE_RATE)
        self.gain = 1.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        if peak <= self.ceiling and self.gain >= 1.0:
            return x
        need = np.minimum(1.0, self.ceiling / np.maximum(np.abs(x), 1e-9))
        steps = self._step * np.arange(1, len(x) + 1)
        # g[n] = min(need[n], g[n-1] + step): a running minimum of need less its recovery so far
        gain = np.minimum(np.minimum.accumulate(need - steps) + steps, self.gain + steps)
        gain = np.minimum(gain, 1.0)
        self.gain = float(gain[-1])
        return np.clip(x * gain, -self.ceiling, self.ceiling).astype(np.float32)


class Mixer:
    """One live's mix: `mix(kind, voice)` gives the audio to encode for a frame whose own sound is
    `voice`. The voice and action clips each have a Leveller at `loudness` LUFS; the music its own,
    at `loudness + volume_db`, ducked by `duck_db` while either is heard. `on_error(path, why)`
    is told of music files that cannot be played."""

    def __init__(self, music: MusicSpec | None, loudness: float = -16.0,
                 on_error: Callable[[Path, str], None] | None = None):
        self.loudness = loudness
        self._levellers = {FrameKind.SPEECH: Leveller(loudness), FrameKind.ACTION: Leveller(loudness)}
        self.player = MusicPlayer(music.playlist, on_error) if music else None
        self._music_level = Leveller(loudness + music.volume_db, memory_s=10.0, boost_db=12.0,
                                     cut_db=40.0) if music else None
        self.ducker = Ducker(music.duck_db) if music else None
        self.limiter = Limiter()

    def start(self) -> None:
        if self.player is not None:
            self.player.start()

    def close(self) -> None:
        if self.player is not None:
            self.player.close()

    def mix(self, kind: FrameKind, voice: np.ndarray) -> np.ndarray:
        leveller = self._levellers.get(kind)
        heard = leveller is not None and float(np.max(np.abs(voice), initial=0.0)) > 1e-4
        out = leveller(voice) if heard else voice
        if self.player is not None:
            music = self._music_level(self.player.read(len(voice)))
            out = out + music * ramp(*self.ducker(heard), len(voice))
        return self.limiter(out.astype(np.float32, copy=False))

    def status(self) -> dict | None:
        """The music's state for the live's status (None without music)."""
        if self.player is None:
            return None
        return {**self.player.status(), "ducked": self.ducker.ducked}
