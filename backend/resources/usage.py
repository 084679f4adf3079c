"""Deleting what lives refer to (rooms, scripts, avatars, voices) without losing history.

A row used by a live that is not over, or by a schedule, is not deleted: 409 naming them. A row
that only past lives refer to is archived (gone from the lists, refused for new lives and
schedules, still shown by those sessions). A row nothing refers to is deleted."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from db.models import ACTIVE_STATUSES, LiveSession, Schedule

SHOWN = 10  # ids named in the message at most


def in_use(what: str, ident: int, lives: list[int], schedules: list[int]) -> ApiError:
    named = [f"session {i}" for i in lives[:SHOWN]] + [f"schedule {i}" for i in schedules[:SHOWN]]
    more = len(lives) + len(schedules) - len(named)
    users = ", ".join(named) + (f" and {more} more" if more > 0 else "")
    return ApiError.because(409, "conflict", "in_use", what=what, id=ident, users=users,
                            lives=lives[:SHOWN], schedules=schedules[:SHOWN])


def delete_or_archive(s, row, what: str, column: str) -> bool:
    """Delete `row` (True) or archive it (False) and commit; 409 while a live that is not over or
    a schedule uses it."""
    ref = getattr(LiveSession, column)
    lives = list(s.scalars(select(LiveSession.id).where(ref == row.id, LiveSession.status.in_(ACTIVE_STATUSES))
                           .order_by(LiveSession.id)))
    schedules = list(s.scalars(select(Schedule.id).where(getattr(Schedule, column) == row.id).order_by(Schedule.id)))
    if lives or schedules:
        raise in_use(what, row.id, lives, schedules)
    if s.scalar(select(LiveSession.id).where(ref == row.id).limit(1)) is not None:
        row.archived_at = datetime.now(timezone.utc)
        s.commit()
        return False
    s.delete(row)
    try:
        s.commit()
    except IntegrityError:  # a schedule or a live appeared meanwhile
        s.rollback()
        raise ApiError.because(409, "conflict", "in_use", what=what, id=row.id, users="a new live or schedule",
                               lives=[], schedules=[]) from None
    return True
