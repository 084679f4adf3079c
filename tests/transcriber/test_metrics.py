"""The transcription service's /metrics: what a Prometheus server scraping it reads moves with what
its clients did (connections, audio, commits and their delay, the model's calls)."""
from __future__ import annotations

import socket
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from tests.helpers.speech import RATE, speech
from tests.helpers.transcription import stream_sentences
from transcriber.server import TranscriptionServer
from transcriber.settings import TranscriberSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_count_the_clients_audio_and_commits(engine):
    port = free_port()
    server = TranscriptionServer(TranscriberSettings(port=0, metrics_port=port), engine=engine).start()
    try:
        before = scrape(port)
        assert before[("livehost_transcriber_clients", ())] == 0
        with connect(f"ws://127.0.0.1:{server.port}") as bad:
            bad.send("not json")
            bad.recv(timeout=10)
        clips = [speech("Hello everyone, welcome to the live room."), speech("Today we look at three new phones.")]
        run = stream_sentences(f"ws://127.0.0.1:{server.port}", "speaker", clips, gap=1.5, tail=1.5)
        sent = sum(c.size for c in clips) / RATE + 3.0
        m = scrape(port)
    finally:
        server.stop()
    assert m[("livehost_transcriber_connections_total", (("result", "accepted"),))] == 1
    assert m[("livehost_transcriber_connections_total", (("result", "bad_options"),))] == 1
    assert m[("livehost_transcriber_disconnects_total", (("reason", "end_of_audio"),))] == 1
    assert m[("livehost_transcriber_clients", ())] == 0
    assert abs(m[("livehost_transcriber_audio_seconds_total", ())] - sent) < 0.2
    commits = m[("livehost_transcriber_commits_total", ())]
    assert commits == len(run.completed()) >= 2, run.completed()
    assert m[("livehost_transcriber_commit_delay_seconds_count", ())] == commits
    assert 0 < m[("livehost_transcriber_commit_delay_seconds_sum", ())] / commits < 3.0
    assert m[("livehost_transcriber_inference_seconds_count", ())] >= commits
    assert m[("livehost_transcriber_inference_errors_total", ())] == 0
