"""Prometheus metrics of a deployment at GET /metrics on the API (prometheus-client's text format).

HTTP requests by route, method and status (and their duration) are counted as they are served;
under gunicorn (PROMETHEUS_MULTIPROC_DIR set by backend.serve) each worker process writes its
counts to shared files and a scrape adds them up, so any worker answers for all.
The rest is read when Prometheus scrapes: the lives by state from the database, and each running
live's heartbeat from Redis (fps, bitrate, media seconds, every destination's reconnects and
drops, queue depths, the viewers' comments and what the host did with them, errors, the TTS
cache). A worker's own process serves the latencies it measures (scheduler.metrics).

With `metrics_token` set, a scrape must send it as a Bearer token; without, /metrics is open
(bind it to a private network: it holds session ids and rates, never a secret)."""
from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from db.models import RUNNING_STATUSES, LiveSession, SessionStatus
from streamer.control.bus import BusError

log = logging.getLogger("livehost.api")
bp = Blueprint("metrics", __name__)


class LivesCollector:
    """The lives by state (database) and the running ones' heartbeats (Redis), at scrape time."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        lives = GaugeMetricFamily("livehost_lives", "Lives (sessions) by state", labels=["state"])
        db = self.app.extensions["livehost.db"]
        with db.sessions() as s:
            counts = dict(s.execute(select(LiveSession.status, func.count()).group_by(LiveSession.status)).all())
            running = list(s.scalars(select(LiveSession.id).where(LiveSession.status.in_(RUNNING_STATUSES))))
        for state in SessionStatus:
            lives.add_metric([state.value], counts.get(state.value, 0))
        yield lives
        yield from heartbeat_metrics(self.app.extensions["livehost.bus"], running)


def heartbeat_metrics(bus, sessions: list[int]):
    """Gauges of the running lives' heartbeats (a live whose worker does not report is left out)."""
    def gauge(name: str, doc: str, *labels: str) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=["session", *labels])

    fps = gauge("livehost_live_fps", "Video frames sent per second, lately")
    bitrate = gauge("livehost_live_bitrate_bps", "Bits per second sent, lately")
    seconds = gauge("livehost_live_media_seconds", "Media sent so far")
    connected = gauge("livehost_live_destination_connected", "1 while a destination takes the live", "destination")
    reconnects = gauge("livehost_live_destination_reconnects", "Reconnects of a destination", "destination")
    dropped = gauge("livehost_live_destination_dropped_packets", "Packets a destination dropped as it fell behind",
                    "destination")
    queues = gauge("livehost_live_queue_depth", "Items waiting between two stages of the live", "queue")
    audience = gauge("livehost_live_comments", "Viewers' messages: received, answered, thanked, skipped, dropped",
                     "what")
    errors = gauge("livehost_live_errors", "Errors so far in the live")
    behind = gauge("livehost_live_behind_seconds", "How late the latest frame reached the encoder (0: on time)")
    step = gauge("livehost_live_preset_step", "Steps down the x264 preset ladder to keep real time (0: the configured)")
    overloaded = gauge("livehost_live_overloaded", "1 while even the fastest preset cannot keep real time")
    tts = gauge("livehost_live_tts_cache", "Sentences whose speech was reused (hits) or synthesized (misses)", "what")
    for session in sessions:
        try:
            st = bus.status(session)
        except (BusError, ValueError) as e:
            log.warning("metrics: no status of session %s: %s", session, e)
            continue
        if not st:
            continue
        sid = str(session)
        for family, key in ((fps, "fps"), (bitrate, "bitrate"), (seconds, "seconds"), (errors, "errors")):
            if isinstance(st.get(key), (int, float)):
                family.add_metric([sid], st[key])
        for d in st.get("destinations") or []:
            name = str(d.get("name"))
            connected.add_metric([sid, name], 1 if d.get("connected") else 0)
            reconnects.add_metric([sid, name], d.get("reconnects") or 0)
            dropped.add_metric([sid, name], d.get("dropped") or 0)
        encoder = st.get("encoder") or {}
        for family, key in ((behind, "behind_s"), (step, "step"), (overloaded, "overloaded")):
            if isinstance(encoder.get(key), (int, float)):
                family.add_metric([sid], float(encoder[key]))
        for name, depth in (st.get("queues") or {}).items():
            queues.add_metric([sid, name], depth)
        for what in ("received", "answered", "thanked", "skipped", "dropped"):
            value = (st.get("audience") or {}).get(what)
            if isinstance(value, (int, float)):
                audience.add_metric([sid, what], value)
        for what in ("hits", "misses"):
            value = (st.get("tts_cache") or {}).get(what)
            if isinstance(value, (int, float)):
                tts.add_metric([sid, what], value)
    yield from (fps, bitrate, seconds, connected, reconnects, dropped, queues, audience, errors, tts, behind, step,
                overloaded)


def init_metrics(app: Flask) -> None:
    """Count the app's requests and serve /metrics."""
    registry = CollectorRegistry()
    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if shared:  # every worker's counts, from their files
        MultiProcessCollector(registry, path=shared)
    own = None if shared else registry
    requests = Counter("livehost_http_requests", "HTTP requests served", ["method", "route", "status"],
                       registry=own)
    duration = Histogram("livehost_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
                         registry=own, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    registry.register(LivesCollector(app))
    app.extensions["livehost.metrics"] = registry

    @app.before_request
    def _started():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        if rule != "/metrics" and not rule.endswith("/events"):  # event streams last for minutes
            requests.labels(request.method, rule, str(response.status_code)).inc()
            if "metrics_started" in g:
                duration.labels(request.method, rule).observe(time.perf_counter() - g.metrics_started)
        return response

    app.register_blueprint(bp)


@bp.get("/metrics")
def metrics():
    token = current_app.config["LIVEHOST"].metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("a valid metrics token is required (Authorization: Bearer TOKEN)\n", 401,
                            {"WWW-Authenticate": "Bearer"}, mimetype="text/plain")
    return Response(generate_latest(current_app.extensions["livehost.metrics"]), mimetype=CONTENT_TYPE_LATEST)
