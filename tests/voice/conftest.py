"""Fixtures for the voice tests: a stand-in for Microsoft's Edge read-aloud service.

The fake speaks the service's real websocket protocol as edge-tts expects it (turn.start, binary
`Path:audio` messages of 24 kHz 48 kbit/s mono MP3 split at arbitrary byte boundaries, turn.end),
so EdgeVoice is exercised through the real edge-tts client, aiohttp and the MP3 decoder.
"""
from __future__ import annotations

import asyncio
import html
import re
import threading

import av
import numpy as np
import pytest
from aiohttp import web

from streamer.voice.espeak import EspeakVoice

KNOWN_VOICES = {"Microsoft Server Speech Text to Speech Voice (zh-CN, XiaoxiaoNeural)",
                "Microsoft Server Speech Text to Speech Voice (en-US, AriaNeural)"}


def speech_mp3(text: str) -> tuple[bytes, float]:
    """Speak `text` with espeak, encode it as Edge does (24 kHz mono MP3, 48 kbit/s); return (mp3, seconds)."""
    pcm = np.concatenate(list(EspeakVoice().stream(text)))
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = 16_000
    to24k = av.AudioResampler(format="fltp", layout="mono", rate=24_000)
    encoder = av.CodecContext.create("libmp3lame", "w")
    encoder.sample_rate, encoder.layout, encoder.format, encoder.bit_rate = 24_000, "mono", "fltp", 48_000
    mp3 = bytearray()
    for resampled in to24k.resample(frame) + to24k.resample(None):
        resampled.pts = None
        for packet in encoder.encode(resampled):
            mp3 += bytes(packet)
    for packet in encoder.encode(None):
        mp3 += bytes(packet)
    return bytes(mp3), len(pcm) / 16_000


class FakeEdge:
    """The Edge TTS websocket on 127.0.0.1. `delay` seconds between audio messages of `chunk` bytes."""

    def __init__(self, delay: float = 0.0, chunk: int = 1500):
        self.delay, self.chunk = delay, chunk
        self.requests: list[tuple[str, str]] = []  # (voice, text)
        self.audio_messages_sent = 0
        self.spoken_seconds = 0.0  # length of the speech it encoded, for comparison
        self.client_left_early = threading.Event()
        self.finished_sending = threading.Event()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-edge", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/consumer/speech/synthesize/readaloud/edge/v1?TrustedClientToken=x"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/consumer/speech/synthesize/readaloud/edge/v1", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive_str()  # Path:speech.config
        ssml = await ws.receive_str()  # Path:ssml
        request_id = re.search(r"X-RequestId:(\w+)", ssml).group(1)
        voice = re.search(r"<voice name='([^']*)'>", ssml).group(1)
        text = html.unescape(re.search(r"<prosody[^>]*>(.*)</prosody>", ssml, re.S).group(1))
        self.requests.append((voice, text))
        head = f"X-RequestId:{request_id}\r\n"
        try:
            await ws.send_str(f"{head}Content-Type:application/json; charset=utf-8\r\nPath:turn.start\r\n\r\n"
                              '{"context":{"serviceTag":"fake"}}')
            if voice in KNOWN_VOICES:  # like the real service, an unknown voice just gets no audio
                mp3, self.spoken_seconds = speech_mp3(text)
                for i in range(0, len(mp3), self.chunk):
                    await ws.send_bytes(_binary(f"{head}Content-Type:audio/mpeg\r\nPath:audio\r\n",
                                                mp3[i:i + self.chunk]))
                    self.audio_messages_sent += 1
                    await asyncio.sleep(self.delay)
                await ws.send_bytes(_binary(f"{head}Path:audio\r\n", b""))
            await ws.send_str(f"{head}Content-Type:application/json; charset=utf-8\r\nPath:turn.end\r\n\r\n"
                              "{}")
            self.finished_sending.set()
        except (ConnectionError, RuntimeError):
            self.client_left_early.set()
            return ws
        async for _ in ws:  # the client closes
            pass
        return ws


def _binary(header: str, payload: bytes) -> bytes:
    """Edge's binary frame: big-endian header length, header lines, payload."""
    raw = header.encode()
    return len(raw).to_bytes(2, "big") + raw + payload


@pytest.fixture
def fake_edge(monkeypatch):
    """Start a FakeEdge and point edge-tts at it; yields the server to tune and inspect."""
    import edge_tts.communicate

    server = FakeEdge()
    server.start()
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def edge_url(monkeypatch):
    """Point edge-tts at another endpoint: edge_url('wss://host/...')."""
    import edge_tts.communicate

    def point(url: str) -> None:
        monkeypatch.setattr(edge_tts.communicate, "WSS_URL", url)

    return point
