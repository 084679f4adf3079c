"""CosyVoice through its FastAPI server (runtime/python/fastapi/server.py of FunAudioLLM/CosyVoice):
one endpoint per inference mode, form fields in, raw 16-bit mono PCM out, with no header.

Spec: cosyvoice:http://host:50000?mode=sft&spk_id=中文女[&sample_rate=22050][&timeout=3].
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np

from streamer.voice.base import Voice, VoiceError
from streamer.voice.http_stream import (
    HttpCall,
    Pcm16Decoder,
    ServerAnswered,
    TtsServer,
    convert,
    positive_seconds,
)

ENGINE = "cosyvoice"
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_RATE = 22050  # CosyVoice 1; CosyVoice2 and 3 (the server's default model) speak at 24000
# mode -> (endpoint, the spec parameters it needs); prompt_wav is a local file, uploaded
MODES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sft": ("/inference_sft", ("spk_id",)),
    "zero_shot": ("/inference_zero_shot", ("prompt_text", "prompt_wav")),
    "cross_lingual": ("/inference_cross_lingual", ("prompt_wav",)),
    "instruct": ("/inference_instruct", ("spk_id", "instruct_text")),
    "instruct2": ("/inference_instruct2", ("instruct_text", "prompt_wav")),
}
_FIELDS = ("spk_id", "prompt_text", "prompt_wav", "instruct_text")
_OWN = ("mode", "sample_rate", "timeout")
_HTTP_METHOD_NOT_ALLOWED = 405


class CosyVoiceVoice(Voice):
    """A voice of a CosyVoice FastAPI server at `url`; `options` are the spec's query parameters.

    `mode` picks the endpoint: sft (default; needs spk_id), zero_shot (prompt_text, prompt_wav),
    cross_lingual (prompt_wav), instruct (spk_id, instruct_text; CosyVoice 1 instruct models) or
    instruct2 (instruct_text, prompt_wav; CosyVoice2). `prompt_wav` is a path on this machine: the
    file is read and uploaded with each request (the server takes no reference by name).
    `sample_rate` is the rate of the model the server runs (default 22050, CosyVoice 1; 24000 for
    CosyVoice2/3): the server sends bare PCM, so it cannot be read from the answer. `timeout`
    (seconds, default 3) bounds connecting, the wait for the first audio and any later stall.
    Building the voice touches neither the network nor the disk.

    stream() POSTs the mode's form fields (multipart when a file goes along) and yields 16 kHz mono
    float32 as the PCM arrives; a server from before the POST endpoints (GET only, before 2025)
    is asked again with GET. Setting `cancel` ends the stream within a few tens of milliseconds
    and closes the connection. check() synthesizes a greeting up to its first audio.
    """

    def __init__(self, url: str, options: dict[str, object]):
        self.url = url
        self.name = f"{ENGINE}:{url}"
        self.mode, self.fields = _parse(options)
        self.path = MODES[self.mode][0]
        rate = convert(ENGINE, "sample_rate", str(options.get("sample_rate", DEFAULT_RATE)), int)
        if not 8000 <= rate <= 192_000:
            raise VoiceError(f"{ENGINE} parameter sample_rate must be the model's rate in Hz "
                             f"(22050 or 24000), got '{options['sample_rate']}'")
        self.sample_rate = rate
        self.timeout = positive_seconds(ENGINE, options, DEFAULT_TIMEOUT_S)
        self._server = TtsServer(url, f"CosyVoice server {url}", self.timeout, "cosyvoice-http")
        self._method = "POST"

    def check(self) -> None:
        for _ in self.stream("你好。"):
            return  # first audio proves the server, the speaker or prompt, and the rate's plausibility

    def stream(self, text: str, cancel: threading.Event | None = None) -> Iterator[np.ndarray]:
        text = text.strip()
        if not text or (cancel is not None and cancel.is_set()):
            return
        data = {"tts_text": text, **{k: v for k, v in self.fields.items() if k != "prompt_wav"}}
        files = None
        if "prompt_wav" in self.fields:
            files = {"prompt_wav": ("prompt_wav", self._prompt_wav(), "application/octet-stream")}
        try:
            yield from self._receive(HttpCall(self._method, self.path, data=data, files=files), cancel)
        except ServerAnswered as e:
            if e.status != _HTTP_METHOD_NOT_ALLOWED or self._method == "GET":
                raise
            self._method = "GET"  # the server predates the POST endpoints
            yield from self._receive(HttpCall("GET", self.path, data=data, files=files), cancel)

    def close(self) -> None:
        self._server.close()

    def _receive(self, call: HttpCall, cancel: threading.Event | None) -> Iterator[np.ndarray]:
        pcm = Pcm16Decoder(self.sample_rate)
        with closing(self._server.stream(call, cancel)) as chunks:
            for data in chunks:
                audio = pcm.push(data)
                if audio.size:
                    yield audio
        if cancel is not None and cancel.is_set():
            return
        tail = pcm.flush()
        if tail.size:
            yield tail

    def _prompt_wav(self) -> bytes:
        path = Path(self.fields["prompt_wav"]).expanduser()
        try:
            return path.read_bytes()
        except OSError as e:
            raise VoiceError(f"{ENGINE} prompt_wav {path} cannot be read: {e.strerror or e}") from None


def _parse(options: dict[str, object]) -> tuple[str, dict[str, str]]:
    """(mode, {form field: value}) of a spec, checked against what the mode's endpoint needs."""
    for name in options:
        if name not in _FIELDS and name not in _OWN:
            raise VoiceError(f"unknown {ENGINE} parameter '{name}'; it accepts {', '.join([*_OWN, *_FIELDS])}")
    mode = str(options.get("mode", "sft")).strip().lower()
    if mode not in MODES:
        raise VoiceError(f"{ENGINE} parameter mode must be one of {', '.join(MODES)}, got '{options['mode']}'")
    needed = MODES[mode][1]
    fields = {name: str(options[name]) for name in _FIELDS if name in options}
    for name in needed:
        if not fields.get(name, "").strip():
            raise VoiceError(f"{ENGINE} mode {mode} needs {', '.join(needed)} in the voice spec; {name} is missing")
    for name in fields:
        if name not in needed:
            raise VoiceError(f"{ENGINE} mode {mode} takes no {name} (it takes {', '.join(needed)})")
    return mode, fields
