"""A soak: one real-time live for an hour (by default), pushed to a local nginx-rtmp and pulled
back by a player in another process. Every minute it prints the live process's memory (RSS), the
frames per wall second over that minute, and how far the player is behind the stream's own clock
(the wall time since its first frame minus the stream time it has got), so that memory that climbs
or sound that drifts over a night shows in an hour. Prints numbers; asserts nothing.

    python -m bench.soak [--minutes 60] [--size 1280x720]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.ingest import parametric_ingest, video_times

SCRIPT = {"segments": [{"say": "A long live: the host speaks, pauses and speaks again, for an hour, while we watch "
                                "its memory and its clock."},
                       {"pause": 1500},
                       {"say": "Every minute the bench notes how much memory the live holds and how far behind "
                               "real time its viewers are."},
                       {"pause": 800}], "loop": 0}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def player(url: str, minutes: float) -> None:
    """Prints, once a second, `wall_since_first stream_since_first frames` for the video of `url`."""
    first: tuple[float, float] | None = None
    frames, last_print = 0, 0.0
    for now, pts in video_times(url, time.monotonic() + minutes * 60 + 30):
        first = first or (now, pts)
        frames += 1
        if now - last_print >= 1.0:
            print(json.dumps([now - first[0], pts - first[1], frames]), flush=True)
            last_print = now


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--play":
        player(sys.argv[2], float(sys.argv[3]))
        return
    from streamer.build import LiveSpec, PushTo, Resources, build_live
    from streamer.script import parse_script

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=60.0)
    p.add_argument("--size", default="1280x720")
    args = p.parse_args()
    with parametric_ingest("bench.soak", args.size) as (settings, server, _):
        url = server.url("soak")
        live = build_live(LiveSpec(script=parse_script(SCRIPT), output=PushTo(url), id="soak",
                                   duration=args.minutes * 60), Resources(settings))
        live.start()
        play = subprocess.Popen([sys.executable, "-m", "bench.soak", "--play", url, str(args.minutes)],
                                stdout=subprocess.PIPE, text=True)
        print(f"soak: one real-time {args.size} live for {args.minutes:g} min (x264 {settings.preset}, "
              f"parametric, espeak); each minute: RSS, frames per wall second, player behind", flush=True)
        start_rss, started = rss_mb(), time.monotonic()
        seen: dict = {}  # the player's latest line (wall, stream time, frames), and where it settled

        def read() -> None:
            for line in play.stdout:
                seen["now"] = wall, stream, _ = json.loads(line)
                if wall >= 5:  # after connecting and nginx's first buffer
                    seen.setdefault("behind0", wall - stream)

        threading.Thread(target=read, daemon=True).start()
        mark: list[float] | None = None
        minute = 0
        rss1 = None  # after the first minute's warm-up (caches, the encoder's buffers)
        while not live.wait(60.0 - (time.monotonic() - started) % 60.0):
            minute += 1
            rss1 = rss1 or rss_mb()
            if "now" not in seen:
                print(f"  {minute:3d} min: RSS {rss_mb():7.1f} MB, the player has nothing yet", flush=True)
                continue
            now = seen["now"]
            behind0 = seen.get("behind0", now[0] - now[1])
            fps = (now[2] - mark[2]) / max(now[0] - mark[0], 1e-6) if mark else now[2] / max(now[0], 1e-6)
            print(f"  {minute:3d} min: RSS {rss_mb():7.1f} MB ({rss_mb() - start_rss:+.1f}), {fps:5.2f} frames/s, "
                  f"player behind {now[0] - now[1] - behind0:+.2f} s", flush=True)
            mark = now
        play.terminate()
        play.wait(timeout=10)
        print(f"end: RSS {rss_mb():.1f} MB, {rss_mb() - (rss1 or start_rss):+.1f} MB since the first minute; media "
              f"{live.status()['seconds']:.0f} s in {time.monotonic() - started:.0f} s of wall time")


if __name__ == "__main__":
    main()
