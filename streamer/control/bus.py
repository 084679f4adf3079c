"""The control bus: per-session command and event streams, and a status hash.

Redis layout (keys prefixed `livehost:`): `session:{id}:commands` (stream, API -> worker),
`session:{id}:events` (capped stream, worker -> API), `session:{id}:status` (hash with a TTL),
`session:{id}:cursor` (the id of the last command a worker read) and `session:{id}:owed` (JSON:
the commands read but not yet carried out), written together: a live's command ledger
(streamer.control.ledger), which lives and dies with the stream it points into. Entries carry one
field `data` holding a JSON object with at least `type`. MemoryBus has the same interface for the
single-process embedded default.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import redis

EVENTS_MAXLEN = 1000
LEDGER_TTL_S = 7 * 86400
COMMAND_TYPES = ("comment", "interrupt", "say", "action", "pause", "resume", "stop",
                 "audience", "answer", "skip", "block")  # audience: viewers' events from the room's relay


class BusError(Exception):
    """The bus (Redis) is unreachable. One line."""


def key(session_id: int | str, what: str) -> str:
    return f"livehost:session:{session_id}:{what}"


class RedisBus:
    def __init__(self, client: redis.Redis):
        self.r = client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as e:
            raise BusError(f"the control bus (Redis) is unreachable: {e}") from None

    def send(self, session_id, command: dict) -> str:
        """Append a command for the worker; returns its stream id."""
        msg_id = self._call(self.r.xadd, key(session_id, "commands"), {"data": json.dumps(command)})
        return msg_id.decode() if isinstance(msg_id, bytes) else msg_id

    def commands(self, session_id, after: str = "0", block_ms: int = 0, count: int = 100) -> list[tuple[str, dict]]:
        return self._read(key(session_id, "commands"), after, block_ms, count)

    def newest_command(self, session_id) -> str | None:
        """The id of the newest command on the stream; None when there is no stream (none sent
        since Redis last lost its data)."""
        entries = self._call(self.r.xrevrange, key(session_id, "commands"), count=1)
        if not entries:
            return None
        msg_id = entries[0][0]
        return msg_id.decode() if isinstance(msg_id, bytes) else msg_id

    def save_ledger(self, session_id, ledger: dict) -> None:
        """Keep a live's command ledger (Ledger.as_dict()) for the worker that runs it next."""
        pipe = self.r.pipeline(transaction=True)
        pipe.set(key(session_id, "cursor"), ledger["cursor"], ex=LEDGER_TTL_S)
        pipe.set(key(session_id, "owed"), json.dumps(ledger["owed"]), ex=LEDGER_TTL_S)
        self._call(pipe.execute)

    def ledger(self, session_id) -> dict | None:
        """The ledger last saved for the session; None if there is none."""
        cursor, owed = self._call(self.r.mget, [key(session_id, "cursor"), key(session_id, "owed")])
        if cursor is None:
            return None
        return {"cursor": cursor.decode() if isinstance(cursor, bytes) else cursor,
                "owed": json.loads(owed) if owed else []}

    def cursor(self, session_id) -> str:
        """The id after which commands are still to read ("0" for a fresh session)."""
        return (self.ledger(session_id) or {}).get("cursor") or "0"

    def publish(self, session_id, event: dict) -> str:
        msg_id = self._call(self.r.xadd, key(session_id, "events"), {"data": json.dumps(event)},
                            maxlen=EVENTS_MAXLEN, approximate=True)
        return msg_id.decode() if isinstance(msg_id, bytes) else msg_id

    def events(self, session_id, after: str = "$", block_ms: int = 0, count: int = 100) -> list[tuple[str, dict]]:
        return self._read(key(session_id, "events"), after, block_ms, count)

    def _read(self, stream: str, after: str, block_ms: int, count: int) -> list[tuple[str, dict]]:
        res = self._call(self.r.xread, {stream: after}, count=count, block=block_ms or None)
        out = []
        for _name, entries in res or []:
            for msg_id, fields in entries:
                raw = fields.get(b"data") or fields.get("data") or b"{}"
                out.append((msg_id.decode() if isinstance(msg_id, bytes) else msg_id, json.loads(raw)))
        return out

    def last_event_id(self, session_id) -> str:
        info = self._call(self.r.xrevrange, key(session_id, "events"), count=1)
        if not info:
            return "0"
        msg_id = info[0][0]
        return msg_id.decode() if isinstance(msg_id, bytes) else msg_id

    def set_status(self, session_id, status: dict, ttl: int = 10) -> None:
        k = key(session_id, "status")
        pipe = self.r.pipeline()
        pipe.hset(k, mapping={f: json.dumps(v) for f, v in status.items()})
        pipe.expire(k, ttl)
        self._call(pipe.execute)

    def status(self, session_id) -> dict:
        raw = self._call(self.r.hgetall, key(session_id, "status"))
        return {(k.decode() if isinstance(k, bytes) else k): json.loads(v) for k, v in raw.items()}


class MemoryBus:
    """In-process bus with RedisBus's interface (ids are 'millis-seq' strings, as in Redis)."""

    def __init__(self):
        self._streams: dict[str, list[tuple[str, dict]]] = defaultdict(list)
        self._status: dict[str, tuple[float, dict]] = {}
        self._ledgers: dict[str, str] = {}
        self._cond = threading.Condition()
        self._seq = 0

    def _add(self, stream: str, data: dict, maxlen: int | None = None) -> str:
        with self._cond:
            self._seq += 1
            msg_id = f"{int(time.time() * 1000)}-{self._seq}"
            entries = self._streams[stream]
            entries.append((msg_id, data))
            if maxlen and len(entries) > maxlen:
                del entries[: len(entries) - maxlen]
            self._cond.notify_all()
            return msg_id

    def _read(self, stream: str, after: str, block_ms: int, count: int) -> list[tuple[str, dict]]:
        deadline = time.monotonic() + block_ms / 1000
        with self._cond:
            if after == "$":
                after = self._streams[stream][-1][0] if self._streams[stream] else "0"
            while True:
                newer = [e for e in self._streams[stream] if _after(e[0], after)][:count]
                if newer or not block_ms:
                    return newer
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self._cond.wait(left)

    def send(self, session_id, command: dict) -> str:
        return self._add(key(session_id, "commands"), command)

    def commands(self, session_id, after: str = "0", block_ms: int = 0, count: int = 100):
        return self._read(key(session_id, "commands"), after, block_ms, count)

    def newest_command(self, session_id) -> str | None:
        with self._cond:
            entries = self._streams.get(key(session_id, "commands"))
            return entries[-1][0] if entries else None

    def save_ledger(self, session_id, ledger: dict) -> None:
        self._ledgers[str(session_id)] = json.dumps(ledger)  # a copy, as Redis would keep

    def ledger(self, session_id) -> dict | None:
        raw = self._ledgers.get(str(session_id))
        return json.loads(raw) if raw else None

    def cursor(self, session_id) -> str:
        return (self.ledger(session_id) or {}).get("cursor") or "0"

    def publish(self, session_id, event: dict) -> str:
        return self._add(key(session_id, "events"), event, EVENTS_MAXLEN)

    def events(self, session_id, after: str = "$", block_ms: int = 0, count: int = 100):
        return self._read(key(session_id, "events"), after, block_ms, count)

    def last_event_id(self, session_id) -> str:
        entries = self._streams.get(key(session_id, "events"))
        return entries[-1][0] if entries else "0"

    def set_status(self, session_id, status: dict, ttl: int = 10) -> None:
        self._status[str(session_id)] = (time.monotonic() + ttl, dict(status))

    def status(self, session_id) -> dict:
        until, status = self._status.get(str(session_id), (0.0, {}))
        return status if until > time.monotonic() else {}


def _after(a: str, b: str) -> bool:
    ta, sa = (int(x) for x in a.split("-")) if "-" in a else (int(a), 0)
    tb, sb = (int(x) for x in b.split("-")) if "-" in b else (int(b), 0)
    return (ta, sa) > (tb, sb)
