"""Scripts: what the host says, in order: say (with an optional voice spec), pause, action; looped.
Checked with the streamer's own parser, so the API refuses exactly what a live would refuse."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, current_app
from pydantic import Field
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from backend.resources.usage import delete_or_archive
from db.models import Script
from streamer import voice as tts
from streamer.script import ScriptError, parse_script, split_sentences

bp = Blueprint("scripts", __name__, url_prefix="/api/scripts")

SEGMENT_KEYS = {"say", "pause", "action", "voice"}
MAX_SEGMENTS = 10_000

SEGMENTS_DOC = ('ordered segments: {"say": text, "voice"?: spec} | {"pause": ms} | {"action": clip name}; '
                'a plain string is a say')


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


def check_segments(raw: list[Any], loop: int) -> list[dict[str, Any]]:
    """The segments in their stored form, if the streamer accepts them; else 422 naming the segment."""
    for i, item in enumerate(raw):
        if isinstance(item, dict):
            unknown = sorted(str(k) for k in set(item) - SEGMENT_KEYS)
            if unknown:
                raise invalid(f"segments.{i}", f"segment {i + 1}: unknown key '{unknown[0]}' (a segment has "
                                               "one of say, pause, action; a say may name a voice)")
            if "voice" in item and "say" not in item:
                raise invalid(f"segments.{i}", f"segment {i + 1}: only a say segment may name a voice")
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
        else:
            out.append({"action": seg.name})
    return out


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
        script.segments = check_segments(body.segments, loop)
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
