"""The audit log: who did what to which live, when, from where."""
from __future__ import annotations

from flask import g, request

from backend.db import db
from db.models import AuditEntry


def record(action: str, target: str = "", **detail) -> None:
    """Add an audit entry for the signed-in user (committed with the request's transaction)."""
    user = g.get("user")
    db().add(AuditEntry(user_id=user.id if user else None, username=user.username if user else "",
                        action=action, target=target, detail=detail,
                        ip=(request.remote_addr or "")[:45]))
