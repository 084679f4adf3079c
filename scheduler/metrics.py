"""Prometheus metrics of one worker process, measured from its lives' events: the interrupt
latency (the command to the first silent frame out of the encoder), the reply latency (a comment
to its answer's first frame on air), replies by where they came
from, the viewers' messages by what the host did with them, errors by their source (tts, llm,
output, recording, ...), and the lives it runs. Served on `metrics_port` when that is set
(`livehost worker`); the API's /metrics has the deployment's rates and states."""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("livehost.worker")


class WorkerMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.interrupt = Histogram("livehost_interrupt_seconds", "From an interrupt to the first silent frame out of "
                                   "the encoder", registry=r,
                                   buckets=(0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0))
        self.reply_latency = Histogram("livehost_reply_seconds", "From a viewer's comment to the first sentence "
                                       "of its answer on air", registry=r,
                                       buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0))
        self.replies = Counter("livehost_replies", "Replies said (or cut), by where they came from", ["source"],
                               registry=r)
        self.viewers = Counter("livehost_viewer_messages", "Viewers' messages by what the host did with them",
                               ["action"], registry=r)
        self.errors = Counter("livehost_errors", "Errors of the lives, by source", ["source"], registry=r)
        self.lives = Gauge("livehost_worker_lives", "Lives running on this worker", registry=r)
        self.presets = Counter("livehost_preset_steps", "x264 preset steps of the lives: faster (overloaded) or back",
                               ["change"], registry=r)
        self.overloads = Counter("livehost_overloads", "Times a live could not keep real time even at the fastest "
                                 "preset", registry=r)

    def on_event(self, kind: str, fields: dict) -> None:
        if kind == "cut" and isinstance(fields.get("latency_ms"), (int, float)):
            self.interrupt.observe(fields["latency_ms"] / 1000)
        elif kind == "utterance" and isinstance(fields.get("latency_ms"), (int, float)):
            self.reply_latency.observe(fields["latency_ms"] / 1000)
        elif kind == "reply":
            self.replies.labels(str(fields.get("source") or "unknown")).inc()
        elif kind == "audience_action":
            self.viewers.labels(str(fields.get("action") or "unknown")).inc()
        elif kind == "encoder":
            self.presets.labels(str(fields.get("change") or "unknown")).inc()
        elif kind == "overloaded":
            self.overloads.inc()
        elif kind == "error":
            self.errors.labels(str(fields.get("source") or "unknown")).inc()

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        start_http_server(port, host, registry=self.registry)
        log.info("worker metrics on http://%s:%d/metrics", host, port)
