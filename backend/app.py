"""The Flask application factory: everything is built here from one ApiSettings, nothing at import."""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import redis
from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from backend.db import close_session
from backend.errors import register_error_handlers
from backend.kv import MemoryRevocations, RedisRevocations
from backend.limits import limit_request_bodies
from backend.metrics import init_metrics
from backend.settings import ApiSettings
from db.database import Database

log = logging.getLogger("livehost.api")

CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "style-src 'self' 'unsafe-inline'; font-src 'self' data:; connect-src {connect}; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def security_headers(transcriber_url: str | None = None) -> dict[str, str]:
    """The headers of every response. The page may connect to the API and, when push-to-talk is
    configured, to the transcription service's origin: nothing else."""
    connect = " ".join(["'self'", *filter(None, [websocket_origin(transcriber_url)])])
    return {
        "Content-Security-Policy": CSP.format(connect=connect),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def websocket_origin(url: str | None) -> str | None:
    """ws(s)://host[:port] of `url`, as a CSP source; None (with a warning) for anything else."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme in ("ws", "wss") and re.fullmatch(r"[A-Za-z0-9.\-]+(:\d+)?|\[[0-9A-Fa-f:.]+\](:\d+)?", parts.netloc):
        return f"{parts.scheme}://{parts.netloc}"
    log.warning("LIVEHOST_TRANSCRIBER_URL %r is not a ws:// or wss:// URL: push-to-talk cannot connect to it", url)
    return None


def create_app(settings: ApiSettings | None = None) -> Flask:
    settings = settings or ApiSettings.from_env()
    app = Flask("livehost", static_folder=None)
    app.config.update(LIVEHOST=settings, MAX_CONTENT_LENGTH=settings.max_upload_bytes,
                      TESTING=settings.testing, JSON_SORT_KEYS=False)
    app.json.sort_keys = False
    app.url_map.merge_slashes = False  # /api//health is a 404, not a redirect to a URL built from Host
    headers = security_headers(settings.transcriber_url)
    if settings.proxy_hops:  # the client address behind nginx, for the login rate limit and audit
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.extensions["livehost.db"] = Database(settings.database_url)
    app.teardown_appcontext(close_session)
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2) \
        if settings.redis_url else None
    app.extensions["livehost.redis"] = client
    register_error_handlers(app)

    # the blueprints and what they need (the streamer's avatar and voice modules, OpenCV) load when
    # an app is built, not whenever the backend package is imported (for its settings, its CLI)
    from backend import auth
    from backend.control import make_bus
    from backend.resources import (audience, audit_log, avatars, dashboard, feed, health, media, openapi, products,
                                   relay, rooms, scene, schedules, scripts, sessions, transcriber, users, voices,
                                   webhooks, workers)

    auth.init_jwt(app, RedisRevocations(client) if client else MemoryRevocations())
    app.extensions["livehost.bus"] = make_bus(client)
    init_metrics(app)  # before the dashboard's catch-all
    # the dashboard last: its catch-all after /api
    for module in (auth, users, rooms, relay, avatars, voices, products, media, scene, scripts, schedules, sessions,
                   audience, feed, audit_log, health, workers, transcriber, webhooks, openapi, dashboard):
        app.register_blueprint(module.bp)
    app.config["SOCK_SERVER_OPTIONS"] = relay.SOCKET_OPTIONS  # the relay's WebSocket (flask-sock)

    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.redis_url or "memory://",
                      key_prefix="livehost:limits", swallow_errors=True, headers_enabled=True)
    app.view_functions["auth.login"] = limiter.limit(
        settings.login_limit, deduct_when=lambda response: response.status_code == 401)(
        app.view_functions["auth.login"])
    app.extensions["livehost.limiter"] = limiter

    limit_request_bodies(app, settings)

    @app.after_request
    def _headers(response):
        for k, v in headers.items():
            response.headers.setdefault(k, v)
        origin = request.headers.get("Origin")
        if origin and origin in settings.cors_origins:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
        return response

    return app
