"""Banned words (违禁词) are found however they are written, and only where they are."""
from __future__ import annotations

import pytest

from streamer.selling.banned import BannedWords, banned_of, built_in

BUILT_IN = BannedWords.for_room()


def test_the_advertising_laws_absolute_claims_are_found_in_a_typical_line():
    hits = BUILT_IN.find("全网最低价，第一品牌")
    assert [(h.word, h.found) for h in hits] == [("最低价", "最低价"), ("第一", "第一")]


@pytest.mark.parametrize("text, found", [
    ("第 一 品 牌", "第 一"),  # spaced
    ("最.低.价", "最.低.价"),  # punctuated
    ("ＮＯ．１的好茶", "ＮＯ．１"),  # full-width letters and digits
    ("１００％有效", "１００％"),
    ("zui di jia 就在今天", "zui di jia"),  # pinyin
    ("这是zui低价", "zui低价"),  # pinyin mixed with characters
    ("Di Yi pin pai", "Di Yi"),
    ("可以治 愈失眠", "治 愈"),
])
def test_spaced_full_width_and_pinyin_spellings_are_caught(text, found):
    assert [h.found for h in BUILT_IN.find(text)] == [found]
    hit = BUILT_IN.find(text)[0]
    assert text[hit.start:hit.end] == found


@pytest.mark.parametrize("text", [
    "最近天气很好", "最后一件", "第一次来的朋友", "a secure box", "the Zuider Zee", "今天的价格很实惠", "",
])
def test_harmless_words_that_hold_a_listed_one_are_not_hits(text):
    assert BUILT_IN.find(text) == []


def test_a_room_adds_words_and_exceptions():
    room = banned_of({"banned_words": {"add": ["秒杀"], "allow": ["第一品牌"]}})
    assert room.words_in("秒 杀价，第一品牌") == ["秒杀"]
    assert room.words_in("第一名") == ["第一"]  # only the exception itself is allowed
    assert banned_of(None).words_in("秒杀") == []


def test_bad_banned_word_settings_are_refused_in_words():
    with pytest.raises(ValueError, match="lists of words"):
        banned_of({"banned_words": {"add": [3]}})


def test_the_built_in_list_covers_each_kind_of_forbidden_claim():
    words, allowed = built_in()
    for word in ("最", "第一", "国家级", "顶级", "绝对", "100%", "治愈", "无效退款"):
        assert word in words
    assert "最近" in allowed
