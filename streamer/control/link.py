"""The worker's edge to the control bus for one live: commands in, events and status out.

Nothing here may stall the pipeline. Commands are read on their own thread; the link's ledger
(streamer.control.ledger, kept on the bus beside the stream) holds how far it has read and which
commands the live still owes (a say not yet on air), so that a restarted live first carries out
what was owed, then reads on: a restarted worker neither loses nor repeats a command. Events wait
in a bounded outbox for a writer thread that also beats the status heartbeat and writes the
ledger back every beat (Redis may have lost it). When Redis goes away each thread logs once,
retries with backoff, and says when it is back; a command stream that Redis lost meanwhile is
read anew from its start (its new ids need not follow the old ones).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from streamer.control.bus import BusError, RedisBus
from streamer.control.ledger import Ledger
from streamer.live import CommandError

log = logging.getLogger("livehost.control")

OUTBOX = 1000  # events kept while the bus is down (oldest dropped first)


def connect_redis(url: str, block_ms: int = 1000) -> RedisBus:
    """A RedisBus with timeouts that let a blocking read notice a dead server within seconds, and one
    immediate retry (a connection Redis dropped is made again; a server that is down fails at once,
    never after redis-py's default backoff of several seconds)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=block_ms / 1000 + 3,
                                  health_check_interval=15, retry=Retry(NoBackoff(), 1))
    return RedisBus(client)


def stream_time(msg_id: str) -> float | None:
    """The wall time (time.time()) a stream entry reached the bus, from its id 'millis-seq'."""
    try:
        return int(msg_id.split("-", 1)[0]) / 1000.0
    except ValueError:
        return None


class _Outage:
    """Logs a bus outage once, and the recovery once; gives the next retry delay."""

    def __init__(self, what: str, session_id):
        self.what, self.session_id = what, session_id
        self.since: float | None = None
        self.delay = 0.2

    def failed(self, e: Exception) -> float:
        if self.since is None:
            self.since = time.monotonic()
            log.warning("[%s] %s: %s; retrying", self.session_id, self.what, e)
        delay, self.delay = self.delay, min(self.delay * 2, 2.0)
        return delay

    def ok(self) -> None:
        if self.since is not None:
            log.info("[%s] %s: bus reachable again after %.1f s", self.session_id, self.what,
                     time.monotonic() - self.since)
            self.since, self.delay = None, 0.2


class ControlLink:
    """Connects one Live to a bus (RedisBus or MemoryBus); streamer.build attaches it to a live.

    Its `on_event` is one of the live's event handlers (the live's `command` events say which
    commands it has carried out); the live calls start(live) when it starts and stop() when it has
    ended. Commands reach the live as live.apply(command, at=..., command_id=...).
    stop() flushes what events it can (up to `flush_s`), writes a last status and joins its threads.
    """

    def __init__(self, bus, session_id, worker: str = "", heartbeat_s: float = 1.0, ttl_s: int = 10,
                 block_ms: int = 1000, flush_s: float = 2.0):
        self.bus, self.session_id, self.worker = bus, session_id, worker
        self.heartbeat_s, self.ttl_s, self.block_ms, self.flush_s = heartbeat_s, ttl_s, block_ms, flush_s
        self.session = None
        self.applied = 0
        self.ledger: Ledger | None = None  # read from the bus when the link starts
        self._saved = -1  # the ledger's change count last written to the bus
        self._save_lock = threading.Lock()
        self._outbox: deque[dict] = deque(maxlen=OUTBOX)
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def cursor(self) -> str | None:
        """The id of the last command read (None until the ledger is read)."""
        return self.ledger.cursor if self.ledger is not None else None

    def on_event(self, kind: str, **fields) -> None:
        """The live's event handler: queue the event for the bus (never blocks). A `command` event
        settles what the ledger owes first, so the ledger written before the event is published
        already knows."""
        fields.pop("session", None)
        if kind == "audience":
            fields.pop("raw", None)  # the platform's payload is for the database, not the stream
        if kind == "command" and self.ledger is not None and fields.get("command_id") is not None:
            self.ledger.done(str(fields["command_id"]))
        self._outbox.append({"type": kind, **fields, "at": round(time.time(), 3)})
        self._wake.set()

    def start(self, session) -> None:
        self.session = session
        for name, target in (("commands", self._read_commands), ("events", self._write)):
            t = threading.Thread(target=target, name=f"control-{name}-{self.session_id}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._halt.set()
        self._wake.set()
        deadline = time.monotonic() + self.flush_s + self.block_ms / 1000 + 4
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    # -- commands ---------------------------------------------------------------------------------
    def _read_commands(self) -> None:
        outage = _Outage("reading commands", self.session_id)
        while self.ledger is None:
            if self._halt.is_set():
                return
            try:
                ledger = Ledger.from_dict(self.bus.ledger(self.session_id))
            except BusError as e:
                self._halt.wait(outage.failed(e))
                continue
            outage.ok()
            self._saved = ledger.changes
            self.ledger = ledger
        owed = self.ledger.owed
        if owed:
            log.info("[%s] carrying out %d command(s) the last run of this live still owed", self.session_id,
                     len(owed))
        for msg_id, command in owed:  # its interrupt (if any) happened then; now it waits its turn
            if self._halt.is_set():
                return
            self._apply(msg_id, {k: v for k, v in command.items() if k != "interrupt"}, at=None)
        while not self._halt.is_set():
            try:
                if outage.since is not None:
                    self._after_outage()
                batch = self.bus.commands(self.session_id, after=self.ledger.cursor, block_ms=self.block_ms)
            except BusError as e:
                self._halt.wait(outage.failed(e))
                continue
            outage.ok()
            for msg_id, command in batch:
                if self._halt.is_set():
                    return
                self.ledger.read(msg_id, command)
                self._apply(msg_id, command, at=stream_time(msg_id))
                try:
                    self._save_ledger()  # at once: a worker stopped or killed after this never repeats it
                except BusError:
                    pass  # the writer's next beat writes it

    def _after_outage(self) -> None:
        """Redis is back. If it lost its data the command stream is gone, and the one the API
        creates next starts over: read it from its start, since its ids come from the new
        server's clock and need not follow the cursor (a failover to a machine whose clock is
        behind)."""
        if self.ledger.cursor != "0" and self.bus.newest_command(self.session_id) is None:
            log.warning("[%s] the command stream is gone (Redis lost its data); reading the next one from its start",
                        self.session_id)
            self.ledger.skip_to("0")

    def _apply(self, msg_id: str, command: dict, at: float | None) -> None:
        kind = command.get("type") if isinstance(command, dict) else None
        try:
            self.session.apply(command, at=at, command_id=msg_id)
            self.applied += 1
            log.info("[%s] applied %s command %s", self.session_id, kind, msg_id)
        except CommandError as e:
            self.ledger.done(msg_id)
            log.warning("[%s] command %s refused: %s", self.session_id, msg_id, e)
            self.on_event("error", source="command", command_id=msg_id, message=str(e))
        except Exception as e:  # noqa: BLE001 - one bad command must not end the live
            self.ledger.done(msg_id)
            log.exception("[%s] command %s failed", self.session_id, msg_id)
            self.on_event("error", source="command", command_id=msg_id, message=f"{kind}: {e}")

    def _save_ledger(self, always: bool = False) -> None:
        """Write the ledger to the bus if it changed since it was last written (or `always`).
        Both threads write, one at a time, each the newest state. Raises BusError."""
        if self.ledger is None:
            return
        with self._save_lock:
            changes = self.ledger.changes
            if changes != self._saved or always:
                self.bus.save_ledger(self.session_id, self.ledger.as_dict())
                self._saved = changes

    # -- events and status ----------------------------------------------------------------------------
    def _write(self) -> None:
        outage = _Outage("publishing events", self.session_id)
        next_beat = 0.0
        while True:
            halting = self._halt.is_set()
            try:
                while self._outbox:
                    self._save_ledger()  # what an event follows is on record before the event is seen
                    self.bus.publish(self.session_id, self._outbox[0])
                    self._outbox.popleft()
                self._save_ledger(always=halting or time.monotonic() >= next_beat)
                if halting or time.monotonic() >= next_beat:
                    self._beat()
                    next_beat = time.monotonic() + self.heartbeat_s
                outage.ok()
            except BusError as e:
                delay = outage.failed(e)
                if halting:
                    if time.monotonic() - (outage.since or 0) > self.flush_s:
                        log.warning("[%s] %d event(s) not published: the bus is unreachable",
                                    self.session_id, len(self._outbox))
                        return
                    time.sleep(min(delay, 0.2))
                    continue
                self._halt.wait(delay)
                continue
            if halting:
                return
            self._wake.wait(max(0.0, min(self.heartbeat_s, next_beat - time.monotonic())))
            self._wake.clear()

    def _beat(self) -> None:
        if self.session is None:
            return
        try:
            status = self.session.status()
        except Exception:  # noqa: BLE001 - a status bug must not silence the events
            log.exception("[%s] status failed", self.session_id)
            return
        status.update(worker=self.worker, updated_at=round(time.time(), 3), commands_applied=self.applied,
                      command_cursor=self.cursor)
        self.bus.set_status(self.session_id, status, ttl=self.ttl_s)
