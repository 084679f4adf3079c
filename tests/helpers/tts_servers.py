"""Stand-ins for the self-hosted TTS servers the gptsovits and cosyvoice voices talk to, speaking
their real wire formats on 127.0.0.1 (an aiohttp app on its own thread):

- FakeGptSovits: GPT-SoVITS's api_v2.py. POST /tts (JSON) answers 200 audio/wav, chunked: the
  44-byte header Python's wave module writes for zero frames (placeholder sizes), then 16-bit PCM;
  400 {"message": ...[, "Exception": ...]} for what api_v2's check_params rejects; GET
  /set_gpt_weights and /set_sovits_weights answer {"message": "success"} or 400.
- FakeCosyVoice: CosyVoice's runtime/python/fastapi/server.py. GET or POST /inference_<mode> with
  form fields (multipart with a prompt_wav file) answers bare 16-bit mono PCM; 422
  {"detail": [...]} as FastAPI words a missing field.

Their speech is a pure tone (`tone_hz`) lasting `seconds_per_char` per character of the text, so
a test can find it with an FFT and check its length. The bytes go out in irregular pieces that cut
the header and samples, `speed` times faster than real time. Switches: `hang` ('request': say
nothing; 'headers': only the HTTP headers; 'audio': part of the audio, then nothing), `fail` (an
HTTP status to answer with) and `slow_first_chunk_s`. Each records the requests it got and when
a client left before the answer was complete.
"""
from __future__ import annotations

import asyncio
import io
import random
import threading
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import numpy as np
from aiohttp import BodyPartReader, web

GPT_SOVITS_LANGUAGES = ("auto", "auto_yue", "en", "zh", "ja", "yue", "ko", "all_zh", "all_ja", "all_yue", "all_ko")
CUT_METHODS = ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")
COSYVOICE_SPEAKERS = ("中文女", "中文男", "日语男", "粤语女", "英文女", "英文男", "韩语女")
COSYVOICE_FIELDS = {  # endpoint -> its form fields (all required), as server.py declares them
    "/inference_sft": ("tts_text", "spk_id"),
    "/inference_zero_shot": ("tts_text", "prompt_text", "prompt_wav"),
    "/inference_cross_lingual": ("tts_text", "prompt_wav"),
    "/inference_instruct": ("tts_text", "spk_id", "instruct_text"),
    "/inference_instruct2": ("tts_text", "instruct_text", "prompt_wav"),
}
_POLL_S = 0.005  # how often a hanging answer looks whether its client is still there


@dataclass
class Received:
    """One request as the fake server got it."""

    method: str
    path: str
    params: dict[str, object]  # the JSON body, the form fields or the query
    uploads: dict[str, int] = field(default_factory=dict)  # form file field -> size in bytes
    at: float = field(default_factory=time.monotonic)


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A pure tone as int16 samples."""
    t = np.arange(round(seconds * rate)) / rate
    return np.round(amplitude * 32767 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def irregular_pieces(data: bytes, seed: int = 7) -> Iterator[bytes]:
    """`data` cut into pieces of irregular sizes, odd ones included; the first pieces are tiny,
    so a header at the start is cut too."""
    sizes = random.Random(seed)
    pos, small = 0, [1, 2, 5, 11, 23]
    while pos < len(data):
        size = small.pop(0) if small else sizes.randint(1, 3000)
        yield data[pos:pos + size]
        pos += size


def wav_header(rate: int, channels: int = 1) -> bytes:
    """The header api_v2 streams first: what the wave module writes for zero frames (44 bytes)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"")
    return out.getvalue()


class FakeTtsServer:
    """What both fakes share: the aiohttp app on a thread, the switches, what they recorded,
    and sending an answer's audio. Use as a context manager, or start() and stop()."""

    def __init__(self, tone_hz: float, rate: int, seconds_per_char: float, speed: float):
        self.tone_hz, self.rate, self.seconds_per_char, self.speed = tone_hz, rate, seconds_per_char, speed
        self.hang: str | None = None  # 'request' | 'headers' | 'audio': stop there, never finish
        self.fail: int | None = None  # answer every synthesis with this HTTP status
        self.fail_reason = "CUDA out of memory"
        self.slow_first_chunk_s = 0.0
        self.requests: list[Received] = []
        self.samples_sent = 0  # of the last answer
        self.first_audio_at: float | None = None  # time.monotonic() when the last answer's audio began
        self.finished_sending = threading.Event()
        self.client_left = threading.Event()  # a client hung up before its answer was complete
        self.left_at: float | None = None
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=type(self).__name__, daemon=True)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTtsServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(5)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *_):
        self.stop()

    def seconds_of(self, text: str) -> float:
        """How long the tone answering `text` lasts."""
        return len(text) * self.seconds_per_char

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _serve(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def answer_audio(self, request: web.Request, text: str, header: bytes = b"",
                           content_type: str = "application/octet-stream") -> web.StreamResponse:
        """200, chunked: `header`, then the tone for `text` as 16-bit PCM, paced; honours `hang`."""
        self.samples_sent, self.first_audio_at = 0, None
        self.finished_sending.clear()
        if self.hang == "request":
            return await self._until_client_leaves(request)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        if self.hang == "headers":
            return await self._until_client_leaves(request)
        await asyncio.sleep(self.slow_first_chunk_s)
        pcm = tone(self.tone_hz, self.seconds_of(text), self.rate).tobytes()
        body = header + pcm
        stall_at = len(body) // 4 if self.hang == "audio" else len(body)
        sent = 0
        try:
            for piece in irregular_pieces(body):
                if sent >= stall_at:
                    return await self._until_client_leaves(request)
                if self._gone(request):
                    raise ConnectionResetError
                await response.write(piece)
                self.first_audio_at = self.first_audio_at or time.monotonic()
                sent += len(piece)
                self.samples_sent = max(0, sent - len(header)) // 2
                await asyncio.sleep(len(piece) / 2 / self.rate / self.speed)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self._left()
            raise
        self.finished_sending.set()
        return response

    async def break_off(self, request: web.Request, content_type: str = "application/octet-stream"):
        """What these FastAPI servers do when synthesis raises after the answer began: 200 and its
        headers, then the connection closes without the end of the chunked body."""
        response = web.StreamResponse(headers={"Content-Type": content_type})
        response.enable_chunked_encoding()
        await response.prepare(request)
        request.transport.close()
        return response

    async def _until_client_leaves(self, request: web.Request):
        try:
            while not self._gone(request):
                await asyncio.sleep(_POLL_S)
        finally:
            self._left()
        raise ConnectionResetError

    @staticmethod
    def _gone(request: web.Request) -> bool:
        transport = request.transport
        return transport is None or transport.is_closing()

    def _left(self) -> None:
        if not self.client_left.is_set():
            self.left_at = time.monotonic()
            self.client_left.set()


class FakeGptSovits(FakeTtsServer):
    """GPT-SoVITS api_v2. `ref_audio_paths` and `weights` are the files the server has (any
    reference audio when None); an unknown reference audio breaks the answer off, as api_v2 does."""

    def __init__(self, tone_hz: float = 700.0, rate: int = 32_000, seconds_per_char: float = 0.06,
                 speed: float = 4.0, weights: tuple[str, ...] = ("GPT_weights_v2/host-e15.ckpt",
                                                                 "SoVITS_weights_v2/host_e8_s200.pth")):
        super().__init__(tone_hz, rate, seconds_per_char, speed)
        self.ref_audio_paths: set[str] | None = None
        self.weights = set(weights)
        self.loaded: dict[str, str] = {}  # 'gpt' / 'sovits' -> the weights path last switched to

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/tts", self._tts)
        app.router.add_get("/set_gpt_weights", self._set_gpt_weights)
        app.router.add_get("/set_sovits_weights", self._set_sovits_weights)

    async def _tts(self, request: web.Request) -> web.StreamResponse:
        try:
            req = await request.json()
        except ValueError:
            return web.json_response({"detail": [{"type": "json_invalid", "loc": ["body", 0],
                                                  "msg": "JSON decode error"}]}, status=422)
        self.requests.append(Received(request.method, request.path, req))
        problem = _check_params(req)
        if problem:
            return web.json_response({"message": problem}, status=400)
        if self.fail == 400:
            return web.json_response({"message": "tts failed", "Exception": self.fail_reason}, status=400)
        if self.fail:
            return web.Response(status=self.fail, text="Internal Server Error")
        if self.ref_audio_paths is not None and req["ref_audio_path"] not in self.ref_audio_paths:
            return await self.break_off(request, "audio/wav")
        return await self.answer_audio(request, req["text"], wav_header(self.rate), "audio/wav")

    async def _set_gpt_weights(self, request: web.Request) -> web.Response:
        return self._switch(request, "gpt")

    async def _set_sovits_weights(self, request: web.Request) -> web.Response:
        return self._switch(request, "sovits")

    def _switch(self, request: web.Request, kind: str) -> web.Response:
        path = request.query.get("weights_path", "")
        self.requests.append(Received(request.method, request.path, dict(request.query)))
        if not path:
            return web.json_response({"message": f"{kind} weight path is required"}, status=400)
        if path not in self.weights:
            return web.json_response({"message": f"change {kind} weight failed",
                                      "Exception": f"[Errno 2] No such file or directory: '{path}'"}, status=400)
        self.loaded[kind] = path
        return web.json_response({"message": "success"})


def _check_params(req: dict) -> str | None:
    """api_v2's check_params and streaming_mode check: the message of its 400, or None."""
    if not req.get("ref_audio_path"):
        return "ref_audio_path is required"
    if not req.get("text"):
        return "text is required"
    for name in ("text_lang", "prompt_lang"):
        lang = req.get(name)
        if not lang:
            return f"{name} is required"
        if str(lang).lower() not in GPT_SOVITS_LANGUAGES:
            return f"{name}: {lang} is not supported in version v2"
    if req.get("media_type", "wav") not in ("wav", "raw", "ogg", "aac"):
        return f"media_type: {req['media_type']} is not supported"
    if req.get("text_split_method", "cut5") not in CUT_METHODS:
        return f"text_split_method:{req['text_split_method']} is not supported"
    if req.get("streaming_mode", False) not in (0, 1, 2, 3):
        return "the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)"
    return None


class FakeCosyVoice(FakeTtsServer):
    """CosyVoice's FastAPI server. `get_only` plays one from before the POST endpoints (2025);
    an unknown spk_id breaks the answer off, and a prompt_wav that is no WAV gets a 500, as there."""

    def __init__(self, tone_hz: float = 1100.0, rate: int = 22_050, seconds_per_char: float = 0.06,
                 speed: float = 4.0):
        super().__init__(tone_hz, rate, seconds_per_char, speed)
        self.get_only = False
        self.fields = dict(COSYVOICE_FIELDS)  # a test may play a server version that needs more

    def routes(self, app: web.Application) -> None:
        for path in self.fields:
            app.router.add_route("*", path, self._inference)

    async def _inference(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "POST") or (self.get_only and request.method != "GET"):
            self.requests.append(Received(request.method, request.path, {}))
            return web.json_response({"detail": "Method Not Allowed"}, status=405)
        fields, files = await _form(request)
        self.requests.append(Received(request.method, request.path, fields,
                                      {name: len(data) for name, data in files.items()}))
        missing = [name for name in self.fields[request.path] if name not in fields and name not in files]
        if missing:
            return web.json_response({"detail": [{"type": "missing", "loc": ["body", name], "msg": "Field required",
                                                  "input": None} for name in missing]}, status=422)
        if "prompt_wav" in files and not files["prompt_wav"].startswith(b"RIFF"):  # load_wav raises
            return web.Response(status=500, text="Internal Server Error")
        if self.fail:
            return web.Response(status=self.fail, text="Internal Server Error")
        if "spk_id" in fields and fields["spk_id"] not in COSYVOICE_SPEAKERS:
            return await self.break_off(request)
        return await self.answer_audio(request, fields["tts_text"])


async def _form(request: web.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """The form fields and uploaded files of a request, whatever its method (FastAPI reads a
    GET's body too): multipart or url-encoded."""
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if isinstance(part, BodyPartReader) and part.filename is not None:
                files[part.name] = bytes(await part.read())
            elif isinstance(part, BodyPartReader):
                fields[part.name] = await part.text()
    elif request.can_read_body:
        fields = dict(parse_qsl(await request.text(), keep_blank_values=True))
    return fields, files


def dominant_hz(audio: np.ndarray, rate: int = 16_000) -> float:
    """The strongest frequency in `audio` (float samples at `rate` Hz): a fake's tone."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.argmax(spectrum) * rate / len(audio))
