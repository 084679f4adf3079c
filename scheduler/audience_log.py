"""What the audience did in a live and what the host did about it, written to the database by the
worker: one `audience_events` row per event, its action updated as the host answers, thanks,
skips or drops it.

The live reports on its own threads (`audience` and `audience_action` events); the log only
queues them (bounded: in a flood beyond what the database takes, the oldest waiting rows are
dropped and counted) and the worker's loop writes them in batches every few seconds.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime, timezone

from sqlalchemy import func, insert, select, update

from db.models import AudienceEventRow

log = logging.getLogger("livehost.worker")

MAX_PENDING = 20_000  # rows waiting to be written; beyond it the oldest are dropped (counted)
_ROW_FIELDS = ("platform", "user_id", "text", "gift", "count", "value", "currency")


def next_seq(s, session_id: int) -> int:
    """The number of the next viewer event of session `session_id` (a resumed live goes on counting)."""
    return (s.scalar(select(func.max(AudienceEventRow.seq)).where(AudienceEventRow.session_id == session_id))
            or 0) + 1


class AudienceLog:
    """Buffers one live's audience rows for the worker's writes. on_event() from any thread,
    write(s) from the worker's loop."""

    def __init__(self, session_id: int):
        self.session_id = session_id
        self.lost = 0
        self._lock = threading.Lock()
        self._new: OrderedDict[int, dict] = OrderedDict()  # seq -> row not yet inserted
        self._changes: dict[int, dict] = {}  # seq -> {action, reason, reply} for rows already written

    def on_event(self, kind: str, **fields) -> None:
        if kind == "audience":
            self._arrived(fields)
        elif kind == "audience_action" and isinstance(fields.get("seq"), int):
            change = {"action": fields.get("action") or "received", "reason": fields.get("reason"),
                      "reply": fields.get("reply")}
            with self._lock:
                row = self._new.get(fields["seq"])
                if row is not None:
                    row.update(change)
                else:
                    self._changes[fields["seq"]] = change

    def _arrived(self, f: dict) -> None:
        seq = f.get("seq")
        if not isinstance(seq, int):
            return
        row = {"session_id": self.session_id, "seq": seq, "kind": str(f.get("event") or ""),
               "user_name": str(f.get("user") or "")[:64], "action": f.get("action") or "received",
               "reason": f.get("reason"), "reply": None, "raw": f.get("raw") or {},
               "at": datetime.fromtimestamp(float(f.get("at") or 0) or datetime.now().timestamp(), timezone.utc)}
        for name in _ROW_FIELDS:
            row[name] = f.get(name) if f.get(name) is not None else ("" if name not in ("count", "value") else 0)
        row["platform"] = str(row["platform"])[:20]
        with self._lock:
            self._new[seq] = row
            while len(self._new) > MAX_PENDING:
                self._new.popitem(last=False)
                self.lost += 1
                if self.lost in (1, 1000) or self.lost % 10_000 == 0:
                    log.warning("session %s: the database is behind the audience; %d event row(s) not kept",
                                self.session_id, self.lost)

    def write(self, s) -> int:
        """Insert the new rows and update the changed ones in session `s` (the caller commits);
        how many statements' worth of rows were written."""
        with self._lock:
            new, self._new = list(self._new.values()), OrderedDict()
            changes, self._changes = self._changes, {}
        if new:
            s.execute(insert(AudienceEventRow), new)
        groups: dict[tuple, list[int]] = {}
        for seq, change in changes.items():
            groups.setdefault((change["action"], change["reason"], change["reply"]), []).append(seq)
        for (action, reason, reply), seqs in groups.items():
            for i in range(0, len(seqs), 500):
                s.execute(update(AudienceEventRow)
                          .where(AudienceEventRow.session_id == self.session_id,
                                 AudienceEventRow.seq.in_(seqs[i:i + 500]))
                          .values(action=action, reason=reason, reply=reply))
        return len(new) + len(changes)
