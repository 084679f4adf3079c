"""The Celery app both sides share: the scheduler sends `run_live(session_id)`, workers run it.

Celery is only the dispatcher. A task is acknowledged when it starts and a worker fetches a task
only when it has a free slot (worker_disable_prefetch), so a live never waits on a busy worker
while another is free, and a message is never redelivered while its live runs (lives last hours;
Redis' visibility timeout does not apply to acknowledged tasks). A worker that dies is noticed by
the scheduler through the live's heartbeat, which dispatches the live again.
"""
from __future__ import annotations

import queue

import redis
from celery import Celery

RUN_LIVE = "livehost.run_live"
QUEUE = "livehost.lives"


def make_celery(redis_url: str) -> Celery:
    app = Celery("livehost", broker=redis_url, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"], result_backend=None, task_ignore_result=True,
        task_default_queue=QUEUE, task_acks_late=False, worker_prefetch_multiplier=1,
        worker_disable_prefetch=True, broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 7 * 86400},
        worker_hijack_root_logger=False, worker_send_task_events=False,
    )
    return app


def enqueue(app: Celery, session_id: int) -> None:
    """Put `run_live(session_id)` on the queue (raises kombu/redis errors when the broker is down)."""
    app.send_task(RUN_LIVE, args=[session_id], queue=QUEUE)


class CeleryQueue:
    """The scheduler's side of the worker queue: Celery on Redis."""

    def __init__(self, redis_url: str, client: redis.Redis):
        self.app, self.r = make_celery(redis_url), client

    def send(self, session_id: int) -> None:
        enqueue(self.app, session_id)

    def waiting(self) -> int:
        """Tasks on the queue not yet taken by a worker."""
        return self.r.llen(QUEUE)


class LocalQueue:
    """The same in one process: the embedded default's worker threads take session ids from it."""

    def __init__(self):
        self._q: queue.Queue[int] = queue.Queue()

    def send(self, session_id: int) -> None:
        self._q.put(session_id)

    def waiting(self) -> int:
        return self._q.qsize()

    def take(self, timeout: float) -> int | None:
        try:
            return self._q.get(timeout=timeout)
        except queue.Empty:
            return None
