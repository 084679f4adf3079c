"""Alerts reach each kind of incoming webhook in its own JSON over real HTTP (a loopback receiver
that answers as WeCom, DingTalk, Feishu and Slack do, checking their signatures); a receiver that
is down is retried; one that never answers is given up without holding anything else up."""
from __future__ import annotations

import time

from db.alerts import Alert, Hook, Notifier
from tests.fakes.webhook_receiver import WebhookReceiver

ALERT = Alert("failed", "live 7 of room Tea failed: cannot connect to RTMP server", {"session": 7, "room": "Tea"})


def test_each_format_is_what_its_service_takes():
    with WebhookReceiver(secret="SEC-signing-secret") as rx:
        notifier = Notifier(retries_s=(0.1,))
        hooks = [Hook("mine", f"{rx.base}/generic"), Hook("wecom", f"{rx.base}/wecom?key=abc", "wecom"),
                 Hook("ding", f"{rx.base}/dingtalk?access_token=t", "dingtalk", "SEC-signing-secret"),
                 Hook("lark", f"{rx.base}/feishu/hook/x", "feishu", "SEC-signing-secret"),
                 Hook("slack", f"{rx.base}/slack/T/B/X", "slack")]
        notifier.send(hooks, ALERT)
        got = {r["path"].split("/")[1]: r for r in rx.wait_for(5)}
    assert set(got) == {"generic", "wecom", "dingtalk", "feishu", "slack"}
    assert got["generic"]["body"]["event"] == "failed" and got["generic"]["body"]["session"] == 7
    assert got["generic"]["body"]["room"] == "Tea" and "cannot connect" in got["generic"]["body"]["text"]
    assert got["wecom"]["body"] == {"msgtype": "text", "text": {"content": "[livehost] " + ALERT.text}}
    assert got["wecom"]["query"] == {"key": "abc"}
    assert got["dingtalk"]["body"]["msgtype"] == "text" and {"timestamp", "sign", "access_token"} <= set(
        got["dingtalk"]["query"])
    assert got["feishu"]["body"]["msg_type"] == "text" and got["feishu"]["body"]["content"]["text"].endswith(ALERT.text)
    assert got["slack"]["body"] == {"text": "[livehost] " + ALERT.text}
    time.sleep(0.3)
    assert (notifier.sent, notifier.failed) == (5, 0)  # the signatures were right: every service took it


def test_a_wrong_signature_a_down_server_and_no_server():
    with WebhookReceiver(secret="the-right-one") as rx:
        notifier = Notifier(retries_s=(0.1, 0.1))
        rx.fail_next = 2  # down, then back
        notifier.send([Hook("mine", f"{rx.base}/generic")], ALERT)
        assert len(rx.wait_for(1)) == 1 and notifier.failed == 0
        notifier.send([Hook("ding", f"{rx.base}/dingtalk?access_token=t", "dingtalk", "a-wrong-one")], ALERT)
        deadline = time.time() + 5
        while notifier.failed == 0 and time.time() < deadline:
            time.sleep(0.05)
        assert notifier.failed == 1  # DingTalk said 310000 each time: given up
    started = time.monotonic()
    Notifier(retries_s=(0.1,)).send([Hook("gone", "http://127.0.0.1:9/nothing")], ALERT)
    assert time.monotonic() - started < 0.1  # sending never waits
