"""A worker gives its live the room's scene with the media library's files: the logo, the
background and the playlist by their paths under var/media (a medium deleted since is left out,
a background falls back to the blur), the AI label a Chinese platform requires, and the product
card's picture from var/products. The live is a stand-in (tests/scene cover a real one), and what
it was given is drawn with the live's compositor to check the logo is where the room put it."""
from __future__ import annotations

import cv2
import numpy as np
from db.models import Media, Product, Room, Script
from streamer.avatar.default import DEFAULT_ID, ensure_default_avatar
from streamer.avatar.store import load_avatar
from streamer.scene.preview import render_preview
from tests.helpers.worker import queue_live, run_live


def test_the_live_gets_the_rooms_scene_with_the_librarys_files(any_database, tmp_path, monkeypatch):
    database = any_database
    var = tmp_path / "var"
    (var / "media").mkdir(parents=True)
    (var / "products").mkdir()
    cv2.imwrite(str(var / "media" / "logo.png"), np.full((40, 80, 3), (0, 0, 255), np.uint8))
    (var / "media" / "song.mp3").write_bytes(b"kept as is")
    cv2.imwrite(str(var / "products" / "7-tea.jpg"), np.full((50, 50, 3), 90, np.uint8))
    with database.sessions() as s:
        logo = Media(name="logo", kind="image", content_type="image/png", file="logo.png", size=1, width=80, height=40)
        song = Media(name="song", kind="audio", content_type="audio/mpeg", file="song.mp3", size=1, duration=3)
        tea = Product(name="龙井", price=99, image="7-tea.jpg")
        s.add_all([logo, song, tea])
        s.flush()
        box = {"x": 0.6, "y": 0.3, "w": 0.3, "h": 0.1}
        scene = {"logo": {"media": logo.id, "box": box}, "background": {"type": "image", "media": 987654},
                 "music": {"playlist": [987655, song.id], "volume_db": -20, "duck_db": 12}, "title": {"text": "新茶"}}
        room = Room(name="r", platform="douyin", server_url="rtmp://127.0.0.1:1935/live",
                    settings={"scene": scene, "products": [tea.id]})
        script = Script(name="s", loop=0, segments=[{"say": "你好。"}])
        sid = queue_live(s, room, script)
    spec = run_live(database, sid, monkeypatch, var_dir=var)
    scene = spec.scene
    assert scene.logo.path == var / "media" / "logo.png" and scene.title.text == "新茶"
    assert scene.background == "blur"  # its picture is gone from the library
    assert scene.music.playlist == (var / "media" / "song.mp3",) and scene.music.volume_db == -20
    assert scene.ai_label == "AI生成" and scene.language == "zh"  # Douyin: on by default, in Chinese
    (product,) = spec.catalog.products
    assert product.image == str(var / "products" / "7-tea.jpg")

    avatar = load_avatar(ensure_default_avatar(tmp_path / "avatars").parent, DEFAULT_ID)
    still = render_preview(scene, avatar, 720, 1280, product=product)
    picture = cv2.imdecode(np.frombuffer(still, np.uint8), cv2.IMREAD_COLOR)
    b, g, r = picture[int(0.35 * 1280), int(0.75 * 720)]
    assert r > 200 and g < 60 and b < 60, "the room's logo is not where its box puts it"
    x, y, w, h = scene.product_card_box.pixels(720, 1280)
    pad = max(4, h // 12)
    assert abs(int(picture[y + h // 2, x + pad + 10].mean()) - 90) < 20, "the product card shows no picture"
