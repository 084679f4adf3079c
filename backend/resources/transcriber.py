"""GET /api/transcriber: where the dashboard's push-to-talk finds the transcription service
(`livehost transcriber serve`), from LIVEHOST_TRANSCRIBER_URL. Only the address: never a key."""
from __future__ import annotations

from flask import Blueprint, current_app
from pydantic import Field

from backend.api import ANYONE, Out, route

bp = Blueprint("transcriber", __name__, url_prefix="/api")


class TranscriberOut(Out):
    url: str | None = Field(description="ws:// or wss:// URL of the WhisperLive-compatible service; "
                                        "null when none is configured (push-to-talk is hidden)")


@route(bp, "GET", "/transcriber", roles=ANYONE, response=TranscriberOut)
def transcriber_info():
    """Where the real-time transcription service is, for the live console's push-to-talk."""
    return TranscriberOut(url=current_app.config["LIVEHOST"].transcriber_url)
