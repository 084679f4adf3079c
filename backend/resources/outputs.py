"""What a live leaves for its operators: the preview of the outgoing stream while it runs (HLS
written by the worker under var/preview/<session>/) and its recording (MPEG-TS segments under
var/recordings/<session>/, listed by the worker's recording.json). The API and the workers share
var/ (one machine, or a volume in docker compose). Nested in the sessions blueprint.

The stream key appears nowhere here: the files are named by the session, and signed-in users
reach them with their token (hls.js sends it in the Authorization header)."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from flask import Blueprint, current_app, send_file
from pydantic import Field

from backend import audit
from backend.api import ANYONE, OPERATE, Out, get_or_404, route
from backend.db import db
from backend.errors import ApiError
from db.models import ACTIVE_STATUSES, LiveSession

bp = Blueprint("outputs", __name__)

PREVIEW_FILE = re.compile(r"^(index\.m3u8|seg-\d{6}\.ts)$")
SEGMENT_FILE = re.compile(r"^seg-\d{5}\.ts$")


def var_dir() -> Path:
    return current_app.config["LIVEHOST"].var_dir


class SegmentOut(Out):
    file: str
    start: float = Field(description="seconds into the live")
    duration: float = Field(description="seconds")
    bytes: int
    url: str = Field(description="the segment (MPEG-TS, plays alone; GET, signed in)")


class RecordingOut(Out):
    session_id: int
    duration: float = Field(description="seconds, all segments")
    bytes: int
    complete: bool = Field(description="the live ended and its recording was closed; false while it runs or after a "
                           "crash (the segments kept still play)")
    error: str | None = Field(description="why the recording stopped early (a full disk), if it did")
    segments: list[SegmentOut]


def read_recording(session_id: int) -> RecordingOut | None:
    """The recording of a session as its manifest says, or None when it has none."""
    manifest = var_dir() / "recordings" / str(session_id) / "recording.json"
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    segments = [SegmentOut(**{k: s[k] for k in ("file", "start", "duration", "bytes")},
                           url=f"/api/sessions/{session_id}/recording/{s['file']}")
                for s in data.get("segments") or [] if SEGMENT_FILE.match(str(s.get("file", "")))]
    return RecordingOut(session_id=session_id, duration=round(sum(s.duration for s in segments), 3),
                        bytes=sum(s.bytes for s in segments), complete=bool(data.get("complete")),
                        error=data.get("error"), segments=segments)


@route(bp, "GET", "/<int:session_id>/recording", roles=ANYONE, response=RecordingOut,
       errors={404: "no such session, or it was not recorded"})
def get_recording(session_id: int):
    """The live's recording: its segments with their duration and size (the room's `record`)."""
    get_or_404(db(), LiveSession, session_id, "session")
    recording = read_recording(session_id)
    if recording is None:
        raise ApiError(404, "not_found", f"session {session_id} has no recording")
    return recording


@route(bp, "GET", "/<int:session_id>/recording/<name>", roles=ANYONE, media="video/mp2t",
       errors={404: "no such segment"})
def get_segment(session_id: int, name: str):
    """One segment of the recording (MPEG-TS; ranges served)."""
    get_or_404(db(), LiveSession, session_id, "session")
    path = var_dir() / "recordings" / str(session_id) / name
    if not SEGMENT_FILE.match(name) or not path.is_file():
        raise ApiError(404, "not_found", f"session {session_id} has no segment {name!r}")
    return send_file(path, mimetype="video/mp2t", conditional=True, download_name=f"live-{session_id}-{name}",
                     as_attachment=True)


@route(bp, "DELETE", "/<int:session_id>/recording", roles=OPERATE, errors={409: "the live is still running"})
def delete_recording(session_id: int):
    """Delete the live's recording (not while the live runs)."""
    live = get_or_404(db(), LiveSession, session_id, "session")
    if live.status in ACTIVE_STATUSES:
        raise ApiError(409, "conflict", f"session {session_id} is {live.status}: stop it before deleting its recording")
    folder = var_dir() / "recordings" / str(session_id)
    if not folder.is_dir():
        raise ApiError(404, "not_found", f"session {session_id} has no recording")
    audit.record("session.recording_delete", f"session:{session_id}")
    db().commit()
    shutil.rmtree(folder, ignore_errors=True)


@route(bp, "GET", "/<int:session_id>/preview/<name>", roles=ANYONE,
       media=("application/vnd.apple.mpegurl", "video/mp2t"),
       errors={404: "the live is not running on a worker that writes a preview"})
def get_preview(session_id: int, name: str):
    """The outgoing live as HLS, a few seconds behind: `index.m3u8`, then the segments it names."""
    get_or_404(db(), LiveSession, session_id, "session")
    path = var_dir() / "preview" / str(session_id) / name
    if not PREVIEW_FILE.match(name) or not path.is_file():
        raise ApiError(404, "not_found", f"session {session_id} has no preview now" if name == "index.m3u8"
                       else f"preview segment {name!r} is gone (the playlist moved on)")
    playlist = name.endswith(".m3u8")
    response = send_file(path, mimetype="application/vnd.apple.mpegurl" if playlist else "video/mp2t",
                         conditional=not playlist)
    response.headers["Cache-Control"] = "no-store" if playlist else "private, max-age=60"
    return response
