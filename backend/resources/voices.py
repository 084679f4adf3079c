"""Voices: a TTS engine, a voice of it (a TTS server's URL and parameters for GPT-SoVITS and
CosyVoice), relative rate and pitch, and for a cloned voice its reference clip. Each is checked with
the streamer's own spec parser and exposed as the `spec` string a worker passes to create_voice."""
from __future__ import annotations

import io
import logging
import re
import uuid
import wave
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import av
import numpy as np
from flask import Blueprint, Response, current_app, send_file
from pydantic import Field, StringConstraints
from sqlalchemy import select

from backend import audit
from backend.api import ANYONE, OPERATE, Model, Out, Page, PageQuery, get_or_404, multipart_form, paginate, route
from backend.db import db
from backend.errors import REASONS, ApiError
from backend.resources.usage import delete_or_archive
from db.models import Voice
from db.voices import saved_spec, voices_dir
from streamer import voice as tts
from streamer.voice import SERVER_ENGINES

log = logging.getLogger("livehost.api")
bp = Blueprint("voices", __name__, url_prefix="/api/voices")

Engine = Literal["espeak", "edge", "piper", "gptsovits", "cosyvoice"]
VOICE_NAME = re.compile(r"^[A-Za-z0-9_.-]*$")  # espeak 'cmn', 'en-US'; edge 'zh-CN-XiaoxiaoNeural'
PREVIEW_TEXT = {"en": "Hello, and welcome to the live room!", "cmn": "大家好，欢迎来到直播间！"}
ParamKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
ParamValue = Annotated[str, StringConstraints(max_length=500)]
REFERENCE_S = (3.0, 10.0)  # what GPT-SoVITS accepts as a reference clip (CosyVoice's prompts are alike)
MAX_REFERENCE_BYTES = 20_000_000
_CJK = re.compile(r"[\u3400-\u9fff]")

class VoiceIn(Model):
    name: str = Field(min_length=1, max_length=100)
    engine: Engine
    voice: str = Field("", max_length=500,
                       description="espeak: '' (per text), 'en', 'cmn', ...; "
                                   "edge: e.g. zh-CN-XiaoxiaoNeural ('' = default); "
                                   "piper: a voice under models/piper/, e.g. zh_CN-huayan-medium ('' = default); "
                                   "gptsovits, cosyvoice: the server's URL, e.g. http://10.0.0.5:9880")
    rate: int = Field(0, ge=-50, le=100, strict=True, description="percent faster (+) or slower (-)")
    pitch: int = Field(0, ge=-50, le=50, strict=True, description="percent higher (+) or lower (-)")
    params: dict[ParamKey, ParamValue] = Field(
        default_factory=dict, max_length=40,
        description="gptsovits, cosyvoice: the server's parameters (GPT-SoVITS api_v2's /tts fields such as "
                    "prompt_lang, top_k, gpt_weights, sovits_weights; CosyVoice's mode, spk_id, instruct_text, "
                    "sample_rate), and timeout (seconds to the first audio)")


class VoicePatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    engine: Engine | None = None
    voice: str | None = Field(None, max_length=500)
    rate: int | None = Field(None, ge=-50, le=100, strict=True)
    pitch: int | None = Field(None, ge=-50, le=50, strict=True)
    params: dict[ParamKey, ParamValue] | None = Field(None, max_length=40)


class ReferenceOut(Out):
    text: str = Field(description="what is said in the clip")
    seconds: float
    sample_rate: int
    uploaded_at: datetime


class VoiceOut(Out):
    id: int
    name: str
    engine: str
    voice: str
    rate: int
    pitch: int
    params: dict[str, str]
    reference: ReferenceOut | None = Field(description="the reference clip of a cloned voice, if uploaded")
    spec: str = Field(description="what a worker passes to create_voice, "
                                  "e.g. 'edge:zh-CN-XiaoxiaoNeural:rate=+10%'")
    created_at: datetime

    @classmethod
    def of(cls, v: Voice) -> "VoiceOut":
        ref = v.reference
        return cls(id=v.id, name=v.name, engine=v.engine, voice=v.voice, rate=v.rate, pitch=v.pitch,
                   params=dict(v.params or {}), spec=spec_of(v), created_at=v.created_at,
                   reference=ReferenceOut(text=ref["text"], seconds=ref["seconds"], sample_rate=ref["sample_rate"],
                                          uploaded_at=ref["uploaded_at"]) if ref else None)


class PreviewQuery(Model):
    text: str = Field("", max_length=200, description="what to say; a greeting when empty")


def spec_of(v: Voice) -> str:
    settings = current_app.config["LIVEHOST"]
    return saved_spec(v, settings.var_dir, settings.voice_ref_dir)


def check_voice(engine: str, voice: str, rate: int, pitch: int, params: dict[str, str],
                reference: dict[str, Any] | None = None) -> str:
    """The spec, if the streamer accepts it; else 422 on the field at fault with the streamer's message."""
    if engine in SERVER_ENGINES:
        if not voice.startswith(("http://", "https://")):
            raise field_error("voice", "voice_server_url", engine=engine)
        if pitch:
            raise field_error("pitch", "no_pitch", engine=engine)
        if rate and engine == "cosyvoice":
            raise field_error("rate", "no_speed", engine=engine)
    else:
        if not VOICE_NAME.match(voice):
            raise field_error("voice", "voice_name_chars")
        if params:
            raise field_error("params", "no_server_params", engine=engine)
        if engine == "piper" and pitch:
            raise field_error("pitch", "no_pitch", engine=engine)
    def spec(clip: dict[str, Any] | None) -> str:
        spec = saved_spec(Voice(engine=engine, voice=voice, rate=rate, pitch=pitch, params=params, reference=clip),
                          Path("/nonexistent"))
        tts.create_voice(spec)  # offline: checks the engine, voice name and options
        return spec

    try:
        return spec(reference)
    except tts.VoiceError as e:
        if reference or engine not in SERVER_ENGINES:
            raise field_error("params" if engine in SERVER_ENGINES else "voice", "voice_refused", error=str(e)) from None
    try:  # a clone whose reference clip comes next
        return spec({"file": "reference.wav", "text": "reference"})
    except tts.VoiceError as e:
        raise field_error("params", "voice_refused", error=str(e)) from None


def field_error(field: str, reason: str, /, **params: Any) -> ApiError:
    """422 on `field`, worded by REASONS[reason] (the dashboard words it in the user's language)."""
    message = REASONS[reason].format(**params)
    return ApiError(422, "invalid", f"{field}: {message}", {field: message},
                    field_reasons={field: {"reason": reason, "params": params}})


@route(bp, "GET", "", roles=ANYONE, query=PageQuery, response=Page[VoiceOut])
def list_voices(query: PageQuery):
    """All voices."""
    return paginate(db(), select(Voice).where(Voice.archived_at.is_(None)).order_by(Voice.id), query, VoiceOut.of)


@route(bp, "POST", "", roles=OPERATE, body=VoiceIn, response=VoiceOut, status=201)
def create_voice(body: VoiceIn):
    """Create a voice (checked with the streamer's spec parser)."""
    check_voice(body.engine, body.voice, body.rate, body.pitch, body.params)
    s = db()
    voice = Voice(**body.model_dump())
    s.add(voice)
    s.flush()
    audit.record("voice.create", f"voice:{voice.id}", name=voice.name, spec=spec_of(voice))
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
    merged = {k: changes.get(k, getattr(voice, k)) for k in ("engine", "voice", "rate", "pitch", "params")}
    check_voice(**{**merged, "params": merged["params"] or {}}, reference=voice.reference)
    for field, value in changes.items():
        setattr(voice, field, value)
    audit.record("voice.change", f"voice:{voice.id}", fields=sorted(changes), spec=spec_of(voice))
    s.commit()
    return VoiceOut.of(voice)


@route(bp, "DELETE", "/<int:voice_id>", roles=OPERATE)
def delete_voice(voice_id: int):
    """Delete a voice (409 while a schedule or session uses it)."""
    s = db()
    voice = get_or_404(s, Voice, voice_id, "voice")
    audit.record("voice.delete", f"voice:{voice.id}", name=voice.name)
    reference = reference_path(voice)
    if delete_or_archive(s, voice, "voice", "voice_id") and reference is not None:
        reference.unlink(missing_ok=True)


@route(bp, "POST", "/<int:voice_id>/preview", roles=OPERATE, query=PreviewQuery,
       errors={503: "the voice could not speak (its TTS server down or slow, no internet for edge)"},
       media="audio/wav")
def preview_voice(voice_id: int, query: PreviewQuery):
    """A short sample of the voice as audio/wav, synthesized by this server as a worker would (edge voices
    need the internet, GPT-SoVITS and CosyVoice voices their server)."""
    voice = get_or_404(db(), Voice, voice_id, "voice")
    text = query.text or PREVIEW_TEXT[preview_language(voice)]
    try:
        speaker = tts.create_voice(spec_of(voice))
        try:
            audio = np.concatenate([np.zeros(0, np.float32), *speaker.stream(text)])
        finally:
            speaker.close()
    except tts.VoiceError as e:
        raise ApiError(503, "unavailable", f"{voice.engine} could not speak: {e}") from None
    return Response(wav_bytes(audio), mimetype="audio/wav")


def preview_language(voice: Voice) -> str:
    """"cmn" for a Chinese voice (by its name, its server's language or its clip's words), else "en"."""
    name = voice.voice.lower()
    params = voice.params or {}
    hints = [params.get("text_lang"), params.get("prompt_lang"), params.get("spk_id"),
             (voice.reference or {}).get("text")]
    if name in ("cmn", "zh", "zh-cn", "mandarin") or name.startswith(("zh_", "zh-")):
        return "cmn"
    return "cmn" if any(h and (h in ("zh", "all_zh") or _CJK.search(h)) for h in hints) else "en"


# ---- a cloned voice's reference clip ---------------------------------------------------------

REFERENCE_FORM = {"file": {"type": "string", "format": "binary",
                           "description": "3 to 10 s of the voice speaking alone (WAV, MP3, M4A, ...), 16 kHz or "
                                          f"more, at most {MAX_REFERENCE_BYTES / 1e6:g} MB"},
                  "text": {"type": "string", "maxLength": 500, "description": "what is said in the clip"}}


def reference_path(voice: Voice) -> Path | None:
    ref = voice.reference or {}
    return voices_dir(current_app.config["LIVEHOST"].var_dir) / Path(ref["file"]).name if ref.get("file") else None


@route(bp, "PUT", "/<int:voice_id>/reference", roles=OPERATE, multipart=True, form=REFERENCE_FORM,
       response=VoiceOut, errors={413: "the file is too large", 503: "the clip could not be stored (disk full)"})
def put_reference(voice_id: int):
    """Set the reference clip of a GPT-SoVITS or CosyVoice voice (multipart: file, text): the voice is
    cloned from it. Checked: 3 to 10 s long, 16 kHz or more, speech in it. Kept as 16-bit mono WAV under
    var/voices: GPT-SoVITS reads it from a volume it shares (LIVEHOST_VOICE_REF_DIR), CosyVoice gets it
    uploaded with each request."""
    s = db()
    voice = get_or_404(s, Voice, voice_id, "voice")
    if voice.engine not in SERVER_ENGINES:
        raise field_error("file", "clip_servers_only", engine=voice.engine)
    upload, form = multipart_form("the fields file and text",
                                  f"a reference clip is limited to {MAX_REFERENCE_BYTES / 1e6:g} MB")
    text = (form.get("text") or "").strip()
    if upload is None:
        raise ApiError(422, "invalid", "file: is required", {"file": "is required"},
                       field_reasons={"file": {"reason": "missing", "params": {}}})
    if not text or len(text) > 500:
        raise field_error("text", "clip_text")
    data = upload.stream.read(MAX_REFERENCE_BYTES + 1)
    if len(data) > MAX_REFERENCE_BYTES:
        raise ApiError(413, "too_large", f"a reference clip is limited to {MAX_REFERENCE_BYTES / 1e6:g} MB")
    samples, rate = decode_clip(data)
    check_clip(samples, rate)
    folder = voices_dir(current_app.config["LIVEHOST"].var_dir)
    path = folder / f"{voice.id}-{uuid.uuid4().hex[:12]}.wav"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wav_bytes(samples, rate))
    except OSError as e:
        path.unlink(missing_ok=True)
        log.error("cannot store a voice's reference clip: %s", e)
        raise ApiError(503, "unavailable", f"the clip could not be stored: {e.strerror or e}") from None
    old = reference_path(voice)
    voice.reference = {"file": path.name, "text": text, "seconds": round(samples.size / rate, 2), "sample_rate": rate,
                       "uploaded_at": datetime.now(timezone.utc).isoformat()}
    audit.record("voice.reference", f"voice:{voice.id}", seconds=voice.reference["seconds"], sample_rate=rate)
    s.commit()
    if old is not None:
        old.unlink(missing_ok=True)
    return VoiceOut.of(voice)


@route(bp, "GET", "/<int:voice_id>/reference", roles=ANYONE, media="audio/wav",
       errors={404: "no such voice, or it has no reference clip"})
def get_reference(voice_id: int):
    """The voice's reference clip (16-bit mono WAV)."""
    path = reference_path(get_or_404(db(), Voice, voice_id, "voice"))
    if path is None or not path.is_file():
        raise ApiError(404, "not_found", f"voice {voice_id} has no reference clip")
    return send_file(path, mimetype="audio/wav", max_age=0)


@route(bp, "DELETE", "/<int:voice_id>/reference", roles=OPERATE, response=VoiceOut)
def delete_reference(voice_id: int):
    """Forget the voice's reference clip (its parameters speak for it again)."""
    s = db()
    voice = get_or_404(s, Voice, voice_id, "voice")
    path = reference_path(voice)
    voice.reference = None
    audit.record("voice.reference_delete", f"voice:{voice.id}")
    s.commit()
    if path is not None:
        path.unlink(missing_ok=True)
    return VoiceOut.of(voice)


def decode_clip(data: bytes) -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate) of an audio file in any format FFmpeg reads; 422 if it is none."""
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise field_error("file", "clip_unreadable")
            stream = container.streams.audio[0]
            rate = stream.rate or stream.codec_context.sample_rate
            to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
            parts = [f.to_ndarray().reshape(-1) for frame in container.decode(stream)
                     for f in to_mono.resample(frame)]
            parts += [f.to_ndarray().reshape(-1) for f in to_mono.resample(None)]
    except (av.FFmpegError, OSError, ValueError):
        raise field_error("file", "clip_unreadable") from None
    if not parts or not rate:
        raise field_error("file", "clip_unreadable")
    return np.concatenate(parts).astype(np.float32), int(rate)


def check_clip(samples: np.ndarray, rate: int) -> None:
    """422 unless the clip is 3 to 10 s, 16 kHz or more, and has speech in it (frames well above its quiet
    ones, for a second or more)."""
    seconds = samples.size / rate
    low, high = REFERENCE_S
    if not low <= seconds <= high:
        raise field_error("file", "clip_length", seconds=round(seconds, 1), low=f"{low:g}", high=f"{high:g}")
    if rate < 16000:
        raise field_error("file", "clip_rate", rate=rate)
    frame = rate // 50  # 20 ms
    frames = samples[: samples.size // frame * frame].reshape(-1, frame)
    level = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-9)
    floor = np.percentile(level, 10)
    voiced = (level > max(floor + 15, -45)).sum() * 0.02
    if voiced < 1.0:
        raise field_error("file", "clip_silent", seconds=round(float(voiced), 1))


def wav_bytes(audio: np.ndarray, rate: int = 16000) -> bytes:
    """16-bit mono WAV of float32 samples in [-1, 1]."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return buf.getvalue()
