"""GPT-SoVITS through its api_v2 server (api_v2.py of RVC-Boss/GPT-SoVITS): POST /tts in streaming
mode answers a WAV header with placeholder sizes, then raw 16-bit PCM as it is synthesized.

Spec: gptsovits:http://host:9880?ref_audio_path=...&prompt_lang=zh[&prompt_text=...][&other /tts
parameters][&gpt_weights=...&sovits_weights=...][&timeout=3].
"""
from __future__ import annotations

import re
import struct
import threading
from collections.abc import Iterator
from contextlib import closing

import numpy as np

from streamer.voice.base import Voice, VoiceError
from streamer.voice.http_stream import (
    HttpCall,
    Pcm16Decoder,
    TtsServer,
    convert,
    positive_seconds,
)

ENGINE = "gptsovits"
DEFAULT_TIMEOUT_S = 3.0
LOAD_WEIGHTS_S = 30.0  # loading a model file takes the server seconds: its answer may take this long
# api_v2's /tts parameters a spec may set, with their types (TTS_Request in api_v2.py)
PARAMS: dict[str, type] = {
    "text_lang": str, "ref_audio_path": str, "aux_ref_audio_paths": list, "prompt_text": str,
    "prompt_lang": str, "top_k": int, "top_p": float, "temperature": float, "text_split_method": str,
    "batch_size": int, "batch_threshold": float, "split_bucket": bool, "speed_factor": float,
    "fragment_interval": float, "seed": int, "parallel_infer": bool, "repetition_penalty": float,
    "sample_steps": int, "super_sampling": bool, "overlap_length": int, "min_chunk_length": int,
}
STREAMING_MODES = {"true": True, "1": True, "2": 2, "3": 3}  # api_v2: 1/true best quality .. 3 fastest
WEIGHTS = {"gpt_weights": "/set_gpt_weights", "sovits_weights": "/set_sovits_weights"}
_OWN = ("streaming_mode", *WEIGHTS, "timeout")
_SET_PER_SENTENCE = ("text", "media_type")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_GREETINGS = {"zh": "你好。", "yue": "你好。", "ja": "こんにちは。", "ko": "안녕하세요."}
_MAX_HEADER = 4096  # a WAV header with no data chunk within this many bytes is not one api_v2 sends
_EMPTY = np.zeros(0, dtype=np.float32)


class GptSovitsVoice(Voice):
    """A voice of a GPT-SoVITS api_v2 server at `url`; `options` are the spec's query parameters.

    They are api_v2's /tts parameters (ref_audio_path and prompt_lang required; paths are on the
    server), plus `gpt_weights` and `sovits_weights` (model files on the server, switched to before
    the first synthesis, and again after a failure) and `timeout` (seconds, default 3: bounds
    connecting, the wait for the first audio and any later stall; switching weights may take up to
    LOAD_WEIGHTS_S). `text_lang` left out is chosen per sentence: zh when it has Han characters,
    else en. Building the voice touches neither the network nor the disk.

    stream() POSTs /tts with streaming_mode on and yields 16 kHz mono float32 as the WAV arrives,
    at the rate its header gives. Setting `cancel` ends the stream within a few tens of
    milliseconds and closes the connection. check() switches the weights and synthesizes a
    greeting up to its first audio.
    """

    def __init__(self, url: str, options: dict[str, object]):
        self.url = url
        self.name = f"{ENGINE}:{url}"
        self.params, self.weights, self.streaming_mode = _parse(options)
        self.timeout = positive_seconds(ENGINE, options, DEFAULT_TIMEOUT_S)
        self._server = TtsServer(url, f"GPT-SoVITS server {url}", self.timeout, "gptsovits-http")
        self._weights_loaded = not self.weights

    def check(self) -> None:
        self._load_weights(None)
        lang = str(self.params.get("text_lang") or self.params["prompt_lang"]).lower()
        for _ in self.stream(_GREETINGS.get(lang.removeprefix("all_"), "Hello.")):
            return  # first audio proves the server, the weights and the reference audio

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        text = text.strip()
        if not text or (cancel is not None and cancel.is_set()):
            return
        try:
            if not self._weights_loaded:
                self._load_weights(cancel)
            if cancel is not None and cancel.is_set():
                return
            yield from self._synthesize(text, cancel)
        except VoiceError:
            self._weights_loaded = not self.weights  # the server may have restarted: switch again
            raise

    def close(self) -> None:
        self._server.close()

    def _load_weights(self, cancel: threading.Event | None) -> None:
        for name, path in self.weights.items():
            call = HttpCall("GET", WEIGHTS[name], params={"weights_path": path})
            if self._server.fetch(call, cancel, max(self.timeout, LOAD_WEIGHTS_S)) is None:
                return  # cancelled: switched on the next call
        self._weights_loaded = True

    def _synthesize(self, text: str, cancel: threading.Event | None) -> Iterator[np.ndarray]:
        body = {"text": text, "text_lang": self.params.get("text_lang") or _language(text), **self.params,
                "streaming_mode": self.streaming_mode, "media_type": "wav"}
        wav = _WavStream(self._server.label)
        with closing(self._server.stream(HttpCall("POST", "/tts", json=body), cancel)) as chunks:
            for data in chunks:
                audio = wav.push(data)
                if audio.size:
                    yield audio
        if cancel is not None and cancel.is_set():
            return
        tail = wav.flush()
        if tail.size:
            yield tail


def _language(text: str) -> str:
    """api_v2's text_lang for a sentence: zh (Chinese, with any English in it) or en."""
    return "zh" if _HAN.search(text) else "en"


def _parse(options: dict[str, object]) -> tuple[dict[str, object], dict[str, str], bool | int]:
    """(the /tts parameters, {gpt_weights/sovits_weights: path}, streaming_mode) of a spec."""
    params: dict[str, object] = {}
    for name, value in options.items():
        if name in _SET_PER_SENTENCE:
            raise VoiceError(f"{ENGINE} parameter {name} cannot be set in the voice spec: livehost sends it")
        if name not in PARAMS and name not in _OWN:
            raise VoiceError(f"unknown {ENGINE} parameter '{name}'; it accepts "
                             f"{', '.join([*PARAMS, *_OWN])}")
        if name in PARAMS:
            params[name] = convert(ENGINE, name, str(value), PARAMS[name])
            if PARAMS[name] is str and name != "prompt_text" and not str(value).strip():
                raise VoiceError(f"{ENGINE} parameter {name} is empty")
    for name in ("ref_audio_path", "prompt_lang"):
        if name not in params:
            what = "the reference audio's path on the server" if name == "ref_audio_path" else \
                "the language of prompt_text: zh, en, ja, ko, yue or auto"
            raise VoiceError(f"{ENGINE} voice needs {name}=<{what}> in its spec (api_v2 requires it)")
    weights = {name: str(options[name]).strip() for name in WEIGHTS if name in options}
    for name, path in weights.items():
        if not path:
            raise VoiceError(f"{ENGINE} parameter {name} is empty")
    mode = str(options.get("streaming_mode", "true")).strip().lower()
    if mode not in STREAMING_MODES:
        raise VoiceError(f"{ENGINE} parameter streaming_mode must be true, 1, 2 or 3 (livehost streams), "
                         f"got '{options['streaming_mode']}'")
    return params, weights, STREAMING_MODES[mode]


class _WavStream:
    """A WAV as api_v2 streams it (header with placeholder sizes, then PCM to the end of the body),
    pushed in pieces cut anywhere -> 16 kHz mono float32 at the rate the header gives."""

    def __init__(self, label: str):
        self._label = label
        self._head = b""
        self._pcm: Pcm16Decoder | None = None

    def push(self, data: bytes) -> np.ndarray:
        if self._pcm is None:
            self._head += data
            found = _header(self._head, self._label)
            if found is None:
                return _EMPTY
            rate, channels, offset = found
            self._pcm = Pcm16Decoder(rate, channels)
            data, self._head = self._head[offset:], b""
        return self._pcm.push(data)

    def flush(self) -> np.ndarray:
        if self._pcm is None:
            raise VoiceError(f"{self._label} ended its answer before the WAV header")
        return self._pcm.flush()


def _header(head: bytes, label: str) -> tuple[int, int, int] | None:
    """(sample rate, channels, offset of the PCM) of a WAV header, None while it is incomplete."""
    if head[:4] != b"RIFF"[:len(head)] or (len(head) >= 12 and head[8:12] != b"WAVE"):
        raise VoiceError(f"{label} did not answer with WAV audio")
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        chunk, size = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if chunk == b"data":
            if fmt is None:
                raise VoiceError(f"{label} sent WAV data before its format")
            return (*fmt, pos + 8)
        end = pos + 8 + size + size % 2
        if end > len(head):
            break
        if chunk == b"fmt ":
            fmt = _format(head[pos + 8:end], label)
        pos = end
    if len(head) > _MAX_HEADER:
        raise VoiceError(f"{label} sent a WAV header without audio data")
    return None


def _format(body: bytes, label: str) -> tuple[int, int]:
    """(sample rate, channels) of a WAV fmt chunk; VoiceError unless it is 16-bit PCM."""
    if len(body) < 16:
        raise VoiceError(f"{label} sent a malformed WAV header")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
    if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real format is the subformat's
        tag = int.from_bytes(body[24:26], "little")
    if tag != 1 or bits != 16:
        raise VoiceError(f"{label} sends WAV format {tag} with {bits}-bit samples; only 16-bit PCM is supported")
    if not channels or not rate:
        raise VoiceError(f"{label} sent a WAV header with {channels} channels at {rate} Hz")
    return rate, channels
