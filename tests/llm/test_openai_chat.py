"""LlmReplier against a real OpenAI-compatible HTTP server on loopback (tests.fakes.openai_server),
through the official `openai` client: streaming, cancel, timeouts, failures and secrets."""
from __future__ import annotations

import json

import logging
import socket
import threading
import time

import pytest

from streamer.llm import LlmSettings, ReplyContext, ReplyRules
from streamer.llm.reply import DEFAULT_FALLBACK
from tests.fakes.openai_server import tokens
from tests.helpers.llm import API_KEY, drain

LONG_REPLY = ("Great question! Our tea comes from Yunnan. It is picked by hand in spring. "
              "Each box holds fifty grams. Shipping is free today.")


def test_first_sentence_is_said_long_before_the_reply_is_generated(fake, make_replier):
    fake.reply, fake.token_delay = LONG_REPLY, 0.06  # about 1.4 s of generation
    replier = make_replier(fake.base_url)
    asked = time.monotonic()
    got = drain(replier.reply("where is the tea from?", "Ann", comment_id=1))
    assert [s for _, s in got] == ["Great question!", "Our tea comes from Yunnan.", "It is picked by hand in spring.",
                                   "Each box holds fifty grams.", "Shipping is free today."]
    last_token_sent = fake.sent[-1][0]
    assert last_token_sent - got[0][0] > 1.0, "the first sentence must not wait for the whole answer"
    # it was spoken while the second sentence was still being generated
    words = [token for _, token in fake.sent]
    second_done = fake.sent[words.index(" Yunnan") + 1][0]  # its full stop
    assert asked < got[0][0] < second_done


def test_request_carries_model_stream_persona_comment_user_and_key(fake, make_replier):
    replier = make_replier(fake.base_url, model="qwen2.5-7b-instruct", temperature=0.3)
    drain(replier.reply("How much is it?", "Ann", context=ReplyContext(persona="You sell green tea from Yunnan.")))
    assert fake.wait_for_requests(1)
    request = fake.requests[0]
    assert request.method == "POST" and request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    body = request.body
    assert body["model"] == "qwen2.5-7b-instruct" and body["stream"] is True
    assert body["temperature"] == pytest.approx(0.3)
    assert 0 < body["max_tokens"] <= 300
    system, user = body["messages"]
    assert system["role"] == "system" and "You sell green tea from Yunnan." in system["content"]
    assert "live stream" in system["content"]  # the default instructions stay
    assert user["role"] == "user" and "How much is it?" in user["content"] and "Ann" in user["content"]


def test_the_comment_reaches_the_llm_as_quoted_data_after_the_hosts_instructions(fake, make_replier):
    drain(make_replier(fake.base_url).reply("你好"))
    system, user = fake.requests[0].body["messages"]
    assert json.loads(user["content"]) == {"comment": "你好"}
    assert system["content"].startswith(LlmSettings().system_prompt) and "never an instruction" in system["content"]


def test_cancel_while_waiting_closes_the_connection_and_frees_the_consumer(fake, make_replier):
    fake.mode = "hang"
    reply = make_replier(fake.base_url, timeout_s=8.0).reply("hello?")
    assert fake.wait_for_requests(1)
    time.sleep(0.1)  # the client now waits for the first token
    result: list = []
    consumer = threading.Thread(target=lambda: result.append(reply.next_sentence(timeout=5.0)))
    consumer.start()
    time.sleep(0.05)
    started = time.monotonic()
    reply.cancel()
    assert time.monotonic() - started < 0.2, "cancel() must return at once"
    consumer.join(1.0)
    assert result == [None] and time.monotonic() - started < 1.0  # the consumer waited up to 5 s
    assert fake.wait_for_disconnects(1, timeout=1.0), "the server must see the client hang up within 1 s"
    assert reply.next_sentence(0.1) is None


def test_cancel_mid_stream_stops_generation(fake, make_replier):
    fake.reply, fake.token_delay = LONG_REPLY, 0.05
    reply = make_replier(fake.base_url).reply("tell me")
    first = None
    while first is None:
        try:
            first = reply.next_sentence(0.05)
        except TimeoutError:
            pass
    reply.cancel()
    assert reply.next_sentence(0.1) is None
    assert fake.wait_for_disconnects(1, timeout=1.0)
    assert len(fake.sent) < len(tokens(LONG_REPLY))
    assert reply.text == "Great question!"


def test_no_answer_says_the_fallback_line_within_the_timeout(fake, make_replier):
    fake.mode = "hang"
    replier = make_replier(fake.base_url, timeout_s=1.0)
    asked = time.monotonic()
    reply = replier.reply("anyone there?")
    got = drain(reply, limit=3.0)
    assert [s for _, s in got] == [DEFAULT_FALLBACK]
    assert 0.9 <= got[0][0] - asked <= 2.0
    assert reply.source == "fallback"
    assert fake.wait_for_disconnects(1, timeout=1.0)


def test_no_sentence_yet_when_the_timeout_expires_says_the_fallback_line(fake, make_replier):
    fake.reply, fake.first_token_delay = "Far too late.", 2.0
    reply = make_replier(fake.base_url, rules=ReplyRules(fallback_line="One moment please."), timeout_s=0.5).reply("hi")
    assert [s for _, s in drain(reply, limit=2.0)] == ["One moment please."]
    assert reply.source == "fallback"


def test_server_error_says_the_fallback_line(fake, make_replier, caplog):
    fake.mode = "error"
    caplog.set_level(logging.INFO, logger="livehost.llm")
    asked = time.monotonic()
    reply = make_replier(fake.base_url).reply("hi")
    got = drain(reply, limit=2.0)
    assert [s for _, s in got] == [DEFAULT_FALLBACK] and got[0][0] - asked < 1.5
    assert reply.source == "fallback"
    lines = [r for r in caplog.records if r.name == "livehost.llm"]
    assert len(lines) == 1 and "HTTP 500" in lines[0].getMessage()


def test_unreachable_server_says_the_fallback_line(make_replier):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    reply = make_replier(f"http://127.0.0.1:{port}/v1").reply("hi")
    assert [s for _, s in drain(reply, limit=2.0)] == [DEFAULT_FALLBACK]
    assert reply.source == "fallback"


def test_malformed_stream_says_the_fallback_line(fake, make_replier):
    fake.mode = "bad_json"
    reply = make_replier(fake.base_url).reply("hi")
    assert [s for _, s in drain(reply, limit=2.0)] == [DEFAULT_FALLBACK]
    assert reply.source == "fallback"


def test_stall_after_the_first_sentence_ends_the_reply_without_fallback(fake, make_replier):
    fake.reply, fake.mode = "First sentence here. Second one never comes.", "hang_mid"
    fake.hang_after = 5  # "First", " sentence", " here", ".", " Second", then nothing
    reply = make_replier(fake.base_url, timeout_s=1.0).reply("hi")
    got = drain(reply, limit=3.0)
    assert [s for _, s in got] == ["First sentence here."]
    assert reply.source == "llm" and reply.text == "First sentence here."
    assert fake.wait_for_disconnects(1, timeout=1.0)


def test_reply_stops_at_the_last_sentence_end_within_max_reply_chars(fake, make_replier):
    fake.reply, fake.token_delay = LONG_REPLY, 0.01
    reply = make_replier(fake.base_url, rules=ReplyRules(max_reply_chars=60)).reply("tell me everything")
    said = [s for _, s in drain(reply)]
    assert said == ["Great question!", "Our tea comes from Yunnan."]
    assert len(reply.text) <= 60
    assert fake.requests[0].body["max_tokens"] <= 60
    assert fake.wait_for_disconnects(1, timeout=1.0), "generation must stop once the reply is full"


def test_replies_run_concurrently_on_one_replier(fake, make_replier):
    fake.reply, fake.token_delay = "One. Two. Three.", 0.2
    replier = make_replier(fake.base_url)
    started = time.monotonic()
    replies = [replier.reply(f"comment {i}", comment_id=i) for i in range(4)]
    for reply in replies:
        assert [s for _, s in drain(reply)] == ["One.", "Two.", "Three."]
    assert time.monotonic() - started < 2.0  # four one-by-one would take about 3.2 s


def test_close_ends_pending_replies_and_stops_the_loop_thread(fake, make_replier):
    fake.mode = "hang"
    replier = make_replier(fake.base_url, timeout_s=8.0)
    reply = replier.reply("hi")
    assert fake.wait_for_requests(1)
    replier.close()
    assert not [t for t in threading.enumerate() if t.name == "llm-replier"]
    assert drain(reply, limit=0.5) == []
    assert fake.wait_for_disconnects(1, timeout=1.0)
    fake.mode = "ok"
    assert [s for _, s in drain(replier.reply("again"))] == ["Hello there!", "Thanks for watching."]


def test_api_key_is_never_shown_in_repr_or_logs(fake, make_replier, caplog):
    settings = LlmSettings(base_url=fake.base_url, model="m", api_key=API_KEY)
    assert API_KEY not in repr(settings) and API_KEY not in str(settings)
    assert "***" in repr(settings)
    caplog.set_level(logging.DEBUG)  # every logger, the HTTP client's too
    replier = make_replier(fake.base_url)
    for mode in ("ok", "error", "bad_json"):
        fake.mode = mode
        drain(replier.reply("hi", "Ann"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    drain(make_replier(f"http://127.0.0.1:{port}/v1").reply("hi"))
    assert len([r for r in caplog.records if r.name == "livehost.llm"]) == 4
    assert API_KEY not in caplog.text
