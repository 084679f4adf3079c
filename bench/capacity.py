"""How many real-time lives one machine holds: N paced lives at once, each pushed to a local
nginx-rtmp and pulled back by a player in another process, which says how many frames it got per
wall second and how far it fell behind the stream's own clock. Also where the CPU went, by thread.

    python -m bench.capacity [--lives 1,2,3,4] [--seconds 40] [--size 1280x720] [--mode thread|process]
                             [--avatar default|live2d]

`--mode thread` runs every live in this process as threads, sharing engines and avatars, as
`livehost worker` does; `process` runs each live in a process of its own, for comparison (what
the lives' Python stages lose to sharing one interpreter lock). `--avatar live2d`: Haru, a Cubism
model rendered headless (Mesa's llvmpipe without a GPU), instead of the default photo avatar.
A player is "behind" by the wall time since its first frame minus the stream time it has got
since; the drift is how much that grew after the first 5 s. Prints numbers; asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.ingest import local_ingest, video_times

WARMUP_S = 5.0  # the first seconds of a player: connecting, the first keyframe, nginx's buffer


# -- the player -----------------------------------------------------------------------------------

def pull(url: str, seconds: float, out: dict) -> None:
    """Read `url` for `seconds` (demux only: no decoding) and note each video packet's wall time
    and stream time."""
    out[url] = list(video_times(url, time.monotonic() + seconds, once=True))


def player_main(urls: list[str], seconds: float) -> None:
    got: dict = {}
    threads = [threading.Thread(target=pull, args=(u, seconds, got), daemon=True) for u in urls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump(got, sys.stdout)


def player_numbers(marks: list[tuple[float, float]]) -> dict:
    """Frames per wall second after the warm-up, and how far behind the player drifted."""
    if len(marks) < 2:
        return {"fps": 0.0, "drift": float("inf"), "behind": float("inf")}
    wall0, pts0 = marks[0]
    behind = [(w - wall0) - (p - pts0) for w, p in marks]
    start = next((i for i, (w, _) in enumerate(marks) if w - wall0 >= WARMUP_S), len(marks) - 1)
    span = marks[-1][0] - marks[start][0]
    fps = (len(marks) - 1 - start) / span if span > 0 else 0.0
    settled = min(behind[start:start + 25] or [behind[start]])
    return {"fps": fps, "drift": max(behind[start:]) - settled, "behind": behind[-1] - settled}


# -- the lives ------------------------------------------------------------------------------------

SCRIPT = {"segments": [{"say": "We measure how many lives one machine holds, sentence after sentence, in real "
                                "time, with the viewers pulling every one of them."},
                       {"pause": 400}], "loop": 0}


def thread_cpu() -> dict[str, float]:
    """CPU seconds of this process's threads so far, by Python thread name ('native' for the
    codecs' own threads)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu = (int(fields[11]) + int(fields[12])) / tick
        name = names.get(int(tid), "native (x264, FFmpeg)")
        name = "live-N" if name.startswith("live-") else name
        out[name] = out.get(name, 0.0) + cpu
    return out


def run_lives(urls: list[str], settings_kw: dict, seconds: float, report: dict | None = None) -> None:
    """Run one paced live per URL in this process (threads), sharing the engines and avatars."""
    from streamer.build import LiveSpec, PushTo, Resources, build_live
    from streamer.script import parse_script
    from streamer.settings import Settings

    settings_kw = dict(settings_kw)
    avatar = settings_kw.pop("avatar")
    resources = Resources(Settings(**settings_kw))
    lives = [build_live(LiveSpec(script=parse_script(SCRIPT), output=PushTo(u), id=f"bench{i}", duration=seconds,
                                 avatar=avatar), resources) for i, u in enumerate(urls)]
    for live in lives:
        live.start()
    time.sleep(max(seconds - 2, 1))
    if report is not None:
        report.update(thread_cpu())
    for live in lives:
        live.wait()


def one_live_process(url: str, settings_kw: dict, seconds: float) -> None:
    run_lives([url], settings_kw, seconds)


def measure(n: int, mode: str, server, settings_kw: dict, seconds: float) -> None:
    urls = [server.url(f"cap{n}-{i}") for i in range(n)]
    player = subprocess.Popen([sys.executable, "-m", "bench.capacity", "--play", str(seconds + 3), *urls],
                              stdout=subprocess.PIPE, text=True)
    cpu0 = os.times()
    report: dict = {}
    if mode == "thread":
        run_lives(urls, settings_kw, seconds, report)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=one_live_process, args=(u, settings_kw, seconds)) for u in urls]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
    cpu1 = os.times()
    out, _ = player.communicate(timeout=seconds + 60)
    marks = json.loads(out or "{}")
    per = [player_numbers(marks.get(u, [])) for u in urls]
    used = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system) + (cpu1.children_user - cpu0.children_user) \
        + (cpu1.children_system - cpu0.children_system)
    held = sum(1 for p in per if p["fps"] >= 24.5 and p["drift"] <= 0.5)
    fps = " ".join(f"{p['fps']:.1f}" for p in per)
    drift = " ".join(f"{p['drift']:.2f}" for p in per)
    print(f"  {n} live(s): frames per wall second {fps}; players drifted {drift} s behind; "
          f"{held}/{n} held real time; CPU {100 * used / seconds / n:.0f} % of a core per live")
    if report:
        total = sum(report.values()) or 1.0
        top = sorted(report.items(), key=lambda kv: -kv[1])[:8]
        print("    CPU by thread: " + ", ".join(f"{name} {100 * cpu / total:.0f} %" for name, cpu in top))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--play":
        player_main(sys.argv[3:], float(sys.argv[2]))
        return
    from streamer.avatar.default import ensure_default_avatar

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lives", default="1,2,3,4", help="how many lives at once, comma-separated")
    p.add_argument("--seconds", type=float, default=40.0)
    p.add_argument("--size", default="1280x720")
    p.add_argument("--mode", choices=("thread", "process"), default="thread")
    p.add_argument("--preset", default="veryfast")
    p.add_argument("--avatar", choices=("default", "live2d"), default="default")
    args = p.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings_kw = dict(width=width, height=height, avatars_dir=str(tmp / "avatars"), lipsync="parametric",
                           voice="espeak:en", preset=args.preset, avatar="default")
        ensure_default_avatar(tmp / "avatars")
        if args.avatar == "live2d":
            from streamer.avatar.live2d import prepare_live2d
            from tests.helpers.live2d import haru_model

            prepare_live2d(haru_model(), "haru", tmp / "avatars")
            settings_kw["avatar"] = "haru"  # its lipsync is the model's own mouth
        with local_ingest("bench.capacity", tmp) as server:
            print(f"real-time {width}x{height} lives of the {args.avatar} avatar on {os.cpu_count()} cores, each in "
                  f"its own {args.mode}, {args.seconds:g} s (x264 {args.preset}, espeak):")
            for n in (int(v) for v in args.lives.split(",")):
                measure(n, args.mode, server, settings_kw, args.seconds)


if __name__ == "__main__":
    main()
