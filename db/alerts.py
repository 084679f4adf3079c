"""Alerts: what a deployment's webhooks are told (a live started, failed, lost its RTMP connection,
ended with its summary) in the JSON each kind of incoming webhook takes, sent from a thread of
their own with retries, so that no live ever waits on a chat server.

Formats (the public incoming-webhook APIs): `generic` (livehost's own JSON: event, session, room,
text and the event's fields), `wecom` (企业微信 group robot: msgtype text), `dingtalk` (钉钉
custom robot: msgtype text; with a secret, the URL is signed with timestamp and sign), `feishu`
(飞书 custom bot: msg_type text; with a secret, timestamp and sign in the body) and `slack`
(incoming webhook: text). A webhook's URL holds its token: it is a secret, stored encrypted."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

import httpx

log = logging.getLogger("livehost.alerts")

FORMATS = ("generic", "wecom", "dingtalk", "feishu", "slack")
EVENTS = ("started", "failed", "disconnected", "ended", "test")
RETRIES_S = (1, 2, 4, 8, 16)  # waits between tries; then the alert is dropped (logged)


@dataclass(frozen=True)
class Hook:
    """Where to send: a webhook's URL (a secret), its format and optional signing secret."""

    name: str
    url: str
    format: str = "generic"
    secret: str = ""
    events: tuple[str, ...] = ("started", "failed", "disconnected", "ended")


@dataclass
class Alert:
    event: str  # one of EVENTS
    text: str  # one line a person reads
    fields: dict = field(default_factory=dict)  # session, room, reason, duration_s, ...


def body_for(hook: Hook, alert: Alert, now: float | None = None) -> tuple[str, dict]:
    """(URL, JSON body) of `alert` in `hook`'s format."""
    now = time.time() if now is None else now
    text = f"[livehost] {alert.text}"
    if hook.format == "wecom":
        return hook.url, {"msgtype": "text", "text": {"content": text}}
    if hook.format == "dingtalk":
        url = hook.url
        if hook.secret:  # the robot's "加签": HMAC-SHA256 of "timestamp\nsecret", base64, in the URL
            stamp = str(int(now * 1000))
            sign = base64.b64encode(hmac.new(hook.secret.encode(), f"{stamp}\n{hook.secret}".encode(),
                                             hashlib.sha256).digest()).decode()
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": stamp, "sign": sign})
        return url, {"msgtype": "text", "text": {"content": text}}
    if hook.format == "feishu":
        body = {"msg_type": "text", "content": {"text": text}}
        if hook.secret:  # the bot's signature: HMAC-SHA256 keyed by "timestamp\nsecret" of nothing, base64
            stamp = str(int(now))
            sign = base64.b64encode(hmac.new(f"{stamp}\n{hook.secret}".encode(), b"", hashlib.sha256).digest())
            body = {"timestamp": stamp, "sign": sign.decode(), **body}
        return hook.url, body
    if hook.format == "slack":
        return hook.url, {"text": text}
    return hook.url, {"event": alert.event, "text": alert.text, "at": round(now, 3), **alert.fields}


def deliver(hook: Hook, alert: Alert, client: httpx.Client) -> str | None:
    """Send once; None when the server took it, else why not (a URL is never in the reason)."""
    url, body = body_for(hook, alert)
    try:
        r = client.post(url, json=body, timeout=10)
    except httpx.HTTPError as e:
        return f"{type(e).__name__}"
    if r.status_code >= 300:
        return f"HTTP {r.status_code}"
    if hook.format in ("wecom", "dingtalk", "feishu"):  # these answer 200 with an error code in the JSON
        try:
            answer = r.json()
        except ValueError:
            return None
        code = answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if code not in (0, None):
            return f"error {code}: {answer.get('errmsg') or answer.get('msg') or ''}".strip()
    return None


class Notifier:
    """Sends alerts to hooks from one thread, retrying each with backoff; send() never blocks."""

    def __init__(self, retries_s: tuple[float, ...] = RETRIES_S):
        self.retries_s = retries_s
        self._queue: queue.Queue = queue.Queue(maxsize=1000)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = self.failed = 0

    def send(self, hooks: list[Hook], alert: Alert) -> None:
        for hook in hooks:
            if alert.event in hook.events or alert.event == "test":
                try:
                    self._queue.put_nowait((hook, alert))
                except queue.Full:
                    log.error("alerts: the queue is full; %s alert to %s dropped", alert.event, hook.name)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client() as client:
            while True:
                try:
                    hook, alert = self._queue.get(timeout=30)
                except queue.Empty:
                    return
                self._deliver(hook, alert, client)

    def _deliver(self, hook: Hook, alert: Alert, client: httpx.Client) -> None:
        for wait in (0.0, *self.retries_s):
            time.sleep(wait)
            error = deliver(hook, alert, client)
            if error is None:
                self.sent += 1
                return
            log.warning("alerts: %s alert to %s not taken (%s)", alert.event, hook.name, error)
        self.failed += 1
        log.error("alerts: %s alert to %s dropped after %d tries", alert.event, hook.name, len(self.retries_s) + 1)
