"""Live2D avatars' cost on this machine: a real Cubism model (Haru, from npm; fetched once) rendered
headless (EGL; Mesa's llvmpipe without a GPU) at 540x960 (scaled to the 720x1280 canvas), per frame: the model drawn and read back,
the colours kept premultiplied, then the compositor placing it over the background; and a whole live
of it encoded as fast as it goes (x264 veryfast, as a live's encoder).

Prints numbers; asserts nothing.

    python -m bench.live2d [--frames 250]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from streamer.avatar.live2d import prepare_live2d
from streamer.avatar.store import load_avatar
from streamer.frames import FrameKind, Tick
from streamer.lipsync.live2d import Live2DEngine
from streamer.pipeline.compositor import Canvas
from tests.helpers.live2d import haru_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=250)
    args = parser.parse_args()
    avatars = Path(tempfile.mkdtemp(prefix="bench-live2d-"))
    prepare_live2d(haru_model(), "haru", avatars)
    avatar = load_avatar(avatars, "haru")
    canvas = Canvas(avatar, 720, 1280)
    t = np.arange(640) / 16000
    speech = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    times: dict[str, list[float]] = {"render": [], "compose": []}

    def run() -> None:
        stream = Live2DEngine().open(avatar)
        stream.push(Tick(0, speech, FrameKind.SPEECH, 0))  # the context and the model: once a live
        renderer = stream.model.screen.renderer
        for i in range(args.frames):
            t0 = time.perf_counter()
            (frame,) = stream.push(Tick(i, speech if i % 50 < 30 else speech * 0, FrameKind.SPEECH, 0))
            t1 = time.perf_counter()
            canvas.compose(0, frame.patch)
            t2 = time.perf_counter()
            times["render"].append(t1 - t0)
            times["compose"].append(t2 - t1)
        stream.close()
        times["renderer"] = renderer

    th = threading.Thread(target=run)
    th.start()
    th.join()
    render, compose = statistics.median(times["render"]) * 1000, statistics.median(times["compose"]) * 1000
    print(f"renderer: {times['renderer']}")
    print(f"540x960, one thread: model drawn, read back and converted {render:.1f} ms, "
          f"composited {compose:.1f} ms a frame: {1000 / (render + compose):.0f} fps of pictures")
    script = avatars / "script.yaml"
    script.write_text("segments:\n  - say: Hello everyone and welcome to the live room. Today we look at three "
                      "new phones, and I answer your questions as we go.\n  - pause: 1000\nloop: 0\n")
    def live(seconds: int) -> tuple[float, float] | None:
        """(wall seconds, CPU seconds) of a whole live of `seconds` made as fast as it goes, start-up included."""
        t0, cpu0 = time.monotonic(), _children_cpu()
        done = subprocess.run([sys.executable, "-m", "livehost", "demo", "--avatar", "haru", "--record",
                               str(avatars / f"live-{seconds}.mp4"), "--duration", str(seconds), "--no-pace",
                               "--script", str(script), "--voice", "espeak:en"],
                              env={"LIVEHOST_AVATARS_DIR": str(avatars), "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"whole live: failed: {done.stderr[-500:]}")
            return None
        return time.monotonic() - t0, _children_cpu() - cpu0

    short, long = live(5), live(25)
    if short is not None and long is not None:
        fps = 20 * 25 / (long[0] - short[0])  # the 20 s more of the longer live: start-up cancels out
        cpu = (long[1] - short[1]) / 20
        print(f"whole live (lipsync, compositor, x264 veryfast, AAC) made as fast as it goes: 25 s in {long[0]:.1f} s "
              f"wall, start-up included; past the start-up {fps:.1f} fps ({fps / 25:.2f}x real time), "
              f"{cpu:.2f} CPU-seconds a second of live (of {os.cpu_count()} cores)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

if __name__ == "__main__":
    main()
