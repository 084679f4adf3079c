"""The relay format (parse_relay) and the embedded default's endpoint (RelayServer), used the way a
relay tool uses them: HTTP POSTs with httpx and a WebSocket client from the websockets package."""
from __future__ import annotations

import json
import logging
import math
import threading
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from streamer.audience.events import Kind
from streamer.audience.relay import RelayError, RelayServer, parse_relay

TOKEN = "relay-s3cret-token"
COMMENT = {"type": "comment", "platform": "douyin", "user_id": "84721", "user": "小明", "text": "主播好!",
           "at": 1714564800, "id": "msg-1"}
BATCH = {"events": [
    {"type": "gift", "platform": "douyin", "user": "Ana", "gift": "Rose", "count": 3, "value": 0.3, "currency": "CNY"},
    {"type": "superchat", "platform": "tiktok", "user": "Bo", "text": "hello!", "value": 5, "currency": "USD",
     "at": "2024-05-01T12:00:00Z"},
    {"type": "like", "platform": "kuaishou", "user": "Cy"},
    {"type": "online", "count": 1234},
]}


class Delivered:
    """What on_events was given, with a wait."""

    def __init__(self):
        self.batches = []
        self._changed = threading.Condition()

    def __call__(self, events):
        with self._changed:
            self.batches.append(events)
            self._changed.notify_all()

    @property
    def events(self):
        return [e for batch in self.batches for e in batch]

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        with self._changed:
            self._changed.wait_for(lambda: len(self.events) >= count, timeout)
            return self.events


@pytest.fixture
def relay():
    delivered = Delivered()
    server = RelayServer("127.0.0.1:0", TOKEN, delivered).start()
    server.delivered = delivered
    yield server
    server.stop()


# -- the format --------------------------------------------------------------------------------
def test_one_documented_event_becomes_one_audience_event():
    [event] = parse_relay(COMMENT)
    assert (event.kind, event.platform, event.user_id, event.user, event.text, event.at, event.id) == (
        Kind.COMMENT, "douyin", "84721", "小明", "主播好!", 1714564800.0, "msg-1")
    assert event.raw == COMMENT


def test_a_documented_batch_becomes_its_events_in_order():
    gift, superchat, like, online = parse_relay(BATCH, platform="relay")
    assert (gift.kind, gift.gift, gift.count, gift.value, gift.currency) == (Kind.GIFT, "Rose", 3, 0.3, "CNY")
    assert (superchat.kind, superchat.text, superchat.value, superchat.at) == (Kind.SUPERCHAT, "hello!", 5.0,
                                                                               1714564800.0)
    assert (like.kind, like.count, like.platform) == (Kind.LIKE, 1, "kuaishou")
    assert (online.kind, online.count, online.platform) == (Kind.ONLINE, 1234, "relay")


def test_an_event_without_a_time_is_stamped_when_received():
    [event] = parse_relay({"type": "follow", "user": "Di"}, platform="webhook")
    assert abs(event.at - time.time()) < 60 and event.platform == "webhook"


@pytest.mark.parametrize("payload, field", [
    ({"type": "comment", "text": "hi", "colour": "red"}, "colour"),
    ({"type": "shout", "text": "hi"}, "type"),
    ({"text": "hi"}, "type"),
    ({"type": "comment"}, "text"),
    ({"type": "superchat", "text": "   ", "value": 5}, "text"),
    ({"type": "gift", "count": True}, "count"),
    ({"type": "gift", "count": 1.0}, "count"),
    ({"type": "gift", "count": 10**9 + 1}, "count"),
    ({"type": "gift", "value": -1}, "value"),
    ({"type": "gift", "value": math.inf}, "value"),
    ({"type": "gift", "value": "5"}, "value"),
    ({"type": "gift", "value": False}, "value"),
    ({"type": "comment", "text": "x" * 501}, "text"),
    ({"type": "comment", "text": "hi", "user": "n" * 65}, "user"),
    ({"type": "comment", "text": "hi", "user_id": 84721}, "user_id"),
    ({"type": "gift", "currency": "DOGECOINS"}, "currency"),
    ({"type": "comment", "text": "hi", "platform": "Douyin"}, "platform"),
    ({"type": "comment", "text": "hi", "platform": "a" * 21}, "platform"),
    ({"type": "comment", "text": "hi", "at": "yesterday"}, "at"),
    ({"type": "comment", "text": "hi", "at": True}, "at"),
    ({"type": "comment", "text": "a lone \ud800 surrogate"}, "text"),
    ({"events": []}, "events"),
    ({"events": [{"type": "like"}] * 101}, "events"),
    ({"events": [{"type": "like"}], "token": "x"}, "token"),
    ({"events": [{"type": "like"}] * 3 + [{"type": "laugh"}]}, "events[3].type"),
    ({"events": [{"type": "like"}, "like"]}, "events[1]"),
    (["not", "an", "event"], ""),
])
def test_an_invalid_body_is_refused_naming_the_field(payload, field):
    with pytest.raises(RelayError) as refused:
        parse_relay(payload)
    assert refused.value.field == field
    assert "\n" not in str(refused.value)


# -- POST /events --------------------------------------------------------------------------------
def test_a_post_with_the_token_delivers_the_events(relay):
    answer = httpx.post(f"{relay.url}/events", json=BATCH, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (answer.status_code, answer.json()) == (202, {"accepted": 4})
    assert [e.kind for e in relay.delivered.wait_for(4)] == [Kind.GIFT, Kind.SUPERCHAT, Kind.LIKE, Kind.ONLINE]


@pytest.mark.parametrize("how", ["header", "query"])
def test_the_token_may_come_in_its_own_header_or_the_query(relay, how):
    options = {"headers": {"X-Livehost-Token": TOKEN}} if how == "header" else {"params": {"token": TOKEN}}
    answer = httpx.post(f"{relay.url}/events", json=COMMENT, **options)
    assert (answer.status_code, answer.json()) == (202, {"accepted": 1})
    assert [e.text for e in relay.delivered.wait_for(1)] == ["主播好!"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"}, {"X-Livehost-Token": ""},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_a_post_without_the_right_token_is_401_and_delivers_nothing(relay, headers):
    answer = httpx.post(f"{relay.url}/events", json=COMMENT, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    time.sleep(0.1)
    assert relay.delivered.events == []


def test_a_post_that_is_not_json_is_400_and_an_invalid_event_422_naming_the_field(relay):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    not_json = httpx.post(f"{relay.url}/events", content=b"{type: comment", headers=auth)
    assert not_json.status_code == 400 and not_json.json()["error"]["code"] == "bad_request"

    invalid = httpx.post(f"{relay.url}/events", json={"events": [COMMENT, {"type": "comment"}]}, headers=auth)
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert (error["code"], error["reason"], error["params"]["field"]) == ("invalid", "relay_event", "events[1].text")
    assert error["fields"] == {"events[1].text": "events[1].text: is required for a comment"}
    time.sleep(0.1)
    assert relay.delivered.events == []


def test_a_body_too_large_is_413(relay):
    body = json.dumps(COMMENT).encode() + b" " * (256 * 1024)
    answer = httpx.post(f"{relay.url}/events", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    time.sleep(0.1)
    assert relay.delivered.events == []


def test_the_token_never_appears_in_the_servers_logs(relay, caplog):
    caplog.set_level(logging.DEBUG)
    httpx.post(f"{relay.url}/events", params={"token": TOKEN}, json=COMMENT)
    httpx.post(f"{relay.url}/events?token={TOKEN}x", content=b"nonsense")
    relay.delivered.wait_for(1)
    server_side = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not any(TOKEN in line for line in server_side)


# -- WebSocket /ws -----------------------------------------------------------------------------------
def test_a_websocket_client_with_the_token_sends_a_batch_and_is_answered(relay):
    with connect(f"{relay.ws_url}?token={TOKEN}") as ws:
        ws.send(json.dumps(BATCH))
        assert json.loads(ws.recv(timeout=5)) == {"ok": True, "accepted": 4}
        ws.send(json.dumps(COMMENT))
        assert json.loads(ws.recv(timeout=5)) == {"ok": True, "accepted": 1}
    assert len(relay.delivered.wait_for(5)) == 5
    assert [len(batch) for batch in relay.delivered.batches] == [4, 1]


def test_a_bad_websocket_message_is_answered_with_the_error_and_the_socket_stays_open(relay):
    with connect(relay.ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5)) == {"ok": False, "error": "the body is not valid JSON",
                                                  "reason": None, "field": None}
        ws.send(json.dumps({"type": "gift", "count": -1}))
        assert json.loads(ws.recv(timeout=5)) == {"ok": False, "error": "count: must be an integer 0..1000000000",
                                                  "reason": "relay_event", "field": "count"}
        ws.send(json.dumps(COMMENT) + " " * (256 * 1024))
        assert json.loads(ws.recv(timeout=5))["reason"] == "body_too_large"
        ws.send(json.dumps(COMMENT))
        assert json.loads(ws.recv(timeout=5)) == {"ok": True, "accepted": 1}
    assert [e.text for e in relay.delivered.wait_for(1)] == ["主播好!"]


@pytest.mark.parametrize("query", ["", "?token=wrong"])
def test_a_websocket_without_the_right_token_is_refused(relay, query):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{relay.ws_url}{query}")
    assert refused.value.response.status_code == 401


def test_stopping_the_server_closes_its_websockets(relay):
    with connect(f"{relay.ws_url}?token={TOKEN}") as ws:
        ws.send(json.dumps(COMMENT))
        ws.recv(timeout=5)
        relay.stop()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert "relay-server" not in [t.name for t in threading.enumerate()]
