"""Microsoft Edge's online neural TTS through edge-tts: MP3 over a websocket, decoded as it arrives."""
from __future__ import annotations

import asyncio
import logging
import math
import queue
import re
import threading
import time
from collections.abc import Iterator

import av
import numpy as np

from streamer.voice.base import Voice, VoiceError
from streamer.voice.resample import StreamResampler

log = logging.getLogger("livehost.voice")

DEFAULT_VOICE = "zh-CN-XiaoxiaoNeural"
_POLL_S = 0.02  # how often a waiting consumer looks at its cancel event and deadline
_JOIN_S = 0.2  # longest a finished or cancelled stream waits for its helper thread
_DONE = object()


class EdgeVoice(Voice):
    """Online neural TTS via edge-tts; needs HTTPS/websocket access to speech.platform.bing.com.

    `voice` is an Edge voice short name ('zh-CN-XiaoxiaoNeural', 'en-US-AriaNeural'); `rate` and
    `volume` are relative percentages ('+10%', '-5%' or plain 10), `pitch` relative Hz ('+5Hz' or 5).
    `timeout` (seconds) bounds connecting and every wait for audio, the first chunk included.

    stream() runs the websocket on a helper thread with its own asyncio loop and yields 16 kHz mono
    float32 in the caller's thread as MP3 frames arrive and decode. Setting `cancel` ends the stream
    within a few tens of milliseconds; the helper thread hangs up in the background. check() makes
    one short request to the service (about a second when online).
    """

    def __init__(self, voice: str = DEFAULT_VOICE, rate: str = "+0%", pitch: str = "+0Hz",
                 volume: str = "+0%", timeout: float = 10.0):
        self.voice = voice
        self.rate, self.volume, self.pitch = _signed(rate, "%"), _signed(volume, "%"), _signed(pitch, "Hz")
        if not timeout > 0:
            raise VoiceError(f"edge-tts timeout must be a positive number of seconds, got {timeout}")
        self.timeout = float(timeout)
        self.name = f"edge:{voice}"
        try:
            self._communicate("x")  # validates the voice name, rate, pitch and volume formats
        except ValueError as e:
            raise VoiceError(f"edge-tts voice {voice}: {_one_line(str(e))} (voices look like "
                             "zh-CN-XiaoxiaoNeural; rate and volume like +10%, pitch like -5Hz)") from e

    def check(self) -> None:
        for _ in self.stream("你好" if self.voice.lower().startswith("zh") else "Hello"):
            return  # first audio proves the service, the voice and the decoder; stop there

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        text = text.strip()
        if not text or (cancel is not None and cancel.is_set()):
            return
        decoder = _Mp3Decoder()
        chunks: queue.SimpleQueue = queue.SimpleQueue()
        loop = asyncio.new_event_loop()
        task = loop.create_task(self._receive(text, chunks))
        worker = threading.Thread(target=_run_loop, args=(loop, task, chunks), name="edge-tts", daemon=True)
        started = time.monotonic()
        worker.start()
        deadline = started + self.timeout
        try:
            while True:
                try:
                    item = chunks.get(timeout=_POLL_S)
                except queue.Empty:
                    item = None
                if cancel is not None and cancel.is_set():
                    log.debug("edge-tts %s: cancelled", self.voice)
                    return
                if item is None:
                    if time.monotonic() > deadline:
                        raise VoiceError(self._failed(f"no audio from {_host()} within {self.timeout:g} s"))
                    continue
                deadline = time.monotonic() + self.timeout
                if item is _DONE:
                    tail = decoder.flush()
                    if tail.size:
                        yield tail
                    log.debug("edge-tts %s: %d chars in %.2f s", self.voice, len(text), time.monotonic() - started)
                    return
                if isinstance(item, BaseException):
                    raise VoiceError(self._failed(_reason(item, self.timeout))) from item
                out = decoder.push(item)
                if out.size:
                    yield out
        finally:
            if not task.done():
                try:
                    loop.call_soon_threadsafe(task.cancel)
                except RuntimeError:  # the loop finished and closed meanwhile
                    pass
            # Closing the websocket may take a round trip; the helper finishes it on its own
            # rather than holding up an interrupted caller.
            worker.join(timeout=_JOIN_S)

    def _communicate(self, text: str):
        import edge_tts  # imported late: it pulls in aiohttp

        seconds = max(1, math.ceil(self.timeout))
        return edge_tts.Communicate(text, self.voice, rate=self.rate, volume=self.volume, pitch=self.pitch,
                                    connect_timeout=seconds, receive_timeout=seconds)

    async def _receive(self, text: str, chunks: queue.SimpleQueue) -> None:
        """Loop-thread body: post each MP3 chunk edge-tts receives."""
        async for message in self._communicate(text).stream():
            if message["type"] == "audio":
                chunks.put(message["data"])

    def _failed(self, reason: str) -> str:
        return f"edge-tts voice {self.voice} failed: {_one_line(reason)}"


def _run_loop(loop: asyncio.AbstractEventLoop, task: asyncio.Task, chunks: queue.SimpleQueue) -> None:
    """Helper-thread body: drive one request's event loop, then post _DONE or the error."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(task)
        chunks.put(_DONE)
    except asyncio.CancelledError:
        pass
    except Exception as e:  # noqa: BLE001 - handed to the consumer, which raises VoiceError
        chunks.put(e)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


class _Mp3Decoder:
    """Incremental MP3 bytes -> 16 kHz mono float32 (PyAV parser + decoder + resampler)."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("mp3", "r")
        self._resampler = StreamResampler()

    def push(self, data: bytes | None) -> np.ndarray:
        out = []
        for packet in self._codec.parse(data):
            out.extend(self._decode(packet))
        return _join(out)

    def flush(self) -> np.ndarray:
        out = [self.push(None)]
        out.extend(self._decode(None))
        out.append(self._resampler.flush())
        return _join(out)

    def _decode(self, packet) -> list[np.ndarray]:
        try:
            frames = self._codec.decode(packet)
        except av.error.InvalidDataError:  # e.g. a stray ID3 tag; the next frame resyncs
            log.debug("edge-tts: skipped an undecodable MP3 packet")
            return []
        return [self._resampler.frame(frame) for frame in frames]


def _join(parts: list[np.ndarray]) -> np.ndarray:
    parts = [p for p in parts if p.size]
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _signed(value: str | int, unit: str) -> str:
    """'10' -> '+10%', '-5' -> '-5Hz'; anything else is passed on for edge-tts to validate."""
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return f"{'' if text[0] in '+-' else '+'}{text}{unit}"
    return text


def _host() -> str:
    from edge_tts.constants import BASE_URL

    return BASE_URL.split("/", 1)[0]


def _reason(exc: BaseException, timeout: float) -> str:
    """What went wrong, in words an operator can act on."""
    import aiohttp
    from edge_tts.exceptions import NoAudioReceived

    host = _host()
    if isinstance(exc, getattr(aiohttp, "ClientConnectorDNSError", ())):
        return f"cannot reach {host} (DNS lookup failed: {exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot reach {host} ({exc.os_error.strerror or exc.os_error})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{host} refused the connection (HTTP {exc.status} {exc.message})"
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return f"timed out talking to {host} (no answer within {timeout:g} s)"
    if isinstance(exc, NoAudioReceived):
        return "the service sent no audio (is the voice name right? `edge-tts --list-voices` lists them)"
    if isinstance(exc, aiohttp.ClientError):
        return f"connection to {host} failed ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
