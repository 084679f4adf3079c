"""What the admin API and the scheduler and workers share: the database, Redis, the data key and the
folders. One typed settings class (streamer.settings' mechanism) that both extend with their own.

from_env() reads DATABASE_URL, REDIS_URL and LIVEHOST_<FIELD> (an empty variable counts as unset).
Secrets left unset default to random values kept under var/ (0600), so the embedded default needs
no setup; production sets them explicitly."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from streamer.settings import LivehostSettings


class DataSettings(LivehostSettings):
    """The settings every server process of a deployment must agree on."""

    model_config = SettingsConfigDict(env_ignore_empty=True)
    # fields whose value, when no variable or override gives one, is a random secret kept in var/
    kept_secrets: ClassVar[tuple[str, ...]] = ("data_key",)

    database_url: str = Field("", repr=False, validation_alias="DATABASE_URL",
                              description="SQLAlchemy URL of the database; from_env: SQLite under var_dir when unset")
    redis_url: str = Field("", repr=False, validation_alias="REDIS_URL",
                           description="Redis (Celery's broker, the control bus, shared API state); "
                                       "empty: in-process stores (one process)")
    data_key: str = Field("", repr=False, description="encrypts stream keys at rest; the API and every worker need "
                                                      "the same; from_env: kept in var/data-key when unset")
    var_dir: Path = Field(Path("var"), description="state: the SQLite database, kept secrets, uploads")
    avatars_dir: Path = Field(Path("avatars"), description="prepared avatars, one folder each")
    voice_ref_dir: str = Field("", description="where GPT-SoVITS servers find var/voices (the voices' reference "
                                               "clips) on a volume they share; empty: its path here (a server on "
                                               "this machine)")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Defaults < the environment (`env`, os.environ when None) < `overrides` (None values are
        ignored); an unset database is SQLite under var_dir, an unset secret is kept under var_dir."""
        values = cls.layered(env, overrides)
        var_dir = Path(values.get("var_dir") or "var")
        values.setdefault("database_url", f"sqlite:///{(var_dir / 'livehost.db').resolve()}")
        for name in cls.kept_secrets:
            if not values.get(name):
                values[name] = kept_secret(var_dir, name.replace("_", "-"))
        return cls(**values)

    @classmethod
    def sharing(cls, other: DataSettings, **values: Any) -> Self:
        """Settings of this class with what `other` shares (database, Redis, data key, folders)."""
        return cls(**{name: getattr(other, name) for name in DataSettings.model_fields}, **values)


def kept_secret(var_dir: Path, name: str) -> str:
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
