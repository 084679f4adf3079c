"""Fixtures for the LLM reply tests: a real OpenAI-compatible server on loopback, and repliers
that are closed after each test."""
from __future__ import annotations

import time

import pytest

from streamer.llm import LlmReplier, LlmSettings, Reply, ReplyRules
from tests.fakes.openai_server import FakeOpenAI

API_KEY = "sk-test-9f8e7d6c5b4a"


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def make_replier():
    """make_replier(base_url, **settings) -> LlmReplier, closed at the end of the test."""
    made: list[LlmReplier] = []

    def make(base_url: str, rules: ReplyRules | None = None, **settings) -> LlmReplier:
        settings.setdefault("model", "test-model")
        settings.setdefault("api_key", API_KEY)
        settings.setdefault("timeout_s", 1.0)
        replier = LlmReplier(LlmSettings(base_url=base_url, **settings), rules or ReplyRules())
        made.append(replier)
        return replier

    yield make
    for replier in made:
        replier.close()


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
