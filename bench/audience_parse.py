"""How many audience events one platform adapter reads per second on one core, from frames as the
platform sends them.

  * bilibili: danmaku-socket frames of a busy room (--batch commands per frame, DANMU_MSG mostly,
    one in ten a gift, as FakeBilibili builds them), brotli (what the web player asks for), zlib
    (the open platform's) and plain; decode() alone, then decode() + to_events() (the whole of
    the adapter's work but the hand-off to on_event)

Prints numbers; asserts nothing; needs nothing but the project's dependencies.

    python -m bench.audience_parse [--seconds 2] [--batch 20] [--frames 200]
"""
from __future__ import annotations

import argparse
import random
import time

from streamer.audience.bilibili_wire import Packet, decode, to_events
from tests.fakes import bilibili_server as bili

WORDS = ["主播", "这个", "多少钱", "怎么买", "好看", "哈哈哈哈", "来了", "求链接", "有没有优惠", "尺码", "发货",
         "晚上好", "what", "price", "?", "！", "666", "上车", "支持一下", "讲讲材质"]


def busy_room(rng: random.Random, count: int) -> list[dict]:
    """`count` commands of a busy room: nine danmaku in ten, the rest gifts, names and lengths varied."""
    commands = []
    for _ in range(count):
        uid = rng.randrange(10_000, 3_000_000_000)
        name = f"观众{rng.randrange(100_000)}" if rng.random() < 0.9 else "用户***"
        if rng.random() < 0.9:
            text = "".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 8)))
            commands.append(bili.danmaku(text, uid=uid, uname=name))
        else:
            commands.append(bili.gift(rng.choice(["小花花", "辣条", "人气票", "小心心"]), rng.randrange(1, 10),
                                      rng.choice([100, 1000, 5200]), uid=uid, uname=name))
    return commands


def measure(frames: list[bytes], seconds: float, with_events: bool) -> tuple[float, int, int, int]:
    """(CPU s, frames, packets, events) of reading `frames` round and round for ~`seconds` of CPU:
    the process's own time, so that other work on the machine does not count against it."""
    done = packets = events = 0
    start = time.process_time()
    deadline = start + seconds
    while time.process_time() < deadline:
        for frame in frames:
            for packet in decode(frame):
                packets += 1
                if with_events and isinstance(packet, Packet):
                    events += len(to_events(packet.body))
        done += len(frames)
    return time.process_time() - start, done, packets, events


def bench_bilibili(seconds: float, batch: int, count: int) -> None:
    rng = random.Random(7)
    batches = [busy_room(rng, batch) for _ in range(count)]
    print(f"bilibili: {count} frames of {batch} commands (9 danmaku : 1 gift), {seconds:g} CPU s each, one core")
    for compression in ("brotli", "zlib", "none"):
        frames = [bili.pack_commands(commands, compression) for commands in batches]
        size = sum(len(f) for f in frames) / len(frames)
        elapsed, done, packets, _ = measure(frames, seconds, with_events=False)
        print(f"  {compression:<7} {size:7.0f} B/frame   decode           {packets / elapsed:10,.0f} packets/s   "
              f"{done / elapsed:8,.0f} frames/s")
        elapsed, done, _, events = measure(frames, seconds, with_events=True)
        print(f"  {compression:<7} {'':>7}            decode+events    {events / elapsed:10,.0f} events/s    "
              f"{1e6 * elapsed / max(events, 1):6.1f} us/event")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--batch", type=int, default=20, help="commands per frame")
    parser.add_argument("--frames", type=int, default=200, help="distinct frames to cycle through")
    args = parser.parse_args()
    bench_bilibili(args.seconds, args.batch, args.frames)


if __name__ == "__main__":
    main()
