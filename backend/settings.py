"""The admin API's settings: one typed object from the environment (LIVEHOST_* and DATABASE_URL,
REDIS_URL), passed to create_app. Secrets default to random values kept under var/ (0600) so the
embedded default needs no setup; production sets them explicitly."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ApiSettings:
    database_url: str = ""
    redis_url: str = ""  # empty: in-process stores (embedded default, one process)
    jwt_secret: str = ""
    data_key: str = ""  # encrypts stream keys at rest
    var_dir: Path = Path("var")
    avatars_dir: Path = Path("avatars")
    dashboard_dir: Path = Path(__file__).resolve().parent.parent / "frontend" / "dist"
    access_minutes: int = 15
    refresh_days: int = 7
    login_limit: str = "5 per minute"
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 200_000_000
    max_script_chars: int = 100_000
    transcriber_url: str | None = None  # ws(s):// of the transcription service, for push-to-talk
    proxy_hops: int = 0  # reverse proxies in front (nginx: 1) whose X-Forwarded-For to trust
    embedded_slots: int = 1  # without Redis, `serve` runs lives itself, this many at once (0: none)
    testing: bool = False
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "ApiSettings":
        env = os.environ if env is None else env
        var_dir = Path(overrides.pop("var_dir", None) or env.get("LIVEHOST_VAR_DIR", "var"))
        values = dict(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{(var_dir / 'livehost.db').resolve()}",
            redis_url=env.get("REDIS_URL", ""),
            jwt_secret=env.get("LIVEHOST_JWT_SECRET") or _kept_secret(var_dir, "jwt-secret"),
            data_key=env.get("LIVEHOST_DATA_KEY") or _kept_secret(var_dir, "data-key"),
            var_dir=var_dir,
            avatars_dir=Path(env.get("LIVEHOST_AVATARS_DIR", "avatars")),
            dashboard_dir=Path(env["LIVEHOST_DASHBOARD_DIR"]) if env.get("LIVEHOST_DASHBOARD_DIR")
            else cls.dashboard_dir,
            transcriber_url=env.get("LIVEHOST_TRANSCRIBER_URL") or None,
            cors_origins=tuple(o.strip() for o in env.get("LIVEHOST_CORS_ORIGINS", "").split(",") if o.strip()),
        )
        if env.get("LIVEHOST_PROXY_HOPS", "").isdigit():
            values["proxy_hops"] = int(env["LIVEHOST_PROXY_HOPS"])
        if env.get("LIVEHOST_EMBEDDED_SLOTS", "").isdigit():
            values["embedded_slots"] = int(env["LIVEHOST_EMBEDDED_SLOTS"])
        if "LIVEHOST_LOGIN_LIMIT" in env:
            values["login_limit"] = env["LIVEHOST_LOGIN_LIMIT"]
        values.update(overrides)
        return cls(**values)


def _kept_secret(var_dir: Path, name: str) -> str:
    """A random secret made once and kept in var/<name> (mode 0600)."""
    path = var_dir / name
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value
