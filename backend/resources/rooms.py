"""Rooms: where a live goes (platform and RTMP push URL), how its host behaves, and where it reads
its audience from (backend.resources.relay). The stream key and the sources' credentials are
secrets: encrypted at rest, never returned (the key shown as a hint of its last characters), never
logged, never in the audit log."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask import Blueprint
from pydantic import Field, StrictBool, StrictInt, StringConstraints, field_validator
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.banned import check_banned
from backend.db import db
from backend.errors import REASONS, ApiError, invalid_value
from backend.resources.audience import DEFAULT_AUDIENCE, AudienceSettings
from backend.resources.control import stop_live
from backend.resources.relay import SourcesIn, SourcesOut, data_key, store_sources
from backend.resources.scene import SceneSettings, check_scene, shown_scene
from backend.resources.schedules import StrictId
from backend.resources.usage import delete_or_archive
from db import secrets
from db.models import ACTIVE_STATUSES, PLATFORMS, LiveSession, Product, Room
from streamer import voice as tts
from streamer.selling.banned import banned_of

bp = Blueprint("rooms", __name__, url_prefix="/api/rooms")

Platform = Literal["douyin", "bilibili", "kuaishou", "youtube", "custom"]
assert set(Platform.__args__) == set(PLATFORMS)


def check_server_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise invalid_value("url_invalid") from None
    if parts.scheme not in ("rtmp", "rtmps"):
        raise invalid_value("url_scheme")
    if not parts.hostname:
        raise invalid_value("url_no_host")
    if parts.query or parts.fragment or any(c.isspace() for c in url):
        raise invalid_value("url_plain")
    return url.rstrip("/")


def check_stream_key(key: str) -> str:
    if any(c.isspace() or ord(c) < 32 for c in key):
        raise invalid_value("stream_key_chars")
    return key


# what the OpenAPI document says of a push URL: fewer than check_server_url takes (no IPv6 host, no
# upper-case scheme), so that every URL the document allows is taken
RTMP_URL_DOC = {"pattern": r"^rtmps?://[A-Za-z0-9.-]+(:[0-9]{1,4})?(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?$"}
STREAM_KEY_DOC = {"pattern": r"^[^\s\x00-\x1f\x85]*$"}  # check_stream_key's rule (ECMA's \s lacks \x85)

Keyword = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Reply = Annotated[str, StringConstraints(min_length=1, max_length=500)]
PLACEHOLDERS = "may hold {user}, {comment} and {user_suffix} (', NAME' or nothing)"
BannedWord = Annotated[str, StringConstraints(min_length=1, max_length=30)]


class BannedWordsSettings(Model):
    """The room's changes to the built-in list of banned words (违禁词, streamer.selling.banned)."""

    add: list[BannedWord] = Field(default_factory=list, max_length=500,
                                  description="words banned in this room besides the built-in ones")
    allow: list[BannedWord] = Field(default_factory=list, max_length=500,
                                    description="built-in words this room may say (e.g. a brand name holding one)")


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
    language: Literal["auto", "zh", "en"] = Field(
        "auto", description="language of the built-in replies; 'auto': Chinese on Douyin, Bilibili and Kuaishou")
    audience: AudienceSettings = Field(default_factory=AudienceSettings,
                                       description="what of the viewers' comments, gifts and follows is answered, "
                                       "thanked or skipped")
    knowledge: str = Field("", max_length=8000, description="the shop's facts the host answers from: shipping, "
                           "returns, policies")
    banned_words: BannedWordsSettings = Field(default_factory=BannedWordsSettings,
                                              description="banned words added or allowed in this room")
    products: list[StrictId] = Field(default_factory=list, max_length=200,
                               description="the room's shelf: product ids the host knows besides its script's")
    reword_loops: StrictBool = Field(True, description="with an LLM, each sentence of a looping script is re-worded "
                                     "for the next loop (facts kept, banned words checked)")
    record: StrictBool = Field(False, description="keep every live of the room on disk, in segments, from the "
                               "packets sent (no second encode); see the recording settings for how long")
    scene: SceneSettings = Field(default_factory=SceneSettings,
                                 description="what viewers see and hear around the host: captions, the AI label, "
                                 "background, logo, title, product card, cards, background music")
    fallback_voice: str = Field("espeak", min_length=1, max_length=500,
                                description="the voice spec that speaks a sentence whose own voice fails or gives "
                                "no audio in time (a TTS server down or slow): 'espeak' works offline")

    @field_validator("fallback_voice")
    @classmethod
    def _voice(cls, spec: str) -> str:
        try:
            tts.create_voice(spec)  # offline: the engine, voice and options
        except tts.VoiceError as e:
            raise ValueError(str(e)) from None
        return spec.strip()


DEFAULT_SETTINGS = RoomSettings().model_dump()
DEFAULT_BANNED = BannedWordsSettings().model_dump()


def shown_settings(stored: dict[str, Any] | None) -> dict[str, Any]:
    """A room's stored settings with the defaults of the keys it was stored without."""
    stored = stored or {}
    audience = stored.get("audience") if isinstance(stored.get("audience"), dict) else {}
    banned = stored.get("banned_words") if isinstance(stored.get("banned_words"), dict) else {}
    return {**DEFAULT_SETTINGS, **stored, "audience": {**DEFAULT_AUDIENCE, **audience},
            "banned_words": {**DEFAULT_BANNED, **banned}, "scene": shown_scene(stored.get("scene"))}


def checked_settings(settings: RoomSettings, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """`settings` as stored, if its products exist (or were on the shelf `before`: archived since)
    and what the host says from it holds no word banned in the room; else 422 naming each."""
    stored = settings.model_dump()
    stored["products"] = list(dict.fromkeys(stored["products"]))
    kept = set((before or {}).get("products") or [])
    wanted = sorted(set(stored["products"]) - kept)
    there = set(db().scalars(select(Product.id).where(Product.id.in_(wanted), Product.archived_at.is_(None)))) \
        if wanted else set()
    missing = {f"settings.products.{i}": ident for i, ident in enumerate(stored["products"])
               if ident not in kept and ident not in there}
    if missing:
        fields = {field: f"product {ident} does not exist" for field, ident in missing.items()}
        reasons = {field: {"reason": "not_found", "params": {"what": "product", "id": ident}}
                   for field, ident in missing.items()}
        field, message = next(iter(fields.items()))
        raise ApiError(422, "invalid", f"{field}: {message}", fields, field_reasons=reasons)
    texts = [("settings.persona", settings.persona), ("settings.default_reply", settings.default_reply),
             ("settings.fallback_line", settings.fallback_line)]
    texts += [(f"settings.keyword_replies.{k}", v) for k, v in settings.keyword_replies.items()]
    check_banned(texts, banned_of(stored))
    stored["scene"] = check_scene(settings.scene, stored)
    return stored


MAX_DESTINATIONS = 5  # besides the room's own


class DestinationIn(Model):
    """Another RTMP server the room's lives are pushed to (the same encoding: no extra cost but
    the upload)."""

    id: StrictId | None = Field(None, description="a saved destination's id: its stream key is kept unless one is "
                                "given")
    name: str = Field(min_length=1, max_length=50, description="e.g. Bilibili, YouTube")
    server_url: str = Field(max_length=500, json_schema_extra=RTMP_URL_DOC,
                            description="rtmp:// or rtmps:// push server, without the key")
    stream_key: str | None = Field(None, max_length=500, json_schema_extra=STREAM_KEY_DOC,
                                   description="secret; write-only; null keeps the saved one")
    enabled: StrictBool = Field(True, description="off: kept, not pushed to")

    _url = field_validator("server_url")(lambda cls, v: check_server_url(v))
    _key = field_validator("stream_key")(lambda cls, v: v if v is None else check_stream_key(v))


class DestinationOut(Out):
    id: int
    name: str
    server_url: str
    stream_key: str = Field(description="masked: '' when none is set, else '****' and at most 4 characters")
    enabled: bool


def store_destinations(room: Room, given: list[DestinationIn]) -> None:
    """Replace the room's extra destinations with `given`, keeping the saved keys of those named by id."""
    saved = {d["id"]: d for d in room.destinations or []}
    unknown = {f"destinations.{i}.id": f"destination {d.id} is not one of this room's"
               for i, d in enumerate(given) if d.id is not None and d.id not in saved}
    if unknown:
        field, message = next(iter(unknown.items()))
        raise ApiError(422, "invalid", f"{field}: {message}", unknown)
    next_id = max(saved, default=0) + 1
    out = []
    for d in given:
        kept = saved.get(d.id, {})
        if d.stream_key is not None:
            key_enc, hint = secrets.encrypt(d.stream_key, data_key()), secrets.hint(d.stream_key)
        else:
            key_enc, hint = kept.get("key_enc", ""), kept.get("key_hint", "")
        ident = d.id if d.id is not None else next_id
        next_id += d.id is None
        out.append({"id": ident, "name": d.name, "server_url": d.server_url, "key_enc": key_enc, "key_hint": hint,
                    "enabled": d.enabled})
    room.destinations = out


class RoomIn(Model):
    name: str = Field(min_length=1, max_length=100)
    platform: Platform
    server_url: str = Field(max_length=500, json_schema_extra=RTMP_URL_DOC,
                            description="rtmp:// or rtmps:// push server, without the key")
    stream_key: str = Field("", max_length=500, json_schema_extra=STREAM_KEY_DOC, description="secret; write-only")
    settings: RoomSettings = Field(default_factory=RoomSettings)
    sources: SourcesIn = Field(default_factory=SourcesIn, description="where its lives read their audience from")
    destinations: list[DestinationIn] = Field(default_factory=list, max_length=MAX_DESTINATIONS,
                                              description="more RTMP servers each live is pushed to")

    _url = field_validator("server_url")(lambda cls, v: check_server_url(v))

    _key = field_validator("stream_key")(lambda cls, v: check_stream_key(v))


class RoomPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    platform: Platform | None = None
    server_url: str | None = Field(None, max_length=500, json_schema_extra=RTMP_URL_DOC)
    stream_key: str | None = Field(None, max_length=500, json_schema_extra=STREAM_KEY_DOC)
    settings: RoomSettings | None = None
    sources: SourcesIn | None = Field(None, description="only the fields given change; a secret given as '' is "
                                      "removed")
    destinations: list[DestinationIn] | None = Field(None, max_length=MAX_DESTINATIONS,
                                                     description="replaces the list; a saved one named by id keeps "
                                                     "its key unless one is given")

    _url = field_validator("server_url")(lambda cls, v: v if v is None else check_server_url(v))
    _key = field_validator("stream_key")(lambda cls, v: v if v is None else check_stream_key(v))


class RoomOut(Out):
    id: int
    name: str
    platform: str
    server_url: str
    stream_key: str = Field(description="masked: '' when none is set, else '****' and at most 4 characters")
    settings: dict[str, Any] = Field(description="RoomSettings; keys a room was stored without show their defaults")
    sources: SourcesOut = Field(description="its audience sources; credentials only say whether they are set")
    destinations: list[DestinationOut] = Field(description="more RTMP servers each live is pushed to")
    created_at: datetime

    @classmethod
    def of(cls, room: Room) -> "RoomOut":
        masked = ("****" + room.key_hint) if room.stream_key_enc else ""
        return cls(id=room.id, name=room.name, platform=room.platform, server_url=room.server_url,
                   stream_key=masked, settings=shown_settings(room.settings), sources=SourcesOut.of(room),
                   destinations=[DestinationOut(id=d["id"], name=d["name"], server_url=d["server_url"],
                                                stream_key=("****" + d["key_hint"]) if d.get("key_enc") else "",
                                                enabled=d.get("enabled", True)) for d in room.destinations or []],
                   created_at=room.created_at)


def _set_key(room: Room, key: str) -> None:
    room.stream_key_enc = secrets.encrypt(key, data_key())
    room.key_hint = secrets.hint(key)


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[RoomOut])
def list_rooms(query: PageQuery):
    """All rooms (stream keys masked)."""
    return paginate(db(), select(Room).where(Room.archived_at.is_(None)).order_by(Room.id), query, RoomOut.of)


@route(bp, "POST", "", roles=OPERATE, body=RoomIn, response=RoomOut, status=201)
def create_room(body: RoomIn):
    """Create a room."""
    s = db()
    room = Room(name=body.name, platform=body.platform, server_url=body.server_url,
                settings=checked_settings(body.settings))
    _set_key(room, body.stream_key)
    s.add(room)
    s.flush()
    sources = store_sources(room, body.sources)
    store_destinations(room, body.destinations)
    audit.record("room.create", f"room:{room.id}", name=room.name, platform=room.platform, sources=sources,
                 destinations=len(body.destinations))
    s.commit()
    return RoomOut.of(room)


@route(bp, "GET", "/<int:room_id>", roles=ANYONE, response=RoomOut)
def get_room(room_id: int):
    """One room (stream key masked)."""
    return RoomOut.of(get_or_404(db(), Room, room_id, "room"))


@route(bp, "PATCH", "/<int:room_id>", roles=OPERATE, body=RoomPatch, response=RoomOut)
def change_room(room_id: int, body: RoomPatch):
    """Change a room; a stream_key given replaces the stored one, and the sources given theirs."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    for field in ("name", "platform", "server_url"):
        value = getattr(body, field)
        if value is not None:
            setattr(room, field, value)
    if body.settings is not None:
        room.settings = checked_settings(body.settings, room.settings)
    if body.stream_key is not None:
        _set_key(room, body.stream_key)
    detail = {}
    if body.sources is not None:
        detail["sources"] = store_sources(room, body.sources)  # which fields, never their values
    if body.destinations is not None:
        store_destinations(room, body.destinations)
        detail["destinations"] = len(body.destinations)
    audit.record("room.change", f"room:{room.id}", fields=sorted(body.model_dump(exclude_none=True)), **detail)
    s.commit()
    return RoomOut.of(room)


@route(bp, "DELETE", "/<int:room_id>", roles=OPERATE, errors={409: "a live or a schedule uses the room"})
def delete_room(room_id: int):
    """Delete a room: 409 while a live that is not over or a schedule uses it; a room that past
    lives went to is archived instead (gone from the list, its lives' history kept)."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    audit.record("room.delete", f"room:{room.id}", name=room.name)
    delete_or_archive(s, room, "room", "room_id")


class StoppedOut(Out):
    stopped: list[int] = Field(description="the lives asked to stop (a queued one ends at once)")


@route(bp, "POST", "/<int:room_id>/stop", roles=OPERATE, response=StoppedOut, status=202,
       errors={503: "the control bus (Redis) is unreachable"})
def stop_room(room_id: int):
    """Stop every live of the room that is not over."""
    s = db()
    get_or_404(s, Room, room_id, "room")
    lives = s.scalars(select(LiveSession).where(LiveSession.room_id == room_id,
                                                LiveSession.status.in_(ACTIVE_STATUSES))
                      .order_by(LiveSession.id).with_for_update()).all()
    stopped = []
    for live in lives:
        stop_live(s, live)  # commits each
        stopped.append(live.id)
    s.commit()
    return StoppedOut(stopped=stopped)


class TestPushIn(Model):
    seconds: float = Field(3.0, ge=1, le=10, description="how long to push the test card")
    destination: StrictId | None = Field(None, description="push to this saved destination (its id) instead of the "
                                         "room's own address; server_url and stream_key still override it")
    server_url: str | None = Field(None, max_length=500, json_schema_extra=RTMP_URL_DOC,
                                   description="push here instead of the saved server URL "
                                   "(the form's unsaved value)")
    stream_key: str | None = Field(None, max_length=500, json_schema_extra=STREAM_KEY_DOC,
                                   description="use this key instead of the saved one")

    _url = field_validator("server_url")(lambda cls, v: v if v is None else check_server_url(v))
    _key = field_validator("stream_key")(lambda cls, v: v if v is None else check_stream_key(v))


class TestPushOut(Out):
    ok: bool = Field(description="the server took the whole test card")
    url: str = Field(description="where it went, the stream key masked")
    seconds: float = Field(description="media pushed")
    connect_ms: int | None = Field(description="until the RTMP server accepted the stream (null: it did not)")
    error: str | None = Field(description="why it failed: unreachable, refused or dropped (the key masked)")
    reason: str | None = Field(None, description="the failure's stable name: rtmp_unreachable, rtmp_refused, "
                               "rtmp_dropped or key_unreadable")
    params: dict[str, Any] = Field(default_factory=dict, description="the failure's values (host, port, seconds)")
    warnings: list[str] = Field(default_factory=list, description="no_stream_key: a platform room without a key")


@route(bp, "POST", "/<int:room_id>/test-push", roles=OPERATE, body=TestPushIn, response=TestPushOut,
       errors={409: "the room is in use by a live"})
def test_push_room(room_id: int, body: TestPushIn):
    """Push a few seconds of a test card (colour bars, a tone) to the room's RTMP URL with the
    lives' encoder settings, to check the address and key before going live: the saved ones, or
    the server_url and stream_key given (what a form holds before it is saved). Takes as long as
    the push; a push that fails is a result (ok false, with the reason), not an error."""
    s = db()
    room = get_or_404(s, Room, room_id, "room")
    busy = s.scalar(select(LiveSession.id).where(LiveSession.room_id == room.id,
                                                 LiveSession.status.in_(ACTIVE_STATUSES)).limit(1))
    if busy is not None:
        raise ApiError.because(409, "room_busy", "room_busy", room=room.id, session=busy)
    saved_server, saved_key = room.server_url, room.stream_key_enc
    if body.destination is not None:
        chosen = next((d for d in room.destinations or [] if d["id"] == body.destination), None)
        if chosen is None:
            message = f"destination {body.destination} is not one of this room's"
            raise ApiError(422, "invalid", f"destination: {message}", {"destination": message})
        saved_server, saved_key = chosen["server_url"], chosen.get("key_enc") or ""
    s.rollback()  # hold no transaction open during the push
    server = body.server_url or saved_server
    try:
        key = body.stream_key if body.stream_key is not None else secrets.decrypt(saved_key, data_key())
    except ValueError as e:  # the stored key cannot be decrypted
        out = TestPushOut(ok=False, url=f"{server}/***", seconds=0.0, connect_ms=None, error=str(e),
                          reason="key_unreadable")
    else:
        url = f"{server}/{key}" if key else server
        if len(urlsplit(url).path.strip("/").split("/")) < 2:  # rtmp://host/app: a stream with no name
            out = TestPushOut(ok=False, url=url, seconds=0.0, connect_ms=None, reason="no_stream_name",
                              error=REASONS["no_stream_name"])
        else:
            out = _push_test_card(url, body.seconds)
        if not key and room.platform != "custom":
            out.warnings.append("no_stream_key")
    audit.record("room.test_push", f"room:{room_id}", ok=out.ok, error=out.error, url=out.url,
                 destination=body.destination, unsaved=body.server_url is not None or body.stream_key is not None)
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
        return TestPushOut(ok=False, url=mask_url(url), seconds=0.0, connect_ms=None, error=str(e),
                           reason=e.reason, params=e.params)
    return TestPushOut(ok=True, url=result.url, seconds=result.seconds, connect_ms=result.connect_ms, error=None)
