"""Start delay and recovery time of scheduled lives on a real deployment in miniature: a MariaDB
database of its own, a private Redis, nginx-rtmp as the ingest, `livehost scheduler` and
`livehost worker` processes (320x568 lives, so that several fit on a small CPU).

  * start delay: scheduled start time -> first media at the ingest, over --lives lives
  * recovery: kill -9 of the worker running a live -> first media at the ingest again

Prints numbers; asserts nothing. Needs MariaDB ($LIVEHOST_TEST_MYSQL_URL or root@127.0.0.1),
redis-server and nginx with the RTMP module.

    python -m bench.scheduler [--lives 20] [--kills 5]
"""
from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import av
import numpy as np

from db.commands import upgrade
from db.database import Database
from db.models import LiveSession
from streamer.avatar.default import ensure_default_avatar
from tests.helpers.databases import scratch_mysql_database
from tests.helpers.deployment import Deployment, utcnow
from tests.helpers.servers import NginxRtmp, RedisServer, nginx_binary, rtmp_module


def first_packet(url: str, out: dict, key: str, timeout: float = 60.0) -> None:
    """Record when the first packet of `url` arrives (time.time())."""
    try:
        with av.open(url, timeout=(timeout, 10.0), options={"analyzeduration": "0", "probesize": "32",
                                                             "fflags": "nobuffer"}) as c:
            for packet in c.demux():
                if packet.dts is not None:
                    out[key] = time.time()
                    return
    except (av.FFmpegError, OSError):
        pass


def pull_first(url: str, out: dict, key: str) -> threading.Thread:
    t = threading.Thread(target=first_packet, args=(url, out, key), daemon=True)
    t.start()
    return t


def stats(name: str, values: list[float]) -> None:
    if not values:
        print(f"  {name:<46} no data")
        return
    print(f"  {name:<46} p50 {np.percentile(values, 50):6.2f} s   p95 {np.percentile(values, 95):6.2f} s   "
          f"max {max(values):6.2f} s   n={len(values)}")


def run(lives: int, kills: int) -> None:
    nginx, module = nginx_binary(), rtmp_module()
    redis_bin = shutil.which("redis-server")
    if module is None or nginx is None or redis_bin is None:
        raise SystemExit("bench.scheduler needs nginx with the RTMP module and redis-server")
    with tempfile.TemporaryDirectory() as tmp, scratch_mysql_database("livehost_bench") as url:
        tmp = Path(tmp)
        upgrade(url)
        avatars = tmp / "avatars"
        ensure_default_avatar(avatars)
        rtmp = NginxRtmp(tmp / "nginx", module, nginx)
        rtmp.start()
        redis_server = RedisServer(redis_bin)
        redis_server.start()
        db = Database(url)
        d = Deployment(db, redis_server.url, rtmp, avatars, tmp)
        try:
            print("scheduler bench: MariaDB, Redis, nginx-rtmp, 1 scheduler, workers with 4 slots, 320x568")
            d.scheduler()
            d.worker("bench-a", slots=4)
            d.worker("bench-b", slots=4)
            time.sleep(4)
            script = d.script(loop=0)
            arrived: dict = {}
            starts = {}
            base = utcnow() + timedelta(seconds=4)
            for i in range(lives):
                start = base + timedelta(seconds=i * 0.7)
                d.schedule(d.room(f"s{i}"), script, start, start + timedelta(seconds=4))
                starts[f"s{i}"] = start.timestamp()
                pull_first(rtmp.url(f"s{i}"), arrived, f"s{i}")
            time.sleep(4 + lives * 0.7 + 8)
            delays = [arrived[k] - starts[k] for k in starts if k in arrived]
            print(f"{len(delays)} of {lives} scheduled lives reached the ingest:")
            stats("scheduled start -> first media at the ingest", delays)

            recoveries = []
            for k in range(kills):
                sid = d.go_live(d.room(f"k{k}"), script)
                if not d.wait_for(lambda: d.session(sid).status == "live", 30):
                    print("  a live did not start; recovery bench stopped")
                    break
                time.sleep(2.5)
                victim = d.session(sid).worker
                proc = next(p for p in d.procs if p.args[-1] == victim and p.poll() is None)
                proc.send_signal(signal.SIGKILL)
                killed = time.time()
                again: dict = {}
                pull_first(rtmp.url(f"k{k}"), again, "t").join(40)
                if "t" in again:
                    recoveries.append(again["t"] - killed)
                d.worker(victim, slots=4)  # the machine comes back for the next round
                with db.sessions() as s:
                    s.get(LiveSession, sid).planned_end_at = utcnow()
                    s.commit()
                time.sleep(4)
            stats("kill -9 of its worker -> media at the ingest again", recoveries)
        finally:
            d.stop_all()
            redis_server.kill()
            rtmp.stop()
            db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lives", type=int, default=20)
    ap.add_argument("--kills", type=int, default=5)
    args = ap.parse_args()
    run(args.lives, args.kills)


if __name__ == "__main__":
    main()
