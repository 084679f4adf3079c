"""The selling host's numbers:

  * viewer question -> FAQ answer audio at an RTMP player (no LLM): a live pushed to nginx-rtmp and
    pulled back by a low-latency player, questions an FAQ answers;
  * TTS cache hit ratio over 30 minutes of the sample looping selling script (alternatives only, and
    with every loop re-worded), with what synthesis it saved;
  * re-wording keeps ahead of speech: a paced live of the sample script for a few loops, re-worded by
    a fake OpenAI-compatible LLM that takes `--llm-delay` seconds an answer: how many were late.

Prints numbers; asserts nothing. Needs nginx with the RTMP module for the first part.

    python -m bench.selling [--questions 20] [--loops 3] [--llm-delay 0.8]
"""
from __future__ import annotations

import argparse
import itertools
import logging
import tempfile
import threading
import time
from pathlib import Path

from bench.interrupt import line
from streamer.avatar.default import ensure_default_avatar
from streamer.build import PushTo, RecordTo
from streamer.director import Director, Pause
from streamer.frames import Utterance
from streamer.pipeline.generation import Generation
from streamer.pipeline.pipe import END
from streamer.room import load_room
from streamer.script import load_script
from streamer.selling.rewording import REWORD_RULE
from streamer.voice.voices import Voices
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.live import end_live, start_live
from tests.helpers.media import Player
from tests.helpers.servers import NginxRtmp, nginx_binary, rtmp_module

SAMPLES = Path(__file__).resolve().parent.parent / "streamer" / "samples"
QUIET = {"segments": [{"product": "tea"}, {"say": "欢迎来到直播间。"}, {"pause": 600_000}], "loop": 1}
OPENERS = ("好的，", "来，", "接下来，", "朋友们，", "")


def faq_latency(questions: int, avatars: Path, tmp: Path) -> None:
    nginx, module = nginx_binary(), rtmp_module()
    if module is None or nginx is None:
        print("  (skipped: needs nginx with the RTMP module)")
        return
    policy, catalog = load_room(SAMPLES / "selling_room.yaml")
    server = NginxRtmp(tmp / "nginx", module, nginx)
    server.start()
    url = server.url("selling")
    player = Player(url)
    player.start()
    with FakeOpenAI(reply="我帮你问问。") as llm:
        live, events = start_live(avatars, PushTo(url), script=QUIET, policy=policy, catalog=catalog, voice="espeak",
                                  size=(720, 1280), llm_base_url=llm.base_url, llm_model="fake")
        events.wait(lambda k, f: k == "utterance" and f.get("state") == "end", 15)
        time.sleep(1.0)
        on_air, heard = [], []
        asks = itertools.cycle(("包邮吗？", "这个多少钱", "几号链接呀", "保质期多久", "还有货吗", "怎么冲泡"))
        for i in range(questions):
            sent = time.time()
            live.comment(next(asks), f"v{i}", comment_id=i + 1)
            said = events.wait(lambda k, f, i=i: k == "utterance" and f.get("state") == "start"
                               and f.get("reply_to") == i + 1, 10, after=sent)
            if said is None:
                print(f"  question {i}: no answer; giving up")
                break
            on_air.append((said[0] - sent) * 1000)
            at = player.heard_after(sent)
            if at is not None:
                heard.append((at - sent) * 1000)
            events.wait(lambda k, f, i=i: k == "utterance" and f.get("state") == "end" and f.get("reply_to") == i + 1,
                        15, after=sent)
            time.sleep(1.5)
        cache = live.status()["tts_cache"]
        end_live(live)
    player.stop()
    server.stop()
    print(f"  {len(heard)} questions answered from the facts, LLM requests: {len(llm.requests)}, "
          f"TTS cache {cache['hits']} hits / {cache['misses']} misses")
    line("question -> first answer frame into the encoder", on_air)
    line("question -> first answer audio at the RTMP player", heard)


def cache_ratio(minutes: float, reworded: bool) -> None:
    """Drive the director over `minutes` of the sample script, synthesizing what it says once each."""
    script = load_script(SAMPLES / "selling.yaml")
    _, catalog = load_room(SAMPLES / "selling_room.yaml")
    rewriter = _Reworder() if reworded else None
    director = Director(script, Generation(), lambda *a, **f: None, catalog=catalog, rewriter=rewriter)
    voices = Voices("espeak", cache_mb=64)
    voice, stop = voices(None), threading.Event()
    media = synth = 0.0
    while media < minutes * 60:
        item = director.next(stop)
        if item is END:
            break
        if isinstance(item, Pause):
            media += item.ms / 1000
        elif isinstance(item, Utterance):
            t = time.perf_counter()
            samples = sum(len(c) for c in voice.stream(item.text))
            synth += time.perf_counter() - t
            media += samples / 16000
    c = voices.cache.counts()
    voices.close()
    total = c["hits"] + c["misses"]
    print(f"  {'every loop re-worded' if reworded else 'alternatives only':<22} {minutes:.0f} min of media: "
          f"{total} sentences, hit ratio {c['hits'] / total:.1%}, {c['entries']} kept in "
          f"{c['bytes'] / 1e6:.1f} MB, synthesis {synth:.1f} s")


class _Reworder:
    """A stand-in re-worder with the Rewriter's interface (in memory): every re-wording new, as an
    LLM's are, so that only what is said as written can come from the cache."""

    def __init__(self):
        self._count = itertools.count(1)
        self._ready: dict = {}

    def prepare(self, key, text: str) -> None:
        self._ready[key] = f"{text}（{next(self._count)}）"

    def take(self, key):
        return self._ready.pop(key, None)


def rewording_ahead(loops: int, delay: float, avatars: Path, tmp: Path) -> None:
    policy, catalog = load_room(SAMPLES / "selling_room.yaml")
    script = load_script(SAMPLES / "selling.yaml")
    data = {"segments": [_stored(s) for s in script.segments], "loop": loops}
    with FakeOpenAI() as llm:
        openers = itertools.cycle(OPENERS[:-1])
        llm.respond = lambda body: (next(openers) + body["messages"][-1]["content"]
                                    if body["messages"][0]["content"] == REWORD_RULE else None)
        llm.completion_delay = delay
        started = time.monotonic()
        live, events = start_live(avatars, RecordTo(tmp / "reworded.flv", paced=True), script=data, policy=policy,
                                  catalog=catalog, voice="espeak", size=(720, 1280), llm_base_url=llm.base_url,
                                  llm_model="fake", llm_timeout=10)
        live.wait()
        stats = live.parts.rewriter.stats
        end_live(live)
    print(f"  {loops} loops in {time.monotonic() - started:.0f} s, LLM {delay:g} s an answer: {stats.asked} asked, "
          f"{stats.used} said, {stats.late} late, {stats.rejected} rejected, {stats.failed} failed")


def _stored(segment) -> dict:
    if segment.kind == "say":
        return {"say": segment.text}
    if segment.kind == "pause":
        return {"pause": segment.ms}
    return {segment.kind: segment.name}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--loops", type=int, default=3)
    ap.add_argument("--llm-delay", type=float, default=0.8, help="seconds the fake LLM takes per re-wording")
    ap.add_argument("--minutes", type=float, default=30)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        avatars = tmp / "avatars"
        ensure_default_avatar(avatars)
        print("selling bench: 720x1280, espeak, parametric lipsync, the sample selling room and script")
        print("FAQ answers (no LLM):")
        faq_latency(args.questions, avatars, tmp)
        print("TTS cache:")
        cache_ratio(args.minutes, reworded=False)
        cache_ratio(args.minutes, reworded=True)
        print("re-wording ahead of speech:")
        rewording_ahead(args.loops, args.llm_delay, avatars, tmp)


if __name__ == "__main__":
    main()
