"""Fixtures for the LLM reply tests: a real OpenAI-compatible server on loopback, and repliers
that are closed after each test."""
from __future__ import annotations

import pytest

from streamer.llm import LlmReplier, LlmSettings, ReplyRules
from tests.fakes.openai_server import FakeOpenAI
from tests.helpers.llm import API_KEY


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
