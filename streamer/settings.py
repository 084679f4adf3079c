"""Settings: the one mechanism every part of livehost uses (pydantic-settings), and the streamer's.

A settings class is a frozen pydantic-settings model whose fields are typed and described once.
Built from keyword arguments it reads nothing else, so a test gets exactly what it passes. Its
loader layers: defaults < a YAML file (the streamer's) < the environment (LIVEHOST_<FIELD>, or the
names a field gives as its alias, such as REDIS_URL) < explicit overrides. A bad value, from any
layer, is a SettingsError of one line that names the setting. Passed in, never read from globals."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict


class SettingsError(Exception):
    """A setting has a bad value. One-line message naming the setting."""


class LivehostSettings(BaseSettings):
    """Base of livehost's settings classes: frozen, unknown names refused, variables LIVEHOST_<FIELD>.

    `Cls(**values)` takes keyword arguments only; the subclasses' loaders pass it `Cls.layered(...)`,
    which reads the class's variables from one mapping (os.environ unless given)."""

    model_config = SettingsConfigDict(env_prefix="LIVEHOST_", frozen=True, extra="forbid", populate_by_name=True)

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise SettingsError(_one_line(type(self), e)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings,)  # the loaders read the environment, from the mapping they are given

    @classmethod
    def environment(cls, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The values `env` (os.environ when None) gives this class's fields, by field name. An empty
        variable without the prefix (REDIS_URL=) is unset; with it, unset only if the class says
        env_ignore_empty."""
        found = _MappingSource(cls, os.environ if env is None else env)()
        return {cls.field_named(key): value for key, value in found.items()}

    @classmethod
    def layered(cls, env: Mapping[str, str] | None, overrides: Mapping[str, Any],
                file: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The values of `file` < the environment (`env`, os.environ when None) < `overrides`
        (None values are ignored), by field name: what a loader passes to the class."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return {**(file or {}), **cls.environment(env), **given}

    @classmethod
    def field_named(cls, key: str) -> str:
        """The field that `key` (a field name or one of its aliases) sets."""
        for name, field in cls.model_fields.items():
            if key == name or key in _aliases(field):
                return name
        return key

    @classmethod
    def variable(cls, name: str) -> str:
        """The environment variable that sets field `name` (its first alias, else LIVEHOST_<NAME>)."""
        aliases = _aliases(cls.model_fields[name])
        return aliases[0] if aliases else cls.model_config["env_prefix"] + name.upper()

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes`, validated as the original was."""
        return type(self)(**{**dict(self), **changes})


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source on a given mapping instead of os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        prefix = self.config["env_prefix"]
        return {key.lower(): value for key, value in self._mapping.items()
                if value or (key.startswith(prefix) and not self.env_ignore_empty)}


def _aliases(field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [a for a in alias.choices if isinstance(a, str)]
    return [alias] if isinstance(alias, str) else []


_KINDS = {"int_parsing": "an integer", "int_from_float": "an integer", "int_type": "an integer",
          "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
          "bool_type": "true or false", "string_type": "text", "path_type": "a path"}


def _one_line(cls: type[LivehostSettings], e: ValidationError) -> str:
    """The first problem of `e` in one line that names the setting (and the variable that sets it)."""
    errors = e.errors()
    unknown = sorted(str(err["loc"][0]) for err in errors if err["type"] == "extra_forbidden")
    if unknown:
        return f"unknown setting(s): {', '.join(unknown)}"
    err = errors[0]
    if err["type"] == "value_error":  # a rule of the class: its message names the setting
        return str(err["ctx"]["error"])
    name = cls.field_named(str(err["loc"][0])) if err["loc"] else ""
    setting = f"setting {name} ({cls.variable(name)})" if name in cls.model_fields else f"setting {name}"
    ctx = err.get("ctx", {})
    if err["type"] in _KINDS:
        return f"{setting} must be {_KINDS[err['type']]}, not {err['input']!r}"
    if err["type"] == "literal_error":
        return f"{setting} must be {ctx['expected']}, not {err['input']!r}"
    if err["type"] in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{setting} must be {_bounds(cls.model_fields[name])}, not {err['input']!r}"
    return f"{setting}: {err['msg'][0].lower()}{err['msg'][1:]}, not {err['input']!r}"


def _bounds(field: FieldInfo) -> str:
    """A field's numeric constraints in words: "in 1..64", "at least 1", "more than 0"."""
    limits = {kind: getattr(m, kind.lower()) for m in field.metadata for kind in ("Ge", "Gt", "Le", "Lt")
              if type(m).__name__ == kind}
    if "Ge" in limits and "Le" in limits:
        return f"in {limits['Ge']:g}..{limits['Le']:g}"
    words = {"Ge": "at least", "Gt": "more than", "Le": "at most", "Lt": "less than"}
    return " and ".join(f"{words[k]} {v:g}" for k, v in limits.items())


class Settings(LivehostSettings):
    """The streamer's settings: one live's output, content, engines, places and services."""

    # Output canvas and encoder
    width: int = Field(720, description="output width in pixels (even, 64..4096)")
    height: int = Field(1280, description="output height in pixels (even, 64..4096)")
    video_bitrate: int = Field(2_500_000, description="H.264 bitrate in bit/s (VBV-capped, CBR-like)")
    preset: str = Field("veryfast", description="x264 preset")
    encoder_adapt: bool = Field(True, description="step the x264 preset down (to at most three faster ones) while "
                                "the live cannot keep real time, and back up when it can")
    encoder_threads: int = Field(1, ge=1, le=16, description="x264 threads per live (1: the least CPU a frame; "
                                 "more: less time a frame for one big live on many cores)")
    keyframe_seconds: float = Field(2.0, ge=0.5, le=10, description="keyframe interval in seconds")
    audio_bitrate: int = Field(128_000, description="AAC-LC bitrate in bit/s")
    audio_rate: int = Field(44_100, description="audio sample rate in Hz: 44100 or 48000")
    # Content
    voice: str = Field("espeak", description="default voice spec, e.g. espeak or edge:zh-CN-XiaoxiaoNeural")
    lipsync: str = Field("parametric", description="lipsync engine: parametric (CPU) or musetalk (GPU, weights)")
    avatar: str = Field("default", description="prepared avatar id under avatars_dir")
    tts_cache_mb: int = Field(64, ge=0, le=4096, description="speech kept to be said again without synthesis, "
                              "per live, in MB (0: none)")
    # MuseTalk (lipsync "musetalk"): weights under models_dir in the release's layout
    musetalk_version: Literal["v15", "v1"] = Field("v15", description="MuseTalk release: v15 (1.5) or v1 (1.0)")
    musetalk_batch: int = Field(8, ge=1, le=64, description="frames per MuseTalk group")
    musetalk_device: str = Field("", description="torch device; empty: cuda when there is one, else cpu")
    musetalk_dtype: str = Field("", description="empty: float16 on cuda, float32 on cpu; or bfloat16, float32")
    lipsync_fallback: Literal["parametric", "refuse"] = Field(
        "parametric", description="when the engine cannot load: parametric, or refuse to start")
    # Places
    avatars_dir: Path = Field(Path("avatars"), description="prepared avatars, one folder each")
    models_dir: Path = Field(Path("models"), description="model weights (MuseTalk release layout)")
    var_dir: Path = Field(Path("var"), description="recordings and other state")
    # RTMP sink
    rtmp_connect_timeout: float = Field(5.0, description="seconds to wait for an RTMP server to answer")
    reconnect_max_delay: float = Field(1.0, description="cap of the reconnect backoff, seconds")
    preview: bool = Field(True, description="workers write each live's outgoing picture and sound as HLS under "
                          "var/preview for the console (the API serves it)")
    recording_segment_s: float = Field(60.0, ge=1.0, le=3600.0,
                                       description="a recording's segments are cut at the first keyframe after this "
                                       "many seconds")
    # Control plane
    redis_url: str = Field("", repr=False, validation_alias=AliasChoices("LIVEHOST_REDIS_URL", "REDIS_URL"),
                           description="control bus (commands, events, status); empty: in-process only")
    # LLM replies to comments
    llm_base_url: str = Field("", description="OpenAI-compatible server for replies; empty: keyword rules")
    llm_model: str = Field("", description="the model the server is asked for")
    llm_api_key: str = Field("", repr=False, description="its API key (a secret: never printed or logged)")
    llm_timeout: float = Field(8.0, ge=0.5, le=120,
                               description="seconds without a first sentence (or a stall) before the fallback")
    # Audience sources: the platforms' endpoints (tests and proxies point them elsewhere) and the
    # embedded default's credentials (a room's own are stored encrypted with the room)
    bilibili_api_base: str = Field("https://api.live.bilibili.com",
                                   description="Bilibili live HTTP API; with http:// the danmaku socket is plain ws://")
    bilibili_cookie: str = Field("", repr=False, description="Bilibili login cookie (SESSDATA=...) so viewer names "
                                 "are not masked; a secret")
    bilibili_buvid: str = Field("", repr=False, description="Bilibili buvid3 cookie value sent with the cookie")
    youtube_api_base: str = Field("https://www.googleapis.com/youtube/v3", description="YouTube Data API v3")
    youtube_api_key: str = Field("", repr=False, description="YouTube Data API key (a secret)")
    youtube_oauth_token: str = Field("", repr=False, description="or an OAuth access token (a secret)")
    relay_listen: str = Field("127.0.0.1:8766", description="host:port of `livehost demo --source relay`'s "
                              "inbound endpoint (HTTP POST /events and WebSocket /ws)")
    relay_token: str = Field("", repr=False, description="token relay clients must send to the demo's endpoint; "
                             "empty: one is made up and printed at start")

    @field_validator("width", "height")
    @classmethod
    def _even_pixels(cls, v: int, info) -> int:
        if v < 64 or v > 4096 or v % 2:
            raise ValueError(f"{info.field_name} must be an even number of pixels in 64..4096, not {v}")
        return v

    @field_validator("video_bitrate")
    @classmethod
    def _bits_per_second(cls, v: int) -> int:
        if v < 100_000:
            raise ValueError(f"video_bitrate is in bit/s and must be >= 100000, not {v}")
        return v

    @field_validator("audio_rate")
    @classmethod
    def _aac_rate(cls, v: int) -> int:
        if v not in (44_100, 48_000):
            raise ValueError(f"audio_rate must be 44100 or 48000, not {v}")
        return v

    @field_validator("llm_base_url", "bilibili_api_base", "youtube_api_base")
    @classmethod
    def _http_url(cls, v: str, info) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError(f"{info.field_name} must start with http:// or https://, not {v!r}")
        return v.rstrip("/")

    @classmethod
    def load(cls, yaml_path: str | Path | None = None, env: Mapping[str, str] | None = None,
             **overrides: Any) -> Settings:
        """Defaults < YAML file (or $LIVEHOST_CONFIG) < LIVEHOST_* variables (REDIS_URL too) <
        `overrides` (None values are ignored). `env` replaces os.environ: nothing else is read."""
        env = os.environ if env is None else env
        file: dict[str, Any] = {}
        yaml_path = yaml_path or env.get("LIVEHOST_CONFIG")
        if yaml_path:
            try:
                data = yaml.safe_load(Path(yaml_path).read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise SettingsError(f"cannot read settings file {yaml_path}: {e}") from None
            file = data.get("streamer", data) if isinstance(data, dict) else None
            if not isinstance(file, dict):
                raise SettingsError(f"settings file {yaml_path} must hold a mapping")
        return cls(**cls.layered(env, overrides, file=file))

    def llm(self):
        """The LlmSettings for replies, or None when no LLM is configured."""
        if not (self.llm_base_url and self.llm_model):
            return None
        from streamer.llm import LlmSettings  # ~0.1 s: loaded only when an LLM is configured

        return LlmSettings(base_url=self.llm_base_url, model=self.llm_model, api_key=self.llm_api_key,
                           timeout_s=self.llm_timeout)
