"""One typed settings object for the streamer: defaults, then an optional YAML file, then the
environment (LIVEHOST_<FIELD>), then explicit overrides. Passed in, never read from globals."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml


class SettingsError(Exception):
    """A setting has a bad value. One-line message naming the setting."""


@dataclass(frozen=True)
class Settings:
    # Output canvas and encoder
    width: int = 720
    height: int = 1280
    video_bitrate: int = 2_500_000
    preset: str = "veryfast"
    keyframe_seconds: float = 2.0
    audio_bitrate: int = 128_000
    audio_rate: int = 44_100
    # Content
    voice: str = "espeak"
    lipsync: str = "parametric"
    avatar: str = "default"
    # MuseTalk (lipsync "musetalk"): weights under models_dir in the release's layout
    musetalk_version: str = "v15"
    musetalk_batch: int = 8
    musetalk_device: str = ""  # "" = cuda when there is one, else cpu
    musetalk_dtype: str = ""  # "" = float16 on cuda, float32 on cpu; or bfloat16, float32
    lipsync_fallback: str = "parametric"  # when the engine cannot load: "parametric" or "refuse"
    # Places
    avatars_dir: Path = field(default=Path("avatars"))
    models_dir: Path = field(default=Path("models"))
    var_dir: Path = field(default=Path("var"))
    # RTMP sink
    rtmp_connect_timeout: float = 5.0
    reconnect_max_delay: float = 1.0
    # Control plane: Redis for commands/events/status ("" = in-process only)
    redis_url: str = field(default="", repr=False)
    # LLM replies to comments (any OpenAI-compatible server; empty base URL = keyword replies)
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)  # a secret: never printed or logged
    llm_timeout: float = 8.0

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            v = getattr(self, name)
            if v < 64 or v > 4096 or v % 2:
                raise SettingsError(f"{name} must be an even number of pixels in 64..4096, not {v}")
        if self.video_bitrate < 100_000:
            raise SettingsError(f"video_bitrate is in bit/s and must be >= 100000, not {self.video_bitrate}")
        if self.audio_rate not in (44_100, 48_000):
            raise SettingsError(f"audio_rate must be 44100 or 48000, not {self.audio_rate}")
        if self.llm_base_url and not self.llm_base_url.startswith(("http://", "https://")):
            raise SettingsError(f"llm_base_url must start with http:// or https://, not {self.llm_base_url!r}")
        if not 0.5 <= self.llm_timeout <= 120:
            raise SettingsError(f"llm_timeout must be in 0.5..120 seconds, not {self.llm_timeout}")
        if self.musetalk_version not in ("v15", "v1"):
            raise SettingsError(f"musetalk_version must be v15 or v1, not {self.musetalk_version!r}")
        if not 1 <= self.musetalk_batch <= 64:
            raise SettingsError(f"musetalk_batch must be in 1..64, not {self.musetalk_batch}")
        if self.lipsync_fallback not in ("parametric", "refuse"):
            raise SettingsError(f"lipsync_fallback must be parametric or refuse, not {self.lipsync_fallback!r}")
        if not 0.5 <= self.keyframe_seconds <= 10:
            raise SettingsError(f"keyframe_seconds must be in 0.5..10, not {self.keyframe_seconds}")

    @classmethod
    def load(cls, yaml_path: str | Path | None = None, env: dict[str, str] | None = None,
             **overrides: Any) -> "Settings":
        """Defaults < YAML file (or $LIVEHOST_CONFIG) < LIVEHOST_* variables < overrides."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        yaml_path = yaml_path or env.get("LIVEHOST_CONFIG")
        if yaml_path:
            try:
                data = yaml.safe_load(Path(yaml_path).read_text()) or {}
            except (OSError, yaml.YAMLError) as e:
                raise SettingsError(f"cannot read settings file {yaml_path}: {e}") from None
            if not isinstance(data, dict):
                raise SettingsError(f"settings file {yaml_path} must hold a mapping")
            values.update(data.get("streamer", data))
        if env.get("REDIS_URL"):  # the name the API, scheduler and workers use
            values["redis_url"] = env["REDIS_URL"]
        for f in fields(cls):
            key = f"LIVEHOST_{f.name.upper()}"
            if key in env:
                values[f.name] = env[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(unknown)}")
        return cls(**{k: _convert(known[k], v) for k, v in values.items()})

    def llm(self):
        """The LlmSettings for replies, or None when no LLM is configured."""
        if not (self.llm_base_url and self.llm_model):
            return None
        from streamer.llm import LlmSettings

        return LlmSettings(base_url=self.llm_base_url, model=self.llm_model, api_key=self.llm_api_key,
                           timeout_s=self.llm_timeout)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)


def _convert(f: dataclasses.Field, value: Any) -> Any:
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "Path":
            return Path(value)
        return str(value)
    except (TypeError, ValueError):
        raise SettingsError(f"setting {f.name} must be a {kind}, not {value!r}") from None
