"""Typed settings of the transcription service: defaults < LIVEHOST_TRANSCRIBER_<NAME> < overrides."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from typing import Any

from streamer.settings import SettingsError

ENV_PREFIX = "LIVEHOST_TRANSCRIBER_"


@dataclass(frozen=True)
class TranscriberSettings:
    host: str = "127.0.0.1"
    port: int = 9090
    model: str = "tiny.en"          # a CTranslate2 model folder, or a name found locally (never downloaded)
    device: str = "cpu"             # cpu | cuda | auto
    compute_type: str = ""          # "" = int8 on CPU, float16 on CUDA
    cpu_threads: int = 0            # 0 = CTranslate2's default
    max_clients: int = 4
    max_connection_time: float = 600.0  # seconds a client may stay connected
    send_last_n_segments: int = 10  # default when a client does not say
    api_key: str = field(default="", repr=False)  # a secret: never printed or logged

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be in 0..65535, not {self.port}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise SettingsError(f"device must be cpu, cuda or auto, not {self.device!r}")
        if self.max_clients < 1:
            raise SettingsError(f"max_clients must be at least 1, not {self.max_clients}")
        if self.max_connection_time <= 0:
            raise SettingsError(f"max_connection_time must be positive, not {self.max_connection_time}")
        if not 1 <= self.send_last_n_segments <= 1000:
            raise SettingsError(f"send_last_n_segments must be in 1..1000, not {self.send_last_n_segments}")

    @property
    def effective_compute_type(self) -> str:
        if self.compute_type:
            return self.compute_type
        return "int8" if self.device == "cpu" else "default"

    @classmethod
    def load(cls, env: dict[str, str] | None = None, **overrides: Any) -> "TranscriberSettings":
        """Defaults < LIVEHOST_TRANSCRIBER_* variables < `overrides` (None values are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _convert(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> "TranscriberSettings":
        return dataclasses.replace(self, **changes)


def _convert(f: dataclasses.Field, raw: str) -> Any:
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{f.name.upper()} must be a {kind}, not {raw!r}") from None
    return raw
