"""GET /api/workers: the streamer workers running now and their load, as they announce themselves
in Redis (`livehost:worker:{name}`, refreshed every 2 s, gone 10 s after a worker stops)."""
from __future__ import annotations

import logging

import redis
from flask import Blueprint, current_app
from pydantic import Field

from backend.api import ANYONE, Out, route

bp = Blueprint("workers", __name__, url_prefix="/api")
log = logging.getLogger("livehost.api")


class WorkerOut(Out):
    name: str
    slots: int = Field(description="lives it can run at once")
    running: int = Field(description="lives it runs now")
    updated_at: float = Field(description="its last announcement (epoch seconds)")


@route(bp, "GET", "/workers", roles=ANYONE, response=list[WorkerOut],
       errors={503: "Redis is unreachable"})
def list_workers():
    """Workers and their load (empty without Redis: the embedded default runs no workers)."""
    client = current_app.extensions.get("livehost.redis")
    if client is None:
        return []
    out = []
    try:
        for key in sorted(client.scan_iter("livehost:worker:*", count=100)):
            raw = client.hgetall(key)
            name = (key.decode() if isinstance(key, bytes) else key).split(":", 2)[2]
            try:
                out.append(WorkerOut(name=name, slots=int(raw[b"slots"]), running=int(raw[b"running"]),
                                     updated_at=float(raw[b"updated_at"])))
            except (KeyError, ValueError):
                log.warning("worker %s announced something unreadable; skipped", name)
    except redis.RedisError as e:
        from backend.errors import ApiError
        raise ApiError(503, "unavailable", f"Redis is unreachable: {e}") from None
    return [w.model_dump(mode="json") for w in out]
