"""Sessions: runs of a live, scheduled or started at once ("go live now"), with their live status
from the worker's heartbeat. Control (control.py) and the event stream (events.py) are nested
blueprints under /api/sessions."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import redis
from flask import Blueprint, current_app
from pydantic import Field
from sqlalchemy import and_, func, or_, select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, current_user, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from backend.resources import control, events, outputs
from backend.resources.schedules import Id, check_refs
from backend.resources.workers import announced
from db.models import (ACTIVE_STATUSES, RUNNING_STATUSES, TERMINAL_STATUSES, ComplianceEvent, LiveSession,
                       SessionStatus)
from streamer.control.bus import BusError

bp = Blueprint("sessions", __name__, url_prefix="/api/sessions")
bp.register_blueprint(control.bp)
bp.register_blueprint(events.bp)
bp.register_blueprint(outputs.bp)
log = logging.getLogger("livehost.api")

Status = Literal["queued", "starting", "live", "stopping", "ended", "failed"]
assert set(Status.__args__) == set(SessionStatus)


class SessionIn(Model):
    room_id: Id
    script_id: Id
    avatar_id: Id
    voice_id: Id
    duration_s: int | None = Field(None, ge=1, le=31 * 86400,
                                   description="planned length; without it the live runs until stopped")


class SessionQuery(PageQuery):
    status: Status | None = None
    room_id: Id | None = None


class SessionSummary(Out):
    duration_s: float = Field(description="media sent, seconds")
    comments: int = Field(description="viewers' messages received")
    answered: int = Field(description="of them answered on air")
    reconnects: int = Field(description="reconnects of all its destinations")
    recording: str | None = Field(description="the recording (GET), when the room kept one")


class SessionOut(Out):
    id: int
    schedule_id: int | None
    room_id: int
    script_id: int
    avatar_id: int
    voice_id: int
    status: str
    worker: str | None
    planned_end_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    last_error: str | None
    attempts: int
    position: dict[str, Any]
    created_by: int | None
    created_at: datetime
    summary: SessionSummary | None = Field(None, description="how the live went, written by its worker when it "
                                           "ended or failed; null before")


class SourceStatus(Out):
    """One platform chat a live listens to."""

    name: str = Field(description="platform:target, e.g. bilibili:21452505 (never a credential)")
    platform: str
    connected: bool
    since: float | None = Field(None, description="when it last connected (Unix time, seconds)")
    last_event_at: float | None = Field(None, description="when its last event came (Unix time, seconds)")
    events: int = Field(0, description="events received")
    unknown: int = Field(0, description="messages of kinds it does not handle (ignored)")
    malformed: int = Field(0, description="messages it could not read (skipped)")
    reconnects: int = 0
    error: str | None = Field(None, description="the last failure, one line; null while it works")


class AudienceStatus(Out):
    """The live's audience: its sources and what the triage made of their events."""

    sources: list[SourceStatus] = Field(default_factory=list)
    online: int | None = Field(None, description="viewers online, as the platform last said")
    per_minute: float = Field(0.0, description="comments in the last minute")
    queued: int = Field(0, description="comments waiting to be answered")
    received: int = 0
    answered: int = 0
    thanked: int = 0
    skipped: int = 0
    dropped: int = 0


class ProductRef(Out):
    """The product a live presents now."""

    id: int
    name: str


class TtsCache(Out):
    hits: int = Field(description="sentences whose audio was synthesized before and reused")
    misses: int


class MusicStatus(Out):
    track: str | None = Field(None, description="the file playing")
    tracks: int | None = Field(None, description="files in the playlist")
    playing: bool | None = Field(None, description="false once no file of the playlist can be played")
    errors: int | None = Field(None, description="times a file of the playlist could not be played")
    ducked: bool | None = Field(None, description="lowered under the voice now")


class DestinationStatus(Out):
    name: str = Field(description="where: the push URL with its key masked, the recording, the preview")
    connected: bool | None = None
    bitrate: int | None = Field(None, description="bits per second sent lately")
    reconnects: int | None = None
    dropped: int | None = Field(None, description="packets dropped because it fell behind")
    error: str | None = Field(None, description="why it is down or stopped (the key masked)")


class SceneStatus(Out):
    card: str | None = Field(None, description="the card over the picture (starting_soon, be_right_back); null: none")
    music: MusicStatus | None = Field(None, description="the background music; null when the room has none")


class EncoderStatus(Out):
    preset: str | None = Field(None, description="the x264 preset it encodes at now")
    step: int | None = Field(None, description="steps down the preset ladder to keep real time (0: the configured)")
    behind_s: float | None = Field(None, description="how late the latest frame reached the encoder (0: on time)")
    overloaded: bool | None = Field(None, description="even the fastest preset cannot keep real time on this worker")


class LiveStatus(Out):
    """The worker's heartbeat (Redis hash with a TTL, written about every second); absent when no
    worker reports. A field the worker did not write is null."""

    state: str | None = Field(None, description="the live on the worker: starting, live, stopping, ended or failed")
    seconds: float | None = Field(None, description="media time sent so far, in seconds")
    fps: float | None = Field(None, description="video frames sent per second, lately")
    bitrate: float | None = Field(None, description="bits per second sent, lately")
    speaking: str | None = Field(None, description="the sentence on air; null when the host is silent")
    action: str | None = Field(None, description="the action clip playing; null when none")
    paused: bool | None = Field(None, description="the script is paused")
    pending_replies: int | None = Field(None, description="replies to comments waiting to be said")
    position: Any = Field(None, description="where the script resumes: {round, segment, sentence}")
    queues: dict[str, int] | None = Field(None, description="depth of each pipeline queue")
    connected: bool | None = Field(None, description="the output (RTMP) is connected: every destination")
    destinations: list[DestinationStatus] | None = Field(None, description="each place the live goes, from one "
                                                         "encoding: RTMP servers, the recording, the preview")
    errors: int | None = Field(None, description="errors so far in this live")
    worker: str | None = Field(None, description="the worker running the live")
    updated_at: float | None = Field(None, description="when the worker wrote this (Unix time, seconds)")
    commands_applied: int | None = Field(None, description="control commands the worker has applied")
    command_cursor: str | None = Field(None, description="stream id of the last command the worker read")
    audience: AudienceStatus | None = Field(None, description="viewers' chat: sources, online, queue, counts")
    product: ProductRef | None = Field(None, description="the current product (a script's product segment "
                                       "made it so); null when none")
    tts_cache: TtsCache | None = Field(None, description="the live's reuse of synthesized audio")
    scene: SceneStatus | None = Field(None, description="what the scene shows and plays now")
    cpu: float | None = Field(None, description="cores the live takes on its worker, lately")
    encoder: EncoderStatus | None = Field(None, description="the encoder keeping real time")


class SessionDetail(SessionOut):
    live: LiveStatus | None = Field(description="null when no worker reports (or the bus is unreachable)")
    queue_position: int | None = Field(description="1 for the next queued session to start; null unless queued")
    estimated_wait_s: float | None = Field(None, description="when queued: seconds until a worker slot is likely "
                                           "free (0: one is free now); null when unknown")


def live_status(session_id: int) -> LiveStatus | None:
    try:
        raw = current_app.extensions["livehost.bus"].status(session_id)
    except BusError as e:
        log.warning("session %s: no live status: %s", session_id, e)
        return None
    except ValueError as e:  # a field that is not JSON
        log.warning("session %s: unreadable live status: %s", session_id, e)
        return None
    if not raw:
        return None
    product = raw.get("product")
    if isinstance(product, dict) and str(product.get("id", "")).isdigit():  # the streamer's ids are strings
        product = {**product, "id": int(product["id"])}
    try:
        return LiveStatus.model_validate({**{k: raw.get(k) for k in LiveStatus.model_fields}, "product": product})
    except ValueError as e:  # a worker wrote something odd: show the row without it
        log.warning("session %s: unreadable live status: %s", session_id, e)
        return None


def queue_position(s, live: LiveSession) -> int:
    """Rank among queued sessions by creation time (ties by id), from 1."""
    earlier = or_(LiveSession.created_at < live.created_at,
                  and_(LiveSession.created_at == live.created_at, LiveSession.id < live.id))
    queued = LiveSession.status == SessionStatus.QUEUED
    return 1 + s.scalar(select(func.count()).select_from(LiveSession).where(queued, earlier))


def free_slots() -> int | None:
    """Free live slots over the workers there are (workers.announced); None when nobody knows."""
    try:
        workers, complete = announced()
    except redis.RedisError as e:
        log.warning("cannot read worker capacity: %s", e)
        return None
    return sum(max(0, w.slots - w.running) for w in workers) if complete else None


def estimated_wait(s, position: int) -> float | None:
    """Seconds until the session at queue `position` likely starts: 0 if a slot is free for it, else
    when the running lives' planned ends free one; None when nobody knows."""
    free = free_slots()
    if free is None:
        return None
    if position <= free:
        return 0.0
    now = datetime.now(timezone.utc)
    ends = sorted(max(0.0, (end - now).total_seconds()) for end in s.scalars(
        select(LiveSession.planned_end_at).where(LiveSession.status.in_(RUNNING_STATUSES),
                                                 LiveSession.planned_end_at.is_not(None))))
    k = position - free
    return round(ends[k - 1], 1) if k <= len(ends) else None


@route(bp, "GET", "", roles=ANYONE, query=SessionQuery, response=Page[SessionOut])
def list_sessions(query: SessionQuery):
    """Sessions, newest first; filter by status and room_id."""
    stmt = select(LiveSession).order_by(LiveSession.id.desc())
    if query.status is not None:
        stmt = stmt.where(LiveSession.status == query.status)
    if query.room_id is not None:
        stmt = stmt.where(LiveSession.room_id == query.room_id)
    return paginate(db(), stmt, query, SessionOut.model_validate)


@route(bp, "GET", "/<int:session_id>", roles=ANYONE, response=SessionDetail)
def get_session(session_id: int):
    """One session with its live status (state, speaking, position, fps, ...) and queue place."""
    s = db()
    live = get_or_404(s, LiveSession, session_id, "session")
    out = SessionOut.model_validate(live).model_dump()
    position = queue_position(s, live) if live.status == SessionStatus.QUEUED else None
    return SessionDetail(**out, live=None if live.status in TERMINAL_STATUSES else live_status(live.id),
                         queue_position=position,
                         estimated_wait_s=estimated_wait(s, position) if position is not None else None)


@route(bp, "POST", "", roles=OPERATE, body=SessionIn, response=SessionOut, status=201)
def go_live(body: SessionIn):
    """Go live now: queue a session for a worker; 409 if the room already has one running."""
    s = db()
    rows = check_refs(s, body.room_id, body.script_id, body.avatar_id, body.voice_id)
    avatar = rows["avatar_id"]
    if avatar.status != "ready":
        message = f"avatar {avatar.id} is not ready (status: {avatar.status})"
        raise ApiError(422, "invalid", f"avatar_id: {message}", {"avatar_id": message})
    running = s.scalar(select(LiveSession).where(LiveSession.room_id == body.room_id,
                                                 LiveSession.status.in_(ACTIVE_STATUSES)).limit(1))
    if running is not None:
        raise ApiError.because(409, "conflict", "live_exists", room=body.room_id, session=running.id,
                               status=running.status)
    now = datetime.now(timezone.utc)
    live = LiveSession(room_id=body.room_id, script_id=body.script_id, avatar_id=body.avatar_id,
                       voice_id=body.voice_id, status=SessionStatus.QUEUED, created_by=current_user().id,
                       created_at=now, planned_end_at=now + timedelta(seconds=body.duration_s) if body.duration_s else None)
    s.add(live)
    s.flush()
    audit.record("session.create", f"session:{live.id}", room_id=live.room_id, script_id=live.script_id,
                 avatar_id=live.avatar_id, voice_id=live.voice_id, duration_s=body.duration_s)
    s.commit()
    return SessionOut.model_validate(live)


class ComplianceOut(Out):
    """A banned word the live kept off the air."""

    id: int
    at: datetime
    where: str = Field(description="reply (an LLM answer), rewording (a script line re-worded), viewer (a name or "
                       "comment read aloud) or draft")
    words: list[str] = Field(description="the listed words found")
    text: str = Field(description="what was not said (at most 300 characters)")
    action: str = Field(description="reasked (asked again), replaced (by the fallback line), dropped, or original "
                        "(the script's own line said instead of the re-wording)")


@route(bp, "GET", "/<int:session_id>/compliance", roles=ANYONE, query=PageQuery, response=Page[ComplianceOut])
def list_compliance(session_id: int, query: PageQuery):
    """The banned words the live kept off the air, and what it did instead, newest first."""
    s = db()
    get_or_404(s, LiveSession, session_id, "session")
    stmt = select(ComplianceEvent).where(ComplianceEvent.session_id == session_id).order_by(ComplianceEvent.id.desc())
    return paginate(s, stmt, query, ComplianceOut.model_validate)
