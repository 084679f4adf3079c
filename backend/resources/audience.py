"""The audience of a live: the room's triage settings (what is answered, thanked, skipped), the
events a live received with what the host did about each, and the operator's say over them
(answer this one, skip that one, block a viewer).

The worker records the events (db.models.AudienceEventRow) and acts on the commands `answer`,
`skip` and `block`; these endpoints read the one and send the others (backend.resources.control).
Served under /api/sessions."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from flask import Blueprint
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StringConstraints
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from backend.resources.control import BUS_DOWN, CommandOut, controllable, send
from db.models import AudienceEventRow, LiveSession, Room
from streamer.audience.events import Kind

bp = Blueprint("audience", __name__, url_prefix="/api/sessions")

Word = Annotated[str, StringConstraints(min_length=1, max_length=50)]
UserRef = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MAX_BLOCKED_USERS = 1000


class AudienceSettings(Model):
    """How the host triages the audience of a room's lives (RoomSettings.audience; the streamer's
    triage reads these keys)."""

    answer: Literal["all", "questions", "keywords", "mentions"] = Field(
        "all", description="which comments are answered: all, questions only, those holding a keyword, or those "
        "mentioning the host")
    keywords: list[Word] = Field(default_factory=list, max_length=100, description="for answer 'keywords'")
    host_names: list[Word] = Field(default_factory=list, max_length=20,
                                   description="names that count as mentioning the host (answer 'mentions')")
    replies_per_minute: StrictInt = Field(6, ge=0, le=60, description="at most this many answers a minute (0: none)")
    queue_size: StrictInt = Field(30, ge=1, le=500, description="comments waiting to be answered; when full the "
                                  "lowest priority, oldest one is dropped")
    max_wait_s: StrictInt = Field(60, ge=5, le=600, description="a comment waiting longer is dropped as stale")
    dedupe_window_s: StrictInt = Field(120, ge=0, le=3600,
                                       description="duplicates and near-duplicates within it are skipped")
    blocked_words: list[Word] = Field(default_factory=list, max_length=500,
                                      description="a comment holding one is skipped and never said")
    blocked_users: list[UserRef] = Field(default_factory=list, max_length=MAX_BLOCKED_USERS,
                                         description="'platform:user_id' or a display name")
    interrupt_on: list[Literal["superchat", "gift", "guard", "question"]] = Field(
        default_factory=lambda: ["superchat"], max_length=4, description="these cut the host off")
    thank: list[Literal["gift", "follow", "guard", "superchat"]] = Field(
        default_factory=lambda: ["gift", "guard", "follow"], max_length=4,
        description="these are thanked, several in one line")
    thank_min_value: StrictFloat = Field(0.0, ge=0, le=100000, allow_inf_nan=False,
                                         description="gifts worth less (in their currency) are not thanked")
    thank_batch_s: StrictInt = Field(10, ge=1, le=300, description="thanks are gathered this long, then said at once")
    read_names: StrictBool = Field(True, description="say viewers' (filtered) names in thanks and replies")


DEFAULT_AUDIENCE = AudienceSettings().model_dump()

EventKind = Literal["comment", "gift", "superchat", "follow", "enter", "like", "guard", "online"]
assert set(EventKind.__args__) == set(Kind)
Action = Literal["received", "queued", "skipped", "thanks", "seen", "answered", "thanked", "dropped"]


class AudienceQuery(PageQuery):
    kind: EventKind | None = None
    action: Action | None = Field(None, description="what the host did: queued, skipped, thanks, seen (counted "
                                  "only), answered, thanked, dropped; received: not triaged yet")


class AudienceEventOut(Out):
    id: int
    seq: int = Field(description="the live's own number of the event (answer and skip name it)")
    platform: str
    kind: str
    user_id: str
    user: str
    text: str
    gift: str
    count: int
    value: float
    currency: str
    at: datetime
    action: str
    reason: str | None = Field(description="why it was skipped or dropped")
    reply: str | None = Field(description="what the host said to it")

    @classmethod
    def of(cls, row: AudienceEventRow) -> "AudienceEventOut":
        return cls(id=row.id, seq=row.seq, platform=row.platform, kind=row.kind, user_id=row.user_id,
                   user=row.user_name, text=row.text, gift=row.gift, count=row.count, value=row.value,
                   currency=row.currency, at=row.at, action=row.action, reason=row.reason, reply=row.reply)


class BlockIn(Model):
    user: UserRef = Field(description="'platform:user_id' (e.g. bilibili:12345) or a display name")


@route(bp, "GET", "/<int:session_id>/audience", roles=ANYONE, query=AudienceQuery, response=Page[AudienceEventOut])
def list_audience(session_id: int, query: AudienceQuery):
    """What the live's viewers did and what the host did about it, newest first."""
    s = db()
    get_or_404(s, LiveSession, session_id, "session")
    stmt = select(AudienceEventRow).where(AudienceEventRow.session_id == session_id)
    if query.kind is not None:
        stmt = stmt.where(AudienceEventRow.kind == query.kind)
    if query.action is not None:
        stmt = stmt.where(AudienceEventRow.action == query.action)
    return paginate(s, stmt.order_by(AudienceEventRow.seq.desc()), query, AudienceEventOut.of)


@route(bp, "POST", "/<int:session_id>/audience/<int:seq>/answer", roles=OPERATE, response=CommandOut, status=202,
       errors=BUS_DOWN)
def answer_event(session_id: int, seq: int):
    """Have the host answer this comment next, whatever the triage decided."""
    s = db()
    return send(s, controllable(s, session_id), "answer", seq=seq)


@route(bp, "POST", "/<int:session_id>/audience/<int:seq>/skip", roles=OPERATE, response=CommandOut, status=202,
       errors=BUS_DOWN)
def skip_event(session_id: int, seq: int):
    """Take this comment out of the queue: it is not answered."""
    s = db()
    return send(s, controllable(s, session_id), "skip", seq=seq)


@route(bp, "POST", "/<int:session_id>/audience/block", roles=OPERATE, body=BlockIn, response=CommandOut, status=202,
       errors=BUS_DOWN)
def block_user(session_id: int, body: BlockIn):
    """Block a viewer in the live's room: added to its settings.audience.blocked_users (kept for
    its later lives), and the live skips their comments from now on."""
    s = db()
    live = controllable(s, session_id)
    room = s.get(Room, live.room_id, with_for_update=True)
    settings = dict(room.settings or {})
    audience = {**DEFAULT_AUDIENCE, **(settings.get("audience") or {})}
    blocked = list(audience["blocked_users"])
    if body.user not in blocked:
        if len(blocked) >= MAX_BLOCKED_USERS:
            raise ApiError.because(409, "conflict", "blocked_users_full", room=room.id, limit=MAX_BLOCKED_USERS)
        room.settings = {**settings, "audience": {**audience, "blocked_users": [*blocked, body.user]}}
        audit.record("room.block_user", f"room:{room.id}", user=body.user, session=live.id)
    return send(s, live, "block", user=body.user)
