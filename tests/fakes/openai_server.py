"""FakeOpenAI: an OpenAI-compatible chat-completions server on 127.0.0.1, for tests and benchmarks.

It speaks the real wire format the `openai` client reads: `POST /v1/chat/completions`, and with
`"stream": true` a `text/event-stream` of `chat.completion.chunk` objects (a role chunk, one chunk
per token, a `finish_reason: "stop"` chunk, then `data: [DONE]`) in HTTP/1.1 chunked encoding,
each event written to the socket as soon as it is produced. Behaviour is set through attributes
at any time (they apply to the next request): `reply`, `first_token_delay`, `token_delay` (seconds),
`mode` ("ok", "hang", "hang_mid", "error", "bad_json") and `hang_after` (tokens sent in "hang_mid").
`respond(body) -> str | None`, when set, answers each request by its JSON body (its messages) instead of
`reply` (None: `reply`); `completion_delay` (seconds) delays a non-streamed answer.
"""
from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODES = ("ok", "hang", "hang_mid", "error", "bad_json")
_POLL_S = 0.01  # how often a waiting stream looks for the client going away


@dataclass
class RecordedRequest:
    """One request as the fake received it. Header names are lower-cased."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


def tokens(text: str) -> list[str]:
    """Split text roughly as a tokenizer would: words with their leading space, single CJK
    characters, single punctuation marks."""
    return re.findall(r"\s*[A-Za-z0-9'_]+|\s*[^\sA-Za-z0-9'_]|\s+$", text)


class FakeOpenAI:
    """A real HTTP server (ThreadingHTTPServer, one thread per connection) on a free loopback port.

    Records every request in `requests`, every token chunk it wrote as (time.monotonic(), token) in
    `sent`, and counts in `disconnects` the streams whose client went away before the end (seen by a
    failed write or, while waiting, by polling the socket for EOF). All waits take seconds.
    """

    def __init__(self, reply: str = "Hello there! Thanks for watching.", mode: str = "ok",
                 first_token_delay: float = 0.0, token_delay: float = 0.0, hang_after: int = 3):
        self.reply, self.mode, self.hang_after = reply, mode, hang_after
        self.first_token_delay, self.token_delay = first_token_delay, token_delay
        self.respond: Callable[[dict], str | None] | None = None
        self.completion_delay = 0.0
        self.requests: list[RecordedRequest] = []
        self.sent: list[tuple[float, str]] = []
        self.disconnects = 0
        self.disconnected = threading.Event()  # set at the first disconnect
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "FakeOpenAI":
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # ends hanging streams
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait_for_requests(self, count: int = 1, timeout: float = 5.0) -> bool:
        """True once at least `count` requests arrived, False after `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def wait_for_disconnects(self, count: int = 1, timeout: float = 1.0) -> bool:
        """True once at least `count` streams lost their client early, False after `timeout` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.disconnects >= count, timeout)

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _lost_client(self) -> None:
        with self._changed:
            self.disconnects += 1
            self.disconnected.set()
            self._changed.notify_all()


def _handler_for(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.fake = fake
    return Handler


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer encoding, as real servers
    server_version = "FakeOpenAI/1.0"
    fake: FakeOpenAI

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: tests read their own logs

    def do_GET(self) -> None:
        self._record(None)
        self._json(404, _error(f"Unknown request URL: GET {self.path}.", "invalid_request_error"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._record(None)
            self._json(400, _error("We could not parse the JSON body of your request.", "invalid_request_error"))
            return
        self._record(body if isinstance(body, dict) else None)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, _error(f"Unknown request URL: POST {self.path}.", "invalid_request_error"))
            return
        fake = self.fake
        if fake.mode == "error":
            self._json(500, _error("The server had an error while processing your request.", "server_error"))
            return
        model = str(body.get("model", "")) if isinstance(body, dict) else ""
        text = fake.reply
        if fake.respond is not None and isinstance(body, dict):
            answer = fake.respond(body)
            text = fake.reply if answer is None else answer
        try:
            if not (isinstance(body, dict) and body.get("stream")):
                self._wait(fake.completion_delay)
                self._json(200, _completion(model, text))
                return
            self._stream(model, text)
        except _ClientGone:
            fake._lost_client()
            self.close_connection = True

    def _record(self, body: dict | None) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.fake._record(RecordedRequest(self.command, self.path, headers, body))

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, model: str, text: str) -> None:
        fake = self.fake
        mode = fake.mode
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        if mode == "hang":
            self._wait(None)
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        self._event(_chunk(cid, created, model, {"role": "assistant", "content": ""}))
        self._wait(fake.first_token_delay)
        if mode == "bad_json":
            self._event_raw(b'data: {"id": "chatcmpl-x", "choices": [{"delta": {"content": "Hel\n\n')  # cut short
            self._end()
            return
        for i, token in enumerate(tokens(text)):
            if mode == "hang_mid" and i >= fake.hang_after:
                self._wait(None)
            if i:
                self._wait(fake.token_delay)
            self._event(_chunk(cid, created, model, {"content": token}))
            fake.sent.append((time.monotonic(), token))
        self._event(_chunk(cid, created, model, {}, finish="stop"))
        self._event_raw(b"data: [DONE]\n\n")
        self._end()

    def _event(self, payload: dict) -> None:
        self._event_raw(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")

    def _event_raw(self, data: bytes) -> None:
        self._write(b"%X\r\n%s\r\n" % (len(data), data))

    def _end(self) -> None:
        self._write(b"0\r\n\r\n")

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as e:
            raise _ClientGone() from e

    def _wait(self, seconds: float | None) -> None:
        """Sleep `seconds` (None: until the client leaves or the server stops), watching for EOF."""
        deadline = None if seconds is None else time.monotonic() + seconds
        sock = self.connection
        while deadline is None or time.monotonic() < deadline:
            if self.fake._stopping.is_set():
                raise _ClientGone()
            step = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - time.monotonic()))
            readable, _, _ = select.select([sock], [], [], step)
            if readable:
                try:
                    if sock.recv(1, socket.MSG_PEEK) == b"":
                        raise _ClientGone()
                except OSError as e:
                    raise _ClientGone() from e
                time.sleep(step)  # the client sent something (a next request): not our concern here


def _chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                                          "finish_reason": finish}]}


def _completion(model: str, text: str) -> dict:
    n = len(tokens(text))
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                         "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n}}


def _error(message: str, kind: str) -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
