"""GET /api/health: is the API up, and can it reach its database and Redis?"""
from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from backend.api import PUBLIC, Out, route
from backend.db import db

bp = Blueprint("health", __name__, url_prefix="/api")


class Health(Out):
    status: str
    database: str
    redis: str


@route(bp, "GET", "/health", roles=PUBLIC, response=Health)
def health():
    """Reachability of the database and Redis; 503 when one is down."""
    out = {"status": "ok", "database": "ok", "redis": "not configured"}
    try:
        db().execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - any driver error means unreachable
        out["database"] = f"unreachable: {type(e).__name__}"
    client = current_app.extensions["livehost.redis"]
    if client is not None:
        try:
            client.ping()
            out["redis"] = "ok"
        except Exception as e:  # noqa: BLE001
            out["redis"] = f"unreachable: {type(e).__name__}"
    bad = out["database"] != "ok" or out["redis"].startswith("unreachable")
    if bad:
        out["status"] = "degraded"
    return out, 503 if bad else 200
