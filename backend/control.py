"""The API's side of the control bus: Redis when configured, else in-process."""
from __future__ import annotations

import redis

from streamer.control.bus import MemoryBus, RedisBus


def make_bus(client: redis.Redis | None):
    return RedisBus(client) if client is not None else MemoryBus()
