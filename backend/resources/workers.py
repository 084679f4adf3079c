"""GET /api/workers: the streamer workers running now and their load, as they announce themselves
in Redis (`livehost:worker:{name}`, refreshed every 2 s, gone 10 s after a worker stops), or
without Redis the embedded worker of `livehost serve`."""
from __future__ import annotations

import json
import logging
import time

import redis
from flask import Blueprint, current_app
from pydantic import Field, ValidationError

from backend.api import ANYONE, Out, route
from backend.errors import ApiError

bp = Blueprint("workers", __name__, url_prefix="/api")
log = logging.getLogger("livehost.api")


class LiveLoadOut(Out):
    session: int
    cpu: float | None = Field(None, description="cores the live takes lately (null: not measured yet)")
    fps: float | None = Field(None, description="frames sent per second lately")
    behind_s: float | None = Field(None, description="how late its latest frame reached the encoder")
    preset: str | None = Field(None, description="the x264 preset it encodes at now")
    overloaded: bool = Field(False, description="even the fastest preset cannot keep it in real time")


class WorkerOut(Out):
    name: str
    slots: int = Field(description="lives it can run at once, at most")
    running: int = Field(description="lives it runs now")
    updated_at: float = Field(description="its last announcement (epoch seconds)")
    cores: float | None = Field(None, description="cores it may use")
    cpu_share: float | None = Field(None, description="the share of its cores its lives may take together (0: no "
                                    "limit)")
    load: float | None = Field(None, description="cores its lives take now")
    live_cost: float | None = Field(None, description="cores a new live is expected to take there")
    lives: list[LiveLoadOut] = Field(default_factory=list, description="each running live's load")


@route(bp, "GET", "/workers", roles=ANYONE, response=list[WorkerOut],
       errors={503: "Redis is unreachable"})
def list_workers():
    """Workers and their load (without Redis: the embedded worker of `livehost serve`, if any)."""
    try:
        workers, _ = announced()
    except redis.RedisError as e:
        raise ApiError(503, "unavailable", f"Redis is unreachable: {e}") from None
    return [w.model_dump(mode="json") for w in workers]


def announced() -> tuple[list[WorkerOut], bool]:
    """The workers there are, by name, and whether that is all of them: the ones announced in
    Redis (an unreadable announcement is logged, left out and makes the list incomplete), or
    without Redis the embedded worker of `livehost serve`; neither: ([], False). Raises RedisError."""
    client = current_app.extensions.get("livehost.redis")
    if client is None:
        embedded = current_app.extensions.get("livehost.embedded")
        if embedded is None:
            return [], False
        ctx = embedded.ctx
        return [WorkerOut(name=ctx.name, slots=ctx.slots, running=len(ctx.running), updated_at=time.time(),
                          cores=round(ctx.cores, 2), cpu_share=ctx.dispatch.cpu_share,
                          load=round(ctx.load(calibrate=False), 3), live_cost=ctx.live_cost(calibrate=False),
                          lives=ctx.lives_load())], True
    out, complete = [], True
    for key in sorted(client.scan_iter("livehost:worker:*", count=100)):
        raw = client.hgetall(key)
        name = (key.decode() if isinstance(key, bytes) else key).split(":", 2)[2]
        try:
            extra = {k: float(raw[k.encode()]) for k in ("cores", "cpu_share", "load", "live_cost")
                     if k.encode() in raw}
            out.append(WorkerOut(name=name, slots=int(raw[b"slots"]), running=int(raw[b"running"]),
                                 updated_at=float(raw[b"updated_at"]), **extra,
                                 lives=json.loads(raw.get(b"lives") or b"[]")))
        except (KeyError, ValueError, TypeError, ValidationError):
            log.warning("worker %s announced something unreadable; skipped", name)
            complete = False
    return out, complete
