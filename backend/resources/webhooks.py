"""Webhooks: where the deployment's alerts go (db.alerts): a live started, failed (with the
reason), lost an RTMP destination for longer than the workers' `alert_disconnect_s`, or ended
(with its summary). Admins only. A URL holds its token: it is encrypted at rest, write-only, and
shown as its host; so is a signing secret."""
from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from flask import Blueprint
from pydantic import Field, StrictBool, field_validator
from sqlalchemy import select

from backend import audit
from backend.api import ADMIN, Model, Out, Page, PageQuery, get_or_404, paginate, route
from backend.db import db
from backend.errors import ApiError
from backend.resources.relay import data_key
from db import secrets
from db.alerts import Alert, deliver
from db.models import Webhook

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")

Format = Literal["generic", "wecom", "dingtalk", "feishu", "slack"]
Event = Literal["started", "failed", "disconnected", "ended"]
ALL_EVENTS: list[Event] = ["started", "failed", "disconnected", "ended"]


# what the OpenAPI document says of a webhook's URL: fewer than check_url takes, so that every URL it
# allows is taken
URL_DOC = {"pattern": r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,4})?(/[^\s]*)?$"}


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be an http:// or https:// address")
    return url


class WebhookIn(Model):
    name: str = Field(min_length=1, max_length=100)
    format: Format = Field("generic", description="the receiver's JSON: generic (livehost's), wecom, dingtalk, "
                           "feishu or slack")
    url: str = Field(max_length=1000, json_schema_extra=URL_DOC,
                     description="the incoming webhook's address (a secret; write-only)")
    secret: str = Field("", max_length=200, description="DingTalk's or Feishu's signing secret (write-only)")
    events: list[Event] = Field(default_factory=lambda: list(ALL_EVENTS), max_length=4)
    enabled: StrictBool = True

    _url = field_validator("url")(lambda cls, v: check_url(v))


class WebhookPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=100)
    format: Format | None = None
    url: str | None = Field(None, max_length=1000, json_schema_extra=URL_DOC)
    secret: str | None = Field(None, max_length=200, description="'' removes it")
    events: list[Event] | None = Field(None, max_length=4)
    enabled: StrictBool | None = None

    _url = field_validator("url")(lambda cls, v: v if v is None else check_url(v))


class WebhookOut(Out):
    id: int
    name: str
    format: str
    host: str = Field(description="where it goes; the URL itself is never shown")
    secret_set: bool
    events: list[str]
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, w: Webhook) -> "WebhookOut":
        return cls(id=w.id, name=w.name, format=w.format, host=w.url_host, secret_set=bool(w.secret_enc),
                   events=list(w.events or []), enabled=w.enabled, created_at=w.created_at)


class TestOut(Out):
    ok: bool
    error: str | None = Field(description="why the receiver did not take it (HTTP status or its error code)")


@route(bp, "GET", "", roles=ADMIN, query=PageQuery, response=Page[WebhookOut])
def list_webhooks(query: PageQuery):
    """The deployment's webhooks."""
    return paginate(db(), select(Webhook).order_by(Webhook.id), query, WebhookOut.of)


@route(bp, "POST", "", roles=ADMIN, body=WebhookIn, response=WebhookOut, status=201)
def create_webhook(body: WebhookIn):
    """Add a webhook."""
    s = db()
    hook = Webhook(name=body.name, format=body.format, url_enc=secrets.encrypt(body.url, data_key()),
                   url_host=urlsplit(body.url).hostname or "", secret_enc=secrets.encrypt(body.secret, data_key()),
                   events=list(dict.fromkeys(body.events)), enabled=body.enabled)
    s.add(hook)
    s.flush()
    audit.record("webhook.create", f"webhook:{hook.id}", name=hook.name, format=hook.format, host=hook.url_host)
    s.commit()
    return WebhookOut.of(hook)


@route(bp, "PATCH", "/<int:webhook_id>", roles=ADMIN, body=WebhookPatch, response=WebhookOut)
def change_webhook(webhook_id: int, body: WebhookPatch):
    """Change the fields given (url and secret replace the saved ones)."""
    s = db()
    hook = get_or_404(s, Webhook, webhook_id, "webhook")
    for name in ("name", "format", "enabled"):
        if getattr(body, name) is not None:
            setattr(hook, name, getattr(body, name))
    if body.events is not None:
        hook.events = list(dict.fromkeys(body.events))
    if body.url is not None:
        hook.url_enc, hook.url_host = secrets.encrypt(body.url, data_key()), urlsplit(body.url).hostname or ""
    if body.secret is not None:
        hook.secret_enc = secrets.encrypt(body.secret, data_key())
    audit.record("webhook.change", f"webhook:{hook.id}", fields=sorted(body.model_dump(exclude_none=True)))
    s.commit()
    return WebhookOut.of(hook)


@route(bp, "DELETE", "/<int:webhook_id>", roles=ADMIN)
def delete_webhook(webhook_id: int):
    s = db()
    hook = get_or_404(s, Webhook, webhook_id, "webhook")
    audit.record("webhook.delete", f"webhook:{hook.id}", name=hook.name)
    s.delete(hook)
    s.commit()


@route(bp, "POST", "/<int:webhook_id>/test", roles=ADMIN, response=TestOut)
def test_webhook(webhook_id: int):
    """Send a test alert now and say whether the receiver took it (one try, 10 s at most)."""
    import httpx

    hook = get_or_404(db(), Webhook, webhook_id, "webhook")
    try:
        target = hook.hook(data_key())
    except ValueError as e:
        raise ApiError(409, "conflict", f"webhook {webhook_id}: {e}") from None
    with httpx.Client() as client:
        error = deliver(target, Alert("test", f"test alert from livehost to {hook.name}",
                                      {"webhook": hook.id}), client)
    return TestOut(ok=error is None, error=error)
