"""Serving the admin API: gunicorn (embedded through its BaseApplication) in production, Flask's
development server with `--dev`. Each gunicorn worker builds its own app with `make_app(settings)`
(create_app, or the `livehost` command's app with the embedded scheduler and worker) after the
fork, so no database or Redis connection is shared between processes."""
from __future__ import annotations

import errno
import logging
import os
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from werkzeug.serving import WSGIRequestHandler

from backend.settings import ApiSettings

log = logging.getLogger("livehost.api")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    threads: int = 16  # per worker; a Server-Sent Events stream holds one for its whole life
    timeout: int = 60  # a worker silent this long is restarted (gthread beats from its main loop)
    graceful_timeout: int = 20  # on SIGTERM, requests get this long to finish
    keepalive: int = 5
    access_log: bool = False
    debug: bool = False


def default_workers(settings: ApiSettings) -> int:
    """Without Redis the token blocklist, rate limits and control bus live in the process: one
    worker. With Redis, gunicorn's usual 2 x cores + 1 (at most 8; each worker has threads too)."""
    if not settings.redis_url:
        return 1
    return min(2 * (os.cpu_count() or 1) + 1, 8)


def check_port_free(host: str, port: int) -> str | None:
    """None if `host:port` can be bound now, else why not (one line)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return f"port {port} on {host} is already in use"
        if e.errno == errno.EACCES:
            return f"no permission to listen on port {port} (ports below 1024 need root)"
        return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


SECRET_PARAM = re.compile(r"((?:^|[?&])(?:access_token|token)=)[^&\s\"]*")


def redact(text: str) -> str:
    """`text` (a request line, a query string) with any access token or relay token (`token=`) in
    it replaced by ***."""
    return SECRET_PARAM.sub(r"\1***", text)


class AccessLogger(glogging.Logger):
    """gunicorn's logger, with tokens taken out of the access log's request line and query."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q", "U"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


class QuietRequestHandler(WSGIRequestHandler):
    """The development server's request log, tokens taken out."""

    def log_request(self, code="-", size="-"):
        self.requestline = redact(self.requestline)
        super().log_request(code, size)

    def log(self, type, message, *args):  # noqa: A002 - werkzeug's name; errors quote the request line too
        super().log(type, message, *(redact(a) if isinstance(a, str) else a for a in args))


class ApiServer(BaseApplication):
    """gunicorn with the gthread worker, serving make_app(settings)."""

    def __init__(self, settings: ApiSettings, options: ServeOptions, make_app: Callable[[ApiSettings], Flask]):
        self.settings, self.options, self.make_app = settings, options, make_app
        super().__init__(prog="livehost serve")

    def load_config(self) -> None:
        o = self.options
        host = f"[{o.host}]" if ":" in o.host else o.host
        config = {
            "bind": [f"{host}:{o.port}"],
            "workers": o.workers,
            "worker_class": "gthread",
            "threads": o.threads,
            "timeout": o.timeout,
            "graceful_timeout": o.graceful_timeout,
            "keepalive": o.keepalive,
            "proc_name": "livehost-api",
            "accesslog": "-" if o.access_log else None,
            "logger_class": AccessLogger,
            "errorlog": "-",
            "loglevel": "debug" if o.debug else "info",
            "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
            "control_socket_disable": True,  # gunicorn >= 25: one fixed socket path per user otherwise
        }
        for key, value in config.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):  # in the worker process, after the fork
        return self.make_app(self.settings)


def run_gunicorn(settings: ApiSettings, options: ServeOptions, make_app: Callable[[ApiSettings], Flask]) -> int:
    """Serve until SIGTERM/SIGINT (graceful: workers finish their requests); the exit code."""
    log.info("livehost API on http://%s:%d (gunicorn, %d worker(s) x %d threads)",
             options.host, options.port, options.workers, options.threads)
    try:
        ApiServer(settings, options, make_app).run()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return 0


def run_dev(settings: ApiSettings, options: ServeOptions, make_app: Callable[[ApiSettings], Flask]) -> int:
    """Flask's development server (one process, a thread per request; not for production)."""
    app = make_app(settings)
    log.info("livehost API on http://%s:%d (Flask development server)", options.host, options.port)
    app.run(host=options.host, port=options.port, threaded=True, debug=False, use_reloader=False,
            request_handler=QuietRequestHandler)
    return 0

