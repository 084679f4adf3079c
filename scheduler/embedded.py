"""The embedded default: without Redis, `livehost serve` runs the scheduler and a worker as threads
of its own process, so that "go live now" and schedules work on a fresh machine with nothing but
SQLite. The API's in-process control bus carries commands, events and status between the API and
the lives; claims and the worker queue are in memory. One process only (gunicorn with one worker):
with Redis, run `livehost scheduler` and `livehost worker` instead.

A live that was running when the process stopped is found by the next start's scheduler (nobody
claims it) and dispatched again from its saved script position, as after a worker's death.
"""
from __future__ import annotations

import logging
import threading

from scheduler.dispatch import DispatchSettings, Local, Scheduler
from scheduler.worker import LiveRunner, WorkerContext
from streamer.control.bus import MemoryBus
from streamer.settings import Settings

log = logging.getLogger("livehost.embedded")

NAME = "embedded"


class Embedded:
    """The scheduler + a worker with `slots` lives, as daemon threads beside the API."""

    def __init__(self, dispatch: DispatchSettings, bus: MemoryBus, slots: int = 1, settings: Settings | None = None):
        self.local = Local(bus=bus)
        self.scheduler = Scheduler(dispatch, f"{NAME}-scheduler", local=self.local)
        self.ctx = WorkerContext(dispatch, settings or Settings.load(), NAME, slots, local=self.local)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._threads = [threading.Thread(target=self.scheduler.run, name=f"{NAME}-scheduler", daemon=True)]
        self._threads += [threading.Thread(target=self._slot, name=f"{NAME}-slot-{k}", daemon=True)
                          for k in range(self.ctx.slots)]
        for t in self._threads:
            t.start()
        log.info("embedded scheduler and worker (%d slot(s)) running in this process", self.ctx.slots)

    def _slot(self) -> None:
        queue = self.local.queue
        while not self.ctx.shutting_down.is_set():
            session_id = queue.take(timeout=0.5)
            if session_id is None:
                continue
            try:
                LiveRunner(self.ctx, session_id).run()
            except Exception:  # noqa: BLE001 - one live's bug must not end the slot
                log.exception("session %s: the live ended with an unexpected error", session_id)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the scheduler; lives end and are handed back as after SIGTERM to a worker."""
        self.ctx.shutting_down.set()
        self.scheduler.stop()
        for t in self._threads:
            t.join(timeout)
