"""A room's audience sources: the platforms' chats it reads (Bilibili, YouTube, with write-only
credentials encrypted at rest), their connection test, and the relay through which any other
platform's events reach the room's live.

The relay takes events in streamer.audience.relay's JSON format over HTTP (POST .../relay/events)
or a WebSocket (.../relay/ws), authenticated by the room's relay token, not by a sign-in: the
token is shown once when made, kept only as its SHA-256, compared in constant time and never
logged. Accepted events go to the room's running live as one `audience` command on the bus."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
from secrets import token_urlsafe
from typing import Any, Literal

from flask import Blueprint, current_app, request
from flask_sock import Sock
from limits import parse as parse_limit
from pydantic import Field, StrictBool, field_validator
from sqlalchemy import select

from backend import audit
from backend.api import INT_MAX, MAX_ID, OPERATE, PUBLIC, Model, Operation, Out, get_or_404, route
from backend.db import db
from backend.errors import ApiError, invalid_value
from backend.limits import MAX_JSON_DEPTH, json_depth
from backend.resources.control import BUS_DOWN, now_iso
from db import secrets
from db.models import RUNNING_STATUSES, SOURCE_SECRETS, LiveSession, Room
from streamer.audience.relay import RelayError, parse_relay, relay_token
from streamer.control.bus import BusError

bp = Blueprint("relay", __name__, url_prefix="/api/rooms")
log = logging.getLogger("livehost.api")

MAX_RELAY_BYTES = 256 * 1024  # one POST body or WebSocket message
MAX_WS_FRAME = 1 << 20  # past this a WebSocket message is not even read: the socket closes (1009)
RELAY_LIMIT = "100/second"  # per room, HTTP requests and WebSocket messages together (app.config RELAY_LIMIT)
TEST_TIMEOUT_S = 10.0
SECRET_DOC = {"pattern": r"^[^\x00-\x1f\x7f]*$"}  # check_secret's rule
VIDEO_ID = r"^([A-Za-z0-9_-]{1,64})?$"


def data_key() -> str:
    """The key secrets are encrypted with (the API's and the workers' data_key setting)."""
    return current_app.config["LIVEHOST"].data_key


def check_secret(value: str | None) -> str | None:
    if value is not None and any(c < " " or c == "\x7f" for c in value):
        raise invalid_value("secret_chars")
    return value


def events_url(room_id: int) -> str:
    return f"/api/rooms/{room_id}/relay/events"


def ws_url(room_id: int) -> str:
    return f"/api/rooms/{room_id}/relay/ws"


# -- the sources of a room ---------------------------------------------------------------------------
class SourceFields(Model):
    bilibili_room_id: int | None = Field(None, ge=1, le=INT_MAX, description="the Bilibili live room's id")
    bilibili_cookie: str | None = Field(None, max_length=4000, json_schema_extra=SECRET_DOC,
                                        description="write-only secret: the SESSDATA value or a whole Cookie header "
                                        "(viewers' names unmasked); '' clears it")
    bilibili_buvid: str | None = Field(None, max_length=200, json_schema_extra=SECRET_DOC,
                                       description="write-only secret: the buvid3 cookie; '' clears it")
    youtube_video_id: str | None = Field(None, pattern=VIDEO_ID, description="the live video's id ('' or null: none)")
    youtube_api_key: str | None = Field(None, max_length=500, json_schema_extra=SECRET_DOC,
                                        description="write-only secret: a YouTube Data API key; '' clears it")
    youtube_oauth_token: str | None = Field(None, max_length=4000, json_schema_extra=SECRET_DOC,
                                            description="write-only secret: or an OAuth access token; '' clears it")

    _secrets = field_validator(*SOURCE_SECRETS)(lambda cls, v: check_secret(v))
    _video = field_validator("youtube_video_id")(lambda cls, v: v or None)


class SourcesIn(SourceFields):
    """Where a room's lives read their audience from. In a change, only the fields given change."""

    relay: StrictBool | None = Field(None, description="take events from the room's relay endpoint (default false)")


class SourcesOut(Out):
    bilibili_room_id: int | None
    bilibili_cookie_set: bool
    bilibili_buvid_set: bool
    youtube_video_id: str | None
    youtube_api_key_set: bool
    youtube_oauth_token_set: bool
    relay: bool
    relay_token_set: bool
    relay_token_hint: str = Field(description="the token's last 4 characters, or ''")
    relay_events_url: str
    relay_ws_url: str

    @classmethod
    def of(cls, room: Room) -> "SourcesOut":
        plain = room.sources or {}
        try:
            kept = room.source_secrets(data_key())
        except ValueError:  # the data key changed: as if none were set, until entered again
            kept = {}
        return cls(bilibili_room_id=plain.get("bilibili_room_id"), youtube_video_id=plain.get("youtube_video_id"),
                   relay=bool(plain.get("relay")), relay_token_set=bool(room.relay_token_hash),
                   relay_token_hint=(room.relay_token_hint or "") if room.relay_token_hash else "",
                   relay_events_url=events_url(room.id), relay_ws_url=ws_url(room.id),
                   **{f"{name}_set": bool(kept.get(name)) for name in SOURCE_SECRETS})


def store_sources(room: Room, given: SourcesIn) -> list[str]:
    """Apply the fields `given` sets to `room` (secrets encrypted); the names of those fields, for
    the audit log (never their values)."""
    named = given.model_fields_set
    plain = {"bilibili_room_id": None, "youtube_video_id": None, "relay": False, **(room.sources or {})}
    for name in ("bilibili_room_id", "youtube_video_id"):
        if name in named:
            plain[name] = getattr(given, name)
    if given.relay is not None:
        plain["relay"] = given.relay
    room.sources = plain
    changed = {name: getattr(given, name) for name in SOURCE_SECRETS if getattr(given, name) is not None}
    if changed:
        try:
            kept = room.source_secrets(data_key())
        except ValueError:
            log.warning("room %s: the stored source credentials cannot be decrypted; replacing them", room.id)
            kept = {}
        room.source_secrets_enc = secrets.encrypt_fields({**kept, **changed}, data_key())
    return sorted(named)


# -- the relay token ---------------------------------------------------------------------------------
def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RelayTokenOut(Out):
    token: str = Field(description="the room's relay token: shown only now")
    events_url: str
    ws_url: str


@route(bp, "POST", "/<int:room_id>/relay-token", roles=OPERATE, response=RelayTokenOut, status=201)
def make_relay_token(room_id: int):
    """A new relay token for the room; the one before it stops working at once."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    token = token_urlsafe(32)
    room.relay_token_hash, room.relay_token_hint = token_digest(token), token[-4:]
    audit.record("room.relay_token", f"room:{room.id}", rotated=True)
    s.commit()
    return RelayTokenOut(token=token, events_url=events_url(room.id), ws_url=ws_url(room.id))


@route(bp, "DELETE", "/<int:room_id>/relay-token", roles=OPERATE)
def delete_relay_token(room_id: int):
    """Remove the room's relay token: the relay refuses every client until a new one is made."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    room.relay_token_hash, room.relay_token_hint = None, ""
    audit.record("room.relay_token", f"room:{room.id}", removed=True)
    s.commit()


# -- the relay ---------------------------------------------------------------------------------------
class RelayQuery(Model):
    token: str | None = Field(None, max_length=200, description="the room's relay token, for a client that cannot "
                              "send it as Authorization: Bearer TOKEN or X-Livehost-Token")


class RelayAcceptedOut(Out):
    accepted: int = Field(description="events handed to the live")
    session_id: int = Field(description="the live they went to")


RELAY_ERRORS = {401: "no relay token, or not the room's", 409: "no live is running in the room (no_live), or its "
                "relay is off (relay_off)", 413: "more than 256 KiB", 429: "past the room's relay rate",
                **BUS_DOWN}


@route(bp, "POST", "/<int:room_id>/relay/events", roles=PUBLIC, query=RelayQuery, response=RelayAcceptedOut,
       status=202, errors=RELAY_ERRORS)
def relay_events(room_id: int, query: RelayQuery):
    """Viewers' events for the room's live, from a relay (streamer.audience.relay's format: one event
    or {"events": [up to 100]}). The room's relay token, not a sign-in: Authorization: Bearer
    TOKEN, X-Livehost-Token: TOKEN or ?token=TOKEN. A bad event is a 422 naming its field."""
    return deliver(db(), room_id, relay_token(request.headers, request.args), request.get_data(cache=True)), 202


def authenticate(s, room_id: int, token: str) -> Room:
    """The room, if `token` is its relay token; else 401 (a room that does not exist too)."""
    room = s.get(Room, room_id) if 0 < room_id <= MAX_ID else None
    expected = room.relay_token_hash if room is not None else None
    if not (expected and token and hmac.compare_digest(token_digest(token), expected)):
        raise ApiError.because(401, "unauthorized", "relay_token_invalid", room=room_id)
    return room


def deliver(s, room_id: int, token: str, body: bytes) -> dict[str, int]:
    """Hand the events in `body` to the room's running live; {accepted, session_id}, or ApiError."""
    room = authenticate(s, room_id, token)  # again: a WebSocket's token may have been replaced since
    if not _within_rate(room_id):
        raise ApiError.because(429, "rate_limited", "relay_too_fast", room=room_id, limit=_relay_limit())
    if len(body) > MAX_RELAY_BYTES:
        raise ApiError.because(413, "too_large", "body_too_large", limit=MAX_RELAY_BYTES)
    if not (room.sources or {}).get("relay"):
        raise ApiError.because(409, "conflict", "relay_off", room=room_id)
    try:
        events = [e.as_dict() for e in parse_relay(_json(body), platform="relay")]
    except RelayError as e:
        raise _invalid(e.field, str(e)) from None
    live = s.scalar(select(LiveSession).where(LiveSession.room_id == room_id, LiveSession.status.in_(RUNNING_STATUSES))
                    .order_by(LiveSession.id.desc()).limit(1))
    if live is None:
        raise ApiError.because(409, "conflict", "no_live", room=room_id)
    session_id = live.id
    s.rollback()  # nothing to write: hold no transaction while the bus is called
    try:
        current_app.extensions["livehost.bus"].send(session_id, {"type": "audience", "events": events, "by": "relay",
                                                                 "at": now_iso()})
    except BusError as e:
        log.warning("room %s: relay events for session %s not sent: %s", room_id, session_id, e)
        raise ApiError(503, "unavailable", "the control bus (Redis) is unreachable; the events were not sent, "
                       "try again", reason="redis_unavailable", params={}) from None
    log.debug("room %s: %d relay events to session %s", room_id, len(events), session_id)
    return {"accepted": len(events), "session_id": session_id}


def _json(body: bytes) -> Any:
    """The JSON of a relay body; 400 when it is none, 422 when it holds a string that is no text."""
    if not body.strip():
        raise _invalid("", "send an event or {\"events\": [...]} as JSON")
    if json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError.because(400, "bad_request", "json_too_deep", limit=MAX_JSON_DEPTH)
    try:
        payload = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "the body is not valid JSON") from None
    try:
        json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeError:  # a lone surrogate (\ud800): no column can store it, no voice can say it
        raise _invalid("", "a string of the body is not valid Unicode") from None
    return payload


def _invalid(field: str, error: str) -> ApiError:
    where = field or "body"
    return ApiError(422, "invalid", error, {where: error}, reason="relay_event", params={"field": where, "error": error})


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _relay_limit() -> str:
    return current_app.config.get("RELAY_LIMIT", RELAY_LIMIT)


def _within_rate(room_id: int) -> bool:
    """Count one request (or message) against the room's relay rate; False past it. The limit is
    not enforced while its storage (Redis) is unreachable."""
    try:
        return current_app.extensions["livehost.limiter"].limiter.hit(parse_limit(_relay_limit()), "relay",
                                                                      str(room_id))
    except Exception as e:  # noqa: BLE001 - a rate limit must not take the relay down
        log.warning("room %s: relay rate not counted: %s", room_id, e)
        return True


# -- the relay's WebSocket ---------------------------------------------------------------------------
class RelayWsQuery(Model):
    token: str | None = Field(None, max_length=200, description="the room's relay token (or a header, as for "
                              "POST .../relay/events)")


def relay_ws(ws, room_id: int) -> None:
    """WebSocket relay: each text message an event or a batch as for POST .../relay/events, each
    answered {"ok": true, "accepted": n, "session_id"} or {"ok": false, "error", "reason", "field"};
    a bad message never closes the socket. A bad token (or one replaced meanwhile) closes it with
    1008."""
    token = relay_token(request.headers, request.args)
    sessions = current_app.extensions["livehost.db"].sessions
    try:
        with sessions() as s:
            authenticate(s, room_id, token)
    except ApiError:
        _close(ws, 1008, "a valid relay token is required")
        return
    log.info("room %s: relay WebSocket connected", room_id)
    try:
        while True:
            message = ws.receive()
            if message is None:
                continue
            body = message.encode() if isinstance(message, str) else message
            try:
                with sessions() as s:
                    answer: dict[str, Any] = {"ok": True, **deliver(s, room_id, token, body)}
            except ApiError as e:
                if e.status == 401:
                    _close(ws, 1008, "the relay token was replaced")
                    return
                answer = {"ok": False, "error": e.message, "reason": e.reason,
                          "field": next(iter(e.fields or {}), None)}
            except Exception:  # noqa: BLE001 - one message's failure is answered, the socket stays
                log.exception("room %s: a relay message failed", room_id)
                answer = {"ok": False, "error": "internal error; see the server log", "reason": None, "field": None}
            ws.send(json.dumps(answer))
    finally:
        log.info("room %s: relay WebSocket closed", room_id)


def _close(ws, code: int, message: str) -> None:
    """Close the socket with `code`, then end the connection. simple-websocket's reader may not
    take the client's answering close frame (it ends at once when the socket is closed before it
    started reading), and werkzeug's development server, draining what is left of the request,
    would then hold the connection open until the client gave up: so the reader is given a moment
    to take the answer, and the connection is shut down."""
    ws.close(reason=code, message=message)
    reader = getattr(ws, "thread", None)
    if reader is not None:
        reader.join(2.0)
    try:
        ws.sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by the reader
        pass


relay_ws.livehost_op = Operation(  # for the OpenAPI document, as route() records it
    method="GET", summary="Viewers' events for the room's live over a WebSocket (the relay token; closed with 1008 "
    "when it is bad); each message is answered", roles=PUBLIC, body=None, query=RelayWsQuery, response=None,
    status=101, multipart=False, stream=False, errors={})
Sock().route("/<int:room_id>/relay/ws", bp=bp)(relay_ws)  # flask-sock: the dev server and gunicorn's gthread
# what flask-sock's sockets are made with (app.config SOCK_SERVER_OPTIONS): pings find dead peers
SOCKET_OPTIONS = {"ping_interval": 25, "max_message_size": MAX_WS_FRAME}


# -- testing a source --------------------------------------------------------------------------------
class SourcesTestIn(SourceFields):
    platform: Literal["bilibili", "youtube"]


class SourcesTestOut(Out):
    ok: bool = Field(description="the platform answered and its chat can be read")
    platform: str
    detail: dict[str, Any] = Field(default_factory=dict, description="what the platform said (room id, title, ...)")
    error: str | None = Field(None, description="why not, in one line")
    reason: str | None = Field(None, description="source_unreachable or source_secrets_unreadable")
    params: dict[str, Any] = Field(default_factory=dict, description="the failure's values (platform, error)")


@route(bp, "POST", "/<int:room_id>/sources/test", roles=OPERATE, body=SourcesTestIn, response=SourcesTestOut,
       errors={422: "no room id or video id, saved or given"})
def test_sources(room_id: int, body: SourcesTestIn):
    """Check that a platform's chat can be read with the room's saved source settings, or with the
    values given (what a form holds before it is saved). A failure is a result (ok false), not an
    error; takes up to about ten seconds."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    plain = room.sources or {}
    values: dict[str, Any] = {name: plain.get(name) for name in ("bilibili_room_id", "youtube_video_id")}
    unreadable = False
    try:
        values.update(room.source_secrets(data_key()))
    except ValueError:
        values.update({name: "" for name in SOURCE_SECRETS})
        unreadable = True
    given = {name: getattr(body, name) for name in body.model_fields_set - {"platform"}
             if getattr(body, name) or name not in SOURCE_SECRETS}
    values.update(given)
    needed = "bilibili_room_id" if body.platform == "bilibili" else "youtube_video_id"
    if not values[needed]:
        message = f"give the {needed.replace('_', ' ')} (none is saved)"
        raise ApiError(422, "invalid", f"{needed}: {message}", {needed: message},
                       field_reasons={needed: {"reason": "missing", "params": {}}})
    s.rollback()  # hold no transaction open while the platform answers
    out = _check(body.platform, values)
    if not out.ok and unreadable and not any(given.get(name) for name in SOURCE_SECRETS):
        out.reason = "source_secrets_unreadable"
    audit.record("room.sources_test", f"room:{room_id}", platform=body.platform, ok=out.ok, error=out.error,
                 unsaved=sorted(given))
    s.commit()
    return out


def _check(platform: str, values: dict[str, Any]) -> SourcesTestOut:
    # the platforms' clients: loaded when a test first needs them, not with the API
    from streamer.audience import bilibili, youtube
    from streamer.audience.source import SourceError
    from streamer.settings import Settings

    try:
        settings = Settings.load()
        if platform == "bilibili":
            result = bilibili.check_connection(int(values["bilibili_room_id"]), api_base=settings.bilibili_api_base,
                                               cookie=values["bilibili_cookie"], buvid=values["bilibili_buvid"],
                                               timeout_s=TEST_TIMEOUT_S)
        else:
            result = youtube.check_connection(values["youtube_video_id"], api_base=settings.youtube_api_base,
                                              api_key=values["youtube_api_key"],
                                              oauth_token=values["youtube_oauth_token"], timeout_s=TEST_TIMEOUT_S)
    except Exception as e:  # noqa: BLE001 - a failed test is a result: a SourceError, or the client's own
        error = str(e).splitlines()[0] if str(e) else type(e).__name__
        if not isinstance(e, SourceError):
            log.warning("%s source test failed: %s: %s", platform, type(e).__name__, _hide(error, values))
        return _failed(platform, _hide(error, values))
    detail = {k: v for k, v in (result or {}).items() if k != "ok" and k not in SOURCE_SECRETS
              and isinstance(v, (str, int, float, bool, type(None)))}
    if not (result or {}).get("ok"):
        return _failed(platform, "the platform did not answer as expected", detail)
    return SourcesTestOut(ok=True, platform=platform, detail=detail)


def _failed(platform: str, error: str, detail: dict[str, Any] | None = None) -> SourcesTestOut:
    return SourcesTestOut(ok=False, platform=platform, detail=detail or {}, error=error, reason="source_unreachable",
                          params={"platform": platform, "error": error})


def _hide(text: str, values: dict[str, Any]) -> str:
    """`text` without any of the secrets in `values`."""
    for name in SOURCE_SECRETS:
        if values.get(name):
            text = text.replace(values[name], "***")
    return text
