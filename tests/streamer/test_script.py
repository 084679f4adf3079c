from __future__ import annotations

import pytest

from streamer.script import ScriptError, load_script, parse_script, split_sentences


def test_sentences_split_on_english_and_chinese_punctuation():
    assert split_sentences("Hello there! How are you? 大家好。欢迎来到直播间！") == [
        "Hello there!", "How are you?", "大家好。", "欢迎来到直播间！"]
    assert split_sentences("No punctuation at the end") == ["No punctuation at the end"]
    assert split_sentences("... !!!") == []


def test_yaml_script_with_all_segment_kinds(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("loop: forever\nsegments:\n  - say: Hi.\n  - pause: 500\n  - action: wave\n"
                 "  - say: 你好\n    voice: espeak:cmn\n")
    s = load_script(f)
    assert s.loop == 0
    assert [seg.kind for seg in s.segments] == ["say", "pause", "action", "say"]
    assert s.segments[1].ms == 500 and s.segments[3].voice == "espeak:cmn"


def test_a_script_plays_once_unless_it_says_loop():
    assert parse_script({"segments": [{"say": "x"}]}).loop == 1
    assert parse_script({"segments": [{"say": "x"}], "loop": 3}).loop == 3
    assert parse_script({"segments": [{"say": "x"}], "loop": True}).loop == 0


def test_text_script_says_every_line(tmp_path):
    f = tmp_path / "s.txt"
    f.write_text("First line.\n\nSecond line.\n")
    assert [seg.text for seg in load_script(f).segments] == ["First line.", "Second line."]


@pytest.mark.parametrize("data, words", [
    ({"segments": []}, "empty"),
    ({"segments": [{"pause": 100}]}, "nothing to say"),
    ({"segments": [{"pause": -5}, {"say": "x"}]}, "segment 1"),
    ({"segments": [{"say": "x", "pause": 5}]}, "exactly one"),
    ({"segments": [{"action": "wave it!"}, {"say": "x"}]}, "clip name"),
    ({"segments": [{"say": "x"}], "loop": -1}, "loop"),
])
def test_bad_scripts_say_what_is_wrong(data, words):
    with pytest.raises(ScriptError, match=words):
        parse_script(data, "s.yaml")


def test_invalid_yaml_is_one_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("segments: [say: : :\n")
    with pytest.raises(ScriptError) as e:
        load_script(f)
    assert "\n" not in str(e.value)
