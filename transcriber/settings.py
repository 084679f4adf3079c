"""Typed settings of the transcription service (streamer.settings' mechanism): defaults <
LIVEHOST_TRANSCRIBER_<NAME> (an empty variable counts as unset) < overrides."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from streamer.settings import LivehostSettings

ENV_PREFIX = "LIVEHOST_TRANSCRIBER_"


class TranscriberSettings(LivehostSettings):
    """The service's address, model, client limits and key. TranscriberSettings(**values) reads
    nothing else; load() reads the environment too."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True)

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(9090, ge=0, le=65535, description="port to listen on (0: any free one)")
    model: str = Field("tiny.en", description="a CTranslate2 model folder, or a name found locally (never "
                                              "downloaded)")
    device: Literal["cpu", "cuda", "auto"] = Field("cpu", description="where the model runs")
    compute_type: str = Field("", description="CTranslate2 compute type; empty: int8 on CPU, float16 on CUDA")
    cpu_threads: int = Field(0, description="CTranslate2 threads; 0: its own choice")
    max_clients: int = Field(4, ge=1, description="clients at once; more are told to WAIT")
    max_connection_time: float = Field(600.0, gt=0, description="seconds a client may stay connected")
    send_last_n_segments: int = Field(10, ge=1, le=1000, description="completed segments sent with each "
                                                                     "update when a client does not say")
    metrics_port: int = Field(0, ge=0, le=65535, description="serve Prometheus metrics on this port, on the "
                                                             "same address (0: off)")
    api_key: str = Field("", repr=False, description="when set, clients must give it (a secret: never printed "
                                                     "or logged)")

    @property
    def effective_compute_type(self) -> str:
        if self.compute_type:
            return self.compute_type
        return "int8" if self.device == "cpu" else "default"

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> TranscriberSettings:
        """Defaults < LIVEHOST_TRANSCRIBER_* variables (`env`, os.environ when None) < `overrides`
        (None values are ignored)."""
        return cls(**cls.layered(env, overrides))
