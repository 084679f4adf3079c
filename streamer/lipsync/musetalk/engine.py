"""The MuseTalk lipsync engine: one loaded model per worker, batched across its lives.

A live's stream holds a fixed number of ticks (`delay_frames`) so that the frames leave it at
the steady pace they came in: each speech tick waits for 3 ticks of audio after it (the model's
window reaches 120 ms ahead), then joins a group of up to `batch` speech ticks; a group gets its
Whisper features in one encoder call and goes to the worker's Batcher, which runs the UNet and
the VAE for the groups of every live that are waiting, together. Silence and action ticks never
reach the model. A result that is not back when its tick must leave goes out unpatched (a frame
without lip sync is better than a stalled stream) and is counted.
"""
from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

import cv2
import numpy as np

from streamer.avatar.model import Avatar
from streamer.frames import AUDIO_FRAME_SAMPLES, FPS, FrameKind, Tick
from streamer.lipsync.base import LipFrame, LipPatch, LipsyncEngine, LipStream
from streamer.lipsync.musetalk import avatar as mt_avatar
from streamer.lipsync.musetalk.avatar import MuseTalkAvatar

log = logging.getLogger("livehost.musetalk")

TICK_SAMPLES = 2 * AUDIO_FRAME_SAMPLES  # 16 kHz audio of one video frame (640)
LOOKAHEAD = 3  # frames of audio after a frame that its feature window covers ([2i-4, 2i+6) at 50/s)
CONTEXT = 25  # frames of audio before a group given to Whisper, so its first windows have real context
SPARE = 3  # frames a group may take on the model before its first tick must leave


@dataclass
class _Job:
    latents: np.ndarray
    tokens: np.ndarray
    future: Future = field(default_factory=Future)


class Batcher:
    """One thread that runs the model for every stream of a worker: it takes the groups waiting
    in its queue, up to `max_batch` frames, and runs them as one batch."""

    def __init__(self, model, max_batch: int):
        self.model, self.max_batch = model, max_batch
        self._q: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self.batches = 0
        self.frames = 0
        self._thread = threading.Thread(target=self._run, name="musetalk-batcher", daemon=True)
        self._thread.start()

    def submit(self, latents: np.ndarray, tokens: np.ndarray) -> Future:
        job = _Job(latents, tokens)
        self._q.put(job)
        return job.future

    def _run(self) -> None:
        carry: _Job | None = None
        while True:
            jobs = [carry or self._q.get()]
            carry = None
            n = len(jobs[0].latents)
            while n < self.max_batch:
                try:
                    job = self._q.get_nowait()
                except queue.Empty:
                    break
                if n + len(job.latents) > self.max_batch:
                    carry = job
                    break
                jobs.append(job)
                n += len(job.latents)
            jobs = [j for j in jobs if j.future.set_running_or_notify_cancel()]
            if not jobs:
                continue
            try:
                faces = self.model.generate(np.concatenate([j.latents for j in jobs]),
                                            np.concatenate([j.tokens for j in jobs]))
            except Exception as e:  # noqa: BLE001 - every waiting stream hears of it
                log.exception("MuseTalk inference failed for %d frames", n)
                for j in jobs:
                    j.future.set_exception(e)
                continue
            self.batches += 1
            self.frames += len(faces)
            at = 0
            for j in jobs:
                j.future.set_result(faces[at:at + len(j.latents)])
                at += len(j.latents)


class MuseTalkEngine(LipsyncEngine):
    """A loaded MuseTalkModel shared by every session of a worker."""

    name = "musetalk"

    def __init__(self, model, batch: int = 8, max_batch: int | None = None, wait_s: float = 0.25,
                 landmarker=None, parser=None):
        self.model, self.batch = model, batch
        # For avatars prepared on first use: streamer.avatar.landmarks, musetalk.parsing (or None).
        self.landmarker, self.parser = landmarker, parser
        self.batcher = Batcher(model, max_batch or 4 * batch)
        self.wait_s = wait_s
        self._avatars: dict[tuple[str, str], MuseTalkAvatar] = {}
        self._lock = threading.Lock()

    @property
    def delay_frames(self) -> int:
        return LOOKAHEAD + self.batch + SPARE

    @property
    def delay_s(self) -> float:
        return self.delay_frames / FPS

    def avatar_data(self, avatar: Avatar) -> MuseTalkAvatar:
        """The avatar's MuseTalk data, loaded (or prepared) once for the whole worker."""
        key = (str(avatar.path), self.model.version)
        with self._lock:
            data = self._avatars.get(key)
            if data is None or len(data) != len(avatar):
                data = self._avatars[key] = mt_avatar.ensure(avatar, self.model, self.landmarker, self.parser)
            return data

    def open(self, avatar: Avatar, realtime: bool = True) -> LipStream:
        return MuseTalkStream(self, avatar, self.avatar_data(avatar), wait_s=self.wait_s if realtime else None)


class MuseTalkStream(LipStream):
    """One live's MuseTalk lipsync: holds `engine.delay_frames` ticks, in order."""

    def __init__(self, engine: MuseTalkEngine, avatar: Avatar, data: MuseTalkAvatar, wait_s: float | None):
        self.engine, self.avatar, self.data = engine, avatar, data
        self.wait_s = wait_s  # how long a tick that must leave waits for its face; None: as long as it takes
        self.model = engine.model
        self._pending: deque[Tick] = deque()
        self._audio: deque[tuple[int, np.ndarray]] = deque(maxlen=CONTEXT + LOOKAHEAD + 4 * engine.batch)
        self._unsent: list[Tick] = []
        self._results: dict[int, tuple[Future, int]] = {}  # tick index -> (group's future, row)
        self._marked = -1  # highest tick index looked at for readiness
        self.late = 0  # speech ticks that left without their face (the model was too slow)
        self.failed = 0

    def push(self, tick: Tick) -> list[LipFrame]:
        self._pending.append(tick)
        self._audio.append((tick.index, tick.audio if tick.kind is FrameKind.SPEECH else None))
        self._mark_ready(tick.index - LOOKAHEAD)  # their look-ahead audio has arrived
        if self._unsent and (len(self._unsent) >= self.engine.batch or self._must_send()):
            self._send()
        out = []
        while len(self._pending) > self.engine.delay_frames:
            out.append(self._finish(self._pending.popleft(), self.wait_s))
        return out

    def flush(self) -> list[LipFrame]:
        if self._pending:
            self._mark_ready(self._pending[-1].index)
        if self._unsent:
            self._send()
        out = [self._finish(t, None if self.wait_s is None else self.wait_s + 5.0) for t in self._pending]
        self._pending.clear()
        return out

    def reset(self) -> list[LipFrame]:
        out = [LipFrame(t, None) for t in self._pending]
        self.close()
        self._pending.clear()
        self._audio.clear()
        self._unsent.clear()
        self._marked = -1
        return out

    def _mark_ready(self, upto: int) -> None:
        """Speech ticks up to index `upto` join the next group."""
        for t in self._pending:
            if t.index > upto:
                break
            if t.index > self._marked and t.kind is FrameKind.SPEECH:
                self._unsent.append(t)
        self._marked = max(self._marked, upto)

    def _must_send(self) -> bool:
        """The oldest unsent tick leaves within SPARE pushes: its group must go now."""
        position = next(p for p, t in enumerate(self._pending) if t is self._unsent[0])
        return position <= len(self._pending) - self.engine.delay_frames + SPARE

    def _send(self) -> None:
        group, self._unsent = self._unsent, []
        for start in range(0, len(group), self.engine.batch):
            part = group[start:start + self.engine.batch]
            tokens = self._tokens(part)
            latents = self.data.latents[[t.avatar_index for t in part]]
            future = self.engine.batcher.submit(latents, tokens)
            for row, t in enumerate(part):
                self._results[t.index] = (future, row)

    def _tokens(self, part: list[Tick]) -> np.ndarray:
        """The model's audio tokens for `part`: Whisper over the buffered audio around it."""
        lo, hi = part[0].index - CONTEXT, part[-1].index + LOOKAHEAD
        frames = [(i, a) for i, a in self._audio if lo <= i <= hi]
        start = frames[0][0]
        pcm = np.zeros(TICK_SAMPLES * (frames[-1][0] - start + 1), np.float32)
        for i, a in frames:
            if a is not None:
                pcm[(i - start) * TICK_SAMPLES:(i - start + 1) * TICK_SAMPLES] = a
        features = self.model.audio_features(pcm)
        return self.model.audio_windows(features, [t.index - start for t in part])

    def _finish(self, tick: Tick, wait: float | None) -> LipFrame:
        entry = self._results.pop(tick.index, None)
        if entry is None:
            return LipFrame(tick, None)
        future, row = entry
        try:
            faces = future.result(timeout=wait)
        except TimeoutError:
            self.late += 1
            if self.late in (1, 10, 100) or self.late % 1000 == 0:
                log.warning("MuseTalk is slower than real time: %d speech frames went out without lip sync",
                            self.late)
            return LipFrame(tick, None)
        except Exception:  # noqa: BLE001 - logged by the batcher; the live goes on
            self.failed += 1
            return LipFrame(tick, None)
        return LipFrame(tick, self.patch(tick.avatar_index, faces[row]))

    def patch(self, index: int, face: np.ndarray) -> LipPatch:
        """The model's 256x256 face pasted back: resized into the crop box with its mask."""
        x1, y1, x2, y2 = (int(v) for v in self.data.crops[index])
        size = (x2 - x1, y2 - y1)
        image = cv2.resize(face, size, interpolation=cv2.INTER_LINEAR)
        alpha = cv2.resize(self.data.masks[index], size, interpolation=cv2.INTER_LINEAR)
        return LipPatch(box=(x1, y1, x2, y2), image=image, alpha=alpha.astype(np.float32) * (1 / 255))

    def close(self) -> None:
        for fut, _ in self._results.values():
            fut.cancel()
        self._results.clear()
