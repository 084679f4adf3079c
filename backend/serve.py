"""Serving the admin API: gunicorn (embedded through its BaseApplication) in production, Flask's
development server with `--dev`. Each gunicorn worker builds its own app with `make_app(settings)`
(create_app, or the `livehost` command's app with the embedded scheduler and worker) after the
fork, so no database or Redis connection is shared between processes. The workers count their
HTTP requests in prometheus-client's multiprocess files (backend.metrics), so /metrics answers
for all of them whichever one serves the scrape."""
from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
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
            "child_exit": lambda _server, worker: metrics_process_dead(worker.pid),
            "post_worker_init": end_streams_on_exit,
        }
        for key, value in config.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):  # in the worker process, after the fork
        return self.make_app(self.settings)


def end_streams_on_exit(worker) -> None:
    """A worker told to stop (SIGTERM) ends its event streams at once: gunicorn lets requests finish
    for graceful_timeout, and a browser's event stream never finishes by itself."""
    from backend.resources.events import STOPPING

    handle_exit = worker.handle_exit

    def on_exit(signum, frame) -> None:
        STOPPING.set()
        handle_exit(signum, frame)

    signal.signal(signal.SIGTERM, on_exit)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def shared_metrics_dir() -> Callable[[], None]:
    """Make the workers about to be forked count their metrics in shared files: PROMETHEUS_MULTIPROC_DIR
    as given (emptied of an earlier run's files), else a fresh folder in /dev/shm. The metrics made
    from now on in this process and its children use it. Returns the clean-up for the exit."""
    from prometheus_client import values

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        folder = given
    else:
        folder = tempfile.mkdtemp(prefix="livehost-metrics-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
        os.environ[MULTIPROC_ENV] = folder
    values.ValueClass = values.get_value_class()  # chosen when prometheus-client was imported, before the folder
    return (lambda: None) if given else (lambda: shutil.rmtree(folder, ignore_errors=True))


def metrics_process_dead(pid: int) -> None:
    """A worker exited: its live gauges stop counting (its counters stay, so totals never go back)."""
    from prometheus_client import multiprocess

    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def run_gunicorn(settings: ApiSettings, options: ServeOptions, make_app: Callable[[ApiSettings], Flask]) -> int:
    """Serve until SIGTERM/SIGINT (graceful: workers finish their requests); the exit code."""
    log.info("livehost API on http://%s:%d (gunicorn, %d worker(s) x %d threads)",
             options.host, options.port, options.workers, options.threads)
    clean_up = shared_metrics_dir()
    try:
        ApiServer(settings, options, make_app).run()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        clean_up()
    return 0


def run_dev(settings: ApiSettings, options: ServeOptions, make_app: Callable[[ApiSettings], Flask]) -> int:
    """Flask's development server (one process, a thread per request; not for production)."""
    app = make_app(settings)
    log.info("livehost API on http://%s:%d (Flask development server)", options.host, options.port)
    app.run(host=options.host, port=options.port, threaded=True, debug=False, use_reloader=False,
            request_handler=QuietRequestHandler)
    return 0

