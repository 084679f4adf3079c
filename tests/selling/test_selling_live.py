"""A selling live end to end: questions answered from the products' facts (FAQ without the LLM,
the rest grounded in them), banned words kept off the air, and a looping script that is never the
same twice. Real lives (espeak, parametric lipsync, H.264/AAC), a fake OpenAI-compatible server."""
from __future__ import annotations

import time

import pytest

from streamer.build import PushTo, RecordTo
from streamer.room import RoomPolicy
from streamer.selling.banned import BannedWords
from streamer.selling.products import Catalog, Faq, Product
from streamer.selling.rewording import REWORD_RULE
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.live import end_live, start_live, utterance_start
from tests.helpers.media import Player

TEA = Product("tea", "明前龙井", price=59.9, link="3号链接", stock="现货",
              faq=(Faq("包邮吗", "全国包邮，偏远地区除外。"),))
CATALOG = Catalog((TEA, Product("cup", "玻璃杯", price=19.0, link="5号链接")), knowledge="七天无理由退货。")
QUIET = {"segments": [{"product": "tea"}, {"say": "欢迎来到直播间。"}, {"pause": 600_000}], "loop": 1}
POLICY = RoomPolicy(persona="你是茶叶店的主播。", language="zh", fallback_line="这个问题我稍后回答。")
BANNED = BannedWords.for_room()
REASK = "advertising rules forbid"


def said(events, source=None) -> list[str]:
    return [f["text"] for _, f in events.of("utterance", state="start") if source is None or f["source"] == source]


def reply_of(events, comment_id: int, timeout: float = 20):
    got = events.wait(lambda k, f: k == "reply" and f.get("comment_id") == comment_id and not f["cut"], timeout)
    return got[1] if got else None


@pytest.mark.slow
def test_faq_questions_are_answered_without_the_llm_and_other_questions_from_the_facts(avatars_dir, tmp_path):
    def respond(body):
        system = body["messages"][0]["content"]
        return "这款明前龙井现在59.9元，送长辈很合适。" if "59.9元" in system and "3号链接" in system else "我帮你问问。"

    with FakeOpenAI() as fake:
        fake.respond = respond
        live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), script=QUIET,
                                  policy=POLICY, catalog=CATALOG, voice="espeak", llm_base_url=fake.base_url,
                                  llm_model="fake", llm_timeout=5)
        assert events.wait(utterance_start("欢迎来到直播间。"), 15)
        assert live.status()["product"] == {"id": "tea", "name": "明前龙井"}
        assert events.of("product") and events.of("product")[0][1] == {"session": live.id, "product": "tea",
                                                                       "name": "明前龙井"}
        live.comment("请问包邮吗？", "小明", comment_id=1)
        live.comment("这个多少钱", "小红", comment_id=2)
        live.comment("玻璃杯几号链接", "小刚", comment_id=3)
        answers = [reply_of(events, i) for i in (1, 2, 3)]
        assert [a["source"] for a in answers] == ["faq"] * 3
        assert [a["text"] for a in answers] == ["全国包邮，偏远地区除外。", "明前龙井现在的价格是59.9元。",
                                                "玻璃杯在5号链接。"]
        assert fake.requests == [], "an FAQ question went to the LLM"

        live.comment("适合送长辈吗？", "小明", comment_id=4)
        grounded = reply_of(events, 4)
        end_live(live)
    assert grounded["source"] == "llm" and "59.9元" in grounded["text"]
    assert "这款明前龙井现在59.9元，送长辈很合适。" in said(events)
    messages = fake.requests[0].body["messages"]
    system = messages[0]["content"]
    assert all(fact in system for fact in ("你是茶叶店的主播。", "七天无理由退货。", "明前龙井", "59.9元", "3号链接",
                                           "现货", "全国包邮，偏远地区除外。", "玻璃杯, 19元, 5号链接"))
    assert len(messages) == 1 + 2 * 3 + 1  # the three exchanges of this live, then the question
    assert messages[-1]["content"] == '{"viewer": "小明", "comment": "适合送长辈吗？"}'


@pytest.mark.slow
def test_a_banned_word_in_an_llm_reply_is_never_heard_in_the_pulled_back_live(nginx_rtmp, avatars_dir):
    def respond(body):
        system, text = body["messages"][0]["content"], body["messages"][-1]["content"]
        if REASK in system:
            return "这款茶价格很实惠。" if "最低价" in text else "这是最好的品牌。"
        return "这款茶全网最低价。欢迎下单。" if "便宜" in text else "这是第一品牌。"

    url = nginx_rtmp.url("selling")
    player = Player(url)
    player.start()
    with FakeOpenAI() as fake:
        fake.respond = respond
        live, events = start_live(avatars_dir, PushTo(url), script=QUIET, policy=POLICY, catalog=CATALOG,
                                  voice="espeak", llm_base_url=fake.base_url, llm_model="fake", llm_timeout=5)
        assert events.wait(utterance_start("欢迎来到直播间。"), 15)
        sent = time.time()
        live.comment("你们家便宜吗？", "小明", comment_id=1)
        first = reply_of(events, 1)
        live.comment("这是什么牌子？", "小红", comment_id=2)
        second = reply_of(events, 2)
        assert events.wait(lambda k, f: k == "utterance" and f.get("state") == "end"
                           and f["text"] == "这个问题我稍后回答。", 15)
        end_live(live)
    player.stop()
    on_air = said(events)
    assert not [s for s in on_air if BANNED.find(s)], f"a banned word went on air: {on_air}"
    assert first["text"] == "这款茶价格很实惠。欢迎下单。" and second["source"] == "fallback"
    assert "这个问题我稍后回答。" in on_air
    actions = [(f["where"], f["action"], f["words"]) for _, f in events.of("compliance")]
    assert actions == [("reply", "reasked", ["最低价"]), ("reply", "reasked", ["第一"]),
                       ("reply", "replaced", ["最好"])]
    assert player.heard_after(sent, 1.0) is not None, "the answers were not heard in the pulled-back live"


@pytest.mark.slow
def test_two_loops_of_a_selling_script_differ_keep_every_fact_and_never_say_a_banned_rewording(
        avatars_dir, tmp_path):
    rewordings = {"大家好，今天介绍明前龙井。": "朋友们好，今天给大家介绍明前龙井。",
                  "明前龙井只要59.9元，在3号链接。": "在3号链接就能买到明前龙井，只要59.9元。",
                  "喜欢的朋友赶紧下单。": "全网最低价，赶紧下单。"}

    def respond(body):
        system, text = body["messages"][0]["content"], body["messages"][-1]["content"]
        if system == REWORD_RULE:
            return rewordings.get(text, text)
        return "第一品牌，赶紧下单。" if REASK in system else None

    script = {"segments": [{"product": "tea"}, {"say": "{大家好|欢迎}，今天介绍明前龙井。"},
                           {"say": "明前龙井只要59.9元，在3号链接。"}, {"say": "喜欢的朋友赶紧下单。"}], "loop": 2}
    with FakeOpenAI() as fake:
        fake.respond = respond
        live, events = start_live(avatars_dir, RecordTo(tmp_path / "live.flv", paced=True), script=script,
                                  policy=POLICY, catalog=CATALOG, voice="espeak", llm_base_url=fake.base_url,
                                  llm_model="fake", llm_timeout=5)
        assert live.wait(60), "the two loops did not end"
        status = live.status()
        end_live(live)
    spoken = said(events, "script")
    assert len(spoken) == 6
    first, second = spoken[:3], spoken[3:]
    assert first != second and first[0] != second[0] and first[1] != second[1]
    assert second[:2] == ["朋友们好，今天给大家介绍明前龙井。", "在3号链接就能买到明前龙井，只要59.9元。"]
    for sentence in (first[1], second[1]):
        assert "59.9" in sentence and "3号链接" in sentence and "明前龙井" in sentence
    assert second[2] == "喜欢的朋友赶紧下单。", "a banned re-wording was said, or the original lost"
    assert not [s for s in spoken if BANNED.find(s)]
    actions = [(f["where"], f["action"]) for _, f in events.of("compliance")]
    assert actions == [("rewording", "reasked"), ("rewording", "original")]
    assert status["tts_cache"]["hits"] >= 1  # the last sentence said again as it was
