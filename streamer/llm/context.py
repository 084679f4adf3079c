"""What a reply is grounded in: who the host is, the room's shop knowledge, the current product's
facts, the other products in short, and the last few exchanges of this live (bounded). The
operator's text is instructions; the viewers' earlier comments stay quoted data."""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from streamer.selling.products import Product

HISTORY = 4  # exchanges of this live the LLM sees
MAX_EXCHANGE_CHARS = 300
MAX_PRODUCTS_LISTED = 30

GROUND_RULE = {
    "zh": "只根据上面的事实回答价格、库存、链接、发货和售后等问题；事实里没有的，就说稍后帮你确认，绝不编造。"
          "不要使用绝对化用语（最、第一、顶级等）或功效承诺。",
    "en": "Answer questions about prices, stock, links, shipping and returns only from the facts above; "
          "when they do not say, say you will check and come back to it. Never invent facts. "
          "Never make absolute claims (best, number one) or health promises.",
}
TITLES = {
    "zh": ("店铺须知", "当前商品", "其他商品"),
    "en": ("Shop knowledge", "Current product", "Other products"),
}


@dataclass(frozen=True)
class ReplyContext:
    """Everything a replier may ground an answer in. `history`: (viewer's comment, host's answer)
    pairs, oldest first."""

    persona: str = ""
    knowledge: str = ""
    product: Product | None = None
    products: tuple[Product, ...] = ()
    history: tuple[tuple[str, str], ...] = ()
    language: str = "zh"

    @property
    def grounded(self) -> bool:
        return bool(self.knowledge.strip() or self.product or self.products)

    def facts(self) -> str:
        """The facts block for the system prompt, with the rule to answer from them; "" if none."""
        if not self.grounded:
            return ""
        lang = self.language if self.language in TITLES else "en"
        shop, current, others = TITLES[lang]
        parts = []
        if self.knowledge.strip():
            parts.append(f"{shop}:\n{self.knowledge.strip()}")
        if self.product is not None:
            parts.append(f"{current}:\n{self.product.facts(lang)}")
        rest = [p for p in self.products if p is not self.product][:MAX_PRODUCTS_LISTED]
        if rest:
            parts.append(f"{others}:\n" + "\n".join(f"- {p.brief(lang)}" for p in rest))
        parts.append(GROUND_RULE[lang])
        return "\n\n".join(parts)


@dataclass
class History:
    """The last exchanges of one live, bounded. add() from the live's threads; last() from any."""

    size: int = HISTORY
    _items: deque = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, comment: str, reply) -> None:
        """Remember `comment` and its `reply` (read for its text when asked: what was said by then)."""
        with self._lock:
            self._items.append((comment[:MAX_EXCHANGE_CHARS], reply))
            while len(self._items) > self.size:
                self._items.popleft()

    def last(self) -> tuple[tuple[str, str], ...]:
        with self._lock:
            items = list(self._items)
        return tuple((c, r.text[:MAX_EXCHANGE_CHARS]) for c, r in items if r.text)
