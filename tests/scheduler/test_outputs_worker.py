"""What a deployment's live leaves its operators: a room with a second destination and recording on,
run by a real worker process. Both nginx-rtmp ingests receive it; the API (a real server) serves
the preview to signed-in users only, with no stream key in it, and PyAV plays it while the live
runs; /metrics of the API and of the worker move with the live (fps, an interrupt's latency);
after the live the recording is listed with its segments, which play and add up to the live.
Webhooks (a loopback receiver) are told the live started, then ended with its summary, and that a
live whose RTMP server cannot be reached failed, with the reason."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import av
import pytest
from prometheus_client.parser import text_string_to_metric_families

from db.models import Room
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers.api import PASSWORD, api_call
from tests.helpers.media import playable_seconds, start_pull
from tests.helpers.process import free_port

pytestmark = pytest.mark.slow
KEY = "k3y-of-the-preview-test"


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def samples(text: bytes) -> dict[tuple[str, tuple], float]:
    """Prometheus text, read by Prometheus's own parser: {(name, labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def test_two_ingests_the_preview_and_the_recording_of_a_workers_live(deployment, second_ingest):
    with WebhookReceiver() as rx:
        outputs_of_a_live(deployment, second_ingest, rx)


def alerts(rx: WebhookReceiver, event: str, session: int) -> list[dict]:
    return [r for r in rx.received if r["path"] == "/generic" and r["body"]["event"] == event
            and r["body"]["session"] == session]


def outputs_of_a_live(d, second_ingest, rx: WebhookReceiver) -> None:
    room, script = d.room(KEY), d.script([{"say": "Hello from both ingests."}, {"pause": 1500}], loop=0)
    api = d.api()
    r = api.patch(f"/api/rooms/{room}", json={
        "name": "Tea shop", "destinations": [{"name": "second", "server_url": f"rtmp://127.0.0.1:{second_ingest.port}/live",
                          "stream_key": "the-second-key"}],
        "settings": {"record": True}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["destinations"][0]["stream_key"] == "****-key"  # its last 4 characters
    admin = d.api("admin")
    for name, fmt in (("ops", "generic"), ("wecom group", "wecom")):
        r = admin.post("/api/webhooks", json={"name": name, "format": fmt, "url": f"{rx.base}/{fmt}?key=k"})
        assert r.status_code == 201, r.get_json()
    base = d.serve()
    d.api("viewer")  # signs up the_viewer
    token = api_call(base, "POST", "/api/auth/login", body={"username": "the_viewer", "password": PASSWORD})[
        "access_token"]
    d.env["LIVEHOST_RECORDING_SEGMENT_S"] = "3"
    d.env["LIVEHOST_METRICS_PORT"] = str(metrics_port := free_port())
    d.scheduler()
    d.worker("wOut")
    d.wait_workers("wOut")
    first, second = start_pull(d.nginx.url(KEY), decode=False, max_seconds=3), \
        start_pull(second_ingest.url("the-second-key"), decode=False, max_seconds=3)
    session = d.go_live(room, script)

    playlist = f"{base}/api/sessions/{session}/preview/index.m3u8"
    assert d.wait_for(lambda: get(playlist, token)[0] == 200, 60), "no preview\n" + d.logs()
    status, body = get(playlist, token)
    assert b"#EXTM3U" in body and KEY.encode() not in body and b"second-key" not in body
    assert get(playlist)[0] == 401
    with av.open(playlist, options={"headers": f"Authorization: Bearer {token}\r\n"}, timeout=10) as c:
        frames = 0
        for _ in c.decode(video=0):
            frames += 1
            if frames >= 50:
                break
    assert frames >= 50, f"the preview played {frames} frames"

    for thread, got in (first, second):
        thread.join(40)
        assert got.get("media") is not None and len(got["media"].video) >= 50, (got.get("error"), d.logs())
    live = api.get(f"/api/sessions/{session}").get_json()["live"]
    names = [dest["name"] for dest in live["destinations"]]

    # Metrics: the API's (rates from the heartbeat) and the worker's own (latencies from its events).
    deployment_metrics = samples(get(f"{base}/metrics")[1])
    assert deployment_metrics[("livehost_live_fps", (("session", str(session)),))] > 20
    assert deployment_metrics[("livehost_lives", (("state", "live"),))] == 1
    assert api.post(f"/api/sessions/{session}/interrupt").status_code == 202
    worker_url = f"http://127.0.0.1:{metrics_port}/metrics"
    assert d.wait_for(lambda: samples(get(worker_url)[1]).get(("livehost_interrupt_seconds_count", ())) == 1, 10)
    assert api.post(f"/api/sessions/{session}/comments", json={"text": "how much is it?"}).status_code == 201
    assert d.wait_for(lambda: samples(get(worker_url)[1]).get(("livehost_reply_seconds_count", ())) == 1, 20)
    worker_metrics = samples(get(worker_url)[1])
    assert worker_metrics[("livehost_worker_lives", ())] == 1
    assert worker_metrics[("livehost_interrupt_seconds_sum", ())] < 1.0
    assert 0 < worker_metrics[("livehost_reply_seconds_sum", ())] < 10  # the comment to its answer on air
    assert len(names) == 4 and "preview" in names and "recording" in names, live["destinations"]
    assert all(KEY not in n and "second-key" not in n for n in names)

    assert api.post(f"/api/sessions/{session}/stop").status_code == 202
    assert d.wait_for(lambda: d.session(session).status == "ended", 30), d.logs()
    assert get(playlist, token)[0] == 404  # the preview is gone with the live
    status, body = get(f"{base}/api/sessions/{session}/recording", token)
    assert status == 200, body
    rec = json.loads(body)
    assert rec["complete"] is True and len(rec["segments"]) >= 2 and rec["error"] is None
    seconds = live["seconds"]
    assert rec["duration"] >= seconds - 0.5, (rec["duration"], seconds)
    status, segment = get(base + rec["segments"][0]["url"], token)
    assert status == 200 and len(segment) == rec["segments"][0]["bytes"]
    path = d.tmp / "first.ts"
    path.write_bytes(segment)
    assert playable_seconds(path) >= 2.9

    # The webhooks were told, each in its own JSON: on air, then the summary at the end.
    (started,) = alerts(rx, "started", session)
    assert started["body"]["room"] == "Tea shop" and "on air" in started["body"]["text"]
    assert d.wait_for(lambda: alerts(rx, "ended", session), 10), rx.received
    (ended,) = alerts(rx, "ended", session)
    assert ended["body"]["duration_s"] >= seconds and ended["body"]["recording"] == f"/api/sessions/{session}/recording"
    kept = api.get(f"/api/sessions/{session}").get_json()["summary"]
    assert kept == {k: ended["body"][k] for k in ("duration_s", "comments", "answered", "reconnects", "recording")}
    wecom = [r["body"] for r in rx.received if r["path"] == "/wecom"]
    assert len(wecom) == 2 and all(b["msgtype"] == "text" and "[livehost]" in b["text"]["content"] for b in wecom)

    # A live whose RTMP server cannot be reached fails, and says why.
    with d.db.sessions() as s:
        broken = s.get(Room, room)
        broken.server_url, broken.destinations = "rtmp://127.0.0.1:9/live", []
        s.commit()
    failing = d.go_live(room, script)
    assert d.wait_for(lambda: alerts(rx, "failed", failing), 60), d.logs()
    (failed,) = alerts(rx, "failed", failing)
    assert "cannot connect to RTMP server 127.0.0.1:9" in failed["body"]["reason"] and KEY not in failed["body"]["text"]
