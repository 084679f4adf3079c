"""A room's background music: its playlist played in order and looped, as the live's audio
(16 kHz mono float32). A thread decodes a few seconds ahead with PyAV; `read` never waits, so a
slow disk or a broken file costs the live silence under the voice, never a late frame."""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from streamer.frames import SAMPLE_RATE

log = logging.getLogger(__name__)


class MusicPlayer:
    """Plays `playlist` (audio or video files: their sound) in a loop. `on_error(path, why)` is
    told of each file that cannot be played; it is skipped, and the music stops when none can."""

    def __init__(self, playlist: tuple[Path, ...] | list[Path], on_error: Callable[[Path, str], None] | None = None,
                 ahead_s: float = 4.0):
        self.playlist = [Path(p) for p in playlist]
        self.on_error = on_error or (lambda path, why: None)
        self.track = 0
        self.errors = 0
        self.playing = bool(self.playlist)
        self._ahead = int(ahead_s * SAMPLE_RATE)
        self._chunks: deque[np.ndarray] = deque()
        self._buffered = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.playlist and self._thread is None:
            self._thread = threading.Thread(target=self._decode_all, name="music", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def read(self, n: int) -> np.ndarray:
        """The next `n` samples of music; silence for what is not decoded yet."""
        out = np.zeros(n, dtype=np.float32)
        got = 0
        with self._cond:
            while got < n and self._chunks:
                chunk = self._chunks[0]
                take = min(n - got, len(chunk))
                out[got:got + take] = chunk[:take]
                got += take
                if take == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[take:]
            self._buffered -= got
            self._cond.notify_all()
        return out

    @property
    def buffered(self) -> int:
        """Samples decoded and not yet read."""
        return self._buffered

    def status(self) -> dict:
        return {"track": self.track, "tracks": len(self.playlist), "playing": self.playing, "errors": self.errors}

    # -- the decoding thread -------------------------------------------------------------------
    def _decode_all(self) -> None:
        failed_in_a_row = 0
        i = 0
        while not self._closed:
            self.track = i
            path = self.playlist[i]
            try:
                played = self._decode(path)
            except Exception as e:  # noqa: BLE001 - any unreadable file is skipped, reported in one line
                played, why = 0, str(e).splitlines()[0] if str(e) else type(e).__name__
            else:
                why = "it holds no sound"
            if played == 0 and not self._closed:
                self.errors += 1
                failed_in_a_row += 1
                log.warning("music: %s cannot be played (%s)", path.name, why)
                self.on_error(path, why)
                if failed_in_a_row >= len(self.playlist):
                    self.playing = False
                    log.warning("music: no file of the playlist can be played; the live goes on without music")
                    return
            else:
                failed_in_a_row = 0
            i = (i + 1) % len(self.playlist)

    def _decode(self, path: Path) -> int:
        """Decodes one file into the buffer (waiting while it is full); the samples it gave."""
        played = 0
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return 0
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    played += self._put(out.to_ndarray().reshape(-1))
                if self._closed:
                    return played
            for out in resampler.resample(None):
                played += self._put(out.to_ndarray().reshape(-1))
        return played

    def _put(self, samples: np.ndarray) -> int:
        if not len(samples):
            return 0
        samples = np.nan_to_num(samples.astype(np.float32, copy=False), copy=False)
        with self._cond:
            while self._buffered >= self._ahead and not self._closed:
                self._cond.wait(0.5)
            self._chunks.append(samples)
            self._buffered += len(samples)
        return len(samples)
