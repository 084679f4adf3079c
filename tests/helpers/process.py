"""Running things from a test: the `livehost` command as a user runs it, loopback ports, polling,
and the rule that a test needing a missing server skips locally but fails under CI."""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def need(condition: bool, reason: str) -> None:
    """Skip with `reason` when `condition` is false; under CI (LIVEHOST_REQUIRE_SERVERS=1) fail."""
    if condition:
        return
    if os.environ.get("LIVEHOST_REQUIRE_SERVERS") == "1":
        pytest.fail(f"required server missing under CI: {reason}")
    pytest.skip(reason)


def livehost_cmd(*args: str) -> list[str]:
    """The argv of `livehost ARGS` run by this interpreter."""
    return [sys.executable, "-m", "livehost", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def wait_for(what, timeout: float, step: float = 0.05):
    """Poll `what()` until it returns something truthy (returned) or `timeout` s pass (None)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    return None
