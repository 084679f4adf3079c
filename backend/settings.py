"""The admin API's settings: what it shares with the scheduler (db.settings) and its own, from the
environment (DATABASE_URL, REDIS_URL, LIVEHOST_<FIELD>), passed to create_app. Its JWT secret, like
the data key, defaults to a random value kept under var/ (0600)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from db.settings import DataSettings

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "frontend" / "dist"


class ApiSettings(DataSettings):
    """Everything create_app needs. ApiSettings.from_env(env, **overrides) reads the environment;
    ApiSettings(**values) reads nothing."""

    kept_secrets: ClassVar[tuple[str, ...]] = ("jwt_secret", "data_key")

    jwt_secret: str = Field("", repr=False, description="signs sign-in tokens (changing it signs everyone out); "
                                                        "from_env: kept in var/jwt-secret when unset")
    dashboard_dir: Path = Field(DASHBOARD_DIR, description="the built dashboard (frontend/dist) served at /")
    access_minutes: int = Field(15, description="lifetime of an access token, minutes")
    refresh_days: int = Field(7, description="lifetime of a refresh token, days")
    login_limit: str = Field("5 per minute", description="failed sign-ins allowed per address (Flask-Limiter)")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="origins allowed to call the API from a browser (comma-separated in the environment)")
    max_body_bytes: int = Field(1_000_000, description="largest JSON request body")
    max_upload_bytes: int = Field(200_000_000, description="largest upload (avatars)")
    max_source_side: int = Field(8192, ge=64, description="largest side of an avatar's picture or video, "
                                                          "pixels (read from its header before decoding)")
    max_source_pixels: int = Field(50_000_000, ge=4096, description="largest picture or video frame of an "
                                                                    "avatar, pixels in all")
    max_script_chars: int = Field(100_000, description="longest script")
    transcriber_url: str | None = Field(None, description="ws(s):// of the transcription service the dashboard's "
                                                          "push-to-talk connects to; unset: push-to-talk off")
    proxy_hops: int = Field(0, ge=0, description="reverse proxies in front (nginx: 1) whose X-Forwarded-For "
                                                 "to trust")
    embedded_slots: int = Field(1, ge=0, description="without Redis, `serve` runs lives itself, this many at once "
                                                     "(0: none)")
    sse_keepalive_s: float = Field(15.0, gt=0, description="seconds of silence before an event stream sends a "
                                                           "keep-alive comment")
    metrics_token: str = Field("", repr=False, description="Prometheus must send it (Bearer) to read /metrics; "
                               "empty: /metrics is open (keep it on a private network)")
    testing: bool = Field(False, description="Flask's testing mode (tests)")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        return tuple(o.strip() for o in v.split(",") if o.strip()) if isinstance(v, str) else v
