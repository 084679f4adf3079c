"""What a live kept off the air for holding a banned word (违禁词), written to the database by the
worker: one `compliance_events` row per "compliance" event of the live (an LLM reply re-asked or
replaced, a re-wording dropped for the script's own line, a viewer's name or comment not read).

The live reports on its own threads; the log only queues the rows (bounded: beyond MAX_PENDING the
oldest waiting are dropped and counted) and the worker's loop writes them with the script position.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from datetime import datetime, timezone

from sqlalchemy import insert

from db.models import ComplianceEvent

log = logging.getLogger("livehost.worker")

MAX_PENDING = 5_000  # rows waiting to be written; beyond it the oldest are dropped (counted)
MAX_TEXT = 300  # characters of what was not said kept
MAX_WORDS = 50


class ComplianceLog:
    """Buffers one live's compliance rows for the worker's writes. on_event() from any thread,
    write(s) from the worker's loop."""

    def __init__(self, session_id: int):
        self.session_id = session_id
        self.lost = 0
        self._lock = threading.Lock()
        self._new: deque[dict] = deque()

    def on_event(self, **fields) -> None:
        """One "compliance" event: {where, words, action, text}; odd values are cut to fit."""
        words = fields.get("words")
        words = [str(w)[:100] for w in words[:MAX_WORDS]] if isinstance(words, (list, tuple)) else []
        at = fields.get("at")
        row = {"session_id": self.session_id, "where": str(fields.get("where") or "")[:16], "words": words,
               "action": str(fields.get("action") or "")[:16], "text": str(fields.get("text") or "")[:MAX_TEXT],
               "at": datetime.fromtimestamp(at, timezone.utc) if isinstance(at, (int, float)) and 0 < at < 4_102_444_800
               else datetime.now(timezone.utc)}
        with self._lock:
            self._new.append(row)
            if len(self._new) > MAX_PENDING:
                self._new.popleft()
                self.lost += 1
                if self.lost in (1, 1000) or self.lost % 10_000 == 0:
                    log.warning("session %s: the database is behind the compliance events; %d row(s) not kept",
                                self.session_id, self.lost)

    def write(self, s) -> int:
        """Insert the waiting rows in session `s` (the caller commits); how many."""
        with self._lock:
            rows, self._new = list(self._new), deque()
        if rows:
            s.execute(insert(ComplianceEvent), rows)
        return len(rows)
