"""The scene as viewers see it: a live pushed to nginx-rtmp and pulled back, its frames read with
Tesseract. Captions show the sentence being heard and vanish at a cut; the AI label is on every
frame when it is on and on none when it is off; the product card shows the price; the scene's
still preview is what the live sends."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pyloudnorm
import pytest
from rapidfuzz import fuzz

from streamer.avatar.store import load_avatar
from streamer.build import PushTo
from streamer.live import CommandError
from streamer.room import RoomPolicy
from streamer.scene.layers import Layers
from streamer.scene.preview import render_preview
from streamer.scene.spec import Scene
from streamer.selling.products import Catalog, Product
from tests.helpers.live import end_live, start_live, utterance_start
from tests.helpers.media import FrameGrabber, read_media
from tests.helpers.ocr import folded, need_tesseract, read_text

W, H = 720, 1280
SAMPLE_MUSIC = Path(__file__).parents[2] / "streamer/samples/music/loop.mp3"
HELLO = "Welcome to the tea shop, everyone."
TEA = "这款茶叶今天特价。"
LONG = ("Fresh green tea from the spring harvest, picked by hand and dried the same day in small batches "
        "by the family that has grown it for three generations.")
SCRIPT = {"segments": [{"pause": 600}, {"product": "tea"}, {"say": HELLO}, {"say": TEA}, {"pause": 600},
                       {"say": LONG}], "loop": 0}
TEA_PRODUCT = Product(id="tea", name="Longjing", price=59.9, link="3")


def _box(x: int, y: int, w: int, h: int) -> tuple[int, int, int, int]:
    return x, y, x + w, y + h


def _label_box(scene: Scene) -> tuple[int, int, int, int]:
    label = Layers(scene, W, H).still()[-1]
    h, w = label.y_plane.shape
    return _box(label.x, label.y, w, h)


def _luma(png: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY)


def _similar(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised correlation of two equal-size grey crops (1: the same picture)."""
    return float(cv2.matchTemplate(a.astype(np.float32), b.astype(np.float32), cv2.TM_CCOEFF_NORMED)[0, 0])


def _words_of(sentence: str, read: str) -> set[str]:
    """The words of `sentence` (three letters or more) that OCR read."""
    words = lambda t: set(re.findall(r"[a-z]{3,}", t.lower()))  # noqa: E731
    return words(sentence) & words(read)


def _during(grabber: FrameGrabber, events, text: str, count: int = 3) -> list[dict]:
    """`count` frames that reached the player well inside the time sentence `text` was on air."""
    start = events.wait(utterance_start(text), 60)
    assert start is not None, f"{text!r} never went on air"
    end = events.wait(lambda k, f: k == "utterance" and f.get("state") == "end" and f["text"] == text, 60,
                      after=start[0])
    assert end is not None
    time.sleep(0.5)
    frames = grabber.between(start[0] + 0.3, end[0] - 0.6)  # the end is said 480 ms after the last word
    assert len(frames) >= count, f"only {len(frames)} frames while {text!r} was heard"
    return [frames[round(i * (len(frames) - 1) / (count - 1))][2] for i in range(count)]


def test_captions_show_the_sentence_heard_and_vanish_at_a_cut_with_the_ai_label_on_every_frame(
        avatars_dir, nginx_rtmp):
    need_tesseract()
    scene = Scene.from_settings({"ai_label": "auto"}, "douyin", "zh")
    assert scene.ai_label == "AI生成"
    boxes = {"caption": _box(*scene.caption_box.pixels(W, H)), "label": _label_box(scene),
             "card": _box(*scene.product_card_box.pixels(W, H))}
    url = nginx_rtmp.url("scene")
    grabber = FrameGrabber(url, boxes)
    grabber.start()
    live, events = start_live(avatars_dir, PushTo(url, connect_for=5), script=SCRIPT, size=(W, H), voice="espeak",
                              catalog=Catalog((TEA_PRODUCT,)), policy=RoomPolicy(interrupt_gap_s=3.0), scene=scene)
    try:
        for crops in _during(grabber, events, HELLO):
            read = read_text(crops["caption"], "eng")
            assert fuzz.ratio(folded(read), folded(HELLO)) >= 80, read
        card = read_text(_during(grabber, events, HELLO, 2)[0]["card"], "eng", scale=2)
        assert "59.9" in card.replace(" ", ""), card
        for crops in _during(grabber, events, TEA):
            read = read_text(crops["caption"], "chi_sim")
            assert fuzz.ratio(folded(read), folded(TEA)) >= 70, read

        start = events.wait(utterance_start(LONG), 60)
        assert start is not None
        time.sleep(1.5)
        live.interrupt()
        cut = events.wait(lambda k, f: k == "cut", 10)
        assert cut is not None
        cut_at = cut[1]["frame"] / 25
        time.sleep(2.0)
        before = grabber.between(cut_at - 0.5, cut_at - 0.1, by="pts")
        after = grabber.between(cut_at + 0.04, cut_at + 1.5, by="pts")
    finally:
        end_live(live)
        grabber.stop()

    assert before and len(_words_of(LONG, read_text(before[-1][2]["caption"], "eng"))) >= 3
    assert len(after) >= 30
    for _, _, crops in after[::6]:
        read = read_text(crops["caption"], "eng")
        assert not _words_of(LONG, read), f"a caption after the cut: {read!r}"

    reference = _luma(render_preview(scene, load_avatar(avatars_dir, "default"), W, H))
    x1, y1, x2, y2 = boxes["label"]
    frames = grabber.frames
    assert len(frames) > 200
    for _, _, crops in frames[::25]:
        assert _similar(crops["label"], reference[y1:y2, x1:x2]) > 0.8
    for _, _, crops in frames[::len(frames) // 3][:3]:
        assert "生成" in folded(read_text(crops["label"], "eng+chi_sim", scale=3))  # "AI" reads as "Al" too


@pytest.mark.parametrize("size", [(W, H)])
def test_the_scene_preview_is_what_the_live_sends_and_no_ai_label_when_off(avatars_dir, nginx_rtmp, tmp_path, size):
    logo = np.zeros((120, 300, 4), np.uint8)
    cv2.rectangle(logo, (10, 10), (290, 110), (40, 90, 220, 255), -1)
    cv2.putText(logo, "TEA", (70, 90), cv2.FONT_HERSHEY_SIMPLEX, 2.6, (255, 255, 255, 255), 6)
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    back = np.zeros((640, 360, 3), np.uint8)
    back[:] = (60, 140, 60)
    cv2.circle(back, (180, 320), 140, (200, 220, 240), -1)
    cv2.imwrite(str(tmp_path / "back.jpg"), back)
    settings = {"ai_label": "off", "background": {"type": "image", "media": str(tmp_path / "back.jpg")},
                "logo": {"media": str(tmp_path / "logo.png"), "box": {"x": 0.05, "y": 0.03, "w": 0.3, "h": 0.07}},
                "title": {"text": "Spring tea 春茶上新", "box": {"x": 0.05, "y": 0.12, "w": 0.9, "h": 0.06}}}
    scene = Scene.from_settings(settings, "douyin", "zh")
    labelled = Scene.from_settings({**settings, "ai_label": "on"}, "douyin", "zh")
    avatar = load_avatar(avatars_dir, "default")
    preview = _luma(render_preview(scene, avatar, W, H))
    other = _luma(render_preview(Scene.from_settings({**settings, "title": None}, "douyin", "zh"), avatar, W, H))
    label_ref = _luma(render_preview(labelled, avatar, W, H))
    x1, y1, x2, y2 = label_box = _label_box(labelled)

    url = nginx_rtmp.url("preview")
    grabber = FrameGrabber(url, {"label": label_box, "card": (40, 440, 680, 840)}, keep_bgr=1)
    grabber.start()
    live, events = start_live(avatars_dir, PushTo(url, connect_for=5), script={"segments": [
        {"pause": 1500}, {"say": "Hello and welcome."}], "loop": 0}, size=(W, H), scene=scene)
    try:
        assert events.wait(utterance_start("Hello and welcome."), 60)
        with pytest.raises(CommandError):
            live.apply({"type": "card", "card": "intermission"})
        shown = time.time()
        live.apply({"type": "card", "card": "be_right_back"})
        assert live.status()["scene"]["card"] == "be_right_back"
        time.sleep(2)
        carded = grabber.between(shown + 0.5, shown + 2)
    finally:
        end_live(live)
        grabber.stop()
    assert grabber.bgr and grabber.bgr[0][0] < 0.5, "the player missed the live's first frames"
    sent = cv2.cvtColor(grabber.bgr[0][1], cv2.COLOR_BGR2GRAY).astype(np.float32)

    def psnr(a: np.ndarray) -> float:
        return float(cv2.PSNR(a.astype(np.float32), sent, 255.0))
    assert psnr(preview) > 30, psnr(preview)
    title = slice(int(0.12 * H), int(0.18 * H))
    assert np.abs(preview[title] - sent[title]).mean() < np.abs(other[title] - sent[title]).mean() / 3
    for _, _, crops in grabber.frames[::10]:
        assert _similar(crops["label"], label_ref[y1:y2, x1:x2]) < 0.5
    assert carded and folded(read_text(carded[-1][2]["card"], "chi_sim")) == "稍后回来"


def test_the_music_is_heard_in_the_pauses_and_the_mix_pulled_back_is_at_the_rooms_loudness(avatars_dir, nginx_rtmp):
    scene = Scene.from_settings({"music": {"playlist": [str(SAMPLE_MUSIC)]}, "loudness": -16})
    url = nginx_rtmp.url("music")
    pulled: list = []
    player = threading.Thread(target=lambda: pulled.append(read_media(url, decode=True)), daemon=True)
    player.start()
    words = ["Welcome to the tea shop, everyone.", "This spring tea was picked by hand last week.",
             "Ask me anything about it in the comments."]
    live, events = start_live(avatars_dir, PushTo(url, connect_for=5), script={"segments": [
        {"pause": 2000}, *({"say": w} for w in words), {"pause": 2000}, *({"say": w} for w in words)], "loop": 1},
        size=(W, H), scene=scene)
    try:
        assert events.wait(utterance_start(words[0]), 60)
        music = live.status()["scene"]["music"]
        assert music["tracks"] == 1 and music["playing"] and music["errors"] == 0
        assert live.wait(120)
    finally:
        end_live(live)
        player.join(30)
    media = pulled[0]
    x = np.concatenate(media.channels, axis=1)  # the voice in both ears: loudness counts both channels
    assert x.shape[0] == 2 and np.max(np.abs(x)) < 1.0
    assert media.rms_at(0.3, 1.7) > 0.005, "no music in the opening pause"
    loudness = pyloudnorm.Meter(media.audio_rate).integrated_loudness(x.T.astype(np.float64))
    assert abs(loudness - -16) <= 2, f"the live was heard at {loudness:.1f} LUFS"
