"""Voices: a TTS engine, a voice of it, and relative rate and pitch. Each is checked with the
streamer's own spec parser and exposed as the `spec` string a worker passes to create_voice."""
from __future__ import annotations

import io
import wave
from datetime import datetime
from typing import Literal

import numpy as np
from flask import Blueprint, Response
from pydantic import Field
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from backend.resources.usage import delete_or_archive
from db.models import Voice
from streamer import voice as tts
from streamer.voice import voice_spec

bp = Blueprint("voices", __name__, url_prefix="/api/voices")

Engine = Literal["espeak", "edge"]
VOICE_NAME = r"^[A-Za-z0-9_.-]*$"  # espeak 'cmn', 'en-US'; edge 'zh-CN-XiaoxiaoNeural'
PREVIEW_TEXT = {"en": "Hello, and welcome to the live room!", "cmn": "大家好，欢迎来到直播间！"}


class VoiceIn(Model):
    name: str = Field(min_length=1, max_length=100)
    engine: Engine
    voice: str = Field("", max_length=100, pattern=VOICE_NAME,
                       description="espeak: '' (per text), 'en', 'cmn', ...; "
                                   "edge: e.g. zh-CN-XiaoxiaoNeural ('' = default)")
    rate: int = Field(0, ge=-50, le=100, strict=True, description="percent faster (+) or slower (-)")
    pitch: int = Field(0, ge=-50, le=50, strict=True, description="percent higher (+) or lower (-)")


class VoicePatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    engine: Engine | None = None
    voice: str | None = Field(None, max_length=100, pattern=VOICE_NAME)
    rate: int | None = Field(None, ge=-50, le=100, strict=True)
    pitch: int | None = Field(None, ge=-50, le=50, strict=True)


class VoiceOut(Out):
    id: int
    name: str
    engine: str
    voice: str
    rate: int
    pitch: int
    spec: str = Field(description="what a worker passes to create_voice, "
                                  "e.g. 'edge:zh-CN-XiaoxiaoNeural:rate=+10%'")
    created_at: datetime

    @classmethod
    def of(cls, v: Voice) -> "VoiceOut":
        return cls(id=v.id, name=v.name, engine=v.engine, voice=v.voice, rate=v.rate, pitch=v.pitch,
                   spec=voice_spec(v.engine, v.voice, v.rate, v.pitch), created_at=v.created_at)


class PreviewQuery(Model):
    text: str = Field("", max_length=200, description="what to say; a greeting when empty")


def check_voice(engine: str, voice: str, rate: int, pitch: int) -> str:
    """The spec, if the streamer accepts it; else 422 on `voice` with the streamer's message."""
    spec = voice_spec(engine, voice, rate, pitch)
    try:
        tts.create_voice(spec)  # offline: checks the engine, voice name and options
    except tts.VoiceError as e:
        raise ApiError(422, "invalid", f"voice: {e}", {"voice": str(e)}) from None
    return spec


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[VoiceOut])
def list_voices(query: PageQuery):
    """All voices."""
    return paginate(db(), select(Voice).where(Voice.archived_at.is_(None)).order_by(Voice.id), query, VoiceOut.of)


@route(bp, "POST", "", roles=OPERATE, body=VoiceIn, response=VoiceOut, status=201)
def create_voice(body: VoiceIn):
    """Create a voice (checked with the streamer's spec parser)."""
    spec = check_voice(body.engine, body.voice, body.rate, body.pitch)
    s = db()
    voice = Voice(**body.model_dump())
    s.add(voice)
    s.flush()
    audit.record("voice.create", f"voice:{voice.id}", name=voice.name, spec=spec)
    s.commit()
    return VoiceOut.of(voice)


@route(bp, "GET", "/<int:voice_id>", roles=ANYONE, response=VoiceOut)
def get_voice(voice_id: int):
    """One voice."""
    return VoiceOut.of(get_or_404(db(), Voice, voice_id, "voice"))


@route(bp, "PATCH", "/<int:voice_id>", roles=OPERATE, body=VoicePatch, response=VoiceOut)
def change_voice(voice_id: int, body: VoicePatch):
    """Change a voice; the result is checked as a whole."""
    s = db()
    voice = get_or_404(s, Voice, voice_id, "voice")
    changes = body.model_dump(exclude_none=True)
    merged = {k: changes.get(k, getattr(voice, k)) for k in ("engine", "voice", "rate", "pitch")}
    spec = check_voice(**merged)
    for field, value in changes.items():
        setattr(voice, field, value)
    audit.record("voice.change", f"voice:{voice.id}", fields=sorted(changes), spec=spec)
    s.commit()
    return VoiceOut.of(voice)


@route(bp, "DELETE", "/<int:voice_id>", roles=OPERATE)
def delete_voice(voice_id: int):
    """Delete a voice (409 while a schedule or session uses it)."""
    s = db()
    voice = get_or_404(s, Voice, voice_id, "voice")
    audit.record("voice.delete", f"voice:{voice.id}", name=voice.name)
    delete_or_archive(s, voice, "voice", "voice_id")


@route(bp, "POST", "/<int:voice_id>/preview", roles=OPERATE, query=PreviewQuery,
       errors={503: "espeak could not speak"}, media="audio/wav")
def preview_voice(voice_id: int, query: PreviewQuery):
    """A short sample of an espeak voice as audio/wav (edge voices need the internet: 422)."""
    voice = get_or_404(db(), Voice, voice_id, "voice")
    if voice.engine != "espeak":
        raise ApiError(422, "invalid", f"preview works offline with espeak voices only; {voice.engine} "
                                       "voices are synthesized online by the worker during a live")
    language = "cmn" if voice.voice.lower() in ("cmn", "zh", "zh-cn", "mandarin") else "en"
    text = query.text or PREVIEW_TEXT[language]
    try:
        speaker = tts.create_voice(voice_spec(voice.engine, voice.voice, voice.rate, voice.pitch))
        audio = np.concatenate([np.zeros(0, np.float32), *speaker.stream(text)])
    except tts.VoiceError as e:
        raise ApiError(503, "unavailable", f"espeak could not speak: {e}") from None
    return Response(wav_bytes(audio), mimetype="audio/wav")


def wav_bytes(audio: np.ndarray, rate: int = 16000) -> bytes:
    """16-bit mono WAV of float32 samples in [-1, 1]."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return buf.getvalue()
