"""Thank-you lines, batched: "Thanks Ann, Bo and Cy for the gifts!" rather than one line a gift.

Gifts, follows, guards and paid messages that the room thanks are gathered for the room's batch
time, then said in one line per kind, in the room's language, naming a few viewers (their
speakable names) and counting the rest. A viewer who gave three gifts is named once.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from streamer.audience.events import Kind

MAX_NAMED = 3  # names said in one line; the others are counted

# kind -> (one line with names, one line without any sayable name), per language
_LINES = {
    "en": {
        Kind.GIFT: ("Thank you {names} for the gifts!", "Thank you all for the gifts!"),
        Kind.FOLLOW: ("Welcome {names}, thanks for following!", "Thanks for the follows, everyone!"),
        Kind.GUARD: ("Thank you {names} for joining the crew!", "Thank you for joining the crew!"),
        Kind.SUPERCHAT: ("Thank you {names} for the super chats!", "Thank you for the super chats!"),
    },
    "zh": {
        Kind.GIFT: ("感谢{names}送的礼物！", "感谢大家送的礼物！"),
        Kind.FOLLOW: ("欢迎{names}，谢谢关注！", "谢谢大家的关注！"),
        Kind.GUARD: ("感谢{names}上舰！", "感谢新上舰的朋友！"),
        Kind.SUPERCHAT: ("感谢{names}的醒目留言！", "感谢大家的醒目留言！"),
    },
}


def join_names(names: list[str], others: int, language: str) -> str:
    """"A, B and C" / "A、B和C", with "and 4 others" / "等5位朋友" for the rest."""
    if language == "zh":
        text = "、".join(names[:-1]) + ("和" if len(names) > 1 else "") + names[-1]
        return f"{'、'.join(names)}等{len(names) + others}位朋友" if others else text
    if others:
        return f"{', '.join(names)} and {others} other{'s' if others > 1 else ''}"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def thank_line(kind: Kind, names: list[str], unnamed: int, language: str) -> str:
    """One line thanking `names` (sayable, distinct) and `unnamed` more viewers for `kind`."""
    lines = _LINES.get(language, _LINES["en"])[kind]
    if not names:
        return lines[1]
    shown, others = names[:MAX_NAMED], len(names) - MAX_NAMED + unnamed if len(names) > MAX_NAMED else unnamed
    return lines[0].format(names=join_names(shown, max(0, others), language))


@dataclass
class Batch:
    """What one kind has gathered since its last line: sayable names in order, and how many
    viewers had no sayable name; `seqs` are the events it thanks."""

    names: list[str] = field(default_factory=list)
    unnamed: int = 0
    seqs: list[int] = field(default_factory=list)
    since: float = 0.0
    viewers: set[str] = field(default_factory=set)

    def add(self, seq: int, viewer: str, name: str, now: float) -> None:
        if not self.seqs:
            self.since = now
        self.seqs.append(seq)
        if viewer in self.viewers:
            return
        self.viewers.add(viewer)
        if name:
            self.names.append(name)
        else:
            self.unnamed += 1
