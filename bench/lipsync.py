"""Parametric lipsync cost per frame: rendering the mouth patch, and a whole tick (audio analysis
plus the patch), for the default avatar at its own size and scaled up. A frame lasts 40 ms at
25 fps; bench.pipeline shows this stage next to the others. Prints numbers; it asserts nothing.

    python -m bench.lipsync [--frames 300] [--scales 1,2]
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from streamer.avatar.default import ensure_default_avatar
from streamer.avatar.model import Avatar
from streamer.avatar.store import load_avatar
from streamer.frames import SAMPLES_PER_VIDEO_FRAME, FrameKind, Tick
from streamer.lipsync import create_engine
from tests.helpers.speech import voiced


def scaled(avatar: Avatar, k: float) -> Avatar:
    """`avatar` with its frames and boxes scaled by `k` (the mouth mask is resized where used)."""
    if k == 1:
        return avatar
    frames = [cv2.resize(f, None, fx=k, fy=k, interpolation=cv2.INTER_LINEAR) for f in avatar.frames]
    return dataclasses.replace(avatar, frames=frames, faces=np.round(avatar.faces * k).astype(np.int32),
                               mouths=np.round(avatar.mouths * k).astype(np.int32), actions={})


def render_ms(avatar: Avatar, n: int) -> float:
    """ms per patch of ParametricStream.render, openness and width varying as in speech."""
    stream = create_engine("parametric").open(avatar)
    for i in range(20):
        stream.render(i % len(avatar), 0.5, 0.0)  # builds the per-mouth grids once, as a live's first loop does
    t = time.perf_counter()
    for i in range(n):
        stream.render(i % len(avatar), 0.2 + 0.6 * (i % 7) / 6, float(np.sin(i / 5)))
    return (time.perf_counter() - t) / n * 1000


def tick_ms(avatar: Avatar, n: int) -> tuple[float, float]:
    """(ms per speech tick through push(), share of ticks that made a patch) over synthetic speech."""
    audio, _ = voiced(n * SAMPLES_PER_VIDEO_FRAME / 16000 + 0.04)
    ticks = [Tick(i, audio[i * SAMPLES_PER_VIDEO_FRAME:(i + 1) * SAMPLES_PER_VIDEO_FRAME], FrameKind.SPEECH,
                  avatar.loop_index(i)) for i in range(n)]
    stream = create_engine("parametric").open(avatar)
    for tick in ticks[:len(avatar)]:
        stream.push(tick)  # warm the grids
    stream.reset()
    t = time.perf_counter()
    results = [r for tick in ticks for r in stream.push(tick)]
    elapsed = time.perf_counter() - t
    return elapsed / n * 1000, sum(r.patch is not None for r in results) / n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=300, help="frames timed per measurement")
    p.add_argument("--scales", default="1,2", help="avatar scale factors")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ensure_default_avatar(Path(tmp))
        avatar = load_avatar(Path(tmp), "default")
    print(f"parametric lipsync, default avatar ({len(avatar)} frames), {args.frames} frames per measurement")
    for k in (float(s) for s in args.scales.split(",")):
        a = scaled(avatar, k)
        w, h = a.size
        x1, y1, x2, y2 = a.faces[0]
        render = render_ms(a, args.frames)
        tick, speaking = tick_ms(a, args.frames)
        print(f"\n{w}x{h} avatar (x{k:g}, face {x2 - x1}x{y2 - y1} px):")
        print(f"  {'render (mouth patch)':32s} {render:6.2f} ms/frame  ({1000 / render:7.0f} fps)")
        print(f"  {'speech tick (analysis + patch)':32s} {tick:6.2f} ms/frame  ({1000 / tick:7.0f} fps)"
              f"  {speaking * 100:.0f} % of ticks patched")


if __name__ == "__main__":
    main()
