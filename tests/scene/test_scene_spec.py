"""A room's scene as an operator writes it (API settings or a room file): defaults, the AI label per
platform, one-line errors, media paths beside the room file, text that fits its box."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamer.avatar.store import load_avatar
from streamer.control.console import parse_line
from streamer.live import CommandError
from streamer.room import load_room_scene
from streamer.scene import text
from streamer.scene.preview import render_preview
from streamer.scene.spec import Scene
from streamer.settings import SettingsError


@pytest.mark.parametrize("platform,language,label", [("douyin", "zh", "AI生成"), ("bilibili", "en", "AI-generated"),
                                                     ("kuaishou", "zh", "AI生成"), ("youtube", "en", ""),
                                                     ("custom", "zh", "")])
def test_the_ai_label_is_on_by_default_where_the_platform_requires_it(platform, language, label):
    assert Scene.from_settings({}, platform, language).ai_label == label
    assert Scene.from_settings({"ai_label": "off"}, platform, language).ai_label == ""
    assert Scene.from_settings({"ai_label": "on", "ai_label_text": "虚拟主播"}, platform, language).ai_label == "虚拟主播"


def test_defaults_show_captions_and_the_product_card_without_music():
    scene = Scene.from_settings(None, None, "en")
    assert scene.captions and scene.product_card and scene.background == "blur"
    assert scene.music is None and scene.logo is None and scene.title is None
    assert scene.cards == {"starting_soon": "Starting soon", "be_right_back": "Be right back"}
    assert Scene.from_settings({}, "douyin", "zh").cards["be_right_back"] == "稍后回来"


@pytest.mark.parametrize("settings,words", [
    ({"caption_style": "shadow"}, "caption_style"),
    ({"caption_box": {"x": 0.5, "y": 0.5, "w": 0.6, "h": 0.1}}, "caption_box"),
    ({"caption_box": {"x": -1}}, "caption_box.x"),
    ({"ai_label": "maybe"}, "ai_label"),
    ({"ai_label_corner": "middle"}, "ai_label_corner"),
    ({"background": {"type": "image"}}, "background.media"),
    ({"title": {"text": "x" * 61}}, "title.text"),
    ({"music": {"playlist": ["a.mp3"], "duck_db": 50}}, "music.duck_db"),
    ({"loudness": 0}, "loudness"),
    ({"cards": {"intermission": "..."}}, "scene.cards"),
])
def test_a_wrong_setting_is_one_line_naming_it(settings, words):
    with pytest.raises(SettingsError) as e:
        Scene.from_settings(settings, "douyin", "zh")
    assert words in str(e.value) and "\n" not in str(e.value)


def test_a_room_file_names_its_media_beside_it(tmp_path, avatars_dir):
    cv2.imwrite(str(tmp_path / "logo.png"), np.full((40, 100, 3), 200, np.uint8))
    (tmp_path / "room.yaml").write_text(
        "platform: bilibili\nsettings:\n  language: zh\n  scene:\n    logo: {media: logo.png}\n"
        "    title: {text: 春茶上新}\n    music: {playlist: [music/loop.ogg]}\n", encoding="utf-8")
    scene = load_room_scene(tmp_path / "room.yaml")
    assert scene.logo.path == tmp_path / "logo.png" and scene.ai_label == "AI生成"
    assert scene.music.playlist == (tmp_path / "music" / "loop.ogg",)
    assert scene.title.text == "春茶上新"
    (tmp_path / "bad.yaml").write_text("scene:\n  logo: {media: missing.png}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="logo: cannot read image missing.png"):
        render_preview(load_room_scene(tmp_path / "bad.yaml"), load_avatar(avatars_dir, "default"), 720, 1280)


def test_text_wraps_chinese_anywhere_and_english_between_words():
    zh = "这款茶叶今天只要五十九块九，三号链接可以直接下单，数量有限先到先得。"
    lines = text.wrap(zh, 40, 400)
    assert len(lines) > 1 and "".join(lines) == zh
    assert all(text.font(40).getlength(line) <= 400 for line in lines)
    en = "Fresh green tea from the spring harvest, picked by hand and dried the same day."
    lines = text.wrap(en, 40, 500)
    assert " ".join(lines) == en and all(text.font(40).getlength(line) <= 500 for line in lines)
    lines, size = text.fit(en * 4, 40, 500, 2)
    assert len(lines) == 2 and lines[-1].endswith("…") and size < 40


def test_the_console_and_the_live_take_cards_and_refuse_unknown_ones():
    assert parse_line("/card soon") == {"type": "card", "card": "starting_soon"}
    assert parse_line("/card off") == {"type": "card", "card": None}
    with pytest.raises(CommandError):
        parse_line("/card later")


def test_a_card_replaces_the_picture_in_the_preview(avatars_dir):
    avatar = load_avatar(avatars_dir, "default")
    scene = Scene.from_settings({}, "douyin", "zh")
    plain = cv2.imdecode(np.frombuffer(render_preview(scene, avatar, 720, 1280), np.uint8), cv2.IMREAD_GRAYSCALE)
    card = cv2.imdecode(np.frombuffer(render_preview(scene, avatar, 720, 1280, card="be_right_back"), np.uint8),
                        cv2.IMREAD_GRAYSCALE)
    assert card.shape == plain.shape == (1280, 720)
    assert card.mean() < plain.mean() * 0.7  # the picture is dimmed under the card's words


def test_a_room_file_whose_title_shows_a_banned_word_is_refused(tmp_path):
    (tmp_path / "room.yaml").write_text("platform: douyin\nscene:\n  title: {text: 全网最低价 今天开抢}\n",
                                        encoding="utf-8")
    with pytest.raises(SettingsError, match="shows banned words: .*最低价"):
        load_room_scene(tmp_path / "room.yaml")
