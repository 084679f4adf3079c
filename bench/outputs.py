"""What a live's outputs cost: the CPU of each extra RTMP destination, of the preview (HLS) and of
the recording (MPEG-TS segments), as a share of one 720p live (all its stages; H.264 encoding is
most of it), and how far the preview runs behind the live. Every output takes the same packets:
nothing is encoded twice. Paced lives (real time), pushed to a local nginx-rtmp. Prints numbers.

    python -m bench.outputs [--seconds 20] [--size 720x1280]
"""
from __future__ import annotations

import argparse
import re
import resource
import threading
import time
from pathlib import Path

from bench.ingest import parametric_ingest
from streamer.build import LiveSpec, Preview, PushTo, RecordSegments, Resources, build_live
from streamer.output.sink import Sink
from streamer.script import parse_script
from streamer.settings import Settings

SCRIPT = {"segments": [{"say": "We measure what each output of a live costs, sentence after sentence."},
                       {"pause": 500}], "loop": 0}


class PacedNull(Sink):
    """Takes the packets and does nothing: the live without any output."""

    def write(self, packet) -> None:
        pass

    def close(self) -> None:
        pass


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(settings: Settings, outputs, seconds: float, watch=None) -> float:
    """CPU seconds of one paced live of `seconds` with `outputs`; `watch(live)` runs beside it."""
    spec = LiveSpec(script=parse_script(SCRIPT), output=outputs, duration=seconds)
    live = build_live(spec, Resources(settings))
    before = cpu_seconds()
    live.start()
    if watch is not None:
        watch(live)
    live.wait()
    return cpu_seconds() - before


def preview_lag(folder: Path, lags: list[float]):
    """Samples, while the live runs, how much media was sent beyond the end of the playlist."""
    def watch(live) -> None:
        def poll() -> None:
            while live.state in ("starting", "live"):
                try:
                    text = (folder / "index.m3u8").read_text()
                except OSError:
                    text = ""
                listed = sum(float(x) for x in re.findall(r"#EXTINF:([0-9.]+)", text))
                first = int(m.group(1)) if (m := re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)) else 0
                sent = live.status()["seconds"]
                if listed:
                    lags.append(sent - (first * 2.0 + listed))  # segments are 2 s (a keyframe every 2 s)
                time.sleep(0.25)
        threading.Thread(target=poll, daemon=True).start()
    return watch


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--size", default="720x1280")
    args = p.parse_args()
    with parametric_ingest("bench.outputs", args.size) as (settings, server, tmp):
        push = [PushTo(server.url(f"bench{i}")) for i in range(3)]
        base = run(settings, lambda _encoder: PacedNull(), args.seconds)
        print(f"outputs of a paced {args.size} live, {args.seconds:g} s (x264 veryfast, parametric, espeak):")
        print(f"  the live alone (no output): {base:.1f} CPU s = {100 * base / args.seconds:.0f} % of a core")
        one = run(settings, push[0], args.seconds)
        print(f"  one RTMP destination:       {100 * (one - base) / base:+5.1f} % of the live")
        for n in (2, 3):
            cpu = run(settings, tuple(push[:n]), args.seconds)
            print(f"  {n} RTMP destinations:        {100 * (cpu - base) / base:+5.1f} % "
                  f"({100 * (cpu - one) / base / (n - 1):+.1f} % each beyond the first)")
        lags: list[float] = []
        cpu = run(settings, (push[0], Preview(tmp / "preview")), args.seconds, preview_lag(tmp / "preview", lags))
        print(f"  + the preview (HLS):        {100 * (cpu - one) / base:+5.1f} %")
        cpu = run(settings, (push[0], RecordSegments(tmp / "recording", 10)), args.seconds)
        print(f"  + the recording (segments): {100 * (cpu - one) / base:+5.1f} %")
        if lags:
            lags.sort()
            print(f"  preview: the newest segment ends {lags[len(lags) // 2]:.1f} s (median; "
                  f"{lags[-1]:.1f} s at most) behind the live sent; a player at the live edge with one 2 s "
                  f"segment buffered runs about {lags[len(lags) // 2] + 2:.1f} s behind")


if __name__ == "__main__":
    main()
