"""Pipeline throughput with pacing off: the whole chain and each stage, at 720p and 1080p.

TTS is excluded (the speech is synthesized once before timing and replayed); the parametric
engine and x264 `veryfast` are used. Prints numbers; it asserts nothing.

    python -m bench.pipeline [--seconds 20] [--sizes 1280x720,1920x1080]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.store import load_avatar
from streamer.build import LiveSpec, Resources, build_live
from streamer.frames import SAMPLES_PER_VIDEO_FRAME, FrameKind, Tick
from streamer.lipsync import create_engine
from streamer.output.sink import Sink
from streamer.pipeline.compositor import Canvas
from streamer.pipeline.encoder import Encoder
from streamer.scene.spec import Scene
from streamer.script import parse_script
from streamer.settings import Settings
from streamer.voice import create_voice
from streamer.voice.base import Voice

TEXT = ("Welcome to the live room. Today I will show you three products, and answer your questions "
        "as they come. Let us start with the first one, which many of you asked about yesterday.")


class ReplayVoice(Voice):
    """Speaks pre-synthesized audio, so TTS costs nothing during timing."""

    def __init__(self, audio: np.ndarray):
        self.audio = audio

    def stream(self, text, cancel=None):
        for i in range(0, len(self.audio), 3200):
            yield self.audio[i:i + 3200]


class NullSink(Sink):
    realtime = False

    def __init__(self):
        self.packets = 0

    def write(self, packet):
        self.packets += 1

    def close(self):
        pass


def synthesize() -> np.ndarray:
    voice = create_voice("espeak:en")
    return np.concatenate(list(voice.stream(TEXT)))


def whole_pipeline(avatars_dir, audio, size, seconds, scene: Scene = Scene()) -> float:
    w, h = size
    settings = Settings(width=w, height=h, avatars_dir=avatars_dir, lipsync="parametric")
    script = parse_script({"segments": [{"say": TEXT}, {"pause": 400}], "loop": 0})
    spec = LiveSpec(script=script, output=lambda _encoder: NullSink(), duration=seconds, realtime=False, scene=scene)
    live = build_live(spec, Resources(settings, make_voice=lambda _: ReplayVoice(audio)))
    t = time.perf_counter()
    live.start()
    live.wait()
    return live.output.frames / (time.perf_counter() - t)


def ticks(avatar, audio, n):
    out = []
    for i in range(n):
        chunk = audio[(i * SAMPLES_PER_VIDEO_FRAME) % (len(audio) - SAMPLES_PER_VIDEO_FRAME):][:SAMPLES_PER_VIDEO_FRAME]
        speaking = float(np.sqrt(np.mean(chunk ** 2))) > 0.01
        out.append(Tick(i, chunk.astype(np.float32), FrameKind.SPEECH if speaking else FrameKind.IDLE, avatar.loop_index(i)))
    return out


def per_stage(avatar, audio, size, n=300) -> dict[str, float]:
    w, h = size
    ts = ticks(avatar, audio, n)
    stream = create_engine("parametric").open(avatar)
    t = time.perf_counter()
    results = [r for tick in ts for r in stream.push(tick)] + stream.flush()
    lipsync = (time.perf_counter() - t) / n
    canvas = Canvas(avatar, w, h)
    for i in range(len(avatar)):
        canvas.frame(i)  # warm the cache, as a live does in its first loop
    t = time.perf_counter()
    for tick, patch in results:
        canvas.compose(tick.avatar_index, patch)  # dropped at once, as the pipeline does
    compositor = (time.perf_counter() - t) / n
    ring = [canvas.compose(tick.avatar_index, patch) for tick, patch in results[:50]]
    bgr = np.ascontiguousarray(cv2.resize(avatar.frames[0], (w, h)))
    t = time.perf_counter()
    for _ in range(50):
        cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    cv_convert = (time.perf_counter() - t) / 50
    t = time.perf_counter()
    for _ in range(20):
        av.VideoFrame.from_ndarray(bgr, format="bgr24").reformat(format="yuv420p")
    av_convert = (time.perf_counter() - t) / 20
    encoder = Encoder(Settings(width=w, height=h))
    t = time.perf_counter()
    for i, tick in enumerate(ts):
        encoder.encode(tick.index, ring[i % len(ring)], tick.audio)
    encode = (time.perf_counter() - t) / n
    audio_only = Encoder(Settings(width=w, height=h))
    t = time.perf_counter()
    for tick in ts:
        audio_only.encode_audio(tick.index, tick.audio)
    aac = (time.perf_counter() - t) / n
    speaking = sum(1 for tick, patch in results if patch is not None)
    return {"lipsync": lipsync, "compositor": compositor, "cv2 BGR->I420 (full frame)": cv_convert,
            "PyAV reformat (for comparison)": av_convert, "encode H.264+AAC": encode,
            "of which AAC": aac,
            "speaking frames": speaking / n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0, help="media seconds per whole-pipeline run")
    p.add_argument("--sizes", default="1280x720,1920x1080")
    args = p.parse_args()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        avatars = Path(tmp)
        ensure_default_avatar(avatars)
        avatar = load_avatar(avatars, "default")
        audio = synthesize()
        print(f"avatar {avatar.size[0]}x{avatar.size[1]}, {len(avatar)} frames; "
              f"speech {len(audio) / 16000:.1f} s replayed; parametric lipsync; x264 veryfast")
        for size in sizes:
            fps = whole_pipeline(avatars, audio, size, args.seconds)
            stages = per_stage(avatar, audio, size)
            print(f"\n{size[0]}x{size[1]}: whole pipeline {fps:6.1f} fps ({fps / 25:.1f}x real time)")
            for name, value in stages.items():
                if name == "speaking frames":
                    print(f"  {name:32s} {value * 100:6.0f} %")
                else:
                    print(f"  {name:32s} {value * 1000:6.2f} ms/frame  ({1 / value:7.0f} fps)")


if __name__ == "__main__":
    main()
