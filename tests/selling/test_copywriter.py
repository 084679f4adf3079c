"""Copy generation (文案生成) against an OpenAI-compatible server: a draft script from the products'
facts, banned words asked away, and clear errors without an LLM or with a broken one."""
from __future__ import annotations

import json

import pytest

from streamer.llm import LlmSettings
from streamer.script import parse_script
from streamer.selling.copywriter import CopyError, NoLlm, draft_script
from streamer.selling.products import Faq, Product
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.llm import API_KEY

TEA = Product("7", "明前龙井", price=59.9, link="3号链接", selling_points=("当季新茶",), faq=(Faq("包邮吗", "包邮。"),))
DRAFT = {"title": "龙井专场", "segments": [
    {"say": "{大家好|欢迎来到直播间}，今天给大家带来好茶。"}, {"product": "7"},
    {"say": "明前龙井，当季新茶，全网最低价59.9元，在3号链接。"}, {"product": "99"}, {"pause": 1500},
    {"say": "喜欢的朋友赶紧下单吧。"}]}


def settings(fake: FakeOpenAI) -> LlmSettings:
    return LlmSettings(base_url=fake.base_url, model="writer", api_key=API_KEY, timeout_s=5)


def test_a_draft_is_a_script_of_the_products_facts_with_banned_words_asked_away():
    def respond(body):
        system = body["messages"][0]["content"]
        if "advertising rules forbid" in system:
            return "明前龙井，当季新茶，只要59.9元，在3号链接。"
        return "好的，草稿如下：\n```json\n" + json.dumps(DRAFT, ensure_ascii=False) + "\n```"

    with FakeOpenAI() as fake:
        fake.respond = respond
        draft = draft_script(settings(fake), [TEA], "lively", "zh", knowledge="七天无理由退货。")
    prompt = fake.requests[0].body["messages"]
    assert "热情活泼" in prompt[0]["content"] and "59.9元" in prompt[1]["content"] and "3号链接" in prompt[1]["content"]
    assert "七天无理由退货" in prompt[1]["content"] and "ID 7" in prompt[1]["content"]
    assert draft.title == "龙井专场" and draft.banned == []
    assert draft.segments == [{"say": "{大家好|欢迎来到直播间}，今天给大家带来好茶。"}, {"product": "7"},
                              {"say": "明前龙井，当季新茶，只要59.9元，在3号链接。"}, {"pause": 1500},
                              {"say": "喜欢的朋友赶紧下单吧。"}]  # the unknown product 99 is left out
    parse_script(draft.segments)  # the segment editor saves it as it is


def test_a_banned_word_the_llm_cannot_avoid_is_shown_to_the_operator():
    with FakeOpenAI() as fake:
        fake.respond = lambda body: ("还是全网最低价。" if "advertising rules forbid" in body["messages"][0]["content"]
                                     else json.dumps(DRAFT, ensure_ascii=False))
        draft = draft_script(settings(fake), [TEA], "calm", "zh")
    assert draft.banned == [{"segment": 2, "words": ["最低价"]}]


def test_without_an_llm_there_is_no_draft():
    with pytest.raises(NoLlm, match="no LLM is configured"):
        draft_script(None, [TEA], "lively")
    with pytest.raises(NoLlm):
        draft_script(LlmSettings(), [TEA], "lively")


def test_an_answer_that_is_not_a_script_and_a_failing_server_are_errors_without_the_key():
    with FakeOpenAI(reply="Sure! Here are some ideas for your stream.") as fake:
        with pytest.raises(CopyError, match="not a script"):
            draft_script(settings(fake), [TEA], "warm", "en")
        fake.mode = "error"
        with pytest.raises(CopyError, match="HTTP 500") as failed:
            draft_script(settings(fake), [TEA], "warm", "en")
    assert API_KEY not in str(failed.value)
    with pytest.raises(ValueError, match="style must be one of"):
        draft_script(LlmSettings(base_url="http://127.0.0.1:9/v1", model="m"), [TEA], "shouty")
