"""What the self-hosted TTS server engines (gptsovits, cosyvoice) share: their spec parameters'
conversion, one HTTP request streamed on a helper thread with bounded waits and a prompt hang-up,
and raw 16-bit PCM bytes cut anywhere turned into the pipeline's 16 kHz mono float32.
"""
from __future__ import annotations

import json
import logging
import math
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import numpy as np

from streamer.voice.base import VoiceError
from streamer.voice.resample import StreamResampler

log = logging.getLogger("livehost.voice")

_POLL_S = 0.02  # how often a waiting consumer looks at its cancel event and deadline
_JOIN_S = 0.05  # longest a finished or cancelled stream waits for its helper thread
_ERROR_BODY_BYTES = 4096  # of an error answer, what is read for its message
_DONE = object()
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_KINDS = {str: "text", int: "a whole number", float: "a number", bool: "true or false",
          list: "a comma-separated list"}


def convert(engine: str, name: str, value: str, kind: type) -> object:
    """A spec parameter's text as `kind` (str, int, float, bool or list: comma-separated);
    VoiceError naming the parameter when the text is not one."""
    text = value.strip()
    try:
        if kind is str:
            return value
        if kind is list:
            return [part.strip() for part in text.split(",") if part.strip()]
        if kind is bool:
            if text.lower() not in _TRUE + _FALSE:
                raise ValueError
            return text.lower() in _TRUE
        number = kind(text)
        if not math.isfinite(number):
            raise ValueError
        return number
    except ValueError:
        raise VoiceError(f"{engine} parameter {name} must be {_KINDS[kind]}, got '{value}'") from None


def positive_seconds(engine: str, options: dict[str, object], default: float) -> float:
    """The spec's `timeout` parameter (seconds, > 0), or `default`."""
    if "timeout" not in options:
        return default
    seconds = convert(engine, "timeout", str(options["timeout"]), float)
    if seconds <= 0:
        raise VoiceError(f"{engine} parameter timeout must be a positive number of seconds, got '{options['timeout']}'")
    return seconds


@dataclass(frozen=True)
class HttpCall:
    """One request to a TTS server: method, path under the server's URL, query and body
    (`json`, or `data` form fields with `files` {field: (filename, bytes, content type)})."""

    method: str
    path: str
    params: dict[str, str] | None = None
    json: dict[str, object] | None = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)


class ServerAnswered(VoiceError):
    """The server answered a request with an HTTP error status; `status` is that status."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class TtsServer:
    """A TTS server at `url` reached over HTTP; `label` names it in errors ('GPT-SoVITS server
    http://127.0.0.1:9880'). `timeout` (seconds) bounds connecting and, by default, the wait for
    the first byte of a body and every later stall.

    Each request gets its own connection (no keep-alive), so hanging up closes just that request.
    Proxy variables of the environment are ignored: these servers are reached directly.
    """

    def __init__(self, url: str, label: str, timeout: float, thread_name: str):
        self.url, self.label, self.timeout = url.rstrip("/"), label, timeout
        self._thread_name = thread_name
        self._client: httpx.Client | None = None  # made on first use: building a voice stays cheap
        self._lock = threading.Lock()

    def stream(self, call: HttpCall, cancel: threading.Event | None = None, wait_s: float | None = None,
               awaiting: str = "audio") -> Iterator[bytes]:
        """Yield the body of the answer to `call` as its bytes arrive, in the caller's thread.

        Ends, without raising, within about 20 ms of `cancel` being set, and hangs up at once so
        the server sees the disconnect. Raises ServerAnswered for an HTTP error status (with the
        server's message) and VoiceError when the server cannot be reached, breaks the body off,
        or sends nothing for `wait_s` seconds (default `timeout`; `awaiting` names what was due).
        """
        wait_s = self.timeout if wait_s is None else wait_s
        exchange = _Exchange(self._http(), self.url + call.path, call, self.timeout, wait_s)
        threading.Thread(target=exchange.run, name=self._thread_name, daemon=True).start()
        started = time.monotonic()
        deadline = started + wait_s
        try:
            while True:
                try:
                    item = exchange.items.get(timeout=_POLL_S)
                except queue.Empty:
                    item = None
                if cancel is not None and cancel.is_set():
                    log.debug("%s %s: cancelled", self.label, call.path)
                    return
                if item is None:
                    if time.monotonic() > deadline:
                        raise VoiceError(f"{self.label} gave no {awaiting} within {wait_s:g} s")
                    continue
                if item is _DONE:
                    log.debug("%s %s: answered in %.2f s", self.label, call.path, time.monotonic() - started)
                    return
                if isinstance(item, _ErrorAnswer):
                    raise ServerAnswered(f"{self.label} answered HTTP {item.status} to {call.path}: "
                                         f"{error_message(item.body)}", item.status)
                if isinstance(item, BaseException):
                    raise VoiceError(self._reason(item, exchange.answered, wait_s, awaiting)) from item
                deadline = time.monotonic() + wait_s
                yield item
        finally:
            exchange.stop()

    def fetch(self, call: HttpCall, cancel: threading.Event | None = None, wait_s: float | None = None) -> bytes | None:
        """The whole body of the answer to `call` (a small one), or None if cancelled meanwhile."""
        body = b"".join(self.stream(call, cancel, wait_s, awaiting="answer"))
        return None if cancel is not None and cancel.is_set() else body

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(trust_env=False, follow_redirects=False,
                                            limits=httpx.Limits(max_keepalive_connections=0))
            return self._client

    def _reason(self, exc: BaseException, answered: bool, wait_s: float, awaiting: str) -> str:
        """What went wrong with the connection, in words an operator can act on."""
        if isinstance(exc, httpx.ConnectTimeout):
            return f"cannot reach {self.label} (no connection within {self.timeout:g} s)"
        if isinstance(exc, httpx.ConnectError):
            return f"cannot reach {self.label} ({_os_reason(exc)})"
        if isinstance(exc, httpx.TimeoutException):
            return f"{self.label} gave no {awaiting} within {wait_s:g} s"
        if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
            if answered:
                return f"{self.label} broke off its answer mid-stream (its log says why)"
            return f"{self.label} closed the connection without answering"
        return f"{self.label} failed: {type(exc).__name__}: {_one_line(str(exc))}"


@dataclass(frozen=True)
class _ErrorAnswer:
    status: int
    body: bytes


class _Exchange:
    """One request on a helper thread: posts the body's chunks, then _DONE, an _ErrorAnswer or the
    exception to `items`. Keeps the connection's socket so that stop() can shut it down, which
    wakes a blocked read at once and tells the server the client left."""

    def __init__(self, client: httpx.Client, url: str, call: HttpCall, connect_s: float, wait_s: float):
        self._client, self._url, self._call = client, url, call
        self._timeout = httpx.Timeout(connect_s, read=wait_s)
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.answered = False  # the status line and headers have arrived
        self._socket: socket.socket | None = None
        self._stopped = threading.Event()
        self._finished = threading.Event()

    def run(self) -> None:
        call = self._call
        try:
            with self._client.stream(call.method, self._url, params=call.params, json=call.json,
                                     data=call.data, files=call.files, timeout=self._timeout,
                                     extensions={"trace": self._trace}) as response:
                self.answered = True
                if not response.is_success:
                    self.items.put(_ErrorAnswer(response.status_code, _head(response)))
                    return
                for chunk in response.iter_bytes():
                    if self._stopped.is_set():
                        return
                    self.items.put(chunk)
            self.items.put(_DONE)
        except Exception as e:  # noqa: BLE001 - handed to the consumer, which raises VoiceError
            if not self._stopped.is_set():
                self.items.put(e)
        finally:
            self._finished.set()

    def stop(self) -> None:
        """Hang up unless the exchange has finished; wait briefly for the helper thread."""
        self._stopped.set()
        if not self._finished.is_set():
            self._hang_up()
            self._finished.wait(_JOIN_S)

    def _trace(self, event: str, info: dict) -> None:
        """httpcore's trace hook: keep the socket of a new connection (plain or TLS)."""
        if event.endswith(("connect_tcp.complete", "start_tls.complete")):
            self._socket = info["return_value"].get_extra_info("socket")
            if self._stopped.is_set():
                self._hang_up()

    def _hang_up(self) -> None:
        sock = self._socket
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by the helper
                pass


def _head(response: httpx.Response) -> bytes:
    """The first few KiB of an error answer's body."""
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= _ERROR_BODY_BYTES:
            break
    return body[:_ERROR_BODY_BYTES]


def error_message(body: bytes) -> str:
    """The message of an error answer: api_v2's {"message", "Exception"}, FastAPI's {"detail"}
    (a text, or a list of field errors), else the text itself."""
    text = body.decode("utf-8", "replace").strip()
    try:
        answer = json.loads(text)
    except ValueError:
        return _one_line(text) or "(no message)"
    if not isinstance(answer, dict):
        return _one_line(text)
    if "message" in answer:
        message = str(answer["message"])
        if answer.get("Exception"):
            message += f": {answer['Exception']}"
        return _one_line(message)
    detail = answer.get("detail")
    if isinstance(detail, list):
        return _one_line("; ".join(_field_error(d) for d in detail))
    return _one_line(str(detail if detail is not None else text))


def _field_error(error: object) -> str:
    """One of FastAPI's validation errors: 'tts_text: Field required'."""
    if not isinstance(error, dict):
        return str(error)
    where = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return f"{'.'.join(where) or 'request'}: {error.get('msg', error)}"


def _os_reason(exc: BaseException) -> str:
    """'connection refused', 'Name or service not known': the OS's words without the errno."""
    text = str(exc)
    if text.startswith("[Errno") and "] " in text:
        text = text.split("] ", 1)[1]
    return _one_line(text) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Pcm16Decoder:
    """Little-endian 16-bit PCM bytes at `rate` Hz, cut at any byte, -> 16 kHz mono float32
    (channels averaged). Keeps the bytes of a split sample for the next push. One per stream."""

    def __init__(self, rate: int, channels: int = 1):
        self.rate, self.channels = rate, channels
        self._frame_bytes = 2 * channels
        self._rest = b""
        self._resampler = StreamResampler()

    def push(self, data: bytes) -> np.ndarray:
        if self._rest:
            data = self._rest + data
        usable = len(data) - len(data) % self._frame_bytes
        self._rest = data[usable:]
        samples = np.frombuffer(data, dtype="<i2", count=usable // 2)
        if self.channels > 1:
            samples = samples.reshape(-1, self.channels).mean(axis=1).astype(np.int16)
        return self._resampler.pcm16(samples, self.rate)

    def flush(self) -> np.ndarray:
        """What the resampler still holds; the stream is finished after this."""
        return self._resampler.flush()
