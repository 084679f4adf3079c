"""Rooms: where a live goes (platform and RTMP push URL). The stream key is a secret: encrypted at
rest, shown only as a hint of its last characters, never logged."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Blueprint, current_app
from pydantic import Field, StrictBool, StrictInt, StringConstraints, field_validator
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from db import secrets
from db.models import ACTIVE_STATUSES, PLATFORMS, LiveSession, Room

bp = Blueprint("rooms", __name__, url_prefix="/api/rooms")

Platform = Literal["douyin", "bilibili", "kuaishou", "youtube", "custom"]
assert set(Platform.__args__) == set(PLATFORMS)


def check_server_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("server_url is not a valid URL") from None
    if parts.scheme not in ("rtmp", "rtmps"):
        raise ValueError("server_url must start with rtmp:// or rtmps://")
    if not parts.hostname:
        raise ValueError("server_url has no host")
    if parts.query or parts.fragment or any(c.isspace() for c in url):
        raise ValueError("server_url must be a plain rtmp:// URL without spaces, ? or #")
    return url.rstrip("/")


Keyword = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Reply = Annotated[str, StringConstraints(min_length=1, max_length=500)]
PLACEHOLDERS = "may hold {user}, {comment} and {user_suffix} (', NAME' or nothing)"


class RoomSettings(Model):
    """How the host behaves in this room; the streamer reads these keys (streamer.room.RoomPolicy)."""

    persona: str = Field("", max_length=4000, description="who the host is, for the LLM's system prompt")
    answer_immediately: StrictBool = Field(False, description="every comment cuts the host off and is answered now")
    interrupt_gap_ms: StrictInt = Field(1000, ge=0, le=60000,
                                        description="silence after a bare interrupt before the script goes on")
    speech_during_action: Literal["wait", "interrupt"] = Field(
        "wait", description="speech due while an action clip plays: 'wait' for the clip's end, or 'interrupt' it")
    keyword_replies: dict[Keyword, Reply] = Field(
        default_factory=dict, max_length=200,
        description="keyword -> reply without an LLM; the longest keyword found in the comment wins; "
                    "replies " + PLACEHOLDERS)
    default_reply: str = Field("", max_length=500, description="said when no keyword matches and there is no "
                               "LLM; '' for the built-in one; " + PLACEHOLDERS)
    fallback_line: str = Field("", max_length=500,
                               description="said when the LLM fails or times out; '' for the built-in one")
    max_reply_chars: StrictInt = Field(
        300, ge=20, le=2000, description="a reply is cut at the last sentence end within this many characters")


DEFAULT_SETTINGS = RoomSettings().model_dump()


class RoomIn(Model):
    name: str = Field(min_length=1, max_length=100)
    platform: Platform
    server_url: str = Field(max_length=500, description="rtmp:// or rtmps:// push server, without the key")
    stream_key: str = Field("", max_length=500, description="secret; write-only")
    settings: RoomSettings = Field(default_factory=RoomSettings)

    _url = field_validator("server_url")(lambda cls, v: check_server_url(v))

    @field_validator("stream_key")
    @classmethod
    def _key(cls, v: str) -> str:
        if any(c.isspace() or ord(c) < 32 for c in v):
            raise ValueError("stream_key must not contain spaces or control characters")
        return v


class RoomPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    platform: Platform | None = None
    server_url: str | None = Field(None, max_length=500)
    stream_key: str | None = Field(None, max_length=500)
    settings: RoomSettings | None = None

    _url = field_validator("server_url")(lambda cls, v: v if v is None else check_server_url(v))
    _key = field_validator("stream_key")(lambda cls, v: v if v is None else RoomIn._key(v))


class RoomOut(Out):
    id: int
    name: str
    platform: str
    server_url: str
    stream_key: str = Field(description="masked: '' when none is set, else '****' and at most 4 characters")
    settings: dict[str, Any] = Field(description="RoomSettings; keys a room was stored without show their defaults")
    created_at: datetime

    @classmethod
    def of(cls, room: Room) -> "RoomOut":
        masked = ("****" + room.key_hint) if room.stream_key_enc else ""
        return cls(id=room.id, name=room.name, platform=room.platform, server_url=room.server_url,
                   stream_key=masked, settings={**DEFAULT_SETTINGS, **(room.settings or {})},
                   created_at=room.created_at)


def _data_key() -> str:
    """The key stream keys are encrypted with (the API's and the workers' data_key setting)."""
    return current_app.config["LIVEHOST"].data_key


def _set_key(room: Room, key: str) -> None:
    room.stream_key_enc = secrets.encrypt(key, _data_key())
    room.key_hint = secrets.hint(key)


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[RoomOut])
def list_rooms(query: PageQuery):
    """All rooms (stream keys masked)."""
    return paginate(db(), select(Room).order_by(Room.id), query, RoomOut.of)


@route(bp, "POST", "", roles=OPERATE, body=RoomIn, response=RoomOut, status=201)
def create_room(body: RoomIn):
    """Create a room."""
    s = db()
    room = Room(name=body.name, platform=body.platform, server_url=body.server_url,
                settings=body.settings.model_dump())
    _set_key(room, body.stream_key)
    s.add(room)
    s.flush()
    audit.record("room.create", f"room:{room.id}", name=room.name, platform=room.platform)
    s.commit()
    return RoomOut.of(room)


@route(bp, "GET", "/<int:room_id>", roles=ANYONE, response=RoomOut)
def get_room(room_id: int):
    """One room (stream key masked)."""
    return RoomOut.of(get_or_404(db(), Room, room_id, "room"))


@route(bp, "PATCH", "/<int:room_id>", roles=OPERATE, body=RoomPatch, response=RoomOut)
def change_room(room_id: int, body: RoomPatch):
    """Change a room; a stream_key given replaces the stored one."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    for field in ("name", "platform", "server_url"):
        value = getattr(body, field)
        if value is not None:
            setattr(room, field, value)
    if body.settings is not None:
        room.settings = body.settings.model_dump()
    if body.stream_key is not None:
        _set_key(room, body.stream_key)
    audit.record("room.change", f"room:{room.id}", fields=sorted(body.model_dump(exclude_none=True)))
    s.commit()
    return RoomOut.of(room)


@route(bp, "DELETE", "/<int:room_id>", roles=OPERATE)
def delete_room(room_id: int):
    """Delete a room and its schedules."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    audit.record("room.delete", f"room:{room.id}", name=room.name)
    s.delete(room)
    s.commit()


class TestPushIn(Model):
    seconds: float = Field(3.0, ge=1, le=10, description="how long to push the test card")


class TestPushOut(Out):
    ok: bool = Field(description="the server took the whole test card")
    url: str = Field(description="where it went, the stream key masked")
    seconds: float = Field(description="media pushed")
    connect_ms: int | None = Field(description="until the RTMP server accepted the stream (null: it did not)")
    error: str | None = Field(description="why it failed: unreachable, refused or dropped (the key masked)")


@route(bp, "POST", "/<int:room_id>/test-push", roles=OPERATE, body=TestPushIn, response=TestPushOut,
       errors={409: "the room is in use by a live"})
def test_push_room(room_id: int, body: TestPushIn):
    """Push a few seconds of a test card (colour bars, a tone) to the room's RTMP URL with the
    lives' encoder settings, to check the address and key before going live. Takes as long as
    the push; a push that fails is a result (ok false, with the reason), not an error."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    busy = s.scalar(select(LiveSession.id).where(LiveSession.room_id == room.id,
                                                 LiveSession.status.in_(ACTIVE_STATUSES)).limit(1))
    if busy is not None:
        raise ApiError(409, "room_busy", f"room {room.id} is in use by session {busy}: a test push would cut into it")
    s.rollback()  # hold no transaction open during the push
    try:
        url = room.push_url(_data_key())
    except ValueError as e:  # the stored key cannot be decrypted
        out = TestPushOut(ok=False, url=f"{room.server_url}/***", seconds=0.0, connect_ms=None, error=str(e))
    else:
        out = _push_test_card(url, body.seconds)
    audit.record("room.test_push", f"room:{room_id}", ok=out.ok, error=out.error)
    s.commit()
    return out


def _push_test_card(url: str, seconds: float) -> TestPushOut:
    # PyAV and the encoder: loaded when a test push first needs them, not with the API
    from streamer.output.rtmp import mask_url
    from streamer.output.sink import SinkError
    from streamer.output.testcard import push_test_card
    from streamer.settings import Settings

    try:
        result = push_test_card(url, Settings.load(), seconds)
    except SinkError as e:
        return TestPushOut(ok=False, url=mask_url(url), seconds=0.0, connect_ms=None, error=str(e))
    return TestPushOut(ok=True, url=result.url, seconds=result.seconds, connect_ms=result.connect_ms, error=None)
