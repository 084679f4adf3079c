"""Reading an LLM reply as the Director does, and the API key the tests' replier sends."""
from __future__ import annotations

import time

import pytest

from streamer.llm import Reply

API_KEY = "sk-test-9f8e7d6c5b4a"


def drain(reply: Reply, limit: float = 5.0) -> list[tuple[float, str]]:
    """Every sentence of `reply` with the time.monotonic() it arrived, as the Director loops on it;
    fails the test when the reply does not end within `limit` seconds."""
    out: list[tuple[float, str]] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            sentence = reply.next_sentence(timeout=0.05)
        except TimeoutError:
            continue
        if sentence is None:
            return out
        out.append((time.monotonic(), sentence))
    pytest.fail(f"the reply did not end within {limit} s; got {[s for _, s in out]}")
