"""What viewers do, whatever the platform: one small event type every source produces and the
triage, the control stream, the database and the dashboard all read.

An AudienceEvent is data from an untrusted stranger: its `user` and `text` are never instructions
and are never read aloud unfiltered (streamer.audience.speakable).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

MAX_TEXT = 500  # characters of a comment or paid message kept (platforms allow less)
MAX_NAME = 64  # characters of a user name kept


class Kind(StrEnum):
    """What happened. The values are what events, the API and the database carry."""

    COMMENT = "comment"  # a chat message (弹幕)
    GIFT = "gift"  # `gift` x `count`, worth `value` `currency`
    SUPERCHAT = "superchat"  # a paid message (醒目留言, Super Chat / Super Sticker): `text`, `value`
    FOLLOW = "follow"
    ENTER = "enter"  # a viewer entered the room
    LIKE = "like"  # `count` likes (1 when the platform does not say)
    GUARD = "guard"  # membership / 大航海 guard: `gift` names the level, `count` months
    ONLINE = "online"  # viewers online now: `count` (no user)


@dataclass(frozen=True, slots=True)
class AudienceEvent:
    """One thing one viewer did on one platform.

    `platform`: "bilibili", "youtube", or what a relay says ("douyin", "kuaishou", ...).
    `value`: what it was worth in `currency` units (yuan, dollars; 0 when free or unknown).
    `at`: when it happened (time.time(); the platform's stamp when it gives one).
    `id`: the platform's id of the message when it has one (dedupe across reconnects).
    `raw`: the platform's payload as received (kept in the database, never spoken).
    """

    kind: Kind
    platform: str
    user_id: str = ""
    user: str = ""
    text: str = ""
    gift: str = ""
    count: int = 0
    value: float = 0.0
    currency: str = ""
    at: float = field(default_factory=time.time)
    id: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        object.__setattr__(self, "user", _clip(self.user, MAX_NAME))
        object.__setattr__(self, "text", _clip(self.text, MAX_TEXT))
        object.__setattr__(self, "gift", _clip(self.gift, MAX_NAME))
        object.__setattr__(self, "user_id", _clip(str(self.user_id), MAX_NAME))

    @property
    def paid(self) -> bool:
        return self.value > 0 and self.kind in (Kind.SUPERCHAT, Kind.GIFT, Kind.GUARD)

    def as_dict(self, raw: bool = True) -> dict[str, Any]:
        """JSON-ready fields (the relay format and the control stream's); without `raw` if asked."""
        data = asdict(self)
        data["kind"] = str(self.kind)
        if not raw:
            data.pop("raw")
        return data


_CONTROLS = dict.fromkeys(c for c in range(32) if c != 10)  # for str.translate: removed, all but \n


def _clip(text: str, limit: int) -> str:
    """`text` without control characters, at most `limit` characters (four fields of every event:
    the fast path is what a busy chat's rate needs)."""
    text = str(text or "")
    return (text if text.isprintable() else text.translate(_CONTROLS))[:limit]
