"""A flood of danmaku: 50 comments a second for a minute from the fake Bilibili server into a live
pushed to nginx-rtmp and pulled back. The live keeps 25 frames a second of stream time in real
time, the host answers no more than the room allows, the queue and the memory stay bounded, and
every comment is accounted for (answered, waiting, skipped or dropped, and counted)."""
from __future__ import annotations

import random
import threading
import time

import pytest

from streamer.audience import SourceSpec
from streamer.build import PushTo
from streamer.room import RoomPolicy
from tests.fakes.bilibili_server import FakeBilibili, danmaku
from tests.helpers.live import end_live, start_live
from tests.helpers.media import Player

RATE, SECONDS = 50, 60
WORDS = ("tea price ship colour size green black cup gift box stock today sale free fast slow warm cold "
         "sweet leaf spring pot brew water hot iced blend jasmine oolong red white milk honey lemon mint "
         "bag tin loose fresh aged smoky floral fruity bitter smooth strong light dark morning evening").split()
QUEUE, PER_MINUTE = 20, 6


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


@pytest.mark.slow
def test_fifty_comments_a_second_for_a_minute_keep_the_live_real_time_and_everything_bounded(nginx_rtmp, avatars_dir):
    url = nginx_rtmp.url("flood")
    player = Player(url, probe_s=0.5)  # both streams, whichever packet comes first
    player.start()
    policy = RoomPolicy.from_settings({"audience": {"queue_size": QUEUE, "replies_per_minute": PER_MINUTE}})
    rng = random.Random(13)
    with FakeBilibili() as fake:
        live, events = start_live(avatars_dir, PushTo(url), policy=policy, sources=[SourceSpec("bilibili", "1")],
                                  bilibili_api_base=fake.api_base)
        assert fake.wait_for_clients(1, timeout=15)
        time.sleep(2.0)
        queued, rss = [], []
        stop = threading.Event()

        def watch():
            while not stop.wait(1.0):
                queued.append(live.status()["audience"]["queued"])
                rss.append(rss_mb())
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        start = time.monotonic()
        heard_at_start = player.stream_time_at(time.time())
        sent = 0
        for tick in range(SECONDS * 10):  # five comments every 100 ms, packed in one brotli frame
            batch = [danmaku(" ".join(rng.choice(WORDS) for _ in range(6)) + rng.choice(("?", "!", "")),
                             uid=10_000 + sent + i, uname=f"viewer{sent + i}") for i in range(RATE // 10)]
            fake.send(*batch, compression="brotli")
            sent += len(batch)
            time.sleep(max(0.0, start + (tick + 1) / 10 - time.monotonic()))
        wall = time.monotonic() - start
        heard_at_end = player.stream_time_at(time.time())
        time.sleep(1.0)
        stop.set()
        watcher.join()
        status = live.status()
        end_live(live)
    player.stop()

    crowd = status["audience"]
    assert sent == RATE * SECONDS and crowd["sources"][0]["events"] == sent and crowd["received"] == sent
    # Real time: the player heard a minute of stream in a minute of wall clock, 25 frames a second.
    assert heard_at_end - heard_at_start >= wall - 1.0, \
        f"the live fell behind: {heard_at_end - heard_at_start:.1f} s of stream in {wall:.1f} s"
    pts = [t for _, t, _ in player.video]
    assert max(b - a for a, b in zip(pts, pts[1:])) < 0.05
    assert len([t for t in pts if heard_at_start <= t < heard_at_end]) >= 25 * (wall - 1.0)
    # Replies within the room's limit: at most PER_MINUTE handed out in any minute (two minutes at most here).
    answering = sorted(t for t, f in events.of("audience_action", action="answering"))
    assert 1 <= len(answering) <= 2 * PER_MINUTE
    assert all(answering[i + PER_MINUTE] - answering[i] >= 59.0 for i in range(len(answering) - PER_MINUTE))
    # Bounded: the queue never passed its size, drops are counted, every comment is accounted for.
    assert max(queued) <= QUEUE and crowd["dropped"] > 0
    assert crowd["answered"] + crowd["skipped"] + crowd["dropped"] + crowd["queued"] == sent
    assert rss[-1] - rss[len(rss) // 4] < 60, f"memory grew from {rss[len(rss) // 4]:.0f} to {rss[-1]:.0f} MB"
