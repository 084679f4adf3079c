"""The WebSocket service: WhisperLive's protocol over `websockets`, a client manager (max_clients,
max_connection_time, optional API key) and the one inference worker.

The event loop runs in the thread `transcriber-server` (`start()`/`stop()`), or in the caller with
`serve_forever()`. Results come back from the worker thread through each client's outbox. After
END_OF_AUDIO the client gets its final commit and then the server closes the connection."""
from __future__ import annotations

import asyncio
import hmac
import logging
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from transcriber import protocol
from transcriber.engine import WhisperEngine
from transcriber.metrics import TranscriberMetrics
from transcriber.settings import TranscriberSettings
from transcriber.stream import ClientStream
from transcriber.vad import StreamingVad, silero_session
from transcriber.worker import InferenceWorker

log = logging.getLogger(__name__)
OPTIONS_TIMEOUT = 10.0   # seconds a new connection has to send its options
FINAL_TIMEOUT = 30.0     # seconds after END_OF_AUDIO the final commit may take before the socket closes anyway
FLUSH_TIMEOUT = 5.0      # seconds to send what is queued before closing


@dataclass(eq=False)
class Client:
    uid: str
    ws: ServerConnection
    stream: ClientStream
    started: float
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)   # texts to send; None ends the sender
    drained: asyncio.Event = field(default_factory=asyncio.Event)  # the final commit is in the outbox


class TranscriptionServer:
    """Serves `settings.host:port`; the model is loaded in the constructor (or passed in, shared)."""

    def __init__(self, settings: TranscriberSettings, engine: WhisperEngine | None = None):
        self.settings = settings
        self.engine = engine or WhisperEngine(settings.model, settings.device, settings.effective_compute_type,
                                              settings.cpu_threads)
        self._vad_session = silero_session()
        self._clients: dict[ClientStream, Client] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.metrics = TranscriberMetrics()
        self._worker = InferenceWorker(self.engine, self._deliver, self._inferred)
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.port = settings.port
        self.metrics_port = settings.metrics_port

    # ---- life cycle ------------------------------------------------------------------------
    def start(self) -> "TranscriptionServer":
        """Serve in a background thread; returns once the port is open (`self.port` is the real one)."""
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), name="transcriber-server",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("transcription server did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread:
            self._thread.join(timeout=10)

    def serve_forever(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._worker.start()
        if self.settings.metrics_port:
            self.metrics_port = self.metrics.serve(self.settings.metrics_port, self.settings.host)
        try:
            async with serve(self._handle, self.settings.host, self.settings.port, max_size=2 ** 22,
                             ping_interval=20, ping_timeout=60) as server:
                self.port = server.sockets[0].getsockname()[1]
                log.info("transcription service on ws://%s:%d (model %s, at most %d clients, %s)",
                         self.settings.host, self.port, self.engine.name, self.settings.max_clients,
                         "API key required" if self.settings.api_key else "no API key")
                self._ready.set()
                await self._stopping.wait()
        finally:
            self._worker.stop()

    # ---- one connection --------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        try:
            first = await asyncio.wait_for(ws.recv(), OPTIONS_TIMEOUT)
        except (TimeoutError, ConnectionClosed):
            return
        try:
            options = protocol.parse_options(first, self.settings.send_last_n_segments)
        except protocol.ProtocolError as e:
            log.info("client %s: bad options: %s", e.uid, e)
            self.metrics.connections.labels("bad_options").inc()
            await self._refuse(ws, protocol.error(e.uid, str(e)), 1003)
            return
        uid = options.uid
        if self.settings.api_key and not self._key_ok(ws):
            log.warning("client %s: refused, wrong or missing API key", uid)
            self.metrics.connections.labels("bad_key").inc()
            await self._refuse(ws, protocol.error(uid, "invalid or missing API key"), 1008)
            return
        if len(self._clients) >= self.settings.max_clients:
            minutes = self._wait_minutes()
            log.info("client %s: server full (%d clients), wait %.1f min", uid, len(self._clients), minutes)
            self.metrics.connections.labels("full").inc()
            await self._refuse(ws, protocol.wait(uid, minutes), 1013)
            return
        stream = ClientStream(options, StreamingVad(self._vad_session) if options.use_vad else None)
        client = Client(uid, ws, stream, time.monotonic())
        self._clients[stream] = client
        self._worker.add(stream)
        self.metrics.connections.labels("accepted").inc()
        self.metrics.clients.set(len(self._clients))
        ended = "closed"
        log.info("client %s: connected (%d/%d, vad %s, %s)", uid, len(self._clients), self.settings.max_clients,
                 options.use_vad, options.audio_format)
        sender = asyncio.create_task(self._send_loop(client))
        try:
            await ws.send(protocol.server_ready(uid))
            if await asyncio.wait_for(self._receive(client), self._remaining(client)):
                log.info("client %s: end of audio, final commit sent", uid)
                ended = "end_of_audio"
                await self._flush_then(client, None, sender)
        except TimeoutError:
            log.info("client %s: connection time limit (%.0f s) reached", uid, self.settings.max_connection_time)
            ended = "time_limit"
            await self._flush_then(client, protocol.disconnect(uid), sender)
        except protocol.ProtocolError as e:
            log.info("client %s: protocol error: %s", uid, e)
            ended = "protocol_error"
            await self._flush_then(client, protocol.error(uid, str(e)), sender)
        except ConnectionClosed:
            pass
        finally:
            self._worker.remove(stream)
            self._clients.pop(stream, None)
            self.metrics.clients.set(len(self._clients))
            self.metrics.ended.labels(ended).inc()
            sender.cancel()
            await ws.close()
            log.info("client %s: gone after %.1f s", uid, time.monotonic() - client.started)

    async def _receive(self, client: Client) -> bool:
        """Feed the client's audio to its stream; True once END_OF_AUDIO's final commit is queued,
        False when the client closed first."""
        fmt = client.stream.options.audio_format
        async for message in client.ws:
            if message == protocol.END_OF_AUDIO or message == "END_OF_AUDIO":
                client.stream.finish()
                self._worker.wake()
                if client.stream.drained:
                    client.drained.set()
                try:
                    await asyncio.wait_for(client.drained.wait(), FINAL_TIMEOUT)
                except TimeoutError:
                    log.warning("client %s: no final commit %.0f s after END_OF_AUDIO", client.uid, FINAL_TIMEOUT)
                return True
            if isinstance(message, str):
                raise protocol.ProtocolError("audio must come as binary frames", client.uid)
            samples = protocol.decode_audio(message, fmt)
            client.stream.add_audio(samples)
            self.metrics.audio.inc(samples.size / protocol.SAMPLE_RATE)
            self._worker.wake()
        return False

    async def _send_loop(self, client: Client) -> None:
        while (text := await client.outbox.get()) is not None:
            try:
                await client.ws.send(text)
            except ConnectionClosed:
                return

    @staticmethod
    async def _flush_then(client: Client, text: str | None, sender: asyncio.Task) -> None:
        """Send what is queued for the client, then `text` if any (the connection is closed after)."""
        if text is not None:
            client.outbox.put_nowait(text)
        client.outbox.put_nowait(None)
        try:
            await asyncio.wait_for(asyncio.shield(sender), FLUSH_TIMEOUT)
        except TimeoutError:
            log.warning("client %s: could not send its last messages in %.0f s", client.uid, FLUSH_TIMEOUT)

    @staticmethod
    async def _refuse(ws: ServerConnection, text: str, code: int) -> None:
        try:
            await ws.send(text)
            await ws.close(code)
        except ConnectionClosed:
            pass

    def _remaining(self, client: Client) -> float:
        return max(0.0, self.settings.max_connection_time - (time.monotonic() - client.started))

    def _wait_minutes(self) -> float:
        """Minutes until the first connected client reaches its time limit."""
        return min(self._remaining(c) for c in self._clients.values()) / 60.0

    def _key_ok(self, ws: ServerConnection) -> bool:
        given = ""
        auth = ws.request.headers.get("Authorization", "") if ws.request else ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        elif ws.request:
            given = (parse_qs(urlsplit(ws.request.path).query).get("api_key") or [""])[0]
        return bool(given) and hmac.compare_digest(given.encode(), self.settings.api_key.encode())

    # ---- from the worker thread ------------------------------------------------------------
    def _inferred(self, seconds: float, ok: bool) -> None:
        self.metrics.inference.observe(seconds)
        if not ok:
            self.metrics.inference_errors.inc()

    def _deliver(self, stream: ClientStream, segments: list[dict] | None,
                 detected: tuple[str, float] | None) -> None:
        lags, stream.commit_lags = stream.commit_lags, []
        for lag in lags:
            self.metrics.commits.inc()
            self.metrics.commit_delay.observe(lag)
        client = self._clients.get(stream)
        if client is None or self._loop is None:
            return
        if detected:
            log.info("client %s: language %s (%.2f)", client.uid, *detected)
            self._loop.call_soon_threadsafe(client.outbox.put_nowait,
                                            protocol.language(client.uid, detected[0], detected[1]))
        if segments is not None:
            self._loop.call_soon_threadsafe(client.outbox.put_nowait, protocol.segments(client.uid, segments))
        if stream.drained:  # after the final commit's segments, in the loop's order
            self._loop.call_soon_threadsafe(client.drained.set)

    @property
    def stats(self) -> dict:
        return {"clients": len(self._clients), "inference_calls": self._worker.calls,
                "inference_busy_s": round(self._worker.busy_s, 2)}
