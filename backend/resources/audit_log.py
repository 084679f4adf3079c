"""The audit log, read back: who did what, when, from where. The whole log is for admins; the
control history of one session (GET /api/sessions/{id}/audit) is open to operators too."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from pydantic import Field
from sqlalchemy import select

from backend.api import ADMIN, Out, Page, PageQuery, paginate, route
from backend.db import db
from db.models import AuditEntry

bp = Blueprint("audit_log", __name__, url_prefix="/api/audit")


class AuditQuery(PageQuery):
    action: str | None = Field(None, pattern=r"^[a-z_.]{1,40}$",
                               description="action prefix, e.g. 'session.' or 'schedule.create'")
    username: str | None = Field(None, max_length=20)
    target: str | None = Field(None, max_length=60, description="exact target, e.g. 'session:12'")


class AuditOut(Out):
    id: int
    created_at: datetime
    user_id: int | None
    username: str
    action: str
    target: str
    detail: dict[str, Any]
    ip: str


def newest_first(query: AuditQuery | PageQuery, target: str | None = None) -> dict:
    """A page of audit entries, newest first, filtered by the query (and `target` if given)."""
    stmt = select(AuditEntry).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
    target = target or getattr(query, "target", None)
    if target:
        stmt = stmt.where(AuditEntry.target == target)
    if getattr(query, "action", None):
        stmt = stmt.where(AuditEntry.action.startswith(query.action, autoescape=True))
    if getattr(query, "username", None):
        stmt = stmt.where(AuditEntry.username == query.username.lower())
    return paginate(db(), stmt, query, AuditOut.model_validate)


@route(bp, "GET", "", roles=ADMIN, query=AuditQuery, response=Page[AuditOut])
def list_audit(query: AuditQuery):
    """The audit log, newest first; filter by action prefix, username or target."""
    return newest_first(query)
