"""One whole answer from an OpenAI-compatible server, not streamed: for work done ahead of speech
(re-wording a looping script) or outside a live (drafting a script). Blocking; call it off the
speaker's thread."""
from __future__ import annotations

import logging
from streamer.llm.errors import describe_error, host
from streamer.llm.openai_chat import LlmSettings

log = logging.getLogger("livehost.llm")


class LlmError(Exception):
    """The server could not give an answer. One line an operator can act on; never the API key."""


class Completer:
    """A synchronous client for one server, made on first use and reused (keep-alive). Thread-safe
    as the `openai` client is."""

    def __init__(self, settings: LlmSettings):
        if not settings.configured:
            raise ValueError("Completer needs settings with a base_url and a model")
        self.settings = settings
        self._client = None

    def complete(self, messages: list[dict[str, str]], timeout_s: float | None = None, max_tokens: int = 400,
                 temperature: float | None = None) -> str:
        """The answer's text (stripped). Raises LlmError on any failure, an empty answer included."""
        import openai

        s = self.settings
        if self._client is None:
            self._client = openai.OpenAI(base_url=s.base_url, api_key=s.api_key or "none", max_retries=0)
        try:
            answer = self._client.chat.completions.create(
                model=s.model, messages=messages, stream=False, max_tokens=max_tokens,
                temperature=s.temperature if temperature is None else temperature,
                timeout=timeout_s or s.timeout_s)
            text = (answer.choices[0].message.content or "").strip() if answer.choices else ""
        except Exception as e:  # noqa: BLE001 - every failure becomes one line without the key
            raise LlmError(describe_error(e, s.base_url, s.api_key)) from None
        if not text:
            raise LlmError(f"{host(s.base_url)} gave an empty answer")
        return text

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
