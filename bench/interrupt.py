"""Interrupt latency and reply latency of a real live: pushed to nginx-rtmp, pulled back by a
low-latency player, commands sent over Redis (the in-process bus if Redis is not reachable).

  * interrupt -> first silent frame out of the encoder (the session's own measurement)
  * interrupt -> first silent audio at the RTMP player (wall clock), and in stream time
  * comment -> first reply audio at the player, with a fake LLM whose first token takes 300 ms

Prints numbers; asserts nothing. Needs nginx with the RTMP module.

    python -m bench.interrupt [--interrupts 50] [--comments 20] [--size 720x1280]
"""
from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import redis

from streamer.avatar.default import ensure_default_avatar
from streamer.build import PushTo
from streamer.control.bus import MemoryBus
from streamer.control.link import connect_redis, stream_time
from streamer.llm import LlmReplier, LlmSettings
from streamer.room import RoomPolicy
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.live import end_live, start_live, utterance_start
from tests.helpers.media import Player
from tests.helpers.servers import REDIS_URL, NginxRtmp, nginx_binary, rtmp_module

SCRIPT = {"segments": [
    {"say": "Welcome back to the shop, where we talk about every product in detail and take our time."},
    {"say": "This sentence is here so that there is always something long to say when you cut me off."},
], "loop": 0}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def line(name: str, values: list[float], unit: str = "ms") -> None:
    print(f"  {name:<58} p50 {pct(values, 50):6.0f} {unit}   p95 {pct(values, 95):6.0f} {unit}   "
          f"max {max(values) if values else float('nan'):6.0f} {unit}   n={len(values)}")


def bus_for_bench():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        return connect_redis(REDIS_URL), f"Redis {REDIS_URL}"
    except redis.RedisError:
        return MemoryBus(), "in-process bus (Redis not reachable)"


def run(interrupts: int, comments: int, width: int, height: int) -> None:
    nginx, module = nginx_binary(), rtmp_module()
    if module is None or nginx is None:
        raise SystemExit("bench.interrupt needs nginx with the RTMP module (apt-get install nginx libnginx-mod-rtmp)")
    bus, bus_name = bus_for_bench()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(reply="Thanks for asking. It is nine dollars.",
                                                           first_token_delay=0.3, token_delay=0.01) as fake:
        avatars = Path(tmp) / "avatars"
        ensure_default_avatar(avatars)
        server = NginxRtmp(Path(tmp) / "nginx", module, nginx)
        server.start()
        url = server.url("bench")
        player = Player(url)
        player.start()
        replier = LlmReplier(LlmSettings(base_url=fake.base_url, model="fake", timeout_s=5))
        session, events = start_live(avatars, PushTo(url), replier=replier, bus=bus,
                                     policy=RoomPolicy(interrupt_gap_s=0.3), script=SCRIPT, size=(width, height))
        print(f"interrupt bench: {width}x{height}, espeak, parametric lipsync, commands over {bus_name}")
        rng = random.Random(1)
        cuts: list[float] = []
        for i in range(interrupts + comments):
            started = events.wait(utterance_start(source="script"), 15, after=time.time())
            if started is None:
                raise SystemExit("the host stopped speaking; giving up")
            time.sleep(0.8 + rng.random())
            if i < interrupts:
                cuts.append(stream_time(bus.send(session.id, {"type": "interrupt"})))
            else:
                cuts.append(stream_time(bus.send(session.id, {"type": "comment", "text": f"question {i}?",
                                                              "comment_id": i, "interrupt": True})))
                events.wait(lambda k, f, i=i: k == "reply" and f.get("comment_id") == i, 10)
        time.sleep(1.5)
        end_live(session)
        player.stop()
        server.stop()

    encoder_ms = [f["latency_ms"] for _, f in events.of("cut")]
    on_air_ms = []
    for i in range(interrupts, len(cuts)):
        first = events.of("utterance", state="start", reply_to=i)
        if first:
            on_air_ms.append((first[0][0] - cuts[i]) * 1000)
    wall_ms, stream_ms, reply_ms = [], [], []
    for i, sent in enumerate(cuts):
        heard = player.stream_time_at(sent)
        quiet = player.silence_from(heard - 0.3, hold=0.2)
        if quiet is None:
            continue
        stream_ms.append(max(0.0, quiet - heard) * 1000)
        arrived = player.arrival_of(quiet)
        if arrived is not None:
            wall_ms.append((arrived - sent) * 1000)
        if i >= interrupts:
            loud = player.loud_from(quiet + 0.1)
            got = player.arrival_of(loud) if loud is not None else None
            if got is not None:
                reply_ms.append((got - sent) * 1000)
    print(f"{interrupts} interrupts + {comments} interrupting comments:")
    line("command -> first silent frame out of the encoder", encoder_ms)
    line("command -> first silent audio at the RTMP player (wall)", wall_ms)
    line("speech heard after the command (stream time)", stream_ms)
    line("comment -> first reply frame into the encoder", on_air_ms)
    line("comment -> first reply audio at the player (LLM 1st token 300 ms)", reply_ms)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interrupts", type=int, default=50)
    ap.add_argument("--comments", type=int, default=20)
    ap.add_argument("--size", default="720x1280")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    w, h = (int(v) for v in args.size.split("x"))
    run(args.interrupts, args.comments, w, h)


if __name__ == "__main__":
    main()
