"""Answers a viewer's question from the products' facts, at once and without an LLM: the operator's
FAQ pairs (a keyword or close match of the question), and the facts every product has (price, link
number, stock) asked in the usual ways ("多少钱", "几号链接", "有货吗", "how much").

A comment that names another product than the current one ("红茶多少钱") is answered for that one.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

from streamer.audience.speakable import folded

from streamer.selling.products import Catalog, Product

CLOSE = 85  # rapidfuzz partial_ratio (0..100) from which a question is taken as the FAQ's
MIN_QUESTION = 2  # characters a FAQ question's core needs to be matched at all
EXACT_UP_TO = 3  # a core this short must be found as it is ("包邮" in "包邮不")
# what a question's core is matched without: particles and fillers of Chinese questions
FILLERS = set("的是吗呢吧啊呀嘛哦请问一下这个那该")

# The facts' usual questions, in both languages whatever the room's language.
ASKS = {
    "price": ("多少钱", "价格", "什么价", "几块", "多钱", "啥价", "价钱", "怎么卖", "howmuch", "price", "cost"),
    "link": ("几号链接", "哪个链接", "链接在哪", "哪号链接", "怎么买", "在哪买", "哪里买", "whichlink",
             "wheretobuy", "howtobuy", "howdoibuy"),
    "stock": ("有货吗", "还有吗", "有没有货", "库存", "还有货", "卖完", "instock", "available", "soldout"),
}
SAY = {
    "zh": {"price": "{name}现在的价格是{price}。", "link": "{name}在{link}。", "stock": "{name}：{stock}。"},
    "en": {"price": "{name} is {price}.", "link": "{name} is at {link}.", "stock": "{name}: {stock}."},
}


@dataclass(frozen=True, slots=True)
class FaqAnswer:
    """An answer from the facts: `text` to say, for `product` (its id), `why` "faq" or the fact's name."""

    text: str
    product: str
    why: str


def answer(comment: str, catalog: Catalog, current: Product | None, language: str = "zh") -> FaqAnswer | None:
    """The facts' answer to `comment`, or None when they do not answer it (the LLM or the rules will)."""
    asked = folded(comment)
    if not asked or not catalog.products:
        return None
    product = _named(asked, catalog) or current
    asked_core = _core(comment)
    best: tuple[float, FaqAnswer] | None = None
    # the operator's FAQ: the named or current product's first, then every product's
    candidates = ([product] if product else []) + [p for p in catalog.products if p is not product]
    for rank, p in enumerate(candidates):
        for pair in p.faq:
            q = _core(pair.q)
            if len(q) < MIN_QUESTION:
                continue
            if q in asked_core:
                score = 100.0
            elif len(q) <= EXACT_UP_TO:
                continue
            else:
                score = fuzz.partial_ratio(q, asked_core)
            score -= 0.5 * min(rank, 1)  # the same question of another product loses a tie
            if score >= CLOSE and (best is None or score > best[0]):
                best = (score, FaqAnswer(pair.a, p.id, "faq"))
    if best is not None:
        return best[1]
    if product is None:
        return None
    say = SAY.get(language, SAY["en"])
    facts = {"price": product.price_text(language), "link": product.link, "stock": product.stock}
    for fact, asks in ASKS.items():
        if facts[fact] and any(a in asked for a in asks):
            return FaqAnswer(say[fact].format(name=product.name, **facts), product.id, fact)
    return None


def _core(question: str) -> str:
    """A question folded, without the particles and fillers of a Chinese question."""
    whole = folded(question)
    core = "".join(c for c in whole if c not in FILLERS)
    return core if len(core) >= MIN_QUESTION else whole


def _named(asked: str, catalog: Catalog) -> Product | None:
    """The product whose name the comment holds (the longest name found), if any."""
    named = [p for p in catalog.products if len(folded(p.name)) >= 2 and folded(p.name) in asked]
    return max(named, key=lambda p: len(folded(p.name))) if named else None
