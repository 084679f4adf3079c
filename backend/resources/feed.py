"""GET /api/events: every live's state changes as Server-Sent Events, for pages that show all
lives at once (the overview). `event: state`, data {"type": "state", "session_id", "state",
"room_id"} whenever a live is created, starts, goes on air, stops, ends or fails, whoever changed
it (the API, the scheduler, a worker). Read from the database, the one place every change
lands, a second apart at most; it needs no Redis."""
from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone

from flask import Blueprint, current_app
from sqlalchemy import or_, select

from backend.api import ANYONE, route
from backend.db import close_session
from backend.resources.events import STOPPING, StreamQuery, sse_response
from db.models import ACTIVE_STATUSES, LiveSession

bp = Blueprint("feed", __name__, url_prefix="/api")
log = logging.getLogger("livehost.api")

POLL_S = 1.0


def snapshot(database, since: datetime) -> dict[int, tuple[str, int]]:
    """{session id: (status, room id)} of the lives not over, and of those over since `since`."""
    with database.sessions() as s:
        rows = s.execute(select(LiveSession.id, LiveSession.status, LiveSession.room_id).where(
            or_(LiveSession.status.in_(ACTIVE_STATUSES), LiveSession.ended_at >= since))).all()
    return {r.id: (r.status, r.room_id) for r in rows}


@route(bp, "GET", "/events", roles=ANYONE, query=StreamQuery, stream=True)
def lives_feed(query: StreamQuery):
    """State changes of every live (Server-Sent Events), a second apart at most."""
    database = current_app.extensions["livehost.db"]
    keepalive = current_app.config["LIVEHOST"].sse_keepalive_s
    opened = datetime.now(timezone.utc) - timedelta(seconds=5)
    close_session()  # a feed may stay open for hours: no database connection held between reads

    def stream():
        known = snapshot(database, opened)
        quiet_since = time.monotonic()
        yield "retry: 3000\n\n"
        while not STOPPING.wait(POLL_S):
            try:
                now = snapshot(database, opened)
            except Exception as e:  # noqa: BLE001 - a database hiccup must not end the feed
                log.warning("lives feed: cannot read the sessions: %s", e)
                continue
            changed = [(i, v) for i, v in sorted(now.items()) if known.get(i) != v]
            known = now
            for session_id, (status, room_id) in changed:
                data = {"type": "state", "session_id": session_id, "state": status, "room_id": room_id}
                yield f"event: state\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
            if changed:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= keepalive:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()

    return sse_response(stream())
