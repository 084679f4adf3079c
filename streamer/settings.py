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
    # Places
    avatars_dir: Path = field(default=Path("avatars"))
    var_dir: Path = field(default=Path("var"))
    # RTMP sink
    rtmp_connect_timeout: float = 5.0
    reconnect_max_delay: float = 1.0

    def __post_init__(self) -> None:
        for name in ("width", "height"):
            v = getattr(self, name)
            if v < 64 or v > 4096 or v % 2:
                raise SettingsError(f"{name} must be an even number of pixels in 64..4096, not {v}")
        if self.video_bitrate < 100_000:
            raise SettingsError(f"video_bitrate is in bit/s and must be >= 100000, not {self.video_bitrate}")
        if self.audio_rate not in (44_100, 48_000):
            raise SettingsError(f"audio_rate must be 44100 or 48000, not {self.audio_rate}")
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
