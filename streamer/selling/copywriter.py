"""Copy generation (文案生成): from products and a style, the LLM drafts a selling script (opening,
a section per product, calls to action, closing) for the operator to edit before it is saved.
Nothing is invented for the operator: without an LLM there is no draft (NoLlm), and a draft that
is not a script is an error, not a guess."""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from streamer.llm.complete import Completer, LlmError
from streamer.llm.openai_chat import LlmSettings, reask_messages
from streamer.script import check_alternatives, plain
from streamer.selling.banned import BannedWords
from streamer.selling.products import Product

STYLES = ("lively", "calm", "professional", "warm", "humorous")
STYLE_WORDS = {
    "zh": {"lively": "热情活泼、节奏快", "calm": "平静从容、娓娓道来", "professional": "专业可信、讲清参数",
           "warm": "亲切温暖、像朋友聊天", "humorous": "幽默风趣、轻松好玩"},
    "en": {"lively": "lively and upbeat", "calm": "calm and unhurried", "professional": "professional and precise",
           "warm": "warm and friendly, like chatting with a friend", "humorous": "light and humorous"},
}
MAX_SAY_CHARS = 500
MAX_SEGMENTS = 200
PROMPT = {
    "zh": "你是直播带货的文案策划。为数字人主播写一段{style}的直播脚本：开场白，然后每个商品一节（先写 "
          "{{\"product\": \"商品ID\"}}，再介绍卖点、价格和链接，并号召下单），最后结束语。只用下面给出的事实，"
          "不编造价格、库存、功效或承诺；不用绝对化用语（最、第一、顶级、国家级、100%等）。同一句话可以有几种说法时，"
          "写成 {{说法一|说法二}}。只输出 JSON：{{\"title\": \"标题\", \"segments\": [{{\"say\": \"一句或几句话\"}}, "
          "{{\"product\": \"商品ID\"}}, {{\"pause\": 毫秒}}]}}。",
    "en": "You write selling scripts for a live-stream host. Write a {style} script: an opening, then one section "
          "per product (first {{\"product\": \"PRODUCT_ID\"}}, then its selling points, price and link, and a call to "
          "buy), then a closing. Use only the facts below: invent no price, stock, effect or promise, and make no "
          "absolute claims (best, number one, 100%). Where a phrase can be said several ways, write {{one|another}}. "
          "Answer with JSON only: {{\"title\": \"...\", \"segments\": [{{\"say\": \"...\"}}, "
          "{{\"product\": \"PRODUCT_ID\"}}, {{\"pause\": milliseconds}}]}}.",
}


class CopyError(Exception):
    """The LLM could not draft a script. One line an operator can act on; never the API key."""


class NoLlm(CopyError):
    """No LLM is configured: drafting needs one."""


@dataclass
class Draft:
    """A script draft in the stored form, and the banned words it still holds (by segment)."""

    title: str
    segments: list[dict]
    banned: list[dict] = field(default_factory=list)


def draft_script(llm: LlmSettings | None, products: Sequence[Product], style: str, language: str = "zh",
                 knowledge: str = "", banned: BannedWords | None = None, timeout_s: float = 60.0) -> Draft:
    """A draft selling script for `products` in `style`, by the LLM of `llm`. Blocking (seconds)."""
    if llm is None or not llm.configured:
        raise NoLlm("no LLM is configured: set LIVEHOST_LLM_BASE_URL and LIVEHOST_LLM_MODEL to draft scripts")
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}")
    if not products:
        raise ValueError("a draft needs at least one product")
    lang = "zh" if language == "zh" else "en"
    banned = banned or BannedWords.for_room()
    facts = "\n\n".join(f"ID {p.id}\n{p.facts(lang)}" for p in products)
    if knowledge.strip():
        facts += f"\n\n{'店铺须知' if lang == 'zh' else 'Shop knowledge'}:\n{knowledge.strip()}"
    completer = Completer(llm)
    try:
        answer = completer.complete([{"role": "system", "content": PROMPT[lang].format(style=STYLE_WORDS[lang][style])},
                                     {"role": "user", "content": facts}], timeout_s=timeout_s, max_tokens=3000)
        draft = parse_draft(answer, {p.id for p in products})
        for i, segment in enumerate(draft.segments):
            text = segment.get("say")
            words = banned.words_in(text) if text else []
            if words:
                better = completer.complete(reask_messages(text, words), timeout_s=timeout_s, max_tokens=600)
                if not banned.words_in(better) and not check_alternatives(better):
                    segment["say"] = better
                else:
                    draft.banned.append({"segment": i, "words": words})
    except LlmError as e:
        raise CopyError(f"the LLM could not draft the script: {e}") from None
    finally:
        completer.close()
    return draft


def parse_draft(answer: str, product_ids: set[str]) -> Draft:
    """The draft in the LLM's answer (JSON, maybe fenced in ```), checked; CopyError if it is not one."""
    match = re.search(r"\{.*\}", answer, re.S)
    try:
        data = json.loads(match.group(0)) if match else None
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
        raise CopyError("the LLM's answer was not a script (no JSON with segments); try again")
    segments: list[dict] = []
    for item in data["segments"][:MAX_SEGMENTS]:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("say"), str) and item["say"].strip():
            text = " ".join(item["say"].split())[:MAX_SAY_CHARS]
            if check_alternatives(text):
                text = text.replace("{", "").replace("}", "").replace("|", "/")
            segments.append({"say": text})
        elif str(item.get("product", "")).strip() in product_ids:
            segments.append({"product": str(item["product"]).strip()})
        elif isinstance(item.get("pause"), (int, float)) and not isinstance(item.get("pause"), bool) \
                and 0 < item["pause"] <= 10_000:
            segments.append({"pause": int(item["pause"])})
    if not any("say" in s and plain(s["say"]).strip() for s in segments):
        raise CopyError("the LLM's draft had nothing to say; try again")
    title = str(data.get("title") or "").strip()[:100]
    return Draft(title, segments)
