"""What a live owes from its command stream: how far it has read, and which commands it has
applied but not yet carried out (a `say` waiting behind other speech, a comment waiting for its
answer). Kept beside the stream on the bus, so that a live restarted on another worker picks up
exactly there: it carries out what was still owed, then reads on from the cursor; nothing is lost
and nothing that was done is done again.

A command is owed from the moment it is read until the live reports it done (say and comment:
when their last sentence has been on air, or an interrupt dropped them; every other command: once
applied) or refuses it. Thread-safe: the reader adds, the live's threads mark done, the writer saves.
"""
from __future__ import annotations

import threading


class Ledger:
    """The command cursor and the commands still owed, in stream order."""

    def __init__(self, cursor: str = "0", owed: list[tuple[str, dict]] | None = None):
        self._lock = threading.Lock()
        self._cursor = cursor
        self._owed: dict[str, dict] = dict(owed or [])
        self._changes = 0  # bumped on every change, so a writer knows whether its copy is current

    @classmethod
    def from_dict(cls, data: dict | None) -> "Ledger":
        """A ledger as as_dict() wrote it; an empty one for None (a session that has had no commands)."""
        if not data:
            return cls()
        owed = [(str(msg_id), command) for msg_id, command in data.get("owed", [])
                if isinstance(command, dict)]
        return cls(str(data.get("cursor") or "0"), owed)

    def as_dict(self) -> dict:
        with self._lock:
            return {"cursor": self._cursor, "owed": [[msg_id, c] for msg_id, c in self._owed.items()]}

    @property
    def cursor(self) -> str:
        """The id of the last command read ("0" before the first): reading goes on after it."""
        with self._lock:
            return self._cursor

    @property
    def owed(self) -> list[tuple[str, dict]]:
        """The commands read but not yet carried out, oldest first."""
        with self._lock:
            return list(self._owed.items())

    @property
    def changes(self) -> int:
        with self._lock:
            return self._changes

    def read(self, msg_id: str, command: dict) -> None:
        """Command `msg_id` was read and is about to be applied: owed until done(), and the cursor moves past it."""
        with self._lock:
            self._owed[msg_id] = command
            self._cursor = msg_id
            self._changes += 1

    def done(self, msg_id: str) -> None:
        """Command `msg_id` was carried out, dropped by an interrupt, or refused: nothing more is owed."""
        with self._lock:
            if self._owed.pop(msg_id, None) is not None:
                self._changes += 1

    def skip_to(self, msg_id: str) -> None:
        """Read on after `msg_id` ("0": from the start of a stream that replaced a lost one)."""
        with self._lock:
            self._cursor = msg_id
            self._changes += 1
