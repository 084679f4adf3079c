"""SentenceCutter: sentences for the TTS as soon as they are complete, whatever the token sizes."""
from __future__ import annotations

import pytest

from streamer.llm.sentences import LONG_RUN, SentenceCutter
from streamer.script import split_sentences


def cut(text: str, step: int = 1) -> list[str]:
    """Feed `text` `step` characters at a time, then flush; all sentences in order."""
    cutter, out = SentenceCutter(), []
    for i in range(0, len(text), step):
        out += cutter.feed(text[i:i + step])
    return out + cutter.flush()


@pytest.mark.parametrize("step", [1, 2, 5, 1000])
def test_english_sentences_keep_their_punctuation_whatever_the_token_size(step):
    text = "Hello there! How are you today? I am fine. Wow!! Really?! Yes; indeed… ok"
    assert cut(text, step) == ["Hello there!", "How are you today?", "I am fine.", "Wow!!", "Really?!",
                               "Yes;", "indeed…", "ok"]


@pytest.mark.parametrize("step", [1, 3, 1000])
def test_chinese_sentences_are_cut_on_chinese_punctuation(step):
    text = "大家好！今天我们来看看这款茶叶。价格多少？只要九十九元；很划算……快来买吧"
    assert cut(text, step) == ["大家好！", "今天我们来看看这款茶叶。", "价格多少？", "只要九十九元；", "很划算……",
                               "快来买吧"]


def test_mixed_chinese_and_english():
    assert cut("这个 iPhone 很好用。It is great! 你觉得呢？OK.") == [
        "这个 iPhone 很好用。", "It is great!", "你觉得呢？", "OK."]


def test_a_sentence_is_handed_out_as_soon_as_the_next_character_arrives():
    cutter = SentenceCutter()
    assert cutter.feed("Hello there!") == []  # "!!" or "!?" may still follow
    assert cutter.feed(" How") == ["Hello there!"]
    assert cutter.feed(" are you?") == []
    assert cutter.feed("\n") == ["How are you?"]
    assert cutter.flush() == []


def test_numbers_and_dotted_words_are_not_cut():
    text = "It costs 3.5 dollars, or 1,000 yen. Version 2.0.1 is out. Visit example.com today."
    assert cut(text) == ["It costs 3.5 dollars, or 1,000 yen.", "Version 2.0.1 is out.", "Visit example.com today."]
    assert cut("价格是3.5元。") == ["价格是3.5元。"]


def test_a_dot_at_the_end_of_a_number_waits_for_the_next_character():
    cutter = SentenceCutter()
    assert cutter.feed("It is 3.") == []
    assert cutter.feed("5 now. Next") == ["It is 3.5 now."]
    assert cutter.flush() == ["Next"]


def test_newlines_end_sentences_and_pieces_without_words_are_dropped():
    assert cut("First line\nsecond line\n\n...\n- \n“”。Third.") == ["First line", "second line", "Third."]


def test_closing_quotes_stay_with_their_sentence():
    assert cut('He said "stop." Then he left.') == ['He said "stop."', "Then he left."]
    assert cut("他说：“好的。”然后走了。") == ["他说：“好的。”", "然后走了。"]


def test_a_long_run_without_sentence_end_is_cut_at_a_comma_so_speech_can_start():
    clause = "这是一个没有句号的很长的句子，"
    text = clause * 10 + "最后才结束。"
    cutter = SentenceCutter()
    first: list[str] = []
    fed = 0
    while not first:
        first = cutter.feed(text[fed])
        fed += 1
    assert fed <= LONG_RUN + 2, "speech must be able to start before the whole run has arrived"
    assert first[0].endswith("，") and len(first[0]) <= LONG_RUN + 1
    pieces = first + cutter.feed(text[fed:]) + cutter.flush()
    assert "".join(pieces) == text
    assert all(len(p) <= LONG_RUN + 1 for p in pieces)


def test_a_long_english_run_is_cut_at_a_comma_but_not_inside_a_number():
    text = ("well, you know, this is a rather long answer that keeps going without any full stop, "
            "and it still goes on with 1,000 more words")
    pieces = cut(text)
    assert len(pieces) >= 2
    assert pieces[0].endswith(",") and len(pieces[0]) <= LONG_RUN + 1
    assert " ".join(pieces) == text
    assert any("1,000" in p for p in pieces)


def test_short_runs_are_not_cut_at_commas():
    assert cut("Yes, of course, we ship worldwide, in three days.") == [
        "Yes, of course, we ship worldwide, in three days."]


@pytest.mark.parametrize("text", [
    "Hello there! How are you? Fine; thanks… bye",
    "大家好！欢迎来到直播间。今天有什么问题？请留言；我来回答…",
    "Mixed 中文 and English! 对吧？Sure.",
])
def test_same_sentence_ends_as_the_script_splitter(text):
    assert cut(text) == split_sentences(text)
