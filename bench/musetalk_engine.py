"""The MuseTalk engine end to end: avatar preparation (landmarks, face parsing, latents) and
paste-back cost at 1080x1920, and how many 25 fps lives one engine sustains when they all speak
at once (Whisper features + UNet + VAE + paste-back, with
the worker's batcher merging the lives' groups).

On CUDA: MuseTalk's full-size networks with random weights (bench.musetalk_model builds them),
fp16. Without a GPU: the tiny test release; those numbers only show the path runs (and what the
CPU parts cost), not how fast MuseTalk is. Prints numbers; asserts nothing.

    python -m bench.musetalk_engine [--lives 1,2,4] [--seconds 4] [--batch 8]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from bench.musetalk_model import full_size_model
from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.landmarks import landmarker_for
from streamer.avatar.model import Avatar
from streamer.avatar.store import load_avatar
from streamer.pipeline.compositor import Canvas
from streamer.frames import SAMPLES_PER_VIDEO_FRAME, FrameKind, Tick
from streamer.lipsync.musetalk import MuseTalkModel, write_tiny_release
from streamer.lipsync.musetalk import avatar as mt_avatar
from streamer.lipsync.musetalk.engine import MuseTalkEngine
from streamer.lipsync.musetalk.parsing import BiSeNet, FaceParser


def tall_avatar(base: Avatar, folder: Path) -> Avatar:
    """The default avatar scaled onto a 1080x1920 portrait frame: a face as big as a real host's."""
    s, top = 1080 / base.size[0], (1920 - 1080) // 2
    frames = []
    for f in base.frames:
        canvas = np.full((1920, 1080, 3), 40, np.uint8)
        canvas[top:top + 1080] = cv2.resize(f, (1080, 1080), interpolation=cv2.INTER_CUBIC)
        frames.append(canvas)
    shift = np.array([0, top, 0, top], np.float64)
    faces = (base.faces * s + shift).astype(np.int32)
    mouths = (base.mouths * s + shift).astype(np.int32)
    return Avatar("tall", folder, frames, faces, mouths, base.mouth_mask)


def speech(seconds: float, start: int) -> list[Tick]:
    rng = np.random.default_rng(start)
    n = int(seconds * 25)
    t = np.arange(n * SAMPLES_PER_VIDEO_FRAME) / 16000
    audio = (0.2 * np.sin(2 * np.pi * 180 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
             + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    return [Tick(start + i, audio[i * SAMPLES_PER_VIDEO_FRAME:(i + 1) * SAMPLES_PER_VIDEO_FRAME], FrameKind.SPEECH, i % 8)
            for i in range(n)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lives", default="1,2,4", help="comma-separated numbers of lives speaking at once")
    p.add_argument("--seconds", type=float, default=4.0, help="speech per live")
    p.add_argument("--batch", type=int, default=8, help="frames per group (the musetalk_batch setting)")
    p.add_argument("--avatars", type=Path, help="a folder holding the default avatar prepared already (for a "
                   "machine whose OpenCV cannot find faces: opencv 5 lacks CascadeClassifier)")
    args = p.parse_args()
    cuda = torch.cuda.is_available()
    work = Path(tempfile.mkdtemp(prefix="musetalk-bench-"))
    try:
        model = full_size_model(None, None) if cuda else MuseTalkModel.load(write_tiny_release(work / "models"))
        where = torch.cuda.get_device_name(model.device) if cuda else f"CPU, {torch.get_num_threads()} threads"
        print(f"MuseTalk engine, {'FULL' if cuda else 'TINY'} configuration, random weights; device: {where}")
        if not cuda:
            print("note: the TINY test configuration: the model numbers do not predict real speed")
        if args.avatars:
            shutil.copytree(args.avatars, work / "avatars")
        ensure_default_avatar(work / "avatars")
        avatar = tall_avatar(load_avatar(work / "avatars", "default"), work / "avatars" / "tall")
        avatar.frames = avatar.frames[:8]
        avatar.faces, avatar.mouths = avatar.faces[:8], avatar.mouths[:8]
        engine = MuseTalkEngine(model, batch=args.batch)
        data = preparation(avatar, model, work / "models")
        paste(engine, avatar, data)
        throughput(engine, avatar, 1, 2.0, show=False)  # warm-up: CUDA kernels chosen, caches filled
        for lives in (int(n) for n in args.lives.split(",")):
            throughput(engine, avatar, lives, args.seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def preparation(avatar: Avatar, model: MuseTalkModel, models_dir: Path):
    """Avatar preparation with landmarks (dlib) and face parsing (full-size BiSeNet, random
    weights: the speed of the real one), timed per part."""
    landmarker, where = landmarker_for(models_dir)
    torch.manual_seed(0)
    parser = FaceParser(BiSeNet().to(model.device, model.dtype).eval(), model.device, model.dtype)
    n = len(avatar)
    if landmarker is not None:
        t0 = time.perf_counter()
        landmarker.track(avatar.frames, "bench")
        print(f"face landmarks (dlib) at 1080x1920: {1000 * (time.perf_counter() - t0) / n:.1f} ms per frame")
    else:
        print(f"face landmarks: none ({where})")
    boxes = [(int(x1), int(y1), int(x2), int(y2)) for x1, y1, x2, y2 in avatar.faces]
    crops = [f[y1:y2, x1:x2] for f, (x1, y1, x2, y2) in zip(avatar.frames, boxes)]
    parser.labels(crops[:1])  # warm-up
    sync(model)
    t0 = time.perf_counter()
    parser.labels(crops)
    sync(model)
    print(f"face parsing (BiSeNet 512x512): {1000 * (time.perf_counter() - t0) / n:.1f} ms per frame")
    t0 = time.perf_counter()
    data = mt_avatar.prepare(avatar, model, landmarker=landmarker, parser=parser)
    print(f"avatar preparation in all ({n} frames of 1080x1920): {time.perf_counter() - t0:.2f} s")
    return data


def sync(model: MuseTalkModel) -> None:
    if model.device.type == "cuda":
        torch.cuda.synchronize(model.device)


def paste(engine: MuseTalkEngine, avatar: Avatar, data) -> None:
    """Paste-back at 1080x1920: the face into its crop box with its mask, then onto the canvas."""
    stream = engine.open(avatar, realtime=False)
    canvas = Canvas(avatar, 1080, 1920)
    face = np.random.default_rng(0).integers(0, 255, (256, 256, 3), np.uint8)
    x1, y1, x2, y2 = data.crops[0]
    n = 200
    t0 = time.perf_counter()
    for i in range(n):
        canvas.compose(i % 8, stream.patch(i % 8, face))
    took = (time.perf_counter() - t0) / n
    print(f"paste-back at 1080x1920 (crop {x2 - x1}x{y2 - y1}): {1000 * took:.2f} ms per frame "
          f"= {1 / took:.0f} fps on one core")


def throughput(engine: MuseTalkEngine, avatar: Avatar, lives: int, seconds: float, show: bool = True) -> None:
    streams = [engine.open(avatar, realtime=False) for _ in range(lives)]
    batches, frames = engine.batcher.batches, engine.batcher.frames
    done = [0] * lives

    def run(k: int) -> None:
        for tick in speech(seconds, 1000 * k):
            done[k] += len(streams[k].push(tick))
        done[k] += len(streams[k].flush())

    threads = [threading.Thread(target=run, args=(k,)) for k in range(lives)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - t0
    fps = sum(done) / took
    n_batches = engine.batcher.batches - batches
    if show:
        print(f"{lives} live(s) speaking at once: {fps:7.1f} frames/s in all, {fps / lives:6.1f} per live "
              f"(real time is 25) -> sustains {fps / 25:.1f} lives; "
              f"{(engine.batcher.frames - frames) / max(1, n_batches):.1f} frames per model batch")


if __name__ == "__main__":
    main()
