"""The RTMP sink: FLV over RTMP(S) with PyAV, reconnecting with backoff when the server goes away.

PyAV holds the GIL while FFmpeg opens an output URL, and sets no timeout on it, so a connect to a
silent host would freeze the whole process. The sink therefore first opens a plain TCP
connection from Python, with a timeout, and only hands the URL to FFmpeg when the server answers.
"""
from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import av

from streamer.pipeline.encoder import Encoder
from streamer.output.sink import Sink, SinkError

log = logging.getLogger("livehost.rtmp")


def mask_url(url: str) -> str:
    """The URL with its stream key hidden, for logs and messages (the key is a secret): all of
    the path after the application (its first part) is hidden, since a key may hold "/"; so is
    any query string (some platforms put the key's signature there)."""
    parts = urlsplit(url)
    app, _, key = parts.path.strip("/").partition("/")
    hidden = f"/{app}/***" if key or parts.query else (f"/{app}" if app else "")
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{hidden}"


def parse_rtmp_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an rtmp:// or rtmps:// push URL, or SinkError saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise SinkError(f"malformed RTMP URL {url!r}: {e}") from None
    if parts.scheme not in ("rtmp", "rtmps"):
        raise SinkError(f"push URL must start with rtmp:// or rtmps://, not {url.split(':')[0]!r}://")
    if not parts.hostname:
        raise SinkError(f"push URL {mask_url(url)} has no host")
    if not parts.path.strip("/"):
        raise SinkError(f"push URL {mask_url(url)} has no application/stream path")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "rtmps" else 1935)


class RtmpSink(Sink):
    """Pushes packets to `url`. While disconnected it drops packets (the live goes on) and
    reconnects with exponential backoff up to `max_delay`; after a reconnect it asks the encoder
    for a keyframe and sends nothing until it arrives, so the server sees a clean new stream."""

    realtime = True

    def __init__(self, url: str, encoder: Encoder, connect_timeout: float = 5.0,
                 max_delay: float = 1.0, on_event: Callable[..., None] | None = None,
                 probe: bool = True):
        self.url = url
        self.safe_url = mask_url(url)
        self.scheme, self.host, self.port = parse_rtmp_url(url)
        self.encoder = encoder
        self.connect_timeout = connect_timeout
        self.max_delay = max_delay
        # FFmpeg's one-client RTMP server (our local receiver) takes a probe for a failed
        # publisher, so the probe is skipped for it; it is local and cannot hang.
        self.probe = probe
        self.on_event = on_event or (lambda *a, **k: None)
        self._out: av.container.OutputContainer | None = None
        self._streams: dict[str, av.stream.Stream] = {}
        self._waiting_for_key = True
        self._delay = 0.0
        self._next_try = 0.0
        self.connects = 0
        self.last_error: str | None = None

    @property
    def connected(self) -> bool:
        return self._out is not None

    def describe(self) -> str:
        return self.safe_url

    def connect(self) -> None:
        """Open the connection now or raise SinkError with the reason."""
        if self.probe:
            self._probe()
        try:
            out = av.open(self.url, "w", format="flv")
            streams = {"video": out.add_stream_from_template(self.encoder.video),
                       "audio": out.add_stream_from_template(self.encoder.audio)}
            out.start_encoding()
        except (av.FFmpegError, OSError) as e:
            raise SinkError(f"RTMP server {self.host}:{self.port} refused the stream "
                            f"{self.safe_url}: {_reason(e)}", "rtmp_refused", host=self.host, port=self.port) from None
        self._out, self._streams = out, streams
        self._waiting_for_key = True
        self._delay = 0.0
        self.connects += 1
        self.last_error = None
        self.encoder.request_keyframe()
        log.info("connected to %s", self.safe_url)
        self.on_event("output", state="connected", url=self.safe_url, connects=self.connects)

    def _probe(self) -> None:
        """A plain TCP connect with a timeout, so FFmpeg never blocks on a silent host."""
        try:
            socket.create_connection((self.host, self.port), timeout=self.connect_timeout).close()
        except socket.gaierror as e:
            raise SinkError(f"cannot resolve RTMP host {self.host}: {e.strerror}",
                            "rtmp_unreachable", host=self.host, port=self.port) from None
        except TimeoutError:
            raise SinkError(f"RTMP server {self.host}:{self.port} did not answer within "
                            f"{self.connect_timeout:g} s", "rtmp_unreachable", host=self.host, port=self.port) from None
        except OSError as e:
            raise SinkError(f"cannot connect to RTMP server {self.host}:{self.port}: "
                            f"{e.strerror or e}", "rtmp_unreachable", host=self.host, port=self.port) from None

    def write(self, packet: av.Packet) -> None:
        if self._out is None:
            if time.monotonic() < self._next_try:
                return
            try:
                self.connect()
            except SinkError as e:
                self._schedule_retry(str(e))
                return
        kind = packet.stream.type
        if self._waiting_for_key:
            if kind != "video" or not packet.is_keyframe:
                return
            self._waiting_for_key = False
        packet.stream = self._streams[kind]
        try:
            self._out.mux(packet)
        except (av.FFmpegError, OSError) as e:
            self._drop_connection(f"lost RTMP server {self.host}:{self.port}: {_reason(e)}")

    def _drop_connection(self, reason: str) -> None:
        out, self._out = self._out, None
        try:
            out.close()
        except Exception:  # noqa: BLE001 - the connection is already gone
            pass
        self._schedule_retry(reason)

    def _schedule_retry(self, reason: str) -> None:
        self._delay = min(self.max_delay, max(0.2, self._delay * 2))
        self._next_try = time.monotonic() + self._delay
        if reason != self.last_error:
            log.warning("%s; retrying every %.1f s at most", reason, self.max_delay)
            self.on_event("output", state="disconnected", url=self.safe_url, reason=reason)
        self.last_error = reason

    def close(self) -> None:
        if self._out is not None:
            out, self._out = self._out, None
            try:
                out.close()
            except Exception as e:  # noqa: BLE001
                log.warning("closing %s: %s", self.safe_url, _reason(e))


def _reason(e: BaseException) -> str:
    if isinstance(e, BrokenPipeError):
        return "connection closed (broken pipe)"
    if isinstance(e, av.FFmpegError) and getattr(e, "strerror", None):
        return e.strerror
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e).split("\n")[0]
