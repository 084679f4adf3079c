"""The dashboard is served at / (history-mode fallback), the API stays under /api; the overview's
workers and the console's action buttons have their endpoints."""
from __future__ import annotations

import time

import pytest

from backend import create_app
from backend.settings import ApiSettings


@pytest.fixture
def built(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=app></div>")
    (dist / "assets" / "index-3f2a.js").write_text("console.log(1)")
    return dist


def app_with(dist, tmp_path):
    settings = ApiSettings.from_env(env={"LIVEHOST_DASHBOARD_DIR": str(dist)}, database_url="sqlite://",
                                    var_dir=tmp_path / "var", testing=True)
    return create_app(settings).test_client()


def test_the_dashboard_is_served_at_the_root_with_history_mode_fallback(built, tmp_path):
    c = app_with(built, tmp_path)
    for path in ("/", "/sessions/7", "/rooms"):
        r = c.get(path)
        assert r.status_code == 200 and b'id=app' in r.data and r.headers["Cache-Control"] == "no-cache"
    asset = c.get("/assets/index-3f2a.js")
    assert asset.status_code == 200 and "immutable" in asset.headers["Cache-Control"]
    assert c.get("/assets/../../../etc/passwd").data == (built / "index.html").read_bytes()


def test_unknown_api_paths_stay_json_404s(built, tmp_path):
    c = app_with(built, tmp_path)
    for path in ("/api", "/api/nothing/here"):
        r = c.get(path)
        assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert c.get("/api/health").status_code == 200


def test_without_a_build_the_root_says_how_to_make_one(tmp_path):
    r = app_with(tmp_path / "missing", tmp_path).get("/")
    assert r.status_code == 503 and b"npm run build" in r.data and b"make setup" in r.data


def test_workers_announced_in_redis_are_listed_with_their_load(api, tokens):
    r = api.app_.extensions["livehost.redis"]  # the api fixture always has the real Redis
    r.hset("livehost:worker:test-gpu0", mapping={"slots": 4, "running": 1, "updated_at": time.time()})
    r.expire("livehost:worker:test-gpu0", 10)
    try:
        body = api.get("/api/workers", headers=tokens["viewer"]).get_json()
        mine = [w for w in body if w["name"] == "test-gpu0"]
        assert mine and mine[0]["slots"] == 4 and mine[0]["running"] == 1
        assert api.get("/api/workers").status_code == 401
    finally:
        r.delete("livehost:worker:test-gpu0")


def test_an_avatar_lists_its_action_clips_and_has_a_thumbnail(api, tokens):
    avatar = api.post("/api/avatars/default", headers=tokens["operator"]).get_json()
    assert {"nod", "greet", "sway"} <= set(avatar["actions"])
    thumb = api.get(f"/api/avatars/{avatar['id']}/thumbnail", headers=tokens["viewer"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg" and thumb.data[:2] == b"\xff\xd8"
    assert api.get("/api/avatars/999/thumbnail", headers=tokens["viewer"]).status_code == 404


def test_the_console_learns_where_the_transcriber_is_and_never_its_key(api, tokens):
    settings = ApiSettings.from_env(env={"LIVEHOST_TRANSCRIBER_URL": "ws://127.0.0.1:9090",
                                         "LIVEHOST_TRANSCRIBER_API_KEY": "sekrit"}, database_url="sqlite://")
    assert settings.transcriber_url == "ws://127.0.0.1:9090"
    api.app_.config["LIVEHOST"] = api.app_.config["LIVEHOST"].replace(transcriber_url=settings.transcriber_url)
    assert api.get("/api/transcriber").status_code == 401
    r = api.get("/api/transcriber", headers=tokens["viewer"])
    assert r.status_code == 200 and r.get_json() == {"url": "ws://127.0.0.1:9090"} and b"sekrit" not in r.data


def test_without_a_transcriber_the_url_is_null(api, tokens):
    assert ApiSettings.from_env(env={}, database_url="sqlite://").transcriber_url is None
    assert api.get("/api/transcriber", headers=tokens["viewer"]).get_json() == {"url": None}
