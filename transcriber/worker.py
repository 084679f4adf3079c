"""The inference worker: one thread that runs the shared model for every client, always taking the
client whose audio has waited longest (end-of-speech commits before partial refreshes), one bounded
window per call, so a new client cannot starve the others."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from transcriber.engine import WhisperEngine
from transcriber.stream import ClientStream

log = logging.getLogger(__name__)

# on_result(stream, segments or None, (language, probability) or None), called on the worker thread
ResultCallback = Callable[[ClientStream, "list[dict] | None", "tuple[str, float] | None"], None]


class InferenceWorker:
    """Owns the thread `transcriber-inference`; `stop()` joins it."""

    def __init__(self, engine: WhisperEngine, on_result: ResultCallback,
                 on_inference: Callable[[float, bool], None] | None = None):
        self._engine = engine
        self._on_result = on_result
        self._on_inference = on_inference  # (seconds, succeeded) after each call, on the worker thread
        self._streams: list[ClientStream] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="transcriber-inference", daemon=True)
        self.calls = 0
        self.busy_s = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def add(self, stream: ClientStream) -> None:
        with self._lock:
            self._streams.append(stream)

    def remove(self, stream: ClientStream) -> None:
        with self._lock:
            if stream in self._streams:
                self._streams.remove(stream)

    def wake(self) -> None:
        """New audio arrived somewhere: look again now instead of at the next poll."""
        self._wake.set()

    def _pick(self) -> ClientStream | None:
        with self._lock:
            streams = list(self._streams)
        keyed = [(key, i, s) for i, s in enumerate(streams) if (key := s.waiting_since()) is not None]
        return min(keyed)[2] if keyed else None

    def _run(self) -> None:
        while not self._stop.is_set():
            stream = self._pick()
            job = stream.next_job() if stream is not None else None
            if job is None:
                self._wake.wait(0.05)
                self._wake.clear()
                continue
            t0, ok = time.monotonic(), False
            try:
                result = self._engine.transcribe(job.audio, stream.language, stream.options.task,
                                                 stream.options.initial_prompt)
                ok = True
            except Exception:
                log.exception("client %s: inference failed", stream.options.uid)
                continue
            finally:
                took = time.monotonic() - t0
                self.calls += 1
                self.busy_s += took
                if self._on_inference is not None:
                    self._on_inference(took, ok)
            detected = None
            if stream.language is None:
                stream.language = result.language
                detected = (result.language, result.language_prob)
            try:
                self._on_result(stream, stream.apply(job, result), detected)
            except Exception:
                log.exception("client %s: cannot deliver a result", stream.options.uid)
