"""TTS engines behind one interface, chosen by a short spec string such as 'espeak:cmn'.

Engine modules are imported only when a voice of theirs is created, so importing this package
stays light (no aiohttp, no libespeak-ng).
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from streamer.voice.base import Voice, VoiceError

# engine -> the options its spec accepts, with their types
ENGINES: dict[str, dict[str, type]] = {
    "espeak": {"rate": int, "pitch": int, "volume": int},
    "edge": {"rate": str, "pitch": str, "volume": str, "timeout": float},
    "piper": {"speed": float, "speaker": int},
    "gptsovits": {},  # the server's URL, its parameters in the query: checked by the engine
    "cosyvoice": {},
}
SERVER_ENGINES = ("gptsovits", "cosyvoice")  # engine:<server URL>?<parameters>
_USAGE = ("valid engines: espeak, edge, piper, gptsovits, cosyvoice (e.g. 'espeak', 'espeak:cmn', "
          "'espeak:en:rate=170,pitch=60', 'edge', 'edge:en-US-AriaNeural:rate=+10%', 'piper', "
          "'piper:zh_CN-huayan-medium:speed=1.1', 'gptsovits:http://127.0.0.1:9880?ref_audio_path=ref.wav"
          "&prompt_text=...&prompt_lang=zh', 'cosyvoice:http://127.0.0.1:50000?mode=sft&spk_id=中文女')")

ESPEAK_WPM, ESPEAK_PITCH = 175, 50  # EspeakVoice's defaults, which 0 % means
EDGE_PITCH_HZ = 200  # nominal speaking pitch: edge-tts takes pitch in Hz, voice_spec takes percent

__all__ = ["ENGINES", "Voice", "VoiceError", "create_voice", "parse_voice_spec", "voice_spec"]


def create_voice(spec: str) -> Voice:
    """Build the voice `spec` names: engine[:voice][:option=value[,option=value]].

    'espeak' picks English or Mandarin per text; 'espeak:en', 'espeak:cmn' fix the language.
    'edge' is zh-CN-XiaoxiaoNeural; 'edge:en-US-AriaNeural' any Edge voice. 'piper' is the installed
    default Piper voice, 'piper:NAME' models/piper/NAME.onnx, 'piper:/path/voice.onnx' any. Raises VoiceError
    (listing the valid engines) for an unknown engine or a malformed spec. Does not touch the
    network; call check() on the result to find out whether the voice can speak.
    """
    engine, name, options = parse_voice_spec(spec)
    if engine == "espeak":
        from streamer.voice.espeak import EspeakVoice

        return EspeakVoice(name, **options)
    if engine == "piper":
        from streamer.voice.piper import PiperVoice

        return PiperVoice(name, **options)
    if engine == "gptsovits":
        from streamer.voice.gptsovits import GptSovitsVoice

        return GptSovitsVoice(name, options)
    if engine == "cosyvoice":
        from streamer.voice.cosyvoice import CosyVoiceVoice

        return CosyVoiceVoice(name, options)
    from streamer.voice.edge import DEFAULT_VOICE, EdgeVoice

    return EdgeVoice(name or DEFAULT_VOICE, **options)


def parse_voice_spec(spec: str) -> tuple[str, str | None, dict[str, object]]:
    """Split a spec into (engine, voice name or None, typed options); VoiceError if malformed."""
    if not isinstance(spec, str) or not spec.strip():
        raise VoiceError(f"empty voice spec; {_USAGE}")
    engine, *parts = spec.strip().split(":")
    engine = engine.strip().lower()
    if engine not in ENGINES:
        raise VoiceError(f"unknown voice engine '{engine}' in voice spec '{spec}'; {_USAGE}")
    if engine in SERVER_ENGINES:
        return (engine, *_server_spec(spec, spec.strip().split(":", 1)[1] if parts else ""))
    allowed = ENGINES[engine]
    name: str | None = None
    options: dict[str, object] = {}
    for part in (p.strip() for p in parts):
        if not part:
            raise VoiceError(f"malformed voice spec '{spec}': empty part between ':'; {_USAGE}")
        if "=" not in part:
            if name is not None or options:
                raise VoiceError(f"malformed voice spec '{spec}': one voice name, right after the "
                                 f"engine; {_USAGE}")
            name = part
            continue
        for pair in part.split(","):
            key, _, value = (s.strip() for s in pair.partition("="))
            key = key.lower()
            if key not in allowed:
                raise VoiceError(f"unknown option '{key}' in voice spec '{spec}'; {engine} accepts "
                                 f"{', '.join(allowed)}")
            try:
                options[key] = allowed[key](value)
                if not value:
                    raise ValueError
            except ValueError:
                kind = {int: "a whole number", float: "a number", str: "a value"}[allowed[key]]
                raise VoiceError(f"option {key} in voice spec '{spec}' must be {kind}, "
                                 f"got '{value}'") from None
    return engine, name, options


def _server_spec(spec: str, rest: str) -> tuple[str, dict[str, object]]:
    """(server URL, {parameter: text}) of a server engine's spec: engine:http(s)://host:port[/path]?a=1&b=2."""
    url = urlsplit(rest.strip())
    if url.scheme not in ("http", "https") or not url.hostname:
        raise VoiceError(f"voice spec '{spec}' needs the server's URL after the engine, "
                         f"e.g. http://127.0.0.1:9880?...; {_USAGE}")
    try:
        url.port  # noqa: B018 - raises ValueError for a bad port
        pairs = parse_qsl(url.query, keep_blank_values=True, strict_parsing=bool(url.query))
    except ValueError as e:
        raise VoiceError(f"malformed voice spec '{spec}': {e}") from None
    options: dict[str, object] = {}
    for key, value in pairs:
        if key in options:
            raise VoiceError(f"malformed voice spec '{spec}': parameter {key} given twice")
        options[key] = value
    return url._replace(query="", fragment="").geturl(), options


def voice_spec(engine: str, voice: str, rate: int, pitch: int, params: dict[str, object] | None = None) -> str:
    """The spec string for a voice stored as engine, voice name (a server engine's URL) and relative rate and
    pitch (percent, converted to each engine's own units; a server engine's rate is GPT-SoVITS' speed_factor),
    with a server engine's `params`, as create_voice takes it."""
    if engine in SERVER_ENGINES:
        given = {k: str(v) for k, v in (params or {}).items()}
        if rate and engine == "gptsovits":
            given.setdefault("speed_factor", f"{(100 + rate) / 100:g}")
        return f"{engine}:{voice}" + (f"?{urlencode(given)}" if given else "")
    options = []
    if engine == "espeak":
        if rate:
            options.append(f"rate={round(ESPEAK_WPM * (100 + rate) / 100)}")
        if pitch:
            options.append(f"pitch={round(ESPEAK_PITCH * (100 + pitch) / 100)}")
    elif engine == "piper":  # Piper has no pitch control: only the speed
        if rate:
            options.append(f"speed={(100 + rate) / 100:g}")
    else:
        if rate:
            options.append(f"rate={rate:+d}%")
        if pitch:
            options.append(f"pitch={round(EDGE_PITCH_HZ * pitch / 100):+d}Hz")
    return ":".join(p for p in (engine, voice, ",".join(options)) if p)
