"""SQLAlchemy 2.0 models. MySQL/MariaDB in production, SQLite by default; Alembic owns the schema."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from db import secrets
from db.alerts import Hook

ROLES = ("admin", "operator", "viewer")
PLATFORMS = ("douyin", "bilibili", "kuaishou", "youtube", "custom")
REPEATS = ("none", "daily", "weekly")
# the audience sources' credentials a room keeps (encrypted in Room.source_secrets_enc)
SOURCE_SECRETS = ("bilibili_cookie", "bilibili_buvid", "youtube_api_key", "youtube_oauth_token")


class SessionStatus(StrEnum):
    """Where a live session (a `sessions` row) is. The values are what the database stores and the
    API shows, so a member compares equal to its string."""

    QUEUED = "queued"  # waiting for a worker
    STARTING = "starting"  # a worker claimed it and is building the live
    LIVE = "live"  # on air
    STOPPING = "stopping"  # asked to stop; the worker has not confirmed yet
    ENDED = "ended"
    FAILED = "failed"


# A room has at most one session in these (it holds the room's destinations).
ACTIVE_STATUSES = (SessionStatus.QUEUED, SessionStatus.STARTING, SessionStatus.LIVE, SessionStatus.STOPPING)
# On a worker, which must keep its claim on the session alive.
RUNNING_STATUSES = (SessionStatus.STARTING, SessionStatus.LIVE, SessionStatus.STOPPING)
# Over: a session in these takes no more commands and never changes again.
TERMINAL_STATUSES = (SessionStatus.ENDED, SessionStatus.FAILED)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Naive UTC in the database (MySQL DATETIME has no zone), to the microsecond; aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return value.replace(tzinfo=timezone.utc) if value is not None else None


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Archivable:
    """Rows that past lives refer to are archived instead of deleted: gone from the lists, kept
    for the history (a session always shows its room, script, avatar and voice)."""

    archived_at: Mapped[datetime | None] = mapped_column(default=None)


# Ids are never reused, on any database (SQLite reuses the highest id of a deleted row unless a
# table is AUTOINCREMENT): a token, an audit entry or a bookmark naming an id means that row only.
NO_REUSE = {"sqlite_autoincrement": True}


class User(Timestamped, Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # named in every token; a new password, role or disabling moves it on, and older tokens stop
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    __table_args__ = NO_REUSE


class Room(Timestamped, Archivable, Base):
    __tablename__ = "rooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    platform: Mapped[str] = mapped_column(String(16))
    server_url: Mapped[str] = mapped_column(String(500))
    stream_key_enc: Mapped[str] = mapped_column(Text, default="")  # Fernet token, never returned
    key_hint: Mapped[str] = mapped_column(String(8), default="")  # last characters, for humans
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # audience sources: {bilibili_room_id, youtube_video_id, relay}; null in rooms made before them
    sources: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    # Fernet token of JSON {bilibili_cookie, bilibili_buvid, youtube_api_key, youtube_oauth_token}
    source_secrets_enc: Mapped[str | None] = mapped_column(Text, default="")
    relay_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)  # sha256 hex of the token
    relay_token_hint: Mapped[str] = mapped_column(String(8), default="", server_default="")  # its last characters
    # more destinations, each sent the same live: [{id, name, server_url, key_enc, key_hint, enabled}]
    destinations: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
    __table_args__ = NO_REUSE

    def push_urls(self, data_key: str) -> list[str]:
        """Every enabled destination's push URL (secrets), the room's own first."""
        urls = [self.push_url(data_key)]
        for d in self.destinations or []:
            if d.get("enabled", True):
                key = secrets.decrypt(d.get("key_enc") or "", data_key)
                urls.append(f"{d['server_url']}/{key}" if key else d["server_url"])
        return urls

    def push_url(self, data_key: str) -> str:
        """Where lives of this room go: the server URL with the stream key (a secret: never log or
        return it), decrypted with `data_key`. ValueError if the key cannot be decrypted."""
        key = secrets.decrypt(self.stream_key_enc, data_key)
        return f"{self.server_url}/{key}" if key else self.server_url

    def source_secrets(self, data_key: str) -> dict[str, str]:
        """The audience sources' credentials (secrets: never log or return them), decrypted with
        `data_key`: every name of SOURCE_SECRETS, "" when not set. ValueError if they cannot be
        decrypted."""
        stored = secrets.decrypt_fields(self.source_secrets_enc or "", data_key)
        return {name: stored.get(name, "") for name in SOURCE_SECRETS}


class Avatar(Timestamped, Archivable, Base):
    __tablename__ = "avatars"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)  # folder name under avatars/
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="preparing")  # preparing/ready/failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(255), default="")
    frames: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = NO_REUSE


class Voice(Timestamped, Archivable, Base):
    __tablename__ = "voices"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    engine: Mapped[str] = mapped_column(String(16))
    voice: Mapped[str] = mapped_column(String(500), default="")  # a voice's name, or a TTS server's URL
    rate: Mapped[int] = mapped_column(Integer, default=0)  # percent, -50..100
    pitch: Mapped[int] = mapped_column(Integer, default=0)  # percent, -50..50
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # a TTS server's parameters
    # the reference clip of a cloned voice: {file (under var/voices), text, seconds, sample_rate}
    reference: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    __table_args__ = NO_REUSE


class Script(Timestamped, Archivable, Base):
    __tablename__ = "scripts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    loop: Mapped[int] = mapped_column(Integer, default=1)  # 0 = for ever
    segments: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = NO_REUSE


class Schedule(Timestamped, Base):
    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id", ondelete="RESTRICT"))
    avatar_id: Mapped[int] = mapped_column(ForeignKey("avatars.id", ondelete="RESTRICT"))
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="RESTRICT"))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    repeat: Mapped[str] = mapped_column(String(8), default="none")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # The scheduler started this (one-off) occurrence; a repeating schedule moves to its next instead.
    dispatched_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    __table_args__ = (Index("ix_schedules_room_start", "room_id", "start_at"), NO_REUSE)


class LiveSession(Timestamped, Base):
    """One run of a schedule, or a 'go live now'."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    script_id: Mapped[int] = mapped_column(ForeignKey("scripts.id", ondelete="RESTRICT"))
    avatar_id: Mapped[int] = mapped_column(ForeignKey("avatars.id", ondelete="RESTRICT"))
    voice_id: Mapped[int] = mapped_column(ForeignKey("voices.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.QUEUED)  # a SessionStatus
    worker: Mapped[str | None] = mapped_column(String(100), default=None)
    planned_end_at: Mapped[datetime | None] = mapped_column(default=None)
    scheduled_at: Mapped[datetime | None] = mapped_column(default=None)  # a schedule's planned start
    enqueued_at: Mapped[datetime | None] = mapped_column(default=None)  # last put on the worker queue
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # written by its worker when it ends: {duration_s, comments, answered, reconnects, recording}
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    __table_args__ = (Index("ix_sessions_status", "status"), NO_REUSE)


class Comment(Timestamped, Base):
    __tablename__ = "comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(100), default="")
    text: Mapped[str] = mapped_column(Text)
    interrupt: Mapped[bool] = mapped_column(Boolean, default=False)
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    __table_args__ = NO_REUSE


class AuditEntry(Timestamped, Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(60), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip: Mapped[str] = mapped_column(String(45), default="")
    __table_args__ = (Index("ix_audit_created", "created_at"), NO_REUSE)


class AudienceEventRow(Base):
    """One thing a viewer did in a live (streamer.audience.events.AudienceEvent) and what the host
    did about it. The worker inserts a row when the event arrives and updates `action`, `reason`
    and `reply` as the host answers, thanks, skips or drops it."""

    __tablename__ = "audience_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)  # the live's own number of the event, from 1
    platform: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(12))  # an audience Kind: comment, gift, superchat, ...
    user_id: Mapped[str] = mapped_column(String(64), default="")
    user_name: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    gift: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str] = mapped_column(String(8), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)  # when it happened (the platform's time)
    # received, queued, skipped, thanks, seen, answered, thanked, dropped
    action: Mapped[str] = mapped_column(String(12), default="received")
    reason: Mapped[str | None] = mapped_column(String(40), default=None)  # why skipped or dropped
    reply: Mapped[str | None] = mapped_column(Text, default=None)  # what the host said to it
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the platform's payload, never spoken
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_audience_session_seq"),
                      Index("ix_audience_session_kind", "session_id", "kind", "seq"),
                      Index("ix_audience_session_action", "session_id", "action", "seq"),
                      NO_REUSE)


class Product(Timestamped, Archivable, Base):
    """Something a room's lives sell: what the host knows of it and answers from. A product a
    script or a room names is archived instead of deleted (a live keeps what it uses)."""

    __tablename__ = "products"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2), default=None)  # null: not told
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    selling_points: Mapped[list[Any]] = mapped_column(default=list)  # [str]
    faq: Mapped[list[Any]] = mapped_column(default=list)  # [{q, a}]
    link: Mapped[str] = mapped_column(String(40), default="")  # "3号链接"
    stock: Mapped[str] = mapped_column(String(200), default="")  # "现货", "仅剩20件"
    image: Mapped[str] = mapped_column(String(255), default="")  # its file under var/products/, "" when none
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = NO_REUSE

    def image_url(self) -> str | None:
        return f"/api/products/{self.id}/image" if self.image else None

    def facts(self) -> dict[str, Any]:
        """The product as the API shows it and the streamer reads it (streamer.selling.products.
        Product.from_dict, given the id as a string), without its times."""
        return {"id": self.id, "name": self.name, "price": None if self.price is None else float(self.price),
                "currency": self.currency, "selling_points": list(self.selling_points or []),
                "faq": [{"q": f["q"], "a": f["a"]} for f in self.faq or []], "link": self.link,
                "stock": self.stock, "image_url": self.image_url()}


class Media(Timestamped, Base):
    """A file of the media library: a picture (background, logo), a video (a moving background)
    or a sound (background music), named by rooms' scenes. Its kind is read from its content."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # image, video, audio
    content_type: Mapped[str] = mapped_column(String(40))
    file: Mapped[str] = mapped_column(String(255))  # its file under var/media/
    size: Mapped[int] = mapped_column(Integer)  # bytes
    duration: Mapped[float | None] = mapped_column(Float, default=None)  # seconds; video and audio
    width: Mapped[int | None] = mapped_column(Integer, default=None)  # pixels; image and video
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    __table_args__ = NO_REUSE


class Webhook(Timestamped, Base):
    """Where a deployment's alerts go (db.alerts): an incoming webhook of a chat or any HTTP
    receiver. Its URL holds a token: kept encrypted, shown only as its host."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(16), default="generic")  # db.alerts.FORMATS
    url_enc: Mapped[str] = mapped_column(Text)  # Fernet token of the URL
    url_host: Mapped[str] = mapped_column(String(255), default="")  # for people: where it goes
    secret_enc: Mapped[str] = mapped_column(Text, default="")  # DingTalk's or Feishu's signing secret
    events: Mapped[list[Any]] = mapped_column(default=list)  # started, failed, disconnected, ended
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = NO_REUSE

    def hook(self, data_key: str) -> Hook:
        """The db.alerts.Hook to send with (secrets decrypted: never log or return them)."""
        return Hook(self.name, secrets.decrypt(self.url_enc, data_key), self.format,
                    secrets.decrypt(self.secret_enc or "", data_key), tuple(self.events or ()))


class ComplianceEvent(Base):
    """A banned word a live kept off the air (or, for "original", said the script's own line
    instead of a re-wording that held one): the live's "compliance" event, written by the worker."""

    __tablename__ = "compliance_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    where: Mapped[str] = mapped_column(String(16))  # reply, rewording, viewer, draft
    words: Mapped[list[Any]] = mapped_column(default=list)  # the listed words found
    text: Mapped[str] = mapped_column(Text, default="")  # what was not said (at most 300 characters)
    action: Mapped[str] = mapped_column(String(16))  # reasked, replaced, dropped, original
    __table_args__ = (Index("ix_compliance_session", "session_id", "id"), NO_REUSE)
