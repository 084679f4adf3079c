"""The dashboard: the built Vue app (frontend/dist) at /, the API staying under /api.

History-mode routing: a path that is not a file of the build gets index.html, so a reload on
/sessions/7 works. Hashed assets are cached for a year; index.html never. Without a build, / says
how to make one."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory
from werkzeug.routing import PathConverter

bp = Blueprint("dashboard", __name__)

NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>livehost</title>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>livehost</h1><p>The admin API runs (<a href="/api/docs">/api/docs</a>), but the dashboard is not built.</p>
<p>Build it with Node.js 20 or newer: <code>make setup</code> (builds it when <code>npm</code> is there), or
<code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code>. It is served from <code>{dist}</code>.</p>"""


def dashboard_dir() -> Path:
    return current_app.config["LIVEHOST"].dashboard_dir


class NotApiPath(PathConverter):
    """A path that is not under /api: the API's own unknown paths keep their JSON 404 for every method."""

    regex = r"(?!api(?:/|$))[^/].*?"


@bp.record_once
def _converter(state) -> None:
    state.app.url_map.converters["notapi"] = NotApiPath


@bp.get("/")
@bp.get("/<notapi:path>")
def dashboard(path: str = ""):
    dist = dashboard_dir()
    index = dist / "index.html"
    if not index.is_file():
        return Response(NOT_BUILT.format(dist=dist), status=503, mimetype="text/html")
    target = (dist / path).resolve() if path else index
    if path and target.is_file() and dist.resolve() in target.parents:
        response = send_from_directory(dist, path, max_age=31536000 if path.startswith("assets/") else 0)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response
    response = send_from_directory(dist, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
