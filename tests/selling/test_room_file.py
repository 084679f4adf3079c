"""`livehost demo --room FILE` reads the products, the shop knowledge and the banned-word settings,
and refuses a file whose own texts hold banned words, naming them and where."""
from __future__ import annotations

import pytest

from streamer.room import load_room
from streamer.settings import SettingsError

ROOM = """
platform: douyin
persona: 你是茶叶店的主播小美。
banned_words: {add: [秒杀], allow: [第一次]}
knowledge: 全国包邮，七天无理由退货。
products:
  - {id: tea, name: 明前龙井, price: 59.9, link: 3号链接, stock: 现货,
     selling_points: [当季新茶], faq: [{q: 包邮吗, a: 全国包邮。}]}
"""


def test_a_room_file_gives_the_products_the_knowledge_and_the_banned_words(tmp_path):
    path = tmp_path / "room.yaml"
    path.write_text(ROOM, encoding="utf-8")
    policy, catalog = load_room(path)
    assert policy.language == "zh" and policy.persona == "你是茶叶店的主播小美。"
    assert policy.banned.words_in("秒杀价") == ["秒杀"]
    tea = catalog.get("tea")
    assert tea.price == 59.9 and tea.link == "3号链接" and tea.faq[0].a == "全国包邮。"
    assert catalog.knowledge == "全国包邮，七天无理由退货。"


@pytest.mark.parametrize("change, message", [
    (("当季新茶", "全网第一好茶"), "product tea selling point 1: 第一"),
    (("你是茶叶店的主播小美。", "你是最好的主播。"), "persona: 最好"),
    (("price: 59.9", "price: -3"), "product tea: price must be a number >= 0"),
    (("id: tea, ", ""), "needs an id"),
])
def test_a_room_file_with_banned_words_or_bad_products_is_refused_in_words(tmp_path, change, message):
    path = tmp_path / "room.yaml"
    path.write_text(ROOM.replace(*change), encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_room(path)
