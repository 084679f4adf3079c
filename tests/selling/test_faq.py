"""The products' facts answer the usual questions at once, in the room's language."""
from __future__ import annotations

from streamer.selling.faq import answer
from streamer.selling.products import Catalog, Faq, Product

TEA = Product("tea", "明前龙井", price=59.9, link="3号链接", stock="现货",
              faq=(Faq("包邮吗", "全国包邮，偏远地区除外。"), Faq("茶叶的保质期是多久？", "密封保存十八个月。"),
                   Faq("怎么冲泡", "八十度的水，泡两分钟。")))
CUP = Product("cup", "玻璃杯", price=19.0, link="5号链接", faq=(Faq("包邮吗", "和茶叶一起买就包邮。"),))
CATALOG = Catalog((TEA, CUP), knowledge="七天无理由退货。")


def test_an_faq_question_is_answered_by_its_answer_even_in_other_words():
    assert answer("请问包邮吗？", CATALOG, TEA).text == "全国包邮，偏远地区除外。"
    assert answer("包邮不", CATALOG, TEA).text == "全国包邮，偏远地区除外。"
    assert answer("这茶叶保质期有多久", CATALOG, TEA).text == "密封保存十八个月。"
    assert answer("这茶怎么冲泡呢", CATALOG, TEA).text == "八十度的水，泡两分钟。"
    assert answer("包装很好，邮寄快吗", CATALOG, TEA) is None  # 包…邮 apart is not 包邮


def test_the_same_question_is_answered_for_the_current_or_the_named_product():
    assert answer("包邮吗", CATALOG, CUP).text == "和茶叶一起买就包邮。"
    assert answer("玻璃杯多少钱", CATALOG, TEA).text == "玻璃杯现在的价格是19元。"


def test_price_link_and_stock_come_from_the_facts():
    assert answer("多少钱呀", CATALOG, TEA).text == "明前龙井现在的价格是59.9元。"
    assert answer("几号链接", CATALOG, TEA).text == "明前龙井在3号链接。"
    assert answer("还有货吗", CATALOG, TEA).text == "明前龙井：现货。"
    assert answer("How much is it?", CATALOG, TEA, "en").text == "明前龙井 is 59.9 yuan."


def test_what_the_facts_do_not_answer_is_left_to_the_llm_or_the_rules():
    assert answer("适合送长辈吗", CATALOG, TEA) is None
    assert answer("多少钱", Catalog(), None) is None
    assert answer("多少钱", Catalog((Product("x", "无价之宝"),)), None) is None
