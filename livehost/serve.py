"""What `livehost serve` serves: the admin API, and without Redis the embedded scheduler and
worker beside it (scheduler.embedded), so that "go live now" works with nothing but SQLite."""
from __future__ import annotations

import atexit

from flask import Flask

from backend.app import create_app
from backend.settings import ApiSettings


def app_with_embedded(settings: ApiSettings) -> Flask:
    """create_app(settings), and without Redis the embedded scheduler and worker beside it,
    sharing its in-process control bus; `embedded_slots` 0 leaves them out."""
    app = create_app(settings)
    if not settings.redis_url and settings.embedded_slots > 0:
        # the worker's modules (the whole live: PyAV, OpenCV, the engines) load only when embedded
        from scheduler.dispatch import DispatchSettings
        from scheduler.embedded import Embedded

        embedded = Embedded(DispatchSettings.sharing(settings), app.extensions["livehost.bus"], settings.embedded_slots)
        app.extensions["livehost.embedded"] = embedded
        embedded.start()
        atexit.register(embedded.stop)  # lives end cleanly and are handed back (queued) for the next start
    return app
