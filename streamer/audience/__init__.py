"""The audience: viewers' comments, gifts, follows and paid messages from the platforms' own live
chat, triaged and answered by the host.

    events.py    AudienceEvent, Kind: one event model whatever the platform
    source.py    Source: a platform's chat on its own thread, reconnecting with capped backoff
    bilibili.py  Bilibili live danmaku (HTTP API + WebSocket, the real packet format)
    youtube.py   YouTube live chat (Data API v3 liveChatMessages, polled)
    relay.py     the documented JSON event format for every other platform, and the demo's endpoint
    speakable.py what of a viewer's name or comment may be said aloud
    thanks.py    batched thank-you lines in the room's language
    triage.py    what is answered, when, and what is dropped
    crowd.py     Audience: a live's sources and triage, attached to the live
"""
from __future__ import annotations

from dataclasses import dataclass, field

from streamer.settings import SettingsError

PLATFORM_SOURCES = ("bilibili", "youtube", "relay")


@dataclass(frozen=True)
class SourceSpec:
    """Which chat to read: `platform` bilibili (`target`: the room id), youtube (the live video's id)
    or relay (no target: events arrive through the control stream or the demo's endpoint).
    `secrets`: credentials of this source (cookie, buvid, api_key, oauth_token); never shown."""

    platform: str
    target: str = ""
    secrets: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"{self.platform}:{self.target}" if self.target else self.platform


def parse_source(text: str) -> SourceSpec:
    """A source from the demo's `--source` value: bilibili:ROOM_ID, youtube:VIDEO_ID or relay."""
    platform, _, target = text.strip().partition(":")
    platform, target = platform.lower(), target.strip()
    if platform == "relay" and not target:
        return SourceSpec("relay")
    if platform == "bilibili" and target.isdigit() and 0 < int(target) < 2**63:
        return SourceSpec("bilibili", str(int(target)))
    if platform == "youtube" and target and len(target) <= 64 and all(c.isalnum() or c in "-_" for c in target):
        return SourceSpec("youtube", target)
    raise SettingsError(f"--source must be bilibili:ROOM_ID, youtube:VIDEO_ID or relay, not {text!r}")
