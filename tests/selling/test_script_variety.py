"""Script text with alternatives {a|b} and product segments, as the parser and the director read them."""
from __future__ import annotations

import random
import threading

import pytest

from streamer.director import Director
from streamer.frames import Utterance
from streamer.pipeline.generation import Generation
from streamer.script import Alternatives, ScriptError, parse_script, split_sentences
from streamer.selling.products import Catalog, Product


def test_an_alternatives_group_is_never_cut_into_sentences():
    assert split_sentences("{好的。|没问题！}我们开始吧。再见") == ["{好的。|没问题！}我们开始吧。", "再见"]


def test_a_sentence_said_again_takes_another_alternative_each_time():
    alts = Alternatives(random.Random(7))
    said = [alts.render((0, 0), "{今天|现在}下单，{立减|直降}十元。") for _ in range(6)]
    assert all(a != b for a, b in zip(said, said[1:]))
    assert set(said) <= {f"{w}下单，{c}十元。" for w in ("今天", "现在") for c in ("立减", "直降")}


@pytest.mark.parametrize("text, why", [("hi {a|b", "not closed"), ("hi a|b}", "closes no"), ("{a|{b|c}}", "nested")])
def test_malformed_alternatives_are_refused_naming_the_segment(text, why):
    with pytest.raises(ScriptError, match=f"segment 2: .*{why}"):
        parse_script(["hello", text])


def test_a_product_segment_makes_its_product_current_and_is_not_said():
    catalog = Catalog((Product("1", "绿茶"), Product("2", "红茶")))
    script = parse_script([{"product": 1}, "介绍绿茶。", {"product": "2"}, "介绍红茶。"])
    events = []
    director = Director(script, Generation(), lambda kind, **f: events.append((kind, f)), catalog=catalog)
    stop = threading.Event()
    first = director.next(stop)
    assert isinstance(first, Utterance) and first.text == "介绍绿茶。" and director.product.name == "绿茶"
    second = director.next(stop)
    assert second.text == "介绍红茶。" and director.product.name == "红茶"
    assert [f for k, f in events if k == "product"] == [{"product": "1", "name": "绿茶"},
                                                        {"product": "2", "name": "红茶"}]


def test_a_resumed_live_knows_the_product_it_was_presenting():
    from streamer.director import Position

    catalog = Catalog((Product("1", "绿茶"), Product("2", "红茶")))
    script = parse_script({"segments": [{"product": 1}, "介绍绿茶。", {"product": 2}, "介绍红茶。"], "loop": 0})
    assert Director(script, Generation(), lambda *a, **f: None, Position(0, 3, 0), catalog=catalog).product.id == "2"
    assert Director(script, Generation(), lambda *a, **f: None, Position(1, 0, 0), catalog=catalog).product.id == "2"
    assert Director(script, Generation(), lambda *a, **f: None, Position(0, 1, 0), catalog=catalog).product.id == "1"


def test_a_product_segment_needs_an_id():
    with pytest.raises(ScriptError, match="product needs the product's id"):
        parse_script([{"product": ""}, "hi"])
