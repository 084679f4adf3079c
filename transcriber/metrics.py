"""Prometheus metrics of one transcription service process, served on `metrics_port` when set:
its clients (connected, and how each connection was refused or ended), the audio received, the
sentences committed and how late (seconds of audio received after a sentence's end before it was
committed: the commit delay of a real-time speaker), and the model's inference calls and time."""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

log = logging.getLogger(__name__)


class TranscriberMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = r = registry or CollectorRegistry()
        self.clients = Gauge("livehost_transcriber_clients", "Clients connected now", registry=r)
        self.connections = Counter("livehost_transcriber_connections", "Connections by how they were answered: "
                                   "accepted, full (told to WAIT), bad_options, bad_key", ["result"], registry=r)
        self.ended = Counter("livehost_transcriber_disconnects", "Connections ended: end_of_audio, closed (by "
                             "the client), time_limit, protocol_error", ["reason"], registry=r)
        self.audio = Counter("livehost_transcriber_audio_seconds", "Seconds of audio received", registry=r)
        self.commits = Counter("livehost_transcriber_commits", "Segments committed (sent as completed)", registry=r)
        self.commit_delay = Histogram("livehost_transcriber_commit_delay_seconds", "Audio received after a "
                                      "segment's end before it was committed", registry=r,
                                      buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 15.0))
        self.inference = Histogram("livehost_transcriber_inference_seconds", "One inference of the model",
                                   registry=r, buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0))
        self.inference_errors = Counter("livehost_transcriber_inference_errors", "Inferences that failed",
                                        registry=r)

    def serve(self, port: int, host: str) -> int:
        """Serve /metrics on `host:port` (0: any free port) in a thread; the port it serves on."""
        server, _ = start_http_server(port, host, registry=self.registry)
        port = server.server_address[1]
        log.info("transcriber metrics on http://%s:%d/metrics", host, port)
        return port
