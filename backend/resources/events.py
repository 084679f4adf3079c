"""GET /api/sessions/{id}/events: the session's event stream relayed as Server-Sent Events.

Each bus event becomes `id: <stream id>`, `event: <type>`, `data: <json>`. A browser's
EventSource resumes with Last-Event-ID by itself; it sends its token as ?access_token=. The
stream ends after a `state` event whose state is ended or failed; a session already over with
nothing left to replay answers 204, which tells EventSource not to reconnect. A server shutting
down (`STOPPING`) ends its streams within a second; the browsers reconnect to the next one."""
from __future__ import annotations

import json
import logging
import re
import threading
import time

from flask import Blueprint, Response, current_app, request, stream_with_context
from pydantic import Field
from sqlalchemy import select

from backend.api import ANYONE, Model, get_or_404, route
from backend.db import close_session, db
from backend.errors import ApiError
from db.models import TERMINAL_STATUSES, LiveSession
from streamer.control.bus import BusError

bp = Blueprint("events", __name__)
log = logging.getLogger("livehost.api")

STREAM_ID = r"^\d{1,20}(-\d{1,20})?$"
EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,40}")
STEP_MS = 1000  # longest single wait on the bus, so a closed stream is let go of promptly
STOPPING = threading.Event()  # the process is shutting down: streams end rather than hold it up


class StreamQuery(Model):
    """The query of an event stream: the token, since EventSource cannot send headers."""

    access_token: str | None = Field(None, max_length=4096, description="for EventSource, which cannot send headers")


def sse_response(events) -> Response:
    """Server-Sent Events from the generator `events`, unbuffered by proxies."""
    return Response(stream_with_context(events), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class EventsQuery(StreamQuery):
    last_event_id: str | None = Field(None, pattern=STREAM_ID, description="resume after this id (as Last-Event-ID)")


def _id(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def frame(msg_id: str, event: dict) -> str:
    kind = str(event.get("type", ""))
    name = kind if EVENT_NAME.fullmatch(kind) else "message"
    return f"id: {msg_id}\nevent: {name}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n"


def is_final(event: dict) -> bool:
    return event.get("type") == "state" and event.get("state") in TERMINAL_STATUSES


def session_over(session_id: int) -> bool:
    """Is the session ended or failed by now? (A short read of its own: the stream holds no connection.)"""
    try:
        with current_app.extensions["livehost.db"].sessions() as s:
            status = s.scalar(select(LiveSession.status).where(LiveSession.id == session_id))
            return status in (None, *TERMINAL_STATUSES)
    except Exception as e:  # noqa: BLE001 - a database hiccup must not end a live view
        log.warning("session %s: cannot read status for the event stream: %s", session_id, e)
        return False


@route(bp, "GET", "/<int:session_id>/events", roles=ANYONE, query=EventsQuery, stream=True,
       errors={503: "the control bus (Redis) is unreachable"})
def session_events(session_id: int, query: EventsQuery):
    """Live events of a session (Server-Sent Events); resumes after Last-Event-ID."""
    live = get_or_404(db(), LiveSession, session_id, "session")
    over = live.status in TERMINAL_STATUSES
    resume = request.headers.get("Last-Event-ID", "").strip() or query.last_event_id
    if resume and not re.fullmatch(STREAM_ID, resume):
        raise ApiError(400, "bad_request", "Last-Event-ID must be a stream id such as 1700000000000-0")
    bus = current_app.extensions["livehost.bus"]
    try:
        newest = bus.last_event_id(session_id)
    except BusError as e:
        log.warning("session %s: event stream refused: %s", session_id, e)
        raise ApiError(503, "unavailable", "the control bus (Redis) is unreachable; no live events for now") from None
    after = resume or newest
    if over and _id(newest) <= _id(after):
        return Response(status=204)
    keepalive = current_app.config["LIVEHOST"].sse_keepalive_s
    step_ms = max(50, min(STEP_MS, int(keepalive * 1000)))
    close_session()  # a stream may last hours: give the database connection back now

    def stream():
        last, quiet_since = after, time.monotonic()
        yield "retry: 3000\n\n"
        while not STOPPING.is_set():
            try:
                batch = bus.events(session_id, after=last, block_ms=0 if over else step_ms)
            except BusError as e:
                log.warning("session %s: event stream cut: %s", session_id, e)
                yield f"event: error\ndata: {json.dumps({'message': 'the control bus is unreachable'})}\n\n"
                return
            for msg_id, event in batch:
                last = msg_id
                yield frame(msg_id, event)
                if is_final(event):
                    return
            if batch:
                quiet_since = time.monotonic()
            elif over:
                return
            elif time.monotonic() - quiet_since >= keepalive:
                if session_over(session_id):
                    return
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()

    log.info("session %s: event stream opened after %s", session_id, after)
    return sse_response(stream())
