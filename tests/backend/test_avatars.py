"""Avatars: upload, background preparation with progress, failures named, deletion guarded."""
from __future__ import annotations

import io
import time

import cv2
import pytest
import sqlalchemy as sa
from skimage import data as skdata

from db.models import AuditEntry, LiveSession, Schedule
from streamer.avatar.store import load_avatar
from tests.helpers.api import use_in_schedule
from tests.helpers.bombs import png_bomb, write_video


@pytest.fixture(scope="module")
def astronaut_png() -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))[1].tobytes()


@pytest.fixture(scope="module")
def coffee_png() -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(skdata.coffee(), cv2.COLOR_RGB2BGR))[1].tobytes()


def upload(api, headers, content: bytes, filename: str = "portrait.png", name: str | None = "Astro"):
    form = {"file": (io.BytesIO(content), filename)} if filename is not None else {}
    if name is not None:
        form["name"] = name
    return api.post("/api/avatars", data=form, content_type="multipart/form-data", headers=headers)


def wait_prepared(api, headers, avatar_id: int, timeout: float = 20.0) -> dict:
    """Poll GET until the avatar leaves 'preparing'; returns its last state."""
    deadline = time.monotonic() + timeout
    while True:
        avatar = api.get(f"/api/avatars/{avatar_id}", headers=headers).get_json()
        if avatar["status"] != "preparing" or time.monotonic() > deadline:
            return avatar
        time.sleep(0.1)


def test_uploaded_portrait_is_prepared_and_loadable(api, tokens, astronaut_png):
    r = upload(api, tokens["operator"], astronaut_png, "astronaut.png", "Astro Host")
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["status"] == "preparing" and created["progress"] == 0
    assert created["slug"] == "astro-host" and created["source"] == "astronaut.png"
    avatar = wait_prepared(api, tokens["viewer"], created["id"])
    assert avatar["status"] == "ready", avatar
    assert avatar["progress"] == 1 and avatar["error"] is None and avatar["frames"] > 1
    loaded = load_avatar(api.app_.config["LIVEHOST"].avatars_dir, avatar["slug"])  # what a worker does
    assert len(loaded) == avatar["frames"]
    listed = api.get("/api/avatars", headers=tokens["viewer"]).get_json()
    assert listed["total"] == 1 and listed["items"] == [avatar]
    thumbnail = api.get(f"/api/avatars/{avatar['id']}/thumbnail", headers=tokens["viewer"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert thumbnail.headers["Cache-Control"] == "private, max-age=300"  # signed-in users only: no shared cache


def test_picture_without_a_face_fails_naming_the_frame(api, tokens, coffee_png):
    r = upload(api, tokens["operator"], coffee_png, "coffee.png", "Coffee")
    assert r.status_code == 201
    avatar = wait_prepared(api, tokens["operator"], r.get_json()["id"])
    assert avatar["status"] == "failed"
    assert "no face found in frame 0" in avatar["error"] and "\n" not in avatar["error"]


def test_slugs_are_unique_and_valid(api, tokens, coffee_png):
    slugs = [upload(api, tokens["operator"], coffee_png, "c.png", name).get_json()["slug"]
             for name in ("My Host!", "My Host!", "主播", "Default", "Émilie")]
    assert slugs == ["my-host", "my-host-2", "avatar", "default-2", "emilie"]


def test_bad_uploads_are_refused_with_clear_messages(api, tokens, astronaut_png):
    op = tokens["operator"]
    r = upload(api, op, astronaut_png, filename=None)
    assert r.status_code == 422 and "file is required" in r.get_json()["error"]["fields"]["file"]
    r = upload(api, op, astronaut_png, name=None)
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["name"] == "name is required"
    r = upload(api, op, astronaut_png, name="x" * 101)
    assert r.status_code == 422 and "at most 100" in r.get_json()["error"]["message"]
    r = upload(api, op, b"", "empty.png")
    assert r.status_code == 422 and r.get_json()["error"]["message"] == "file is empty"
    r = upload(api, op, b"#!/bin/sh\n", "evil.sh")
    assert r.status_code == 422 and "unsupported file type '.sh'" in r.get_json()["error"]["message"]
    r = api.post("/api/avatars", json={"name": "x"}, headers=op)
    assert r.status_code == 415 and "multipart/form-data" in r.get_json()["error"]["message"]
    assert api.get("/api/avatars", headers=op).get_json()["total"] == 0


def test_a_picture_or_video_over_the_pixel_limits_is_refused_at_upload_naming_its_size(api, tokens, tmp_path):
    op = tokens["operator"]
    r = upload(api, op, png_bomb(30000, 30000), "bomb.png", "Bomb")  # 110 KB on disk, 2.7 GB decoded
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"]["fields"]["file"] == ("bomb.png is 30000x30000 pixels; "
                                                       "the limit is 8192 pixels a side and 50 megapixels")
    video = write_video(tmp_path / "wide.mp4", 9000, 64).read_bytes()
    r = upload(api, op, video, "wide.mp4", "Wide")
    assert r.status_code == 422 and r.get_json()["error"]["message"].startswith("wide.mp4 is 9000x64 pixels")
    assert api.get("/api/avatars", headers=op).get_json()["total"] == 0
    assert not list((api.app_.config["LIVEHOST"].var_dir / "uploads").iterdir())


def test_upload_over_the_size_cap_is_413_json(api, tokens, astronaut_png):
    api.app_.config["MAX_CONTENT_LENGTH"] = 10_000
    r = upload(api, tokens["operator"], astronaut_png)
    assert r.status_code == 413
    assert r.get_json()["error"] == {"code": "too_large", "message": "uploads are limited to 0.01 MB"}


def test_default_avatar_is_registered_once(api, tokens):
    r = api.post("/api/avatars/default", headers=tokens["operator"])
    assert r.status_code == 200, r.get_json()
    first = r.get_json()
    assert first["slug"] == "default" and first["status"] == "ready" and first["frames"] > 1
    again = api.post("/api/avatars/default", headers=tokens["admin"])
    assert again.status_code == 200 and again.get_json() == first
    assert api.get("/api/avatars", headers=tokens["viewer"]).get_json()["items"] == [first]


def test_roles(api, tokens, astronaut_png):
    assert upload(api, tokens["viewer"], astronaut_png).status_code == 403
    assert upload(api, {}, astronaut_png).status_code == 401
    assert api.post("/api/avatars/default", headers=tokens["viewer"]).status_code == 403
    assert api.get("/api/avatars").status_code == 401
    assert api.get("/api/avatars", headers=tokens["viewer"]).status_code == 200
    assert api.get("/api/avatars/99", headers=tokens["viewer"]).status_code == 404


def test_delete_is_refused_while_in_use_then_removes_the_files(api, tokens, astronaut_png):
    op = tokens["operator"]
    avatar = wait_prepared(api, op, upload(api, op, astronaut_png).get_json()["id"])
    assert api.delete(f"/api/avatars/{avatar['id']}", headers=tokens["viewer"]).status_code == 403
    schedule_id = use_in_schedule(api, avatar_id=avatar["id"])
    live_id = use_in_schedule(api, avatar_id=avatar["id"], session=True)
    r = api.delete(f"/api/avatars/{avatar['id']}", headers=op)
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert (error["reason"], error["params"]["lives"], error["params"]["schedules"]) == ("in_use", [live_id],
                                                                                         [schedule_id])
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.execute(sa.delete(Schedule).where(Schedule.id == schedule_id))
        s.execute(sa.delete(LiveSession))
        s.commit()
    assert api.delete(f"/api/avatars/{avatar['id']}", headers=op).status_code == 204
    assert api.get(f"/api/avatars/{avatar['id']}", headers=op).status_code == 404
    assert not (api.app_.config["LIVEHOST"].avatars_dir / avatar["slug"]).exists()
    with api.app_.extensions["livehost.db"].sessions() as s:
        actions = s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["avatar.create", "avatar.delete"]
