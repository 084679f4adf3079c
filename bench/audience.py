"""Viewer danmaku in -> the host's first reply audio at an RTMP player, end to end: a fake
Bilibili danmaku server speaking the real wire format, the live's Bilibili source and triage,
replies from a fake OpenAI-compatible LLM whose first token takes 300 ms, the live pushed to
nginx-rtmp and pulled back by a low-latency player. The script is silence between the answers,
so the first loud audio after a danmaku is its answer.

  * danmaku sent -> the audience event in the live (adapter + triage)
  * danmaku sent -> the reply's first frame into the encoder
  * danmaku sent -> the reply's first audio at the player (wall clock)

Prints numbers; asserts nothing. Needs nginx with the RTMP module.

    python -m bench.audience [--comments 20] [--size 720x1280]
"""
from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

from bench.interrupt import line
from streamer.audience import SourceSpec
from streamer.avatar.default import ensure_default_avatar
from streamer.build import PushTo
from streamer.llm import LlmReplier, LlmSettings
from streamer.room import RoomPolicy
from tests.fakes.bilibili_server import FakeBilibili, danmaku
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.live import end_live, start_live
from tests.helpers.media import Player
from tests.helpers.servers import NginxRtmp, nginx_binary, rtmp_module

QUIET = {"segments": [{"say": "Welcome."}, {"pause": 600_000}], "loop": 1}


def run(comments: int, width: int, height: int) -> None:
    nginx, module = nginx_binary(), rtmp_module()
    if module is None or nginx is None:
        raise SystemExit("bench.audience needs nginx with the RTMP module (apt-get install nginx libnginx-mod-rtmp)")
    policy = RoomPolicy.from_settings({"audience": {"replies_per_minute": 60, "dedupe_window_s": 0}})
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(reply="Thanks for asking. It is nine dollars.",
                                                           first_token_delay=0.3, token_delay=0.01) as llm, \
            FakeBilibili() as platform:
        avatars = Path(tmp) / "avatars"
        ensure_default_avatar(avatars)
        server = NginxRtmp(Path(tmp) / "nginx", module, nginx)
        server.start()
        url = server.url("bench")
        player = Player(url)
        player.start()
        replier = LlmReplier(LlmSettings(base_url=llm.base_url, model="fake", timeout_s=5))
        live, events = start_live(avatars, PushTo(url), replier=replier, policy=policy, script=QUIET,
                                  size=(width, height), sources=[SourceSpec("bilibili", "1")],
                                  bilibili_api_base=platform.api_base)
        if not platform.wait_for_clients(1, timeout=15):
            raise SystemExit("the live never joined the fake danmaku server")
        print(f"audience bench: {width}x{height}, espeak, parametric lipsync, Bilibili wire format, LLM first token "
              "300 ms")
        time.sleep(3.0)
        arrived, on_air, heard = [], [], []
        for i in range(comments):
            sent = time.time()
            platform.send(danmaku(f"question number {i}, how much is it?", uid=5000 + i, uname=f"v{i}"),
                          compression="brotli")
            got = events.wait(lambda k, f, i=i: k == "audience" and f.get("user") == f"v{i}", 10, after=sent)
            said = events.wait(lambda k, f: k == "utterance" and f.get("state") == "start" and f.get("source") == "llm",
                               15, after=sent)
            if got is None or said is None:
                print(f"  danmaku {i}: no answer; giving up")
                break
            arrived.append((got[0] - sent) * 1000)
            on_air.append((said[0] - sent) * 1000)
            at = player.heard_after(sent)
            if at is not None:
                heard.append((at - sent) * 1000)
            events.wait(lambda k, f: k == "utterance" and f.get("state") == "end" and f.get("source") == "llm"
                        and f.get("text", "").endswith("dollars."), 15, after=sent)
            time.sleep(1.5)  # silence between answers, so the next one is heard from its start
        end_live(live)
        player.stop()
        server.stop()
    print(f"{len(heard)} danmaku answered:")
    line("danmaku sent -> audience event in the live", arrived)
    line("danmaku sent -> first reply frame into the encoder", on_air)
    line("danmaku sent -> first reply audio at the RTMP player", heard)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--comments", type=int, default=20)
    ap.add_argument("--size", default="720x1280")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    w, h = (int(v) for v in args.size.split("x"))
    run(args.comments, w, h)


if __name__ == "__main__":
    main()
