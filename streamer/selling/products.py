"""What a selling host knows: the products it presents (facts, not adjectives) and the room's shop
knowledge (shipping, returns, policies). The API stores products; `livehost demo --room` reads them
from YAML in the same shape. Everything here is the operator's text, trusted but still checked
for banned words before it is said."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

MAX_FACT_CHARS = 500


class ProductError(ValueError):
    """A product cannot be used. One line naming the product and the field."""


@dataclass(frozen=True, slots=True)
class Faq:
    """A question viewers ask about a product and the operator's answer to it."""

    q: str
    a: str


@dataclass(frozen=True)
class Product:
    """One product: `id` as the script's `product:` segments name it; `link` as the platform's
    shopping cart numbers it ("3号链接"); `stock` a note on availability ("现货", "仅剩20件")."""

    id: str
    name: str
    price: float | None = None
    currency: str = "CNY"
    selling_points: tuple[str, ...] = ()
    faq: tuple[Faq, ...] = ()
    link: str = ""
    stock: str = ""
    image: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Product":
        """A product from the API's product JSON or a room file's `products:` entry."""
        if not isinstance(d, dict):
            raise ProductError(f"a product is a mapping with at least id and name ({{id, name, price, ...}}), "
                               f"not {d!r:.60}")
        pid, name = d.get("id"), d.get("name")
        if pid is None or isinstance(pid, bool) or not str(pid).strip():
            raise ProductError(f"product {name or '?'}: needs an id")
        where = f"product {pid}"
        if not isinstance(name, str) or not name.strip():
            raise ProductError(f"{where}: needs a name")
        price = d.get("price")
        if price is not None:
            if isinstance(price, bool) or not isinstance(price, (int, float)) or not math.isfinite(price) or price < 0:
                raise ProductError(f"{where}: price must be a number >= 0, not {price!r}")
            price = float(price)
        points = d.get("selling_points") or []
        faq = d.get("faq") or []
        if not isinstance(points, list) or not all(isinstance(p, str) for p in points):
            raise ProductError(f"{where}: selling_points must be a list of texts")
        if not isinstance(faq, list):
            raise ProductError(f"{where}: faq must be a list of {{q, a}}")
        pairs = []
        for i, item in enumerate(faq):
            if not (isinstance(item, dict) and isinstance(item.get("q"), str) and isinstance(item.get("a"), str)
                    and item["q"].strip() and item["a"].strip()):
                raise ProductError(f"{where}: faq {i + 1} needs a question q and an answer a")
            pairs.append(Faq(item["q"].strip()[:MAX_FACT_CHARS], item["a"].strip()[:MAX_FACT_CHARS]))
        text = lambda key: str(d.get(key) or "").strip()[:MAX_FACT_CHARS]  # noqa: E731
        return cls(id=str(pid).strip(), name=name.strip()[:100], price=price,
                   currency=(text("currency") or "CNY").upper(),
                   selling_points=tuple(p.strip()[:MAX_FACT_CHARS] for p in points if p.strip()),
                   faq=tuple(pairs), link=text("link"), stock=text("stock"),
                   image=text("image") or text("image_url"))

    def price_text(self, language: str = "zh") -> str:
        """The price as the host says it: "59.9元", "$12.50", or "" without a price."""
        if self.price is None:
            return ""
        amount = f"{self.price:.2f}".rstrip("0").rstrip(".") if self.currency == "CNY" else f"{self.price:.2f}"
        if self.currency == "CNY":
            return f"{amount}元" if language == "zh" else f"{amount} yuan"
        symbol = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(self.currency)
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}"

    def facts(self, language: str = "zh") -> str:
        """Every fact of the product as lines for the LLM's instructions."""
        zh = language == "zh"
        lines = [f"{'商品' if zh else 'Product'}: {self.name}"]
        if self.price is not None:
            lines.append(f"{'价格' if zh else 'Price'}: {self.price_text(language)}")
        if self.link:
            lines.append(f"{'链接' if zh else 'Link'}: {self.link}")
        if self.stock:
            lines.append(f"{'库存' if zh else 'Availability'}: {self.stock}")
        for point in self.selling_points:
            lines.append(f"- {point}")
        for pair in self.faq:
            lines.append(f"Q: {pair.q} A: {pair.a}")
        return "\n".join(lines)

    def brief(self, language: str = "zh") -> str:
        """One line: name, price and link."""
        parts = [self.name, self.price_text(language), self.link]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Catalog:
    """The products a live knows, and the room's shop knowledge."""

    products: tuple[Product, ...] = ()
    knowledge: str = ""

    def get(self, product_id: str | int) -> Product | None:
        key = str(product_id).strip()
        return next((p for p in self.products if p.id == key), None)

    @classmethod
    def from_room_file(cls, data: dict[str, Any]) -> "Catalog":
        """The `products:` list and `knowledge:` text of a room file (livehost demo --room)."""
        raw = data.get("products") or []
        if not isinstance(raw, list):
            raise ProductError("products must be a list of products")
        products = tuple(Product.from_dict(d) for d in raw)
        ids = [p.id for p in products]
        if len(set(ids)) != len(ids):
            raise ProductError("two products have the same id")
        knowledge = data.get("knowledge") or ""
        if not isinstance(knowledge, str):
            raise ProductError("knowledge must be a text")
        return cls(products, knowledge.strip())
