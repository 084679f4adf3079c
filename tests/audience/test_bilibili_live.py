"""Viewers on Bilibili, end to end: a local fake of Bilibili's HTTP API and danmaku server speaking
the real wire format (16-byte headers, zlib and brotli bodies packing several messages, auth and
heartbeat replies, a forced disconnect), the real pipeline pushing to nginx-rtmp, and a player
pulling the live back. The script is one short sentence and then silence, so what the player hears
afterwards is the host answering the viewers."""
from __future__ import annotations

import struct
import time

import pytest

from streamer.audience import SourceSpec
from streamer.build import PushTo
from streamer.room import RoomPolicy
from tests.fakes.bilibili_server import FakeBilibili, danmaku, gift
from tests.helpers.live import end_live, start_live, utterance_start
from tests.helpers.media import Player

QUIET_SCRIPT = {"segments": [{"say": "Welcome."}, {"pause": 600_000}], "loop": 1}
PRICE = "It is nine yuan, shipping included."


def answered(events, text: str, timeout: float = 20):
    return events.wait(lambda k, f: k == "audience_action" and f["action"] == "answered"
                       and f.get("reply") and _seq_text(events, f["seq"]) == text, timeout)


def _seq_text(events, seq: int) -> str | None:
    return next((f["text"] for _, f in events.of("audience", seq=seq)), None)


@pytest.mark.slow
def test_a_bilibili_viewers_question_is_answered_in_the_pulled_back_live_and_survives_bad_packets_and_drops(
        nginx_rtmp, avatars_dir, caplog):
    url = nginx_rtmp.url("danmaku")
    player = Player(url)
    player.start()
    policy = RoomPolicy.from_settings({"keyword_replies": {"多少钱": PRICE, "price": PRICE},
                                       "audience": {"thank_batch_s": 1, "replies_per_minute": 30}}, "bilibili")
    with FakeBilibili(room_id=21452505, short_id=1017) as fake:
        live, events = start_live(avatars_dir, PushTo(url), policy=policy, script=QUIET_SCRIPT,
                                  sources=[SourceSpec("bilibili", "1017")], bilibili_api_base=fake.api_base)
        assert fake.wait_for_clients(1, timeout=15), "the live never joined the danmaku server"
        assert fake.auths[0].op == 7 and fake.auths[0].json()["roomid"] == 21452505
        assert events.wait(lambda k, f: k == "utterance" and f.get("state") == "end" and f["text"] == "Welcome.", 15)
        time.sleep(1.0)

        # A question in a brotli body packing several messages: answered, and heard by the player.
        sent = time.time()
        fake.send(danmaku("这个多少钱？", uid=1001, uname="小明"), danmaku("主播好", uid=1002, uname="阿花"),
                  compression="brotli")
        assert answered(events, "这个多少钱？"), "the danmaku question was never answered"
        assert player.heard_after(sent, 15.0) is not None, "the answer was not heard in the pulled-back live"
        said = [f["text"] for _, f in events.of("utterance", state="start") if f.get("source") == "rules"]
        assert said[0] == PRICE

        # A gift gets a thank-you, said on air.
        fake.send(gift("小花花", num=5, price=100, uid=1003, uname="老王"), compression="zlib")
        thanks = events.wait(utterance_start(source="thanks"), 15)
        assert thanks and thanks[1]["text"] == "感谢老王送的礼物！"

        # A malformed packet is logged and skipped; the connection survives.
        body = b"not brotli at all"  # a protocol-3 (brotli) message whose body is not brotli
        fake.send_raw(struct.pack(">IHHII", 16 + len(body), 16, 3, 5, 1) + body)
        fake.send(danmaku("what is the price?", uid=1004, uname="Ann"), compression="zlib")
        assert answered(events, "what is the price?")
        source = live.status()["audience"]["sources"][0]
        assert source["malformed"] == 1 and source["reconnects"] == 0 and source["connected"]

        # A dropped connection reconnects; everything sent after it arrives.
        fake.drop_connections()
        assert fake.wait_for_clients(1, timeout=15), "no reconnect after the drop"
        after = [f"after the drop {i} price?" for i in range(3)]
        fake.send(*(danmaku(t, uid=2000 + i, uname=f"v{i}") for i, t in enumerate(after)), compression="brotli")
        for text in after:
            assert events.wait(lambda k, f, text=text: k == "audience" and f.get("text") == text, 10), text
        assert live.status()["audience"]["sources"][0]["reconnects"] == 1
        end_live(live)
    player.stop()
    assert "malformed" in caplog.text
    pts = [t for _, t, _ in player.video]
    assert len(pts) > 250 and max(b - a for a, b in zip(pts, pts[1:])) < 0.05, "the stream stalled"
