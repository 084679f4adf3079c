"""Replies to live comments: a Replier starts a Reply per comment, which hands the Director one
sentence at a time as soon as each is complete. LLM-backed (any OpenAI-compatible server) when
configured, otherwise keyword rules."""
from __future__ import annotations

from streamer.llm.context import ReplyContext
from streamer.llm.openai_chat import DEFAULT_SYSTEM_PROMPT, LlmReplier, LlmSettings
from streamer.llm.reply import Replier, Reply, ReplyRules, ScriptedReplier
from streamer.llm.sentences import SentenceCutter
from streamer.selling.compliance import Compliance

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LlmReplier", "LlmSettings", "Replier", "Reply", "ReplyContext", "ReplyRules",
           "ScriptedReplier", "SentenceCutter", "create_replier"]


def create_replier(settings: LlmSettings | None, rules: ReplyRules | None = None,
                   compliance: Compliance | None = None) -> Replier:
    """An LlmReplier when `settings` names a base_url and a model (its sentences checked by
    `compliance`), else a ScriptedReplier."""
    rules = rules or ReplyRules()
    if settings is not None and settings.configured:
        return LlmReplier(settings, rules, compliance)
    return ScriptedReplier(rules)
