"""The scene's cost: the compositor's milliseconds a frame with every layer against none, the music
mixer's, and the whole pipeline's frames a second with the full scene (bench.pipeline's run).

    python -m bench.scene [--sizes 720x1280,1920x1080] [--seconds 20]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from bench.pipeline import TEXT, synthesize, ticks, whole_pipeline
from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.store import load_avatar
from streamer.frames import FrameKind, Utterance
from streamer.lipsync import create_engine
from streamer.pipeline.compositor import Canvas
from streamer.scene.mixer import Mixer
from streamer.scene.spec import MusicSpec, Scene
from streamer.selling.products import Product

MUSIC = Path(__file__).parents[1] / "streamer/samples/music/loop.mp3"


def full_scene(folder: Path) -> Scene:
    """Every layer: a background picture, a logo, a title, the AI label, captions, the product card;
    the sample music."""
    back = np.full((1280, 720, 3), (70, 120, 90), np.uint8)
    cv2.circle(back, (360, 640), 300, (200, 210, 230), -1)
    cv2.imwrite(str(folder / "back.jpg"), back)
    logo = np.zeros((100, 260, 4), np.uint8)
    cv2.rectangle(logo, (0, 0), (259, 99), (30, 60, 200, 255), -1)
    cv2.imwrite(str(folder / "logo.png"), logo)
    return Scene.from_settings({"background": {"type": "image", "media": str(folder / "back.jpg")},
                                "logo": {"media": str(folder / "logo.png")}, "ai_label": "on",
                                "title": {"text": "春季新茶 Spring tea"}, "music": {"playlist": [str(MUSIC)]}},
                               "douyin", "zh")


def compositor_ms(avatar, audio, size, scene: Scene, n: int = 400) -> float:
    """Milliseconds a frame of Canvas.render (lip patch, scene layers) over `n` speaking/idle frames."""
    ts = ticks(avatar, audio, n)
    sentences = [s + "." for s in TEXT.split(". ")]
    for i, tick in enumerate(ts):  # a new sentence every 2 s, as a live's captions change
        tick.utterance = Utterance(sentences[i // 50 % len(sentences)]) if tick.kind is FrameKind.SPEECH else None
    stream = create_engine("parametric").open(avatar)
    results = [r for tick in ts for r in stream.push(tick)] + stream.flush()
    canvas = Canvas(avatar, *size, scene, product=Product(id="tea", name="明前龙井", price=59.9, link="3"))
    for i in range(len(avatar)):
        canvas.frame(i)  # warm the cache, as a live does in its first loop
    t = time.perf_counter()
    for tick, patch in results:
        canvas.render(tick, patch)
    return (time.perf_counter() - t) / len(results) * 1000


def mixer_us(audio: np.ndarray, n: int = 1500) -> float:
    """Microseconds a frame of the mixer: the voice levelled, the sample music decoded, ducked, limited."""
    mixer = Mixer(MusicSpec((MUSIC,)), -16)
    mixer.start()
    frames = [audio[i * 640 % (len(audio) - 640):][:640] for i in range(n)]
    spent = 0.0
    try:
        for i, frame in enumerate(frames):
            while mixer.player.playing and mixer.player.buffered < 640:
                time.sleep(0.001)  # a live is paced: the decoder keeps ahead
            t = time.perf_counter()
            mixer.mix(FrameKind.SPEECH if i % 100 < 60 else FrameKind.IDLE, frame)
            spent += time.perf_counter() - t
    finally:
        mixer.close()
    return spent / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="720x1280,1920x1080")
    p.add_argument("--seconds", type=float, default=20.0, help="media seconds per whole-pipeline run")
    args = p.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ensure_default_avatar(folder)
        avatar = load_avatar(folder, "default")
        audio = synthesize()
        bare = Scene(captions=False, product_card=False)
        full = full_scene(folder)
        print("compositor ms a frame (parametric lip patch; captions change every 2 s); whole pipeline fps "
              "(x264 veryfast, TTS replayed)")
        print(f"mixer: {mixer_us(audio):.0f} us a frame (voice levelled, music decoded and ducked, limiter)")
        for size in sizes:
            before, after = compositor_ms(avatar, audio, size, bare), compositor_ms(avatar, audio, size, full)
            fps_bare = whole_pipeline(folder, audio, size, args.seconds, bare)
            fps_full = whole_pipeline(folder, audio, size, args.seconds, full)
            print(f"{size[0]}x{size[1]}: compositor {before:.2f} ms without a scene, {after:.2f} ms with every "
                  f"layer (+{after - before:.2f} ms); pipeline {fps_bare:.1f} fps without, {fps_full:.1f} fps with")


if __name__ == "__main__":
    main()
