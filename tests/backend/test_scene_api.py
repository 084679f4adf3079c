"""The scene over HTTP on SQLite and MariaDB: the media library reads a file's kind from its
content and keeps it; a room's scene names media by id and is refused (422 naming the field) when
one is missing, of the wrong kind, or a text holds a banned word; a medium a scene uses cannot be
deleted; the preview endpoint draws the scene with the live's compositor; the card command reaches
the live's control stream."""
from __future__ import annotations

import io

import cv2
import numpy as np

from tests.helpers.bombs import write_video
from tests.helpers.media import write_audio

RED_LOGO = (0, 0, 255)  # BGR


def png(color=RED_LOGO, width: int = 64, height: int = 32) -> bytes:
    ok, data = cv2.imencode(".png", np.full((height, width, 3), color, np.uint8))
    assert ok
    return data.tobytes()


def add(api, headers, content: bytes, filename: str, name: str | None = None):
    data = {"file": (io.BytesIO(content), filename)}
    if name is not None:
        data["name"] = name
    return api.post("/api/media", headers=headers, content_type="multipart/form-data", data=data)


def library(api, tokens, tmp_path) -> dict[str, dict]:
    """A picture, a video and a sound in the library, each uploaded under a misleading file name."""
    write_video(tmp_path / "clip.mp4", 96, 64, frames=10)
    write_audio(tmp_path / "song.mp3", 0.2 * np.sin(np.arange(44100 * 2) * 2 * np.pi * 440 / 44100), 44100)
    out = {}
    for kind, content, filename in (("image", png(), "logo.mp3"),
                                    ("video", (tmp_path / "clip.mp4").read_bytes(), "clip.png"),
                                    ("audio", (tmp_path / "song.mp3").read_bytes(), "song.mp4")):
        r = add(api, tokens["operator"], content, filename)
        assert r.status_code == 201, r.get_json()
        out[kind] = r.get_json()
    return out


def room(api, tokens, scene: dict, platform: str = "douyin", **settings):
    return api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "Tea", "platform": platform, "server_url": "rtmp://127.0.0.1/live", "stream_key": "k",
        "settings": {"scene": scene, **settings}})


def test_the_library_reads_each_files_kind_from_its_content_and_serves_it_back(api, tokens, tmp_path):
    media = library(api, tokens, tmp_path)
    image, video, audio = media["image"], media["video"], media["audio"]
    assert (image["kind"], image["content_type"], image["width"], image["height"], image["duration"]) == \
        ("image", "image/png", 64, 32, None)
    assert (video["kind"], video["content_type"], video["width"], video["height"]) == ("video", "video/mp4", 96, 64)
    assert 0.3 < video["duration"] < 0.5
    assert (audio["kind"], audio["content_type"], audio["width"]) == ("audio", "audio/mpeg", None)
    assert 1.9 < audio["duration"] < 2.2
    assert image["name"] == "logo" and image["size"] == len(png())

    listed = api.get("/api/media", headers=tokens["viewer"]).get_json()
    assert [m["id"] for m in listed["items"]] == [audio["id"], video["id"], image["id"]]  # newest first
    sounds = api.get("/api/media", query_string={"kind": "audio"}, headers=tokens["viewer"]).get_json()
    assert [m["id"] for m in sounds["items"]] == [audio["id"]]
    assert api.get(f"/api/media/{video['id']}", headers=tokens["viewer"]).get_json() == video
    r = api.get(image["url"], headers=tokens["viewer"])
    assert r.status_code == 200 and r.mimetype == "image/png" and r.data == png()
    r = api.get(audio["url"], headers={**tokens["viewer"], "Range": "bytes=0-9"})  # a player seeks
    assert r.status_code == 206 and len(r.data) == 10


def test_anything_else_is_refused_naming_the_file_and_nothing_is_kept(api, tokens, tmp_path):
    for content, filename in ((b"", "empty.png"), (b"hello, not a picture" * 50, "notes.mp3"),
                              (png()[:60], "cut.png"), (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(300), "tag.mp3")):
        r = add(api, tokens["operator"], content, filename)
        body = r.get_json()
        assert r.status_code == 422, (filename, body)
        assert "file" in body["error"]["fields"], body
    assert api.post("/api/media", headers=tokens["operator"], json={"file": "x"}).status_code == 415
    r = add(api, tokens["operator"], png(), "a.png", name="n" * 101)
    assert r.status_code == 422 and "name" in r.get_json()["error"]["fields"]
    assert add(api, tokens["viewer"], png(), "logo.png").status_code == 403
    assert api.get("/api/media", headers=tokens["viewer"]).get_json()["total"] == 0
    kept = api.app_.config["LIVEHOST"].var_dir / "media"
    assert not kept.exists() or list(kept.iterdir()) == []


def test_a_rooms_scene_names_media_of_the_right_kind_and_is_shown_back_with_its_defaults(api, tokens, tmp_path):
    media = library(api, tokens, tmp_path)
    scene = {"background": {"type": "video", "media": media["video"]["id"]},
             "logo": {"media": media["image"]["id"], "box": {"x": 0.7, "y": 0.02, "w": 0.25, "h": 0.1}},
             "title": {"text": "春季新茶", "box": {"x": 0.05, "y": 0.1, "w": 0.9, "h": 0.07}, "size": 0.05},
             "music": {"playlist": [media["audio"]["id"]], "volume_db": -18, "duck_db": 10}, "ai_label": "on"}
    r = room(api, tokens, scene)
    assert r.status_code == 201, r.get_json()
    shown = r.get_json()["settings"]["scene"]
    assert {k: shown[k] for k in scene} == scene
    assert shown["captions"] is True and shown["loudness"] == -16 and shown["cards"]["be_right_back"] == ""

    bare = room(api, tokens, {}).get_json()["settings"]["scene"]
    assert bare["background"] == {"type": "blur", "media": None} and bare["logo"] is None
    assert bare["ai_label"] == "auto" and bare["music"]["playlist"] == []

    wrong = [({"logo": {"media": media["audio"]["id"]}}, "settings.scene.logo.media", "is a audio, not an image"),
             ({"background": {"type": "image", "media": media["video"]["id"]}}, "settings.scene.background.media",
              "is a video"),
             ({"music": {"playlist": [media["audio"]["id"], 987654]}}, "settings.scene.music.playlist.1",
              "does not exist"),
             ({"title": {"text": "全网最低价"}}, "settings.scene.title.text", "banned"),
             ({"cards": {"be_right_back": "国家级好茶 马上回来"}}, "settings.scene.cards.be_right_back", "banned"),
             ({"caption_box": {"x": 0.5, "y": 0.5, "w": 0.6, "h": 0.1}}, "settings.scene.caption_box", "inside"),
             ({"background": {"type": "image"}}, "settings.scene.background", "needs its media"),
             ({"loudness": -5}, "settings.scene.loudness", ""), ({"glitter": True}, "settings.scene.glitter", "")]
    for changed, field, words in wrong:
        r = room(api, tokens, changed)
        body = r.get_json()["error"]
        assert r.status_code == 422, (changed, body)
        assert field in body["fields"] and words in body["fields"][field].lower() + body["fields"][field], \
            (changed, body["fields"])


def test_a_medium_a_scene_uses_cannot_be_deleted_until_the_scene_lets_it_go(api, tokens, tmp_path):
    media = library(api, tokens, tmp_path)
    made = room(api, tokens, {"logo": {"media": media["image"]["id"]}}).get_json()
    url = f"/api/media/{media['image']['id']}"
    r = api.delete(url, headers=tokens["operator"])
    error = r.get_json()["error"]
    assert r.status_code == 409 and error["reason"] == "in_use" and error["params"]["rooms"] == [made["id"]]
    assert f"room {made['id']}" in error["message"]
    assert api.delete(url, headers=tokens["viewer"]).status_code == 403
    r = api.patch(f"/api/rooms/{made['id']}", headers=tokens["operator"], json={"settings": {"scene": {}}})
    assert r.status_code == 200, r.get_json()
    assert api.delete(url, headers=tokens["operator"]).status_code == 204
    assert api.get(url, headers=tokens["viewer"]).status_code == 404
    assert api.get(url + "/file", headers=tokens["viewer"]).status_code == 404
    kept = api.app_.config["LIVEHOST"].var_dir / "media"
    assert sorted(p.suffix for p in kept.iterdir()) == [".mp3", ".mp4"]  # the picture's file is gone


def test_the_preview_is_the_scene_drawn_at_the_chosen_size(api, tokens, tmp_path):
    media = library(api, tokens, tmp_path)
    scene = {"logo": {"media": media["image"]["id"], "box": {"x": 0.6, "y": 0.3, "w": 0.3, "h": 0.1}},
             "ai_label": "off", "captions": False}
    for width, height in ((720, 1280), (1920, 1080)):
        r = api.post("/api/scene/preview", headers=tokens["viewer"], json={"scene": scene, "width": width,
                                                                          "height": height})
        assert r.status_code == 200 and r.mimetype == "image/png", r.data[:200]
        picture = cv2.imdecode(np.frombuffer(r.data, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (height, width, 3)
        # the red logo, contained in its box (aspect kept): the box's centre is red
        cx, cy = int(0.75 * width), int(0.35 * height)
        b, g, red = picture[cy - 2:cy + 3, cx - 2:cx + 3].reshape(-1, 3).mean(axis=0)
        assert red > 200 and g < 60 and b < 60, (width, height, (b, g, red))

    # with a room and no scene: the room's saved one (here its logo)
    made = room(api, tokens, scene).get_json()
    r = api.post("/api/scene/preview", headers=tokens["viewer"], json={"room_id": made["id"], "width": 720,
                                                                      "height": 1280})
    picture = cv2.imdecode(np.frombuffer(r.data, np.uint8), cv2.IMREAD_COLOR)
    assert picture[int(0.35 * 1280), int(0.75 * 720), 2] > 200

    bad = [({"scene": scene, "width": 700, "height": 1280}, 422), ({"room_id": 987654}, 404),
           ({"scene": {"logo": {"media": 987654}}}, 422), ({"avatar": "nobody"}, 422), ({"product": 987654}, 404),
           ({"card": "gone_fishing"}, 422)]
    for body, status in bad:
        r = api.post("/api/scene/preview", headers=tokens["viewer"], json=body)
        assert r.status_code == status, (body, r.get_json())
