"""`livehost worker --slots N`: a Celery worker that runs up to N lives at once in one process, so
every live of the worker shares the loaded lipsync engine and avatars (one model in GPU memory).

A live is claimed in Redis before anything else (a task delivered twice never runs twice), renewed
every second (the scheduler's sign of life) and taken back if Redis lost it (a live is stopped
only when another worker holds its claim, or the scheduler gave it away: its row names another
worker or none), and its script position is written to the database every few seconds, so that
another worker resumes near where this one stopped. SIGTERM stops the worker's lives cleanly and
hands them back to the queue.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import redis
from sqlalchemy import select, update

from db.alerts import Alert, Notifier
from db.database import Database
from db.media import scene_for_live, scene_media_paths
from db.models import Avatar as AvatarRow
from db.models import RUNNING_STATUSES, Comment, LiveSession, Product, Room, Script, SessionStatus, Voice, Webhook
from db.voices import saved_spec
from scheduler.audience_log import AudienceLog, next_seq
from scheduler.compliance_log import ComplianceLog
from scheduler.claims import RedisClaims, Renewal
from scheduler.dispatch import DispatchSettings, Local
from scheduler.metrics import WorkerMetrics
from scheduler.queue import QUEUE, RUN_LIVE, make_celery
from streamer.audience import SourceSpec
from streamer.build import LiveSpec, Preview, PushTo, RecordSegments, Resources, build_live
from streamer.control.link import connect_redis
from streamer.cpu import live_cost, usable_cores
from streamer.director import Position
from streamer.live import Live, LiveState
from streamer.output.rtmp import mask_url
from streamer.room import RoomPolicy
from streamer.script import parse_script
from streamer.selling.products import Catalog, ProductError
from streamer.selling.products import Product as SellingProduct
from streamer.settings import Settings

log = logging.getLogger("livehost.worker")

SAVE_EVERY_S = 2.0  # how often a live's script position is written to the database
CONNECT_FOR_S = 10.0  # how long a live tries to reach its RTMP server before it fails
ADMIT_WAIT_S = 10.0  # how long a live waits for this worker's CPU before it goes back to the queue


class CannotStart(Exception):
    """This live cannot start here (bad row, missing avatar, unreachable server). One line."""


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class WorkerContext:
    """What every live of one worker process shares."""

    def __init__(self, dispatch: DispatchSettings, settings: Settings, name: str, slots: int,
                 local: Local | None = None):
        self.dispatch, self.settings, self.name, self.slots = dispatch, settings, name, slots
        self.db = Database(dispatch.database_url)
        if local is None:
            self.redis = redis.Redis.from_url(dispatch.redis_url, socket_timeout=5, socket_connect_timeout=2)
            self.bus, self.claims = connect_redis(dispatch.redis_url), RedisClaims(self.redis)
        else:  # the embedded default: a thread of the API's process
            self.redis, self.bus, self.claims = None, local.bus, local.claims
        self.shutting_down = threading.Event()
        self.resources = Resources(settings)  # engines and avatars, loaded once for all lives
        self.running: dict[int, "LiveRunner"] = {}
        self.metrics = WorkerMetrics()
        self.notifier = Notifier()
        self.cores = usable_cores()
        self._admitting: set[int] = set()  # taken, not yet running: counted at the estimate
        self._admit_lock = threading.Lock()
        self._calibrated: float | None = None
        self.gate: QueueGate | None = None  # a Celery worker's: leaves the queue while full

    # -- capacity -----------------------------------------------------------------------------------
    def live_cost(self, calibrate: bool = True) -> float | None:
        """The cores a new live is expected to take: what this worker's running lives take on
        average, or (none measured yet) what one costs here, measured once at the settings' size and
        preset (streamer.cpu.live_cost; about a second; without `calibrate`, None until then)."""
        measured = [c for c in (r.cpu() for r in list(self.running.values())) if c]
        if measured:
            return round(sum(measured) / len(measured), 3)
        if self._calibrated is None and not calibrate:
            return None
        if self._calibrated is None:
            self._calibrated = live_cost(self.settings)
            log.info("worker %s: a live takes about %.2f cores here (%dx%d, x264 %s); %.1f cores usable",
                     self.name, self._calibrated, self.settings.width, self.settings.height, self.settings.preset,
                     self.cores)
        return self._calibrated

    def load(self, calibrate: bool = True) -> float:
        """Cores this worker's lives take now (a live not yet measured counts at the estimate)."""
        cpus = [r.cpu() for r in list(self.running.values())] + [None] * len(self._admitting)
        unknown = sum(1 for c in cpus if c is None)
        estimate = (self.live_cost(calibrate) or 0.0) if unknown else 0.0
        return sum(c for c in cpus if c is not None) + unknown * estimate

    def has_room(self) -> bool:
        """Whether one more live fits in real time: this worker's lives with the new one within
        `cpu_share` of its cores (always, with no live running or taken)."""
        share = self.dispatch.cpu_share
        if not share or not (self.running or self._admitting):
            return True
        return self.load() + self.live_cost() <= share * self.cores

    def admit(self, session_id: int, wait_s: float = ADMIT_WAIT_S) -> bool:
        """Whether this worker can hold one more live in real time: its lives with the new one within
        `cpu_share` of its cores (always, with no live running). Waits up to `wait_s` for room; True
        reserves it until the live runs or ends (release_admission)."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._admit_lock:
                if self.has_room():
                    self._admitting.add(session_id)
                    return True
            if time.monotonic() >= deadline or self.shutting_down.wait(0.5):
                return False

    def release_admission(self, session_id: int) -> None:
        self._admitting.discard(session_id)

    def update_gate(self) -> None:
        if self.gate is not None:
            self.gate.update()

    def lives_load(self) -> list[dict]:
        """Each running live's load, for the announcement: cores, fps, how far behind, the preset."""
        out = []
        for session_id, r in list(self.running.items()):
            st = r.last_status or {}
            encoder = st.get("encoder") or {}
            out.append({"session": session_id, "cpu": st.get("cpu"), "fps": st.get("fps"),
                        "behind_s": encoder.get("behind_s"), "preset": encoder.get("preset"),
                        "overloaded": bool(encoder.get("overloaded"))})
        return out

    def alert(self, event: str, text: str, **fields) -> None:
        """Tell the deployment's webhooks (in the background; a database hiccup only skips it)."""
        try:
            with self.db.sessions() as s:
                hooks = [w.hook(self.dispatch.data_key)
                         for w in s.scalars(select(Webhook).where(Webhook.enabled.is_(True)))]
        except Exception as e:  # noqa: BLE001 - an alert is never worth a live
            log.warning("alerts: webhooks not read (%s); %s alert skipped", type(e).__name__, event)
            return
        self.notifier.send(hooks, Alert(event, text, {"worker": self.name, **fields}))


class LiveRunner:
    """Runs session `session_id` of the database on this worker, from claim to end."""

    def __init__(self, ctx: WorkerContext, session_id: int):
        self.ctx, self.id = ctx, session_id
        self._db_jobs: queue.Queue = queue.Queue()
        self.audience = AudienceLog(session_id)
        self.compliance = ComplianceLog(session_id)
        self.orphaned = False  # its row was deleted while it ran
        self.last_status: dict | None = None  # the live's, as last read (every 0.25 s)

    def cpu(self) -> float | None:
        """Cores the live takes lately (None until measured)."""
        return (self.last_status or {}).get("cpu")

    def run(self) -> str:
        ctx = self.ctx
        if not ctx.admit(self.id):
            log.warning("session %s: this worker is full (%.2f of %.1f cores in use, a live takes %.2f); left to "
                        "another worker (the scheduler puts it back on the queue)", self.id, ctx.load(), ctx.cores,
                        ctx.live_cost())
            ctx.update_gate()
            return "declined"
        ctx.update_gate()  # full now? then off the queue before another live is taken
        try:
            return self._run_admitted()
        finally:
            ctx.release_admission(self.id)
            ctx.update_gate()

    def _run_admitted(self) -> str:
        ctx = self.ctx
        ttl = ctx.dispatch.claim_ttl_s
        if not ctx.claims.claim(self.id, ctx.name, ttl):
            log.info("session %s: already run by %s; this delivery is dropped", self.id,
                     ctx.claims.owners([self.id]).get(self.id))
            return "taken"
        keeper = _ClaimKeeper(ctx, self.id, ttl)
        keeper.start()
        self.lost = keeper.lost
        try:
            row = self._begin()
            if row is None:
                return "skipped"
            try:
                live = self._build(row)
            except CannotStart as e:
                ctx.metrics.errors.labels("start").inc()
                if not keeper.lost.is_set():
                    self._finish(SessionStatus.FAILED, str(e))
                    ctx.alert("failed", f"live {self.id} of room {row['room'].name if row['room'] else '?'} "
                              f"failed to start: {e}", session=self.id, reason=str(e))
                log.error("session %s: cannot start: %s", self.id, e)
                return "failed"
            ctx.running[self.id] = self
            ctx.release_admission(self.id)
            ctx.metrics.lives.set(len(ctx.running))
            try:
                if row["scheduled_at"] is not None:
                    self._wait_for_start(row["scheduled_at"])
                return self._run(live)
            finally:
                ctx.running.pop(self.id, None)
                ctx.metrics.lives.set(len(ctx.running))
        finally:
            keeper.stop()
            ctx.claims.release(self.id, ctx.name)

    # -- database ----------------------------------------------------------------------------------
    def _begin(self) -> dict | None:
        """Take the row (queued -> starting); None if it is not ours to run any more."""
        with self.ctx.db.sessions() as s:
            live = s.get(LiveSession, self.id, with_for_update=True)
            if live is None or live.status not in (SessionStatus.QUEUED, SessionStatus.STARTING, SessionStatus.LIVE):
                log.info("session %s: %s, not started", self.id, "gone" if live is None else live.status)
                return None
            if live.planned_end_at is not None and live.planned_end_at <= utcnow():
                live.status, live.ended_at = SessionStatus.FAILED, utcnow()
                live.last_error = "did not start before its end time (no worker was free)"
                s.commit()
                return None
            live.status, live.worker = SessionStatus.STARTING, self.ctx.name
            live.attempts += 1
            room, script = s.get(Room, live.room_id), s.get(Script, live.script_id)
            avatar, voice = s.get(AvatarRow, live.avatar_id), s.get(Voice, live.voice_id)
            audience_from = next_seq(s, self.id)
            catalog = live_catalog(s, room, script, self.id, self.ctx.dispatch.var_dir)
            scene_media = scene_media_paths(s, (room.settings or {}).get("scene"), self.ctx.dispatch.var_dir) \
                if room is not None else {}
            s.commit()
            return {"room": room, "script": script, "avatar": avatar, "voice": voice, "catalog": catalog,
                    "position": dict(live.position or {}), "attempt": live.attempts, "audience_from": audience_from,
                    "scene_media": scene_media,
                    "scheduled_at": live.scheduled_at if live.started_at is None else None}

    def _finish(self, status: SessionStatus, error: str | None = None, position: dict | None = None,
                summary: dict | None = None) -> None:
        if status == SessionStatus.QUEUED:  # handed back: another worker takes it from the queue
            values = {"status": SessionStatus.QUEUED, "enqueued_at": None, "worker": None}
        else:
            values = {"status": status, "ended_at": utcnow()}
        if error is not None:
            values["last_error"] = error[:2000]
        if position is not None:
            values["position"] = position
        if summary is not None:
            values["summary"] = {k: summary[k] for k in ("duration_s", "comments", "answered", "reconnects",
                                                          "recording")}
        with self.ctx.db.sessions() as s:
            s.execute(update(LiveSession).where(LiveSession.id == self.id).values(**values))
            s.commit()

    def _save(self, live: Live, first: bool = False) -> bool:
        """Write the script position (and, the first time, that the live is on), and the replies;
        False, writing nothing, if the row no longer names this worker (the scheduler gave the
        live away, taking this worker for dead) or is gone (deleted by hand: nobody could stop
        the live any more)."""
        with self.ctx.db.sessions() as s:
            row = s.get(LiveSession, self.id)
            if row is None:
                self.orphaned = True
                return False
            if row.worker != self.ctx.name or row.status not in RUNNING_STATUSES:
                return False
            row.position = live.resume_position().as_dict()
            if first and row.status == SessionStatus.STARTING:
                row.status = SessionStatus.LIVE
            if first and row.started_at is None:
                row.started_at = utcnow()
            while not self._db_jobs.empty():
                comment_id, text = self._db_jobs.get_nowait()
                s.execute(update(Comment).where(Comment.id == comment_id, Comment.session_id == self.id)
                          .values(reply=text))
            self.audience.write(s)
            self.compliance.write(s)
            s.commit()
        return True

    # -- building the live ------------------------------------------------------------------------------
    def live_spec(self, row: dict) -> LiveSpec:
        """What the live of `row` (from _begin) is: its script, room, voice, avatar, products, and
        where it resumes. Raises CannotStart when a row it needs is gone."""
        ctx = self.ctx
        room, script, avatar, voice = row["room"], row["script"], row["avatar"], row["voice"]
        if None in (room, script, avatar, voice):
            raise CannotStart("its room, script, avatar or voice was deleted")
        settings = room.settings or {}
        return LiveSpec(
            script=parse_script({"segments": script.segments, "loop": script.loop}, f"script {script.id}"),
            output=live_outputs(room, ctx.dispatch, ctx.settings, self.id), id=str(self.id),
            voice=saved_spec(voice, self.ctx.dispatch.var_dir, self.ctx.dispatch.voice_ref_dir), avatar=avatar.slug,
            policy=RoomPolicy.from_settings(room.settings, room.platform),
            start=Position(**{k: int(v) for k, v in row["position"].items() if k in ("round", "segment", "sentence")}),
            sources=room_sources(room, ctx.dispatch.data_key, ctx.settings), audience_from=row["audience_from"],
            catalog=row["catalog"], scene=scene_for_live(settings.get("scene"), room.platform, settings.get("language"),
                                                         row["scene_media"]))

    def _build(self, row: dict) -> Live:
        ctx = self.ctx
        self.room_name = row["room"].name if row["room"] is not None else "?"
        try:
            spec = self.live_spec(row)
            live = build_live(spec, ctx.resources, bus=ctx.bus, worker=ctx.name, on_event=self._on_event,
                              cancel=ctx.shutting_down)
        except CannotStart:
            raise
        except Exception as e:  # noqa: BLE001 - every reason not to start is reported, one line
            raise CannotStart(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
        where = ", ".join(mask_url(o.url) for o in spec.output if isinstance(o, PushTo))
        log.info("session %s: live to %s (attempt %d, from %s)", self.id, where, row["attempt"],
                 spec.start)
        return live

    def _on_event(self, kind: str, **fields) -> None:
        self.ctx.metrics.on_event(kind, fields)
        if kind == "reply" and fields.get("comment_id") is not None and fields.get("text"):
            self._db_jobs.put((fields["comment_id"], fields["text"]))
        elif kind in ("audience", "audience_action"):
            self.audience.on_event(kind, **fields)
        elif kind == "compliance":
            self.compliance.on_event(**fields)

    def _wait_for_start(self, at: datetime) -> None:
        """Ready and connected early: wait for the scheduled start time."""
        while (left := (at - utcnow()).total_seconds()) > 0 and not self.ctx.shutting_down.is_set():
            time.sleep(min(left, 0.5))

    # -- running ------------------------------------------------------------------------------------
    def _run(self, live: Live) -> str:
        ctx = self.ctx
        live.start()
        outcome = "ended"
        down_since: dict[str, float] = {}  # destination -> when it was first seen disconnected (alerted: -1)
        try:
            ours = self._save(live, first=True)
            if ours:
                ctx.alert("started", f"live {self.id} of room {self.room_name} is on air", session=self.id,
                          room=self.room_name)
            next_save = time.monotonic() + SAVE_EVERY_S
            while not live.wait(0.25):
                self._watch_destinations(live, down_since)
                if self.lost.is_set():
                    log.error("session %s: lost its claim; another worker runs it now; stopping here", self.id)
                    outcome = "lost"
                    break
                if not ours and self.orphaned:
                    log.error("session %s: its row is gone from the database (deleted by hand?); a live nobody "
                              "can see or stop any more is stopped here", self.id)
                    outcome = "lost"
                    break
                if not ours:
                    log.error("session %s: the scheduler gave it to another worker (this one did not renew its "
                              "claim for too long); stopping here", self.id)
                    outcome = "lost"
                    break
                if ctx.shutting_down.is_set():
                    outcome = "handed back"
                    break
                if time.monotonic() >= next_save:
                    ours = self._save(live)
                    next_save = time.monotonic() + SAVE_EVERY_S
        except Exception:  # noqa: BLE001 - a database hiccup is logged; the live goes on until it ends
            log.exception("session %s: worker loop failed; stopping the live", self.id)
            outcome = "error"
        live.stop()
        position = live.resume_position().as_dict()
        if outcome == "lost" or not self._save(live):
            return "lost"
        if outcome == "handed back":
            self._finish(SessionStatus.QUEUED, f"worker {ctx.name} shut down; handed back", position)
            log.info("session %s: handed back at %s", self.id, position)
        elif live.state == LiveState.FAILED or outcome == "error":
            reason = live.errors[-1] if live.errors else "the worker loop failed"
            self._finish(SessionStatus.FAILED, reason, position, self._summary(live))
            ctx.alert("failed", f"live {self.id} of room {self.room_name} failed: {reason}", session=self.id,
                      room=self.room_name, reason=reason)
            outcome = "failed"
        else:
            summary = self._summary(live)
            self._finish(SessionStatus.ENDED, None, position, summary)
            ctx.alert("ended", **summary)
        return outcome

    def _watch_destinations(self, live: Live, down_since: dict[str, float]) -> None:
        """A 'disconnected' alert for each destination down longer than alert_disconnect_s (once
        until it is back)."""
        now, limit = time.monotonic(), self.ctx.dispatch.alert_disconnect_s
        self.last_status = status = live.status()
        for d in status.get("destinations") or []:
            name = d["name"]
            if d.get("connected"):
                down_since.pop(name, None)
                continue
            since = down_since.setdefault(name, now)
            if since >= 0 and now - since >= limit:
                down_since[name] = -1.0
                self.ctx.alert("disconnected", f"live {self.id} of room {self.room_name}: {name} disconnected for "
                               f"{limit:g} s ({d.get('error') or 'no answer'})", session=self.id, room=self.room_name,
                               destination=name, reason=d.get("error"))

    def _summary(self, live: Live) -> dict:
        """The 'ended' alert: how long, what the viewers said and what the host answered, reconnects,
        and where the recording is."""
        st = live.status()
        heard = st.get("audience") or {}
        reconnects = sum(d.get("reconnects") or 0 for d in st.get("destinations") or [])
        recorded = any(d.get("name") == "recording" for d in st.get("destinations") or [])
        fields = {"session": self.id, "room": self.room_name, "duration_s": st.get("seconds", 0),
                  "comments": heard.get("received", 0), "answered": heard.get("answered", 0),
                  "reconnects": reconnects, "recording": f"/api/sessions/{self.id}/recording" if recorded else None}
        text = (f"live {self.id} of room {self.room_name} ended after {fields['duration_s'] / 60:.1f} min: "
                f"{fields['comments']} comments, {fields['answered']} answered, {reconnects} reconnects"
                + (f", recording {fields['recording']}" if recorded else ""))
        return {"text": text, **fields}


def live_catalog(s, room: Room | None, script: Script | None, session_id: int, var_dir: Path) -> Catalog:
    """The products a live of `room` playing `script` knows: the room's shelf (settings.products),
    then those the script's product segments name; archived ones too (a live keeps what it uses),
    with the room's knowledge. A product that is gone, or that the streamer cannot read, is left
    out with a warning."""
    settings = (room.settings if room is not None else None) or {}
    ids = [i for i in settings.get("products") or [] if isinstance(i, int)]
    ids += [seg["product"] for seg in (script.segments if script is not None else None) or []
            if isinstance(seg, dict) and isinstance(seg.get("product"), int)]
    ids = list(dict.fromkeys(ids))
    rows = {p.id: p for k in range(0, len(ids), 500)
            for p in s.scalars(select(Product).where(Product.id.in_(ids[k:k + 500])))}
    products = []
    for ident in ids:
        row = rows.get(ident)
        if row is None:
            log.warning("session %s: product %s is gone; the live goes on without it", session_id, ident)
            continue
        try:
            picture = str(var_dir / "products" / row.image) if row.image else ""  # the product card's
            products.append(SellingProduct.from_dict({**row.facts(), "id": str(row.id), "image": picture}))
        except ProductError as e:
            log.warning("session %s: product %s left out: %s", session_id, ident, e)
    return Catalog(products=tuple(products), knowledge=str(settings.get("knowledge") or ""))


def live_outputs(room: Room, dispatch: DispatchSettings, settings: Settings, session_id: int) -> tuple:
    """Where a live of `room` goes: each of its destinations (its own push URL first), the
    operator's preview, and the recording when the room keeps one; all from one encoding."""
    outputs: list = [PushTo(url, connect_for=CONNECT_FOR_S) for url in room.push_urls(dispatch.data_key)]
    if settings.preview:
        outputs.append(Preview(dispatch.var_dir / "preview" / str(session_id)))
    if (room.settings or {}).get("record"):
        outputs.append(RecordSegments(dispatch.var_dir / "recordings" / str(session_id), settings.recording_segment_s))
    return tuple(outputs)


def room_sources(room: Room, data_key: str, settings: Settings) -> tuple[SourceSpec, ...]:
    """The chats a live of `room` listens to, with their credentials (the room's, else the
    worker's settings'). The relay needs none: its events come through the control stream."""
    chosen = room.sources or {}
    secrets = room.source_secrets(data_key) if chosen else {}
    specs = []
    if chosen.get("bilibili_room_id"):
        specs.append(SourceSpec("bilibili", str(chosen["bilibili_room_id"]),
                                {"cookie": secrets.get("bilibili_cookie") or settings.bilibili_cookie,
                                 "buvid": secrets.get("bilibili_buvid") or settings.bilibili_buvid}))
    if chosen.get("youtube_video_id"):
        specs.append(SourceSpec("youtube", str(chosen["youtube_video_id"]),
                                {"api_key": secrets.get("youtube_api_key") or settings.youtube_api_key,
                                 "oauth_token": secrets.get("youtube_oauth_token") or settings.youtube_oauth_token}))
    return tuple(specs)


class _ClaimKeeper(threading.Thread):
    """Renews a live's claim every third of its TTL from claim to release, whatever the live is
    doing (loading, connecting, running), and takes it back if Redis lost it; sets `lost` only if
    another worker holds it now."""

    def __init__(self, ctx: WorkerContext, session_id: int, ttl: float):
        super().__init__(name=f"claim-{session_id}", daemon=True)
        self.ctx, self.session_id, self.ttl = ctx, session_id, ttl
        self.lost = threading.Event()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.ttl / 3):
            try:
                renewal = self.ctx.claims.renew(self.session_id, self.ctx.name, self.ttl)
            except redis.RedisError as e:  # Redis away: the claim may lapse; the next renew tells
                log.warning("session %s: cannot renew the claim: %s", self.session_id, e)
                continue
            if renewal == Renewal.LOST:
                self.lost.set()
                return
            if renewal == Renewal.RETAKEN:
                log.warning("session %s: its claim was gone (Redis lost its data?); taken back", self.session_id)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def run_worker(slots: int, name: str | None = None, dispatch: DispatchSettings | None = None,
               settings: Settings | None = None) -> int:
    """Run a Celery worker with `slots` lives at once until SIGTERM/SIGINT; the exit code."""
    from celery import signals

    dispatch = dispatch or DispatchSettings.from_env()
    settings = settings or Settings.load()
    ctx = WorkerContext(dispatch, settings, name or default_name(), slots)
    app = make_celery(dispatch.redis_url)

    @app.task(name=RUN_LIVE)
    def run_live(session_id: int) -> str:
        return LiveRunner(ctx, int(session_id)).run()

    def shutting_down(**_kw) -> None:
        log.info("worker %s: shutting down; handing %d live(s) back", ctx.name, len(ctx.running))
        ctx.shutting_down.set()

    signals.worker_shutting_down.connect(shutting_down, weak=False)
    # the livehost command has set up logging; Celery's own setup would lower the root to WARNING
    # and so lose every live's INFO lines; Celery's chatter (each task received) stays out
    signals.setup_logging.connect(lambda **_kw: None, weak=False)
    logging.getLogger("celery").setLevel(logging.WARNING)
    if dispatch.metrics_port:
        ctx.metrics.serve(dispatch.metrics_port)
    hostname = f"{ctx.name}@livehost"
    ctx.gate = QueueGate(ctx, app, hostname)
    threading.Thread(target=_announce, args=(ctx,), name="worker-announce", daemon=True).start()
    log.info("worker %s: %d slot(s), lipsync %s", ctx.name, slots, settings.lipsync)
    worker = app.Worker(pool="threads", concurrency=slots, hostname=hostname, queues=[QUEUE],
                        without_heartbeat=True, without_mingle=True, without_gossip=True, loglevel="WARNING",
                        redirect_stdouts=False, quiet=True)
    try:
        worker.start()
    finally:
        ctx.shutting_down.set()
        try:
            ctx.redis.delete(worker_key(ctx.name))
        except redis.RedisError:
            pass
    return worker.exitcode or 0


class QueueGate:
    """Takes this worker off the live queue while it is full and back on when it has room again, so
    a full worker never holds a live that a worker with room could run (Celery's own limit is only
    the slot count; CPU is the worker's to judge). Toggled through Celery's remote control, which the
    worker's consumer carries out in its own loop."""

    def __init__(self, ctx: WorkerContext, app, hostname: str):
        self.ctx, self.app, self.hostname = ctx, app, hostname
        self.taking = True
        self._lock = threading.Lock()

    def update(self) -> None:
        ctx = self.ctx
        with self._lock:
            room = ctx.has_room()
            if room == self.taking:
                return
            try:
                if room:
                    self.app.control.add_consumer(QUEUE, destination=[self.hostname], reply=False)
                else:
                    self.app.control.cancel_consumer(QUEUE, destination=[self.hostname], reply=False)
            except Exception as e:  # noqa: BLE001 - kombu/redis errors: tried again on the next update
                log.warning("worker %s: cannot %s the live queue (%s: %s)", ctx.name,
                            "rejoin" if room else "leave", type(e).__name__, e)
                return
            self.taking = room
            if room:
                log.info("worker %s: has room again; taking lives", ctx.name)
            else:
                log.warning("worker %s: is full (%.2f of %.1f cores in use, a live takes %.2f); takes no more "
                            "lives until it has room", ctx.name, ctx.load(), ctx.cores, ctx.live_cost())


def worker_key(name: str) -> str:
    return f"livehost:worker:{name}"


def _announce(ctx: WorkerContext, every_s: float = 2.0) -> None:
    """Tell the API this worker's capacity (slots, lives running) while it runs; expires if it dies."""
    while not ctx.shutting_down.is_set():
        ctx.update_gate()
        try:
            ctx.redis.hset(worker_key(ctx.name), mapping={
                "slots": ctx.slots, "running": len(ctx.running), "updated_at": round(time.time(), 3),
                "cores": round(ctx.cores, 2), "cpu_share": ctx.dispatch.cpu_share, "load": round(ctx.load(), 3),
                "live_cost": ctx.live_cost(), "lives": json.dumps(ctx.lives_load())})
            ctx.redis.expire(worker_key(ctx.name), int(every_s * 5))
        except redis.RedisError as e:
            log.warning("worker %s: cannot announce itself: %s", ctx.name, e)
        ctx.shutting_down.wait(every_s)
