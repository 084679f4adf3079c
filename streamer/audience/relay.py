"""The relay: how Douyin, Kuaishou, TikTok and every platform without an adapter reach the host.
A relay tool or a platform's webhook posts events in one documented JSON format, checked here.

An event is a JSON object; a batch is {"events": [1..100 events]}:

    type      required: comment | gift | superchat | follow | enter | like | guard | online
    platform  [a-z0-9_-]{1,20}, default: the endpoint's ("relay")
    user_id, user, gift       strings of at most 64 characters
    text      at most 500 characters; required, not blank, for comment and superchat
    count     integer 0..10^9 (a like without one counts 1)
    value     number 0..10^7, what it was worth in `currency` (at most 8 characters)
    at        unix seconds or ISO 8601 (UTC when it has no offset); default: when received
    id        the platform's message id, at most 128 characters

Nothing else is accepted: an unknown field, a wrong type (true is not a number) or a size past its
bound refuses the whole body with a RelayError naming the field ("events[3].type").

RelayServer is the embedded default's endpoint (`livehost demo --source relay`); it answers as the
API's per-room relay endpoints do, in the API's error shape.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import re
import socket
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any

from simple_websocket import ConnectionClosed, Server
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from streamer.audience.events import MAX_NAME, MAX_TEXT, AudienceEvent, Kind

log = logging.getLogger("livehost.audience")

MAX_EVENTS = 100  # events in one batch
MAX_BODY = 256 * 1024  # bytes of one POST body or WebSocket message (answered 413 past it)
MAX_WS_FRAME = 1 << 20  # bytes of a WebSocket message past which it is not read: the socket closes (1009)
MAX_ID = 128
MAX_CURRENCY = 8
MAX_COUNT = 10**9
MAX_VALUE = 10**7
FIELDS = ("type", "platform", "user_id", "user", "text", "gift", "count", "value", "currency", "at", "id")
_PLATFORM = re.compile(r"[a-z0-9_-]{1,20}")
_STRINGS = {"user_id": MAX_NAME, "user": MAX_NAME, "gift": MAX_NAME, "text": MAX_TEXT, "currency": MAX_CURRENCY,
            "id": MAX_ID}
_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


class RelayError(ValueError):
    """A body that is not a valid event or batch: one line, and `field`, the bad field's path
    ("events[3].type"; "" when the body as a whole is wrong)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


def parse_relay(payload: Any, platform: str = "relay") -> list[AudienceEvent]:
    """The events of one relay body (already decoded from JSON): one event or {"events": [...]}.
    `platform` is the events' platform when they do not name one. Raises RelayError."""
    if isinstance(payload, dict) and "events" in payload:
        extra = sorted(set(payload) - {"events"})
        if extra:
            raise RelayError(f"a batch holds only \"events\", not {extra[0]!r}", extra[0])
        events = payload["events"]
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
            raise RelayError(f"events must be a list of 1..{MAX_EVENTS} events", "events")
        return [_event(event, f"events[{n}]", platform) for n, event in enumerate(events)]
    return [_event(payload, "", platform)]


def _event(data: Any, where: str, platform: str) -> AudienceEvent:
    def bad(field: str, message: str) -> RelayError:
        path = f"{where}.{field}" if where else field
        return RelayError(f"{path}: {message}", path)

    if not isinstance(data, dict):
        raise RelayError(f"{where or 'the body'}: an event is a JSON object", where)
    for name in data:
        if name not in FIELDS:
            raise bad(str(name)[:40], "unknown field")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in Kind._value2member_map_:
        raise bad("type", f"must be one of {', '.join(k.value for k in Kind)}")
    fields: dict[str, Any] = {"platform": data.get("platform", platform)}
    if not isinstance(fields["platform"], str) or not _PLATFORM.fullmatch(fields["platform"]):
        raise bad("platform", "must be 1..20 characters of a-z 0-9 _ -")
    for name, limit in _STRINGS.items():
        if name in data:
            if not isinstance(data[name], str):
                raise bad(name, "must be a string")
            if len(data[name]) > limit:
                raise bad(name, f"must be at most {limit} characters")
            if not _is_unicode(data[name]):
                raise bad(name, "must be valid Unicode (a lone surrogate is not)")
            fields[name] = data[name]
    if kind in (Kind.COMMENT, Kind.SUPERCHAT) and not fields.get("text", "").strip():
        raise bad("text", f"is required for a {kind}")
    if "count" in data:
        count = data["count"]
        if type(count) is not int or not 0 <= count <= MAX_COUNT:
            raise bad("count", f"must be an integer 0..{MAX_COUNT}")
        fields["count"] = count
    elif kind == Kind.LIKE:
        fields["count"] = 1
    if "value" in data:
        value = data["value"]
        if type(value) not in (int, float) or not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
            raise bad("value", f"must be a number 0..{MAX_VALUE}")
        fields["value"] = float(value)
    if "at" in data:
        at = _seconds(data["at"])
        if at is None:
            raise bad("at", "must be unix seconds or an ISO 8601 time")
        fields["at"] = at
    return AudienceEvent(Kind(kind), raw=dict(data), **fields)


def _is_unicode(text: str) -> bool:
    try:
        text.encode()
    except UnicodeError:
        return False
    return True


def _seconds(at: Any) -> float | None:
    if type(at) in (int, float):
        return float(at) if math.isfinite(at) and 0 < at < 1e11 else None
    if isinstance(at, str) and len(at) <= 40:
        try:
            stamp = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()
    return None


# -- the endpoint's protocol ------------------------------------------------------------------------
def relay_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The token a client sent: `Authorization: Bearer TOKEN`, `X-Livehost-Token`, or `?token=`."""
    scheme, _, value = (headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return (headers.get("X-Livehost-Token") or query.get("token") or "").strip()


def _token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected token matches nothing."""
    return bool(expected) and hmac.compare_digest(given.encode(errors="replace"), expected.encode())


def _error(code: str, message: str, reason: str = "", field: str = "") -> dict:
    """The API's error shape, {"error": {"code", "message", "reason"?, "params"?, "fields"?}}."""
    error: dict[str, Any] = {"code": code, "message": message}
    if reason:
        error["reason"], error["params"] = reason, ({"field": field, "error": message} if field else {})
    if field:
        error["fields"] = {field: message}
    return {"error": error}


_UNAUTHORIZED = _error("unauthorized", "a valid relay token is required (Authorization: Bearer TOKEN, "
                       "X-Livehost-Token: TOKEN or ?token=TOKEN)", "relay_token_invalid")
_TOO_LARGE = _error("too_large", f"request bodies are limited to {MAX_BODY} bytes", "body_too_large")
_NOT_JSON = _error("bad_request", "the body is not valid JSON")


def _answer(body: bytes, platform: str) -> tuple[int, dict, list[AudienceEvent]]:
    """(status, answer, events) for one POST body or WebSocket message: 202 {"accepted": n}, or
    400 (not JSON), 413 (too large), 422 (an invalid event, its field named) and no events."""
    if len(body) > MAX_BODY:
        return 413, _TOO_LARGE, []
    if not body.strip():
        return 422, _error("invalid", "send an event or {\"events\": [...]} as JSON", "relay_event", "body"), []
    try:
        payload = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return 400, _NOT_JSON, []
    try:
        events = parse_relay(payload, platform)
    except RelayError as e:
        return 422, _error("invalid", str(e), "relay_event", e.field or "body"), []
    return 202, {"accepted": len(events)}, events


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _scrub_token(text: str) -> str:
    """A log line without the value of a `token=` query parameter."""
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


# -- the embedded default's endpoint ---------------------------------------------------------------
class RelayServer:
    """`livehost demo --source relay`'s inbound endpoint on `listen` ("host:port"; port 0: a free
    one): `POST /events` and WebSocket `/ws`, both requiring `token`. Accepted events go to
    `on_events` (a list per body or message, from a server thread; it must return quickly).

    Served by werkzeug's threaded server on a thread named `relay-server`; the WebSocket side is
    simple-websocket, the engine flask-sock runs on, so it answers as the API's relay endpoints do.
    Access lines are not logged (a query string may carry the token)."""

    def __init__(self, listen: str, token: str, on_events: Callable[[list[AudienceEvent]], None],
                 platform: str = "relay"):
        if not token:
            raise ValueError("RelayServer needs a token")
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"listen must be host:port, not {listen!r}")
        self._host, self._port = host.strip("[]"), int(port)
        self._token, self.on_events, self.platform = token, on_events, platform
        self._server = None
        self._thread: threading.Thread | None = None
        self._sockets: set = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """http://host:port of the running server (POST {url}/events)."""
        if self._server is None:
            raise RuntimeError("the relay server is not started")
        host = self._host if ":" not in self._host else f"[{self._host}]"
        return f"http://{host}:{self._server.server_port}"

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/ws"

    def start(self) -> RelayServer:
        self._server = make_server(self._host, self._port, self._app, threaded=True, request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="relay-server", daemon=True)
        self._thread.start()
        log.info("relay endpoint listening on %s (POST /events, WebSocket /ws)", self.url)
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, close open WebSockets and join the server thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            try:
                ws.close(reason=1001, message="the live ended")
            except Exception:  # noqa: BLE001 - a socket that is already gone
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the WSGI side --------------------------------------------------------------------------
    def _app(self, environ: dict, start_response: Callable) -> list[bytes]:
        request = _Request(environ)
        if request.path not in ("/events", "/ws"):
            return _reply(start_response, 404, {"error": {"code": "not_found", "message": "POST /events or "
                                                          "WebSocket /ws"}})
        if request.path == "/events" and request.method != "POST":
            return _reply(start_response, 405, {"error": {"code": "method_not_allowed", "message": "POST /events"}},
                          [("Allow", "POST")])
        if not _token_matches(relay_token(request.headers, request.args), self._token):
            return _reply(start_response, 401, _UNAUTHORIZED)
        if request.path == "/ws":
            return self._websocket(environ, start_response)
        try:
            status, answer, events = _answer(request.get_data(cache=False), self.platform)
        except RequestEntityTooLarge:
            status, answer, events = 413, _TOO_LARGE, []
        if events and not self._deliver(events):
            status, answer = 500, _error("internal", "internal error; see the server log")
        return _reply(start_response, status, answer)

    def _websocket(self, environ: dict, start_response: Callable) -> list[bytes]:
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return _reply(start_response, 400, {"error": {"code": "websocket_expected",
                                                          "message": "/ws is a WebSocket endpoint"}})
        ws = Server.accept(environ, max_message_size=MAX_WS_FRAME)
        with self._lock:
            self._sockets.add(ws)
        try:
            while True:
                message = ws.receive()
                if message is None:
                    continue
                ws.send(json.dumps(self._message(message)))
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._sockets.discard(ws)
            try:
                ws.close()
            except Exception:  # noqa: BLE001 - already closed
                pass
            _hang_up(environ)
        # the connection belonged to the WebSocket: no HTTP answer may follow it
        raise ConnectionAbortedError("websocket closed")

    def _message(self, message: str | bytes) -> dict:
        """The answer to one WebSocket message: {"ok": true, "accepted": n} or {"ok": false, "error",
        "reason", "field"} (as the POST's error says it)."""
        body = message.encode(errors="replace") if isinstance(message, str) else message
        status, answer, events = _answer(body, self.platform)
        if events and not self._deliver(events):
            status, answer = 500, _error("internal", "internal error; see the server log")
        if status == 202:
            return {"ok": True, **answer}
        error = answer["error"]
        return {"ok": False, "error": error["message"], "reason": error.get("reason"),
                "field": next(iter(error.get("fields") or {}), None)}

    def _deliver(self, events: list[AudienceEvent]) -> bool:
        try:
            self.on_events(events)
        except Exception:  # noqa: BLE001 - the receiver's bug is logged, answered 500, and survived
            log.exception("relay: handling %d events failed", len(events))
            return False
        return True


def _hang_up(environ: dict) -> None:
    """End the TCP connection under a finished WebSocket now (the server's handler still holds
    it, and the client waits for it to close)."""
    try:
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    except (KeyError, OSError):
        pass


def _reply(start_response: Callable, status: int, body: dict, headers: list | None = None) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(f"{status} {HTTPStatus(status).phrase}", [("Content-Type", "application/json"),
                                                             ("Content-Length", str(len(data))), *(headers or [])])
    return [data]


class _Request(Request):
    max_content_length = MAX_BODY + 1  # one more: a body at the limit is read, one past it refused


class _QuietHandler(WSGIRequestHandler):
    """No access lines; errors logged at debug without a query string's token."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        log.debug("relay server: %s", _scrub_token(message % args if args else message))
