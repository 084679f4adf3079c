"""A bounded cache of synthesized speech: a sentence said again (a looping script's line, the same
FAQ answer, a thank-you) is played from memory instead of being synthesized again."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from streamer.voice.base import Voice

CHUNK = 3200  # samples handed out at a time from the cache (0.2 s at 16 kHz): a cut stops it soon


class VoiceCache:
    """Audio by (voice, text), least recently used out first once `max_bytes` is passed. Thread-safe."""

    def __init__(self, max_bytes: int = 64 << 20):
        self.max_bytes = max_bytes
        self.hits = self.misses = 0
        self._bytes = 0
        self._items: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> np.ndarray | None:
        with self._lock:
            audio = self._items.get(key)
            if audio is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return audio

    def put(self, key: tuple[str, str], audio: np.ndarray) -> None:
        if audio.nbytes > self.max_bytes // 4:
            return  # one long text would push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            audio.setflags(write=False)
            self._items[key] = audio
            self._bytes += audio.nbytes
            while self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "entries": len(self._items), "bytes": self._bytes}


class CachedVoice(Voice):
    """`voice`, with what it synthesized to the end kept in `cache` under its spec and the text."""

    def __init__(self, voice: Voice, cache: VoiceCache, spec: str):
        self.voice, self.cache, self.spec = voice, cache, spec
        self.name = voice.name

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        key = (self.spec, text)
        audio = self.cache.get(key)
        if audio is not None:
            for i in range(0, len(audio), CHUNK):
                if cancel is not None and cancel.is_set():
                    return
                yield audio[i:i + CHUNK]
            return
        parts: list[np.ndarray] = []
        for chunk in self.voice.stream(text, cancel):
            parts.append(np.asarray(chunk, np.float32))
            yield chunk
        if parts and not (cancel is not None and cancel.is_set()):
            self.cache.put(key, np.concatenate(parts))

    def check(self) -> None:
        self.voice.check()

    def close(self) -> None:
        self.voice.close()
