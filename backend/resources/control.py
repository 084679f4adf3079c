"""Live control of a session: comments, say, interrupt, action, pause, resume, card, stop.

Each is a command on the session's Redis stream, shaped {"type", ...fields, "by", "at"}, and an
audit entry naming who sent it. Nothing is recorded when the bus cannot take the command (503).
Nested in the sessions blueprint (endpoints `sessions.control.*`)."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Literal

from flask import Blueprint, current_app
from pydantic import Field, StrictBool
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, current_user, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError, not_found
from backend.resources.audit_log import AuditOut, newest_first
from db.models import TERMINAL_STATUSES, Comment, LiveSession, SessionStatus
from streamer.control.bus import BusError

bp = Blueprint("control", __name__)
log = logging.getLogger("livehost.api")

BUS_DOWN = {503: "the control bus (Redis) is unreachable; nothing was sent or recorded"}


class CommentIn(Model):
    text: str = Field(min_length=1, max_length=500)
    user: str = Field("", max_length=100, description="the viewer's display name, if any")
    interrupt: StrictBool = Field(False, description="cut the host off and answer now")


class CommentOut(Out):
    id: int
    session_id: int
    user: str
    text: str
    interrupt: bool
    reply: str | None
    created_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, c: Comment) -> "CommentOut":
        return cls(id=c.id, session_id=c.session_id, user=c.author, text=c.text, interrupt=c.interrupt,
                   reply=c.reply, created_by=c.created_by, created_at=c.created_at)


class SayIn(Model):
    text: str = Field(min_length=1, max_length=2000)
    interrupt: StrictBool = Field(False, description="drop what the host is saying and say this now")


class ActionIn(Model):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$", description="an action clip of the avatar")


class CardIn(Model):
    card: Literal["starting_soon", "be_right_back"] | None = Field(
        description="the card shown over the whole picture instead of the host; null takes it off")


class CommandOut(Out):
    command_id: str = Field(description="the command's id on the session's Redis stream")
    type: str
    status: str = Field(description="the session's status after the command")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def controllable(s, session_id: int, lock: bool = False) -> LiveSession:
    """The session (row-locked if `lock`), or 404; 409 once it has ended or failed."""
    live = s.get(LiveSession, session_id, with_for_update=True if lock else None)
    if live is None:
        raise not_found("session", session_id)
    if live.status in TERMINAL_STATUSES:
        raise ApiError.because(409, "conflict", "session_ended", session=session_id, status=live.status)
    return live


def send(s, live: LiveSession, kind: str, audit_detail: dict[str, Any] | None = None, **fields) -> tuple[dict, int]:
    """Put a `kind` command on the bus, audit it and commit; 503 (and nothing kept) if the bus is down."""
    who = current_user().username
    command = {"type": kind, **fields, "by": who, "at": now_iso()}
    session_id = live.id
    try:
        command_id = current_app.extensions["livehost.bus"].send(session_id, command)
    except BusError as e:
        s.rollback()
        log.warning("session %s: %s command from %s not sent: %s", session_id, kind, who, e)
        raise ApiError(503, "unavailable",
                       f"the control bus (Redis) is unreachable; the {kind} command was not sent, try again",
                       reason="redis_unavailable", params={}) from None
    audit.record(f"session.{kind}", f"session:{live.id}", command_id=command_id,
                 **(fields if audit_detail is None else audit_detail))
    s.commit()
    log.info("session %s: %s command %s from %s", live.id, kind, command_id, who)
    return {"command_id": command_id, "type": kind, "status": live.status}, 202


@route(bp, "POST", "/<int:session_id>/comments", roles=OPERATE, body=CommentIn, response=CommentOut, status=201,
       errors=BUS_DOWN)
def post_comment(session_id: int, body: CommentIn):
    """Give the host a comment to answer (stored, and sent as a 'comment' command)."""
    s = db()
    live = controllable(s, session_id)
    comment = Comment(session_id=live.id, author=body.user, text=body.text, interrupt=body.interrupt,
                      created_by=current_user().id)
    s.add(comment)
    s.flush()
    send(s, live, "comment", {"comment_id": comment.id, "user": body.user, "text": body.text[:200],
                               "interrupt": body.interrupt},
         comment_id=comment.id, text=body.text, user=body.user, interrupt=body.interrupt)
    return CommentOut.of(comment)


@route(bp, "GET", "/<int:session_id>/comments", roles=ANYONE, query=PageQuery, response=Page[CommentOut])
def list_comments(session_id: int, query: PageQuery):
    """Comments given to a session, newest first, with the host's replies."""
    s = db()
    get_or_404(s, LiveSession, session_id, "session")
    stmt = select(Comment).where(Comment.session_id == session_id).order_by(Comment.id.desc())
    return paginate(s, stmt, query, CommentOut.of)


@route(bp, "POST", "/<int:session_id>/say", roles=OPERATE, body=SayIn, response=CommandOut, status=202, errors=BUS_DOWN)
def say(session_id: int, body: SayIn):
    """Make the host say a text (after the current sentence, or at once with interrupt)."""
    s = db()
    return send(s, controllable(s, session_id), "say", {"text": body.text[:200], "interrupt": body.interrupt},
                text=body.text, interrupt=body.interrupt)


@route(bp, "POST", "/<int:session_id>/interrupt", roles=OPERATE, response=CommandOut, status=202, errors=BUS_DOWN)
def interrupt(session_id: int):
    """Stop the host talking now; pending speech is dropped."""
    s = db()
    return send(s, controllable(s, session_id), "interrupt")


@route(bp, "POST", "/<int:session_id>/action", roles=OPERATE, body=ActionIn, response=CommandOut, status=202,
       errors=BUS_DOWN)
def action(session_id: int, body: ActionIn):
    """Play one of the avatar's action clips."""
    s = db()
    return send(s, controllable(s, session_id), "action", name=body.name)


@route(bp, "POST", "/<int:session_id>/pause", roles=OPERATE, response=CommandOut, status=202, errors=BUS_DOWN)
def pause(session_id: int):
    """Pause the script; the stream goes on with the idle avatar."""
    s = db()
    return send(s, controllable(s, session_id), "pause")


@route(bp, "POST", "/<int:session_id>/resume", roles=OPERATE, response=CommandOut, status=202, errors=BUS_DOWN)
def resume(session_id: int):
    """Resume the script where it was paused."""
    s = db()
    return send(s, controllable(s, session_id), "resume")


@route(bp, "POST", "/<int:session_id>/card", roles=OPERATE, body=CardIn, response=CommandOut, status=202,
       errors=BUS_DOWN)
def card(session_id: int, body: CardIn):
    """Show the "starting soon" or "be right back" card over the live (the voice and music go on
    under it: pause the script for a silent break), or take it off with null."""
    s = db()
    return send(s, controllable(s, session_id), "card", card=body.card)


@route(bp, "POST", "/<int:session_id>/stop", roles=OPERATE, response=CommandOut, status=202, errors=BUS_DOWN)
def stop(session_id: int):
    """End the live: 'stopping' until the worker confirms, or 'ended' at once if still queued."""
    s = db()
    return stop_live(s, controllable(s, session_id, lock=True))


def stop_live(s, live: LiveSession) -> tuple[dict, int]:
    """Ask the live (row-locked, not over) to stop; a queued one ends at once."""
    before = live.status
    if live.status == SessionStatus.QUEUED:
        live.status, live.ended_at = SessionStatus.ENDED, datetime.now(timezone.utc)
    elif live.status in (SessionStatus.STARTING, SessionStatus.LIVE):
        live.status = SessionStatus.STOPPING
    return send(s, live, "stop", {"from": before, "to": live.status})


@route(bp, "GET", "/<int:session_id>/audit", roles=OPERATE, query=PageQuery, response=Page[AuditOut])
def session_audit(session_id: int, query: PageQuery):
    """Who did what to a session (creation and every command), newest first."""
    get_or_404(db(), LiveSession, session_id, "session")
    return newest_first(query, target=f"session:{session_id}")
