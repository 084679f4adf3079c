"""Schedules: when a room goes live with which script, avatar and voice, once or repeating daily
or weekly. Times are instants (ISO 8601 with a zone), stored and returned in UTC; a repeat is a
fixed period of 24 h or 7 d in UTC. Two enabled schedules of one room never overlap."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Iterator, Literal

from flask import Blueprint
from pydantic import Field, StrictBool, StrictInt, field_validator
from sqlalchemy import or_, select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, current_user, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from db.models import REPEATS, Avatar, Room, Schedule, Script, Voice

bp = Blueprint("schedules", __name__, url_prefix="/api/schedules")

Id = Annotated[int, Field(ge=1, le=2_147_483_647)]
StrictId = Annotated[StrictInt, Field(ge=1, le=2_147_483_647)]  # in a list, where Model's check of JSON does not reach
Repeat = Literal["none", "daily", "weekly"]
assert set(Repeat.__args__) == set(REPEATS)

PERIODS = {"none": None, "daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_DURATION = timedelta(hours=24)
EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def instant(v: Any, field: str) -> Any:
    """Pydantic 'before' check: an ISO 8601 string, not a number."""
    if not isinstance(v, str):
        raise ValueError(f"{field} must be an ISO 8601 string with a timezone, e.g. 2030-06-01T20:00:00+08:00")
    return v


def to_utc(v: datetime, field: str) -> datetime:
    """Pydantic 'after' check: refuse naive times, keep the instant in UTC."""
    if v.tzinfo is None or v.utcoffset() is None:
        raise ValueError(f"{field} needs a timezone (Z or +hh:mm), e.g. 2030-06-01T20:00:00Z")
    try:
        v = v.astimezone(timezone.utc)
    except OverflowError:
        v = EARLIEST - timedelta(days=1)  # year 1 or 9999 at an offset: out of range anyway
    if not EARLIEST <= v < LATEST:
        raise ValueError(f"{field} must be between the years 2000 and 2099")
    return v


class ScheduleIn(Model):
    room_id: Id
    script_id: Id
    avatar_id: Id
    voice_id: Id
    start_at: datetime = Field(description="ISO 8601 with a timezone; stored in UTC")
    end_at: datetime = Field(description="after start_at, at most 24 h later (daily: less than 24 h)")
    repeat: Repeat = "none"
    enabled: StrictBool = True

    _before = field_validator("start_at", "end_at", mode="before")(lambda cls, v, info: instant(v, info.field_name))
    _after = field_validator("start_at", "end_at")(lambda cls, v, info: to_utc(v, info.field_name))


class SchedulePatch(Model):
    room_id: Id | None = None
    script_id: Id | None = None
    avatar_id: Id | None = None
    voice_id: Id | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    repeat: Repeat | None = None
    enabled: StrictBool | None = None

    _before = field_validator("start_at", "end_at", mode="before")(
        lambda cls, v, info: v if v is None else instant(v, info.field_name))
    _after = field_validator("start_at", "end_at")(
        lambda cls, v, info: v if v is None else to_utc(v, info.field_name))


class ScheduleQuery(PageQuery):
    room_id: Id | None = None
    enabled: bool | None = None


class ScheduleOut(Out):
    id: int
    room_id: int
    script_id: int
    avatar_id: int
    voice_id: int
    start_at: datetime
    end_at: datetime
    repeat: str
    enabled: bool
    next_start: datetime | None = Field(
        description="start of the current or next occurrence that has not ended; null when disabled or over")
    created_by: int | None
    created_at: datetime

    @classmethod
    def of(cls, sc: Schedule) -> "ScheduleOut":
        nxt = next_occurrence(sc.start_at, sc.end_at, sc.repeat, datetime.now(timezone.utc)) if sc.enabled else None
        return cls(id=sc.id, room_id=sc.room_id, script_id=sc.script_id, avatar_id=sc.avatar_id,
                   voice_id=sc.voice_id, start_at=sc.start_at, end_at=sc.end_at, repeat=sc.repeat,
                   enabled=sc.enabled, next_start=nxt[0] if nxt else None, created_by=sc.created_by,
                   created_at=sc.created_at)


# --- time arithmetic (pure) -------------------------------------------------------------------

def occurrences(start: datetime, end: datetime, repeat: str, lo: datetime, hi: datetime
                ) -> Iterator[tuple[datetime, datetime]]:
    """The occurrences [s, e) of a schedule that end after `lo` and start before `hi`."""
    period = PERIODS[repeat]
    if period is None:
        if end > lo and start < hi:
            yield start, end
        return
    k = 0 if end > lo else (lo - end) // period + 1
    while start + k * period < hi:
        yield start + k * period, end + k * period
        k += 1


def next_occurrence(start: datetime, end: datetime, repeat: str, now: datetime) -> tuple[datetime, datetime] | None:
    """The current or next occurrence that has not ended at `now`, or None when all are over."""
    return next(occurrences(start, end, repeat, now, max(now, start) + timedelta(days=8)), None)


def first_clash(a: tuple[datetime, datetime, str], b: tuple[datetime, datetime, str]) -> datetime | None:
    """The first instant at which schedules a and b (start, end, repeat) both run, or None.

    A one-off bounds the search to itself. Two repeating schedules are both periodic once the
    later one has started, with a common period of 7 days, so one week from then (plus the
    longest duration, 24 h) holds every pattern there is."""
    one_offs = [x for x in (a, b) if x[2] == "none"]
    if one_offs:
        lo, hi = one_offs[0][0], one_offs[0][1]
    else:
        lo = max(a[0], b[0])
        hi = lo + timedelta(days=7) + MAX_DURATION
    best = None
    occ_b = list(occurrences(*b, lo, hi))
    for sa, ea in occurrences(*a, lo, hi):
        for sb, eb in occ_b:
            if sa < eb and sb < ea:
                t = max(sa, sb)
                best = t if best is None or t < best else best
    return best


def check_times(start: datetime, end: datetime, repeat: str) -> None:
    """422 unless end is after start, the duration is at most 24 h and shorter than the repeat."""
    if end <= start:
        raise invalid("end_at", "end_at must be after start_at")
    if end - start > MAX_DURATION:
        raise invalid("end_at", "a schedule lasts at most 24 hours (end_at - start_at)")
    period = PERIODS[repeat]
    if period is not None and end - start >= period:
        raise invalid("end_at", f"a {repeat} schedule must last less than its period of {period.days * 24} hours")


# --- database checks ----------------------------------------------------------------------------

def invalid(field: str, message: str, reason: str | None = None, **params) -> ApiError:
    return ApiError(422, "invalid", f"{field}: {message}", {field: message},
                    field_reasons={field: {"reason": reason, "params": params}} if reason else None)


def check_not_over(end: datetime, repeat: str) -> None:
    """422 for an enabled one-off schedule that has already ended: it could never run."""
    if repeat == "none" and end <= datetime.now(timezone.utc):
        raise invalid("end_at", f"the schedule ends at {iso(end)}, which has already passed",
                      "schedule_in_past", end=iso(end))


def check_refs(s, room_id: int, script_id: int, avatar_id: int, voice_id: int) -> dict[str, Any]:
    """The room (locked against concurrent schedule/session writes), script, avatar and voice
    rows; 422 naming each field whose row does not exist."""
    rows, missing = {}, {}
    wanted = (("room_id", Room, "room", room_id), ("script_id", Script, "script", script_id),
              ("avatar_id", Avatar, "avatar", avatar_id), ("voice_id", Voice, "voice", voice_id))
    reasons = {}
    for field, model, what, ident in wanted:
        row = s.get(model, ident, with_for_update=model is Room)
        if row is None or row.archived_at is not None:  # an archived row is kept for history only
            missing[field] = f"{what} {ident} does not exist"
            reasons[field] = {"reason": "not_found", "params": {"what": what, "id": ident}}
        rows[field] = row
    if missing:
        field, message = next(iter(missing.items()))
        raise ApiError(422, "invalid", f"{field}: {message}", missing, field_reasons=reasons)
    return rows


def check_overlap(s, sc: Schedule) -> None:
    """409 naming the enabled schedule of the same room that `sc` (enabled) overlaps."""
    if not sc.enabled:
        return
    stmt = select(Schedule).where(Schedule.room_id == sc.room_id, Schedule.enabled.is_(True),
                                  or_(Schedule.repeat != "none", Schedule.end_at > sc.start_at))
    if sc.id is not None:
        stmt = stmt.where(Schedule.id != sc.id)
    with s.no_autoflush:
        others = s.scalars(stmt.order_by(Schedule.start_at, Schedule.id)).all()
    mine = (sc.start_at, sc.end_at, sc.repeat)
    for other in others:
        when = first_clash(mine, (other.start_at, other.end_at, other.repeat))
        if when is not None:
            raise ApiError(409, "conflict",
                           f"overlaps schedule {other.id} of room {sc.room_id} ({other.repeat}, "
                           f"{iso(other.start_at)} to {iso(other.end_at)}): both would run at {iso(when)}",
                           reason="schedule_overlap",
                           params={"schedule": other.id, "room": sc.room_id, "repeat": other.repeat,
                                   "start": iso(other.start_at), "end": iso(other.end_at), "at": iso(when)})


# --- endpoints ----------------------------------------------------------------------------------

@route(bp, "GET", "", roles=ANYONE, query=ScheduleQuery, response=Page[ScheduleOut])
def list_schedules(query: ScheduleQuery):
    """Schedules, by start time; filter by room_id and enabled."""
    stmt = select(Schedule).order_by(Schedule.start_at, Schedule.id)
    if query.room_id is not None:
        stmt = stmt.where(Schedule.room_id == query.room_id)
    if query.enabled is not None:
        stmt = stmt.where(Schedule.enabled.is_(query.enabled))
    return paginate(db(), stmt, query, ScheduleOut.of)


@route(bp, "POST", "", roles=OPERATE, body=ScheduleIn, response=ScheduleOut, status=201)
def create_schedule(body: ScheduleIn):
    """Create a schedule; 409 if it overlaps another enabled schedule of the room."""
    s = db()
    check_times(body.start_at, body.end_at, body.repeat)
    if body.enabled:
        check_not_over(body.end_at, body.repeat)
    check_refs(s, body.room_id, body.script_id, body.avatar_id, body.voice_id)
    sc = Schedule(**body.model_dump(), created_by=current_user().id)
    check_overlap(s, sc)
    s.add(sc)
    s.flush()
    audit.record("schedule.create", f"schedule:{sc.id}", room_id=sc.room_id, start_at=iso(sc.start_at),
                 end_at=iso(sc.end_at), repeat=sc.repeat, enabled=sc.enabled)
    s.commit()
    return ScheduleOut.of(sc)


@route(bp, "GET", "/<int:schedule_id>", roles=ANYONE, response=ScheduleOut)
def get_schedule(schedule_id: int):
    """One schedule."""
    return ScheduleOut.of(get_or_404(db(), Schedule, schedule_id, "schedule"))


@route(bp, "PATCH", "/<int:schedule_id>", roles=OPERATE, body=SchedulePatch, response=ScheduleOut)
def change_schedule(schedule_id: int, body: SchedulePatch):
    """Change a schedule; the result is checked like a new one."""
    s = db()
    sc = get_or_404(s, Schedule, schedule_id, "schedule")
    changes = body.model_dump(exclude_none=True)
    merged = {f: changes.get(f, getattr(sc, f)) for f in ScheduleIn.model_fields}
    check_times(merged["start_at"], merged["end_at"], merged["repeat"])
    if merged["enabled"] and (changes.keys() & {"start_at", "end_at", "repeat"} or changes.get("enabled")):
        check_not_over(merged["end_at"], merged["repeat"])
    check_refs(s, merged["room_id"], merged["script_id"], merged["avatar_id"], merged["voice_id"])
    for field, value in changes.items():
        setattr(sc, field, value)
    check_overlap(s, sc)
    audit.record("schedule.change", f"schedule:{sc.id}", fields=sorted(changes))
    s.commit()
    return ScheduleOut.of(sc)


@route(bp, "DELETE", "/<int:schedule_id>", roles=OPERATE)
def delete_schedule(schedule_id: int):
    """Delete a schedule (its past sessions stay, unlinked)."""
    s = db()
    sc = get_or_404(s, Schedule, schedule_id, "schedule")
    audit.record("schedule.delete", f"schedule:{sc.id}", room_id=sc.room_id, start_at=iso(sc.start_at),
                 repeat=sc.repeat)
    s.delete(sc)
    s.commit()
