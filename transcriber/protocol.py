"""WhisperLive's wire format: the client's options message and the server's JSON messages.

Every server message is a JSON text frame carrying the client's "uid" (an ERROR too, whenever the client
gave one: WhisperLive's clients drop messages for another uid). Audio arrives as binary frames of 16 kHz
mono samples in one of WhisperLive's formats (`AUDIO_FORMATS`: float32 by default, int16, or uint8 with
128 as zero), and the bytes END_OF_AUDIO end the stream."""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

END_OF_AUDIO = b"END_OF_AUDIO"
SAMPLE_RATE = 16_000
BACKEND = "faster_whisper"
AUDIO_FORMATS = ("float32", "int16", "uint8")  # what WhisperLive 0.10 accepts


class ProtocolError(Exception):
    """The client broke the protocol; the message is sent back to it as an ERROR, with `uid` when the
    client gave one."""

    def __init__(self, message: str, uid: str | None = None):
        super().__init__(message)
        self.uid = uid


@dataclass(frozen=True)
class ClientOptions:
    uid: str
    language: str | None = None
    task: str = "transcribe"
    model: str | None = None
    use_vad: bool = True
    send_last_n_segments: int = 10
    no_speech_thresh: float = 0.45
    same_output_threshold: int = 10
    initial_prompt: str | None = None
    audio_format: str = "float32"


def parse_options(text: str | bytes, default_last_n: int = 10) -> ClientOptions:
    """The first message of a client; raises ProtocolError with a reason the client can read."""
    if isinstance(text, bytes):
        raise ProtocolError("the first message must be the JSON options, not audio")
    try:
        data = json.loads(text)
    except ValueError:
        raise ProtocolError("the first message must be a JSON object of options") from None
    if not isinstance(data, dict):
        raise ProtocolError("the first message must be a JSON object of options")
    uid = data.get("uid")
    if not isinstance(uid, str) or not uid or len(uid) > 200:
        raise ProtocolError("options need a 'uid' string (1-200 characters)")
    try:
        return _options(uid, data, default_last_n)
    except ProtocolError as e:
        raise ProtocolError(str(e), uid) from None


def _options(uid: str, data: dict, default_last_n: int) -> ClientOptions:
    task = data.get("task") or "transcribe"
    if task not in ("transcribe", "translate"):
        raise ProtocolError(f"task must be transcribe or translate, not {task!r}")
    language = data.get("language") or None
    if language is not None and (not isinstance(language, str) or len(language) > 10):
        raise ProtocolError("language must be a language code such as 'en', or null")
    fmt = data.get("audio_format") or "float32"
    if fmt not in AUDIO_FORMATS:
        raise ProtocolError(f"audio_format must be one of {', '.join(AUDIO_FORMATS)}, not {fmt!r}")
    prompt = data.get("initial_prompt") or None
    try:
        last_n = int(data.get("send_last_n_segments") or default_last_n)
        no_speech = float(data.get("no_speech_thresh", 0.45) if data.get("no_speech_thresh") is not None else 0.45)
        same = int(data.get("same_output_threshold") or 10)
    except (TypeError, ValueError):
        raise ProtocolError("send_last_n_segments, no_speech_thresh and same_output_threshold must be numbers") from None
    return ClientOptions(uid=uid, language=language, task=task, model=data.get("model"),
                         use_vad=bool(data.get("use_vad", True)), send_last_n_segments=max(1, min(last_n, 1000)),
                         no_speech_thresh=no_speech, same_output_threshold=max(1, same),
                         initial_prompt=str(prompt) if prompt else None, audio_format=fmt)


def decode_audio(frame: bytes, audio_format: str) -> np.ndarray:
    """A binary frame as float32 samples in [-1, 1]; ProtocolError for bytes that cannot be that."""
    if audio_format == "uint8":  # unsigned 8-bit PCM: 128 is silence
        return (np.frombuffer(frame, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if audio_format == "int16":
        if len(frame) % 2:
            raise ProtocolError(f"an int16 audio frame must have an even byte count, not {len(frame)}")
        return np.frombuffer(frame, dtype="<i2").astype(np.float32) / 32768.0
    if len(frame) % 4:
        raise ProtocolError(f"a float32 audio frame must have a multiple of 4 bytes, not {len(frame)} "
                            "(send int16 with \"audio_format\": \"int16\" in the options)")
    samples = np.frombuffer(frame, dtype="<f4")
    if samples.size and not (np.isfinite(samples).all() and np.abs(samples).max() <= 64.0):
        raise ProtocolError("audio is not float32 samples in [-1, 1] (int16 audio needs "
                            "\"audio_format\": \"int16\" in the options)")
    return samples


def dumps(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def server_ready(uid: str) -> str:
    return dumps({"uid": uid, "message": "SERVER_READY", "backend": BACKEND})


def wait(uid: str, minutes: float) -> str:
    return dumps({"uid": uid, "status": "WAIT", "message": round(minutes, 3)})


def disconnect(uid: str) -> str:
    return dumps({"uid": uid, "message": "DISCONNECT"})


def error(uid: str | None, reason: str) -> str:
    return dumps({"uid": uid, "status": "ERROR", "message": reason})


def language(uid: str, code: str, probability: float) -> str:
    return dumps({"uid": uid, "language": code, "language_prob": round(float(probability), 4)})


def segment(start: float, end: float, text: str, completed: bool) -> dict:
    """One segment as WhisperLive writes it: times in seconds as strings with 3 decimals."""
    return {"start": f"{start:.3f}", "end": f"{end:.3f}", "text": text, "completed": completed}


def segments(uid: str, items: list[dict]) -> str:
    return dumps({"uid": uid, "segments": items})
