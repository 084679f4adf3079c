"""Live2D avatars through the API: a model's zip uploaded like a photo is recognised, checked and drawn
at rest in the background; its thumbnail shows the model, its actions are its expressions and motions;
a zip without a model is refused at once, a broken model fails naming what is wrong."""
from __future__ import annotations

import io
import zipfile

import cv2
import numpy as np
import pytest

from streamer.avatar.live2d import THUMBNAIL_BACKGROUND
from streamer.avatar.store import load_avatar
from tests.backend.test_avatars import upload, wait_prepared
from tests.helpers.live2d import haru_model

pytest.importorskip("live2d", reason="pip install 'livehost[live2d]'")


def haru_zip(**change: bytes | None) -> bytes:
    """Haru's files in a zip under haru/, with `change` (path: new bytes, or None to leave it out)."""
    model = haru_model()
    files = {p.relative_to(model).as_posix(): p.read_bytes() for p in model.rglob("*") if p.is_file()}
    for name, data in change.items():
        if data is None:
            files.pop(name)
        else:
            files[name] = data
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name if name.startswith("..") else f"haru/{name}", data)
    return buf.getvalue()


def test_a_live2d_model_zip_becomes_an_avatar_with_its_thumbnail_and_actions(api, tokens):
    r = upload(api, tokens["operator"], haru_zip(), "haru.zip", "Haru")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["kind"] == "live2d" and r.get_json()["status"] == "preparing"
    avatar = wait_prepared(api, tokens["viewer"], r.get_json()["id"], timeout=60)
    assert avatar["status"] == "ready" and avatar["error"] is None, avatar
    # the console's action buttons: the model's expressions and its motion groups but idle
    assert {"f01", "f08", "tap_body", "shake"} <= set(avatar["actions"]), avatar["actions"]
    assert "idle" not in avatar["actions"]
    loaded = load_avatar(api.app_.config["LIVEHOST"].avatars_dir, avatar["slug"])  # what a worker does
    assert loaded.live2d is not None and loaded.live2d.is_file()

    thumbnail = api.get(f"/api/avatars/{avatar['id']}/thumbnail", headers=tokens["viewer"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(thumbnail.data, np.uint8), cv2.IMREAD_COLOR)
    h, w = picture.shape[:2]
    assert (w, h) == (540, 960)
    # the model in the middle, the light background at the corners
    corners = np.concatenate([picture[:20, :20], picture[:20, -20:]]).reshape(-1, 3)
    assert np.abs(corners.astype(int) - THUMBNAIL_BACKGROUND).max() <= 6
    middle = picture[h // 4:h * 3 // 4, w // 4:w * 3 // 4].astype(int)
    assert (np.abs(middle - THUMBNAIL_BACKGROUND).sum(axis=2) > 60).mean() > 0.3


@pytest.mark.parametrize("content, words", [
    (b"PK\x03\x04 not really a zip", "model.zip holds no Live2D model"),
    ("only_textures", "model.zip holds no Live2D model"),
])
def test_a_zip_without_a_model_is_refused_at_upload(api, tokens, content, words):
    if content == "only_textures":
        content = haru_zip(**{"haru01.model.json": None})
    r = upload(api, tokens["operator"], content, "model.zip", "No model")
    assert r.status_code == 422, r.get_json()
    assert words in r.get_json()["error"]["fields"]["file"]
    assert r.get_json()["error"]["field_reasons"]["file"] == {"reason": "no_model_in_zip", "params": {"file": "model.zip"}}
    assert api.get("/api/avatars", headers=tokens["viewer"]).get_json()["total"] == 0


@pytest.mark.parametrize("change, words", [
    ({"moc/haru01.1024/texture_00.png": None}, "texture_00.png, which is missing"),
    ({"../../escape.txt": b"out"}, "path outside it"),
])
def test_a_broken_model_fails_naming_what_is_wrong(api, tokens, change, words):
    r = upload(api, tokens["operator"], haru_zip(**change), "haru.zip", "Broken Haru")
    assert r.status_code == 201, r.get_json()
    avatar = wait_prepared(api, tokens["viewer"], r.get_json()["id"], timeout=60)
    assert avatar["status"] == "failed" and words in avatar["error"], avatar
    assert not (api.app_.config["LIVEHOST"].avatars_dir / avatar["slug"]).exists()
