"""GET /metrics on SQLite and MariaDB: Prometheus's own parser reads it; requests are counted by
route and status; the lives by state come from the database and a running live's rates from its
worker's heartbeat on the real Redis; with a metrics token, a scrape without it is a 401."""
from __future__ import annotations

import redis
from prometheus_client.parser import text_string_to_metric_families

from db.models import LiveSession
from streamer.control.bus import RedisBus
from tests.helpers.api import make_refs


def scrape(api, headers=None) -> dict[tuple[str, tuple], float]:
    r = api.get("/metrics", headers=headers or {})
    assert r.status_code == 200 and r.mimetype == "text/plain", r.data[:200]
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.get_data(as_text=True)) for s in family.samples}


def test_metrics_count_requests_lives_and_a_running_lives_heartbeat(api, tokens, redis_url):
    refs = make_refs(api, tokens, rooms=2)
    ids = []
    for room in refs["rooms"]:
        r = api.post("/api/sessions", headers=tokens["operator"], json={
            "room_id": room, **{k: refs[k] for k in ("script_id", "avatar_id", "voice_id")}})
        ids.append(r.get_json()["id"])
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.get(LiveSession, ids[0]).status = "live"
        s.commit()
    bus = RedisBus(redis.Redis.from_url(redis_url))
    bus.set_status(ids[0], {"state": "live", "fps": 25.0, "bitrate": 2_500_000, "seconds": 12.5, "errors": 1,
                            "queues": {"audio": 3}, "encoder": {"preset": "ultrafast", "step": 2, "behind_s": 1.3,
                                                                "overloaded": True}, "audience": {"received": 9, "answered": 2, "dropped": 4},
                            "destinations": [{"name": "rtmp://a/live/***", "connected": True, "reconnects": 2,
                                              "dropped": 7}, {"name": "recording", "connected": False}]}, ttl=30)
    try:
        for _ in range(3):
            assert api.get("/api/rooms", headers=tokens["viewer"]).status_code == 200
        api.get("/api/rooms/987654", headers=tokens["viewer"])
        m = scrape(api)
        sid = str(ids[0])
        assert m[("livehost_http_requests_total", (("method", "GET"), ("route", "/api/rooms"), ("status", "200")))] == 3
        assert m[("livehost_http_requests_total",
                  (("method", "GET"), ("route", "/api/rooms/<int:room_id>"), ("status", "404")))] == 1
        assert m[("livehost_lives", (("state", "live"),))] == 1 and m[("livehost_lives", (("state", "queued"),))] == 1
        assert m[("livehost_live_fps", (("session", sid),))] == 25.0
        assert m[("livehost_live_bitrate_bps", (("session", sid),))] == 2_500_000
        assert m[("livehost_live_destination_reconnects", (("destination", "rtmp://a/live/***"), ("session", sid)))] == 2
        assert m[("livehost_live_destination_connected", (("destination", "recording"), ("session", sid)))] == 0
        assert m[("livehost_live_comments", (("session", sid), ("what", "answered")))] == 2
        assert m[("livehost_live_queue_depth", (("queue", "audio"), ("session", sid)))] == 3
        assert m[("livehost_live_behind_seconds", (("session", sid),))] == 1.3
        assert m[("livehost_live_preset_step", (("session", sid),))] == 2
        assert m[("livehost_live_overloaded", (("session", sid),))] == 1
        assert not any(name == "livehost_live_fps" and labels == (("session", str(ids[1])),) for name, labels in m)
    finally:
        bus.r.delete(f"livehost:session:{ids[0]}:status")


def test_a_metrics_token_guards_the_scrape(api, tokens):
    api.app_.config["LIVEHOST"] = api.app_.config["LIVEHOST"].model_copy(update={"metrics_token": "scrape-secret"})
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert api.get("/metrics", headers=tokens["admin"]).status_code == 401  # a user's token is not the scrape's
    assert scrape(api, {"Authorization": "Bearer scrape-secret"})
