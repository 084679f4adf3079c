"""Scripted replies (no LLM configured): keyword rules, the default reply, and the Reply contract."""
from __future__ import annotations

import threading
import time

import pytest

from streamer.llm import LlmReplier, LlmSettings, Reply, ReplyRules, ScriptedReplier, create_replier
from tests.helpers.llm import drain

RULES = ReplyRules(keyword_replies={
    "price": "It is 99 yuan today. Tap the cart below!",
    "price drop": "No more price drops this week, {user}.",
    "发货": "我们二十四小时内发货。",
})


def sentences(reply) -> list[str]:
    return [s for _, s in drain(reply, limit=1.0)]


def test_keyword_match_is_case_insensitive_and_split_into_sentences():
    reply = ScriptedReplier(RULES).reply("What is the PRICE?", "Ann", comment_id=3)
    assert reply.text == ""  # nothing handed out yet
    assert sentences(reply) == ["It is 99 yuan today.", "Tap the cart below!"]
    assert reply.source == "rules"
    assert reply.comment_id == 3 and reply.comment == "What is the PRICE?" and reply.user == "Ann"
    assert reply.text == "It is 99 yuan today. Tap the cart below!"


def test_the_longest_matching_keyword_wins():
    reply = ScriptedReplier(RULES).reply("any Price Drop coming?", "Ann")
    assert sentences(reply) == ["No more price drops this week, Ann."]


def test_chinese_keywords_match():
    assert sentences(ScriptedReplier(RULES).reply("什么时候发货呀", "小王")) == ["我们二十四小时内发货。"]


def test_default_reply_reads_well_with_and_without_a_user_name():
    replier = ScriptedReplier(RULES)
    assert sentences(replier.reply("hello", "Ann")) == ["Thanks for your comment, Ann!"]
    assert sentences(replier.reply("hello", "")) == ["Thanks for your comment!"]


def test_placeholders_are_filled_and_tidied_without_a_user():
    rules = ReplyRules(default_reply="Thank you, {user}! You said: {comment}. {unknown} stays.")
    replier = ScriptedReplier(rules)
    assert sentences(replier.reply("great show", "Bob")) == [
        "Thank you, Bob!", "You said: great show.", "{unknown} stays."]
    assert sentences(replier.reply("great show")) == ["Thank you!", "You said: great show.", "{unknown} stays."]


def test_a_reply_is_cut_at_the_last_sentence_end_within_max_reply_chars():
    rules = ReplyRules(default_reply="One short sentence. Another short one. A third that does not fit.",
                       max_reply_chars=45)
    reply = ScriptedReplier(rules).reply("hi")
    assert sentences(reply) == ["One short sentence.", "Another short one."]
    assert len(reply.text) <= 45


def test_a_single_sentence_longer_than_the_limit_is_shortened_not_dropped():
    rules = ReplyRules(default_reply="This single sentence goes on and on, far past the limit, without end.",
                       max_reply_chars=40)
    text = ScriptedReplier(rules).reply("hi").next_sentence(0.1)
    assert text and len(text) <= 40 and text.startswith("This single sentence")


def test_finished_and_cancelled_replies_keep_answering_none():
    reply = ScriptedReplier(RULES).reply("price?")
    assert reply.next_sentence(0.1) == "It is 99 yuan today."
    reply.cancel()
    reply.cancel()  # idempotent
    assert reply.next_sentence(0.1) is None
    assert reply.next_sentence(0.1) is None
    assert reply.text == "It is 99 yuan today."


def test_cancel_from_another_thread_wakes_a_waiting_consumer():
    reply = Reply("hi", source="llm")  # a producer that never produces
    with pytest.raises(TimeoutError):
        reply.next_sentence(0.05)
    threading.Timer(0.1, reply.cancel).start()
    started = time.monotonic()
    assert reply.next_sentence(5.0) is None
    assert time.monotonic() - started < 2.0  # it would wait 5 s


def test_create_replier_uses_the_llm_only_when_configured():
    rules = ReplyRules()
    assert isinstance(create_replier(None, rules), ScriptedReplier)
    assert isinstance(create_replier(LlmSettings(base_url="", model="m"), rules), ScriptedReplier)
    assert isinstance(create_replier(LlmSettings(base_url="http://127.0.0.1:9/v1", model=""), rules),
                      ScriptedReplier)
    replier = create_replier(LlmSettings(base_url="http://127.0.0.1:9/v1", model="m"), rules)
    try:
        assert isinstance(replier, LlmReplier)
    finally:
        replier.close()
