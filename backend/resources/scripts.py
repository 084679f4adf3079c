"""Scripts: what the host says, in order: say (with an optional voice spec), pause, action; looped.
Checked with the streamer's own parser, so the API refuses exactly what a live would refuse; a
`product` segment must name a product, and what is said must hold no banned word (backend.banned).
POST /api/scripts/draft has the LLM draft one from products (streamer.selling.copywriter)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from flask import Blueprint, current_app
from pydantic import Field
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.banned import check_banned
from backend.db import db
from backend.errors import ApiError
from backend.resources.schedules import Id, StrictId
from backend.resources.usage import delete_or_archive
from db.models import Product, Room, Script
from streamer import voice as tts
from streamer.script import ScriptError, parse_script, split_sentences
from streamer.selling import copywriter
from streamer.selling.banned import BannedWords, banned_of
from streamer.selling.products import Product as SellingProduct
from streamer.settings import Settings

bp = Blueprint("scripts", __name__, url_prefix="/api/scripts")
log = logging.getLogger("livehost.api")

SEGMENT_KEYS = {"say", "pause", "action", "product", "voice"}
MAX_SEGMENTS = 10_000

SEGMENTS_DOC = ('ordered segments: {"say": text, "voice"?: spec} | {"pause": ms} | {"action": clip name} | '
                '{"product": id} (the current product for what follows); a plain string is a say; a say may '
                'hold alternatives, one chosen per loop: "{今天|现在}"')


class ScriptIn(Model):
    name: str = Field(min_length=1, max_length=100)
    loop: int = Field(1, ge=0, strict=True, description="times to play; 0 = for ever")
    segments: list[Any] = Field(max_length=MAX_SEGMENTS, description=SEGMENTS_DOC)


class ScriptPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    loop: int | None = Field(None, ge=0, strict=True)
    segments: list[Any] | None = Field(None, max_length=MAX_SEGMENTS, description=SEGMENTS_DOC)


class ScriptOut(Out):
    id: int
    name: str
    loop: int
    segments: list[dict[str, Any]]
    chars: int = Field(description="characters of text to say")
    sentences: int = Field(description="sentences the voice will speak, per loop")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, script: Script) -> "ScriptOut":
        texts = [seg["say"] for seg in script.segments if "say" in seg]
        return cls(id=script.id, name=script.name, loop=script.loop, segments=script.segments,
                   chars=sum(map(len, texts)), sentences=sum(len(split_sentences(t)) for t in texts),
                   created_at=script.created_at, updated_at=script.updated_at)


def invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid", message, {field: message})


def check_segments(raw: list[Any], loop: int, known: set[int] | frozenset[int] = frozenset()) \
        -> list[dict[str, Any]]:
    """The segments in their stored form, if the streamer accepts them, their products exist (or
    are in `known`: those the script named already, archived since) and what they say holds no
    banned word; else 422 naming the segment."""
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            unknown = sorted(str(k) for k in set(item) - SEGMENT_KEYS)
            if unknown:
                raise invalid(f"segments.{i}", f"segment {i + 1}: unknown key '{unknown[0]}' (a segment has "
                                               "one of say, pause, action, product; a say may name a voice)")
            if "voice" in item and "say" not in item:
                raise invalid(f"segments.{i}", f"segment {i + 1}: only a say segment may name a voice")
    raw = [{**item, "product": _product_id(item["product"], k)} if isinstance(item, dict) and "product" in item
           else item for k, item in enumerate(raw)]
    try:
        script = parse_script({"segments": raw, "loop": loop}, "script")
    except ScriptError as e:
        raise invalid("segments", str(e)) from None
    limit = current_app.config["LIVEHOST"].max_script_chars
    chars = sum(len(seg.text) for seg in script.segments)
    if chars > limit:
        raise invalid("segments", f"the script has {chars} characters of text; the limit is {limit}")
    out: list[dict[str, Any]] = []
    for i, seg in enumerate(script.segments):
        if seg.kind == "say":
            out.append({"say": seg.text})
            if seg.voice is not None:
                out[-1]["voice"] = _check_voice(seg.voice, i)
        elif seg.kind == "pause":
            out.append({"pause": seg.ms})
        elif seg.kind == "product":
            out.append({"product": raw[i]["product"]})
        else:
            out.append({"action": seg.name})
    _check_products(out, known)
    check_banned([(f"segments.{i}.say", seg["say"]) for i, seg in enumerate(out) if "say" in seg],
                 BannedWords.for_room())
    return out


def named_products(segments: list[Any]) -> set[int]:
    """The product ids stored `segments` name."""
    return {seg["product"] for seg in segments or [] if isinstance(seg, dict) and isinstance(seg.get("product"), int)}


def _product_id(value: Any, i: int) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 10:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 2**31 - 1:
        raise invalid(f"segments.{i}.product", f"segment {i + 1}: product must be a product's id, not {value!r:.40}")
    return value


def _check_products(segments: list[dict[str, Any]], known: set[int] | frozenset[int]) -> None:
    wanted = sorted(named_products(segments) - set(known))
    there: set[int] = set()
    for k in range(0, len(wanted), 500):
        there.update(db().scalars(select(Product.id).where(Product.id.in_(wanted[k:k + 500]),
                                                           Product.archived_at.is_(None))))
    missing, reasons = {}, {}
    for i, seg in enumerate(segments):
        ident = seg.get("product")
        if ident is not None and ident not in known and ident not in there:
            missing[f"segments.{i}.product"] = f"segment {i + 1}: product {ident} does not exist"
            reasons[f"segments.{i}.product"] = {"reason": "not_found", "params": {"what": "product", "id": ident}}
    if missing:
        field, message = next(iter(missing.items()))
        raise ApiError(422, "invalid", message, missing, field_reasons=reasons)


def _check_voice(spec: Any, i: int) -> str:
    where = f"segments.{i}.voice"
    if not isinstance(spec, str):
        raise invalid(where, f"segment {i + 1}: voice must be a voice spec such as 'espeak:en' "
                             f"or 'edge:zh-CN-XiaoxiaoNeural', not {spec!r}")
    try:
        tts.create_voice(spec)
    except tts.VoiceError as e:
        raise invalid(where, f"segment {i + 1}: {e}") from None
    return spec.strip()


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[ScriptOut])
def list_scripts(query: PageQuery):
    """All scripts."""
    return paginate(db(), select(Script).where(Script.archived_at.is_(None)).order_by(Script.id), query, ScriptOut.of)


@route(bp, "POST", "", roles=OPERATE, body=ScriptIn, response=ScriptOut, status=201)
def create_script(body: ScriptIn):
    """Create a script (checked with the streamer's script parser)."""
    segments = check_segments(body.segments, body.loop)
    s = db()
    script = Script(name=body.name, loop=body.loop, segments=segments)
    s.add(script)
    s.flush()
    audit.record("script.create", f"script:{script.id}", name=script.name, segments=len(segments))
    s.commit()
    return ScriptOut.of(script)


@route(bp, "GET", "/<int:script_id>", roles=ANYONE, response=ScriptOut)
def get_script(script_id: int):
    """One script with its segments."""
    return ScriptOut.of(get_or_404(db(), Script, script_id, "script"))


@route(bp, "PATCH", "/<int:script_id>", roles=OPERATE, body=ScriptPatch, response=ScriptOut)
def change_script(script_id: int, body: ScriptPatch):
    """Change a script's name, loop count or segments (all of them at once)."""
    s = db()
    script = get_or_404(s, Script, script_id, "script")
    loop = script.loop if body.loop is None else body.loop
    if body.segments is not None:
        script.segments = check_segments(body.segments, loop, named_products(script.segments))
    if body.name is not None:
        script.name = body.name
    script.loop = loop
    audit.record("script.change", f"script:{script.id}", fields=sorted(body.model_dump(exclude_none=True)))
    s.commit()
    return ScriptOut.of(script)


@route(bp, "DELETE", "/<int:script_id>", roles=OPERATE)
def delete_script(script_id: int):
    """Delete a script (409 while a schedule or session uses it)."""
    s = db()
    script = get_or_404(s, Script, script_id, "script")
    audit.record("script.delete", f"script:{script.id}", name=script.name)
    delete_or_archive(s, script, "script", "script_id")


# --- copy generation (文案生成) ------------------------------------------------------------------

Style = Literal["lively", "calm", "professional", "warm", "humorous"]
assert Style.__args__ == copywriter.STYLES
DRAFT_TIMEOUT_S = 45.0  # under a reverse proxy's usual 60 s


class DraftIn(Model):
    product_ids: list[StrictId] = Field(min_length=1, max_length=20, description="the products the script presents, "
                                  "in order")
    style: Style
    language: Literal["zh", "en"] = "zh"
    room_id: Id | None = Field(None, description="its knowledge (shop facts) and banned-word settings are used")


class DraftBanned(Out):
    segment: int = Field(description="index of the segment, from 0")
    words: list[str] = Field(description="banned words it still holds: the operator edits them out")


class DraftOut(Out):
    title: str
    segments: list[dict[str, Any]] = Field(description="as a script's (say, pause, product); not saved")
    banned: list[DraftBanned]


def _draft_refs(s, body: DraftIn) -> tuple[list[SellingProduct], Room | None]:
    """The products (in the order asked) and the room; 422 naming each that does not exist."""
    missing, reasons, products = {}, {}, []
    for i, ident in enumerate(body.product_ids):
        row = s.get(Product, ident)
        if row is None or row.archived_at is not None:
            missing[f"product_ids.{i}"] = f"product {ident} does not exist"
            reasons[f"product_ids.{i}"] = {"reason": "not_found", "params": {"what": "product", "id": ident}}
        else:
            products.append(SellingProduct.from_dict({**row.facts(), "id": str(row.id)}))
    room = s.get(Room, body.room_id) if body.room_id is not None else None
    if body.room_id is not None and (room is None or room.archived_at is not None):
        missing["room_id"] = f"room {body.room_id} does not exist"
        reasons["room_id"] = {"reason": "not_found", "params": {"what": "room", "id": body.room_id}}
    if missing:
        field, message = next(iter(missing.items()))
        raise ApiError(422, "invalid", f"{field}: {message}", missing, field_reasons=reasons)
    return products, room


@route(bp, "POST", "/draft", roles=OPERATE, body=DraftIn, response=DraftOut,
       errors={409: "no LLM is configured (no_llm)", 502: "the LLM failed (llm_failed)"})
def draft_script(body: DraftIn):
    """Have the LLM draft a script presenting products in a style: opening, a section per
    product, calls to action, closing. Not saved: edit it, then POST /api/scripts."""
    s = db()
    products, room = _draft_refs(s, body)
    settings = dict(room.settings or {}) if room is not None else {}
    s.rollback()  # hold no transaction open while the LLM writes
    try:
        draft = copywriter.draft_script(Settings.load().llm(), products, body.style, body.language,
                                        knowledge=str(settings.get("knowledge") or ""), banned=banned_of(settings),
                                        timeout_s=DRAFT_TIMEOUT_S)
    except copywriter.NoLlm:
        raise ApiError.because(409, "no_llm", "no_llm") from None
    except copywriter.CopyError as e:
        log.warning("script draft failed: %s", e)
        raise ApiError.because(502, "llm_failed", "llm_failed", error=str(e)) from None
    audit.record("script.draft", "", products=body.product_ids, style=body.style, language=body.language,
                 room_id=body.room_id, segments=len(draft.segments))
    s.commit()
    return DraftOut(title=draft.title, segments=draft.segments,
                    banned=[DraftBanned(segment=b["segment"], words=list(b["words"])) for b in draft.banned])
