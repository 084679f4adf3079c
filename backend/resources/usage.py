"""Rows that schedules and sessions refer to (avatars, voices, scripts) are deleted only when unused."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from db.models import LiveSession, Schedule


def delete_unless_used(s, row, what: str, column: str) -> None:
    """Delete `row` and commit, or answer 409 while a schedule or a session refers to it."""
    counts = {label: s.scalar(select(func.count()).select_from(table).where(getattr(table, column) == row.id))
              for label, table in (("schedule", Schedule), ("session", LiveSession))}
    uses = [f"{n} {label}{'s' if n > 1 else ''}" for label, n in counts.items() if n]
    if uses:
        raise ApiError(409, "conflict", f"{what} {row.id} is used by {' and '.join(uses)}; "
                                        "delete or change those first")
    s.delete(row)
    try:
        s.commit()
    except IntegrityError:  # a schedule appeared meanwhile
        s.rollback()
        raise ApiError(409, "conflict",
                       f"{what} {row.id} is in use; delete or change what uses it first") from None
