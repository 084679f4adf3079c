"""`livehost scheduler`: every second, turn due schedules into sessions, put queued sessions on the
worker queue, stop lives at their end time, and dispatch again the lives whose worker died.

A worker died when its live's claim (scheduler.claims) stays missing for a whole claim TTL: a
living worker renews it every third of the TTL and takes it back when Redis lost it, so a claim
missing for a moment (Redis restarted without its data, failed over) is not a death and the live
is left alone, counting no attempt.

Several schedulers may run at once on MySQL/MariaDB: every pass takes its rows with
SELECT ... FOR UPDATE SKIP LOCKED and changes them in the same transaction, so a schedule starts
exactly once. On SQLite (the embedded default) run one scheduler.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import redis
from pydantic import Field
from sqlalchemy import or_, select

from db.database import Database
from db.models import ACTIVE_STATUSES, RUNNING_STATUSES, Avatar, LiveSession, Schedule, SessionStatus
from db.settings import DataSettings
from scheduler.claims import MemoryClaims, RedisClaims
from scheduler.queue import CeleryQueue, LocalQueue
from scheduler.retention import prune_recordings
from streamer.control.bus import BusError, MemoryBus, RedisBus
from streamer.settings import SettingsError

log = logging.getLogger("livehost.scheduler")

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# A scheduled live is dispatched this long before its start: the worker connects and waits, so the
# first frame reaches the ingest at the start time, not a second or two after it.
PREPARE = timedelta(seconds=3)
# A queued session whose task is not on the (empty) queue this long after it was put there is put
# there again: a second copy is harmless (the worker's claim drops it), a lost one would wait forever.
REQUEUE_AFTER = timedelta(seconds=10)
PRUNE_EVERY_S = 600.0  # the recordings' retention is applied this often


class DispatchError(Exception):
    """The scheduler or a worker cannot run with these settings. One line."""


class DispatchSettings(DataSettings):
    """What the scheduler and the workers share: the API's database, Redis, data key and folders
    (db.settings), and how lives are dispatched. From the environment: DATABASE_URL, REDIS_URL,
    LIVEHOST_DATA_KEY, LIVEHOST_AVATARS_DIR, LIVEHOST_CLAIM_TTL (s), LIVEHOST_MAX_ATTEMPTS."""

    interval_s: float = Field(1.0, gt=0, description="seconds between the scheduler's passes (--interval)")
    claim_ttl_s: float = Field(5.0, ge=1, validation_alias="LIVEHOST_CLAIM_TTL",
                               description="seconds a live's claim lasts without being renewed; a claim "
                                           "missing for as long again gives the live to another worker")
    max_attempts: int = Field(3, ge=1, description="runs of a live (the first start included) before it is "
                                                   "marked failed")
    metrics_port: int = Field(0, ge=0, le=65535, description="a worker serves its Prometheus metrics on this port "
                              "(0: none)")
    alert_disconnect_s: float = Field(30.0, gt=0, description="a destination disconnected this long sends a "
                                      "'disconnected' alert")
    cpu_share: float = Field(0.9, ge=0, le=4, description="a worker takes another live only while its lives, with "
                             "the new one, would use at most this share of its cores (each live's CPU measured; "
                             "0: no limit but --slots)")
    recording_keep_days: float = Field(30.0, ge=0, description="recordings older than this are deleted (0: kept)")
    recording_max_gb: float = Field(100.0, ge=0, description="the oldest recordings are deleted while all of them "
                                    "take more than this (0: no limit)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "DispatchSettings":
        """As DataSettings.from_env, for a scheduler or worker: Redis is required; a bad setting
        is a DispatchError."""
        try:
            settings = super().from_env(env, **overrides)
        except SettingsError as e:
            raise DispatchError(str(e)) from None
        if not settings.redis_url:
            raise DispatchError("the scheduler and workers need Redis (Celery's broker and the control bus): "
                                "set REDIS_URL, e.g. redis://127.0.0.1:6379/0")
        return settings


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Local:
    """What the scheduler and the worker share when both are threads of one process without
    Redis (the embedded default): the API's in-process bus, claims in memory, a queue in memory."""

    bus: MemoryBus
    claims: MemoryClaims = field(default_factory=MemoryClaims)
    queue: LocalQueue = field(default_factory=LocalQueue)


class Scheduler:
    """One scheduler replica. tick() does one pass; run() ticks every `interval_s` until stop()."""

    def __init__(self, settings: DispatchSettings, name: str = "scheduler", local: Local | None = None):
        self.settings = settings
        self.name = name
        self.db = Database(settings.database_url)
        if local is None:
            self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=3, socket_connect_timeout=2)
            self.bus, self.claims = RedisBus(self.redis), RedisClaims(self.redis)
            self.queue = CeleryQueue(settings.redis_url, self.redis)
        else:  # the embedded default: threads of one process
            self.redis = None
            self.bus, self.claims, self.queue = local.bus, local.claims, local.queue
        self._mysql = self.db.engine.dialect.name == "mysql"
        self._halt = threading.Event()
        self._unclaimed: dict[int, datetime] = {}  # running session -> first pass that found no claim

    def _locked(self, stmt):
        return stmt.with_for_update(skip_locked=True) if self._mysql else stmt

    # -- the loop -------------------------------------------------------------------------------
    def run(self) -> None:
        log.info("scheduler %s: every %.1f s on %s", self.name, self.settings.interval_s, self.db.engine.dialect.name)
        failing = False
        pruned_at = 0.0
        while not self._halt.is_set():
            started = time.monotonic()
            try:
                self.tick()
                if started - pruned_at >= PRUNE_EVERY_S:
                    self.prune_recordings()
                    pruned_at = started
                if failing:
                    log.info("scheduler %s: database and Redis reachable again", self.name)
                failing = False
            except Exception as e:  # noqa: BLE001 - a database or Redis outage must not end the scheduler
                if not failing:
                    log.error("scheduler %s: pass failed (%s: %s); retrying every second", self.name,
                              type(e).__name__, str(e).splitlines()[0] if str(e) else "")
                failing = True
            self._halt.wait(max(0.0, self.settings.interval_s - (time.monotonic() - started)))

    def stop(self) -> None:
        self._halt.set()

    def prune_recordings(self) -> list[int]:
        """Apply the recordings' retention (scheduler.retention); the sessions whose recording went."""
        with self.db.sessions() as s:
            running = set(s.scalars(select(LiveSession.id).where(LiveSession.status.in_(ACTIVE_STATUSES))))
        return prune_recordings(self.settings.var_dir / "recordings", self.settings.recording_keep_days,
                                int(self.settings.recording_max_gb * 1e9), running)

    def close(self) -> None:
        self.db.dispose()
        if self.redis is not None:
            self.redis.close()

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        """One pass; returns how many sessions it created, enqueued, stopped and recovered."""
        now = now or utcnow()
        return {"created": self.start_due(now), "enqueued": self.enqueue_queued(now),
                "stopped": self.stop_at_end(now), "recovered": self.recover_lost(now)}

    # -- schedules -> sessions ------------------------------------------------------------------------
    def start_due(self, now: datetime) -> int:
        created = 0
        with self.db.sessions() as s:
            due = s.scalars(self._locked(
                select(Schedule).where(Schedule.enabled.is_(True), Schedule.dispatched_at.is_(None),
                                       Schedule.start_at <= now + PREPARE).order_by(Schedule.start_at).limit(50))).all()
            for sch in due:
                live = LiveSession(schedule_id=sch.id, room_id=sch.room_id, script_id=sch.script_id,
                                   avatar_id=sch.avatar_id, voice_id=sch.voice_id, status=SessionStatus.QUEUED,
                                   scheduled_at=sch.start_at, planned_end_at=sch.end_at, created_by=sch.created_by,
                                   created_at=now)
                why = self._cannot_start(s, sch, now)
                if why:
                    live.status, live.last_error, live.ended_at = SessionStatus.FAILED, why, now
                    log.warning("schedule %s: %s", sch.id, why)
                s.add(live)
                self._next_occurrence(sch, now)
                created += 1
            s.commit()
        if created:
            log.info("scheduler %s: %d schedule(s) started", self.name, created)
        return created

    def _cannot_start(self, s, sch: Schedule, now: datetime) -> str | None:
        if sch.end_at <= now:
            return f"missed: the scheduler was not running between {sch.start_at:%Y-%m-%d %H:%M:%S} and " \
                   f"{sch.end_at:%H:%M:%S} UTC"
        avatar = s.get(Avatar, sch.avatar_id)
        if avatar is None or avatar.status != "ready":
            return f"avatar {sch.avatar_id} is not ready (status: {avatar.status if avatar else 'deleted'})"
        busy = s.scalar(select(LiveSession.id).where(LiveSession.room_id == sch.room_id,
                                                     LiveSession.status.in_(ACTIVE_STATUSES)).limit(1))
        if busy is not None:
            return f"room {sch.room_id} already has session {busy} running"
        return None

    @staticmethod
    def _next_occurrence(sch: Schedule, now: datetime) -> None:
        period = PERIODS.get(sch.repeat)
        if period is None:
            sch.dispatched_at = now
            return
        while True:  # the next occurrence that has not ended yet (missed ones are skipped)
            sch.start_at, sch.end_at = sch.start_at + period, sch.end_at + period
            if sch.end_at > now:
                return

    # -- queued sessions -> Celery -------------------------------------------------------------------
    def enqueue_queued(self, now: datetime) -> int:
        """Queued sessions go on the worker queue once; again if the queue lost them (Redis restarted
        without its data, or a worker died between taking a task and claiming its live)."""
        sent = 0
        with self.db.sessions() as s:
            expired = s.scalars(self._locked(select(LiveSession).where(
                LiveSession.status == SessionStatus.QUEUED, LiveSession.planned_end_at <= now))).all()
            for live in expired:
                live.status, live.ended_at = SessionStatus.FAILED, now
                live.last_error = "did not start before its end time (no worker was free)"
                log.warning("session %s: %s", live.id, live.last_error)
            lost = (LiveSession.enqueued_at.is_(None) if self.queue.waiting() else
                    or_(LiveSession.enqueued_at.is_(None), LiveSession.enqueued_at <= now - REQUEUE_AFTER))
            rows = s.scalars(self._locked(
                select(LiveSession).where(LiveSession.status == SessionStatus.QUEUED, lost)
                .order_by(LiveSession.created_at, LiveSession.id).limit(100))).all()
            for live in rows:
                if live.enqueued_at is not None:
                    log.warning("session %s: its task is no longer on the queue; enqueued again", live.id)
                self.queue.send(live.id)  # a broker error rolls the whole pass back
                live.enqueued_at = now
                sent += 1
            s.commit()
        if sent:
            log.info("scheduler %s: %d session(s) put on the worker queue", self.name, sent)
        return sent

    # -- end times ------------------------------------------------------------------------------------
    def stop_at_end(self, now: datetime) -> int:
        stopped = 0
        with self.db.sessions() as s:
            rows = s.scalars(self._locked(
                select(LiveSession).where(LiveSession.status.in_((SessionStatus.STARTING, SessionStatus.LIVE)),
                                          LiveSession.planned_end_at <= now))).all()
            for live in rows:
                try:
                    self.bus.send(live.id, {"type": "stop", "by": "scheduler", "reason": "end time",
                                            "at": now.isoformat()})
                except BusError as e:
                    log.warning("session %s: cannot send the stop at its end time: %s", live.id, e)
                    continue
                live.status = SessionStatus.STOPPING
                stopped += 1
                log.info("session %s: end time reached; stopping", live.id)
            s.commit()
        return stopped

    # -- dead workers ---------------------------------------------------------------------------------
    def recover_lost(self, now: datetime) -> int:
        """Running sessions whose claim this scheduler has found missing for a claim TTL or more:
        queued again (or failed after max_attempts; ended if they were stopping)."""
        recovered = 0
        grace = timedelta(seconds=self.settings.claim_ttl_s)
        with self.db.sessions() as s:
            rows = s.scalars(self._locked(select(LiveSession).where(LiveSession.status.in_(RUNNING_STATUSES)))).all()
            held = self.claims.owners([r.id for r in rows])
            unclaimed = {r.id: self._unclaimed.get(r.id, now) for r in rows if held.get(r.id) is None}
            for live in rows:
                if live.id not in unclaimed or now - unclaimed[live.id] < grace:
                    continue
                del unclaimed[live.id]
                worker = live.worker or "?"
                if live.status == SessionStatus.STOPPING:
                    live.status, live.ended_at = SessionStatus.ENDED, now
                    log.info("session %s: its worker %s is gone while stopping; marked ended", live.id, worker)
                elif live.attempts >= self.settings.max_attempts:
                    live.status, live.ended_at = SessionStatus.FAILED, now
                    live.last_error = (f"gave up after {live.attempts} attempt(s): worker {worker} stopped "
                                       f"responding")
                    log.error("session %s: %s", live.id, live.last_error)
                else:
                    live.status, live.enqueued_at, live.worker = SessionStatus.QUEUED, None, None
                    live.last_error = (f"worker {worker} stopped responding at {now:%H:%M:%S} UTC; restarting "
                                       f"(attempt {live.attempts + 1} of {self.settings.max_attempts})")
                    log.warning("session %s: %s", live.id, live.last_error)
                recovered += 1
            s.commit()
        self._unclaimed = unclaimed
        return recovered
