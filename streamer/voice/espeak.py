"""Offline TTS through libespeak-ng (the copy bundled by the espeakng-loader wheel), via ctypes."""
from __future__ import annotations

import ctypes
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from streamer.voice.base import Voice, VoiceError
from streamer.voice.resample import StreamResampler

log = logging.getLogger("livehost.voice")

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000  # report a missing data dir instead of calling exit()
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0
_RATE, _VOLUME, _PITCH = 1, 2, 3
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_BUFFER_MS = 50  # espeak hands over audio in pieces this long, so the first one comes at once
_POLL_S = 0.02  # how often a waiting consumer looks at its cancel event
_JOIN_S = 0.2  # longest a finished or cancelled stream waits for its helper thread
_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_ALIASES = {"zh": "cmn", "zh-cn": "cmn", "mandarin": "cmn", "english": "en"}
_DONE = object()

Sink = Callable[[np.ndarray], bool]


class _Engine:
    """The process's one libespeak-ng instance. Every method must be called holding _LOCK."""

    def __init__(self) -> None:
        import espeakng_loader

        lib_path = espeakng_loader.get_library_path()
        try:
            data_path = espeakng_loader.get_data_path()
            lib = ctypes.CDLL(lib_path)
        except (OSError, RuntimeError) as e:
            raise VoiceError(f"espeak-ng could not be loaded from {lib_path}: {e}") from e
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_Info.restype = ctypes.c_char_p
        lib.espeak_Info.argtypes = [ctypes.c_void_p]
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, _BUFFER_MS, data_path.encode(),
                                     _INITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise VoiceError(f"espeak-ng failed to initialise with voice data {data_path}")
        self.lib = lib
        self.sample_rate = rate
        self._sink: Sink | None = None
        self._callback = _CALLBACK(self._on_audio)  # kept referenced: C holds the pointer
        lib.espeak_SetSynthCallback(self._callback)
        log.info("espeak-ng %s loaded (%d Hz, data %s)", lib.espeak_Info(None).decode(), rate, data_path)

    def _on_audio(self, wav, count: int, _events) -> int:
        sink = self._sink
        if sink is None:
            return 1
        if count <= 0 or not wav:
            return 0
        try:
            return 0 if sink(np.ctypeslib.as_array(wav, shape=(count,)).copy()) else 1
        except Exception:  # an exception must not cross back into C
            log.exception("espeak-ng audio callback failed")
            return 1

    def select(self, voice: str) -> None:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise VoiceError(f"espeak-ng has no voice '{voice}'")

    def synth(self, voice: str, rate: int, pitch: int, volume: int, text: str, sink: Sink) -> None:
        """Speak `text`, handing int16 chunks to `sink` until it returns False."""
        self.select(voice)
        for param, value in ((_RATE, rate), (_PITCH, pitch), (_VOLUME, volume)):
            self.lib.espeak_SetParameter(param, value, 0)
        stopped = False

        def guarded(samples: np.ndarray) -> bool:
            nonlocal stopped
            stopped = not sink(samples)
            return not stopped

        self._sink = guarded
        try:
            data = text.encode("utf-8") + b"\0"
            err = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        finally:
            self._sink = None
        if err != _EE_OK and not stopped:  # a stop from the callback reports as an error too
            raise VoiceError(f"espeak-ng failed to synthesize with voice '{voice}' (error {err})")


_LOCK = threading.Lock()  # libespeak-ng is process-global and not thread-safe
_engine: _Engine | None = None


def _get_engine() -> _Engine:
    """The shared engine, created on first use. Caller holds _LOCK."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def espeak_languages() -> list[str]:
    """Voice names found in the bundled espeak-ng data ('en', 'cmn', 'fr', 'en-US', ...)."""
    import espeakng_loader

    root = Path(espeakng_loader.get_data_path()) / "lang"
    return sorted(p.name for p in root.rglob("*") if p.is_file())


class EspeakVoice(Voice):
    """Offline formant TTS through libespeak-ng; no network, no GPU, far faster than real time.

    `language` is an espeak-ng voice ('en', 'cmn', 'fr', ...) or None to pick per text: any CJK
    ideograph -> Mandarin ('cmn', which reads Latin words as English), else English. `rate` is in
    words per minute (80-450), `pitch` 0-100, `volume` 0-200 (100 = normal).

    stream() synthesizes on a short helper thread and yields 16 kHz mono float32 chunks of about
    50 ms in the caller's thread as espeak produces them. libespeak-ng is process-global, so all
    espeak voices take turns on one lock, each holding it only while synthesizing (about 1-2 ms
    per second of speech).
    """

    def __init__(self, language: str | None = None, rate: int = 175, pitch: int = 50, volume: int = 100):
        if language is not None:
            language = _ALIASES.get(language.lower(), language)
            known = {name.lower(): name for name in espeak_languages()}
            if language.lower() not in known:
                raise VoiceError(f"espeak has no language '{language}' (try en, cmn, or an espeak-ng "
                                 "voice such as fr, de, ja)")
            language = known[language.lower()]
        for label, value, low, high in (("rate", rate, 80, 450), ("pitch", pitch, 0, 100),
                                        ("volume", volume, 0, 200)):
            if not low <= value <= high:
                raise VoiceError(f"espeak {label} must be between {low} and {high}, got {value}")
        self.language, self.rate, self.pitch, self.volume = language, rate, pitch, volume
        self.name = f"espeak:{language}" if language else "espeak"

    def check(self) -> None:
        with _LOCK:
            engine = _get_engine()
            for voice in [self.language] if self.language else ["en", "cmn"]:
                engine.select(voice)

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        text = text.strip()
        if not text or (cancel is not None and cancel.is_set()):
            return
        voice = self.language or ("cmn" if _CJK.search(text) else "en")
        with _LOCK:
            rate = _get_engine().sample_rate
        resampler = StreamResampler()
        chunks: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def sink(samples: np.ndarray) -> bool:
            if stop.is_set() or (cancel is not None and cancel.is_set()):
                return False
            chunks.put(samples)
            return True

        worker = threading.Thread(target=self._synthesize, args=(voice, text, sink, stop, chunks),
                                  name=f"espeak-{voice}", daemon=True)
        started = time.monotonic()
        worker.start()
        try:
            while True:
                try:
                    item = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    item = None
                if cancel is not None and cancel.is_set():
                    log.debug("espeak %s: cancelled", voice)
                    return
                if item is None:
                    continue
                if item is _DONE:
                    tail = resampler.flush()
                    if tail.size:
                        yield tail
                    log.debug("espeak %s: %d chars in %.3f s", voice, len(text), time.monotonic() - started)
                    return
                if isinstance(item, BaseException):
                    raise item
                out = resampler.pcm16(item, rate)
                if out.size:
                    yield out
        finally:
            stop.set()
            worker.join(timeout=_JOIN_S)  # it stops at its next 50 ms piece, or skips if still queued

    def _synthesize(self, voice: str, text: str, sink: Sink, stop: threading.Event,
                    chunks: queue.SimpleQueue) -> None:
        """Helper-thread body: run one synthesis, then post _DONE or the error."""
        try:
            with _LOCK:
                if not stop.is_set():
                    _get_engine().synth(voice, self.rate, self.pitch, self.volume, text, sink)
        except VoiceError as e:
            chunks.put(e)
        except Exception as e:  # noqa: BLE001 - reported to the consumer, which raises it
            log.exception("espeak-ng synthesis failed")
            chunks.put(VoiceError(f"espeak-ng failed: {e}"))
        else:
            chunks.put(_DONE)
