"""Webhooks over HTTP on SQLite and MariaDB: admins only; the URL (it holds the token) and the
signing secret are write-only, shown as the host and a flag; the test button sends a real
request to a loopback receiver and says whether it was taken."""
from __future__ import annotations

from db.models import Webhook
from tests.fakes.webhook_receiver import WebhookReceiver


def test_webhooks_are_kept_secret_and_the_test_button_sends(api, tokens):
    with WebhookReceiver(secret="SEC-right") as rx:
        r = api.post("/api/webhooks", headers=tokens["admin"], json={
            "name": "Ops group", "format": "dingtalk", "url": f"{rx.base}/dingtalk?access_token=TOKEN-123",
            "secret": "SEC-right", "events": ["failed", "ended"]})
        assert r.status_code == 201, r.get_json()
        hook = r.get_json()
        assert (hook["host"], hook["secret_set"], hook["events"]) == ("127.0.0.1", True, ["failed", "ended"])
        assert "TOKEN-123" not in r.get_data(as_text=True) and "SEC-right" not in r.get_data(as_text=True)
        with api.app_.extensions["livehost.db"].sessions() as s:
            stored = s.get(Webhook, hook["id"])
            assert "TOKEN-123" not in stored.url_enc and stored.secret_enc != "SEC-right"

        url = f"/api/webhooks/{hook['id']}"
        assert api.post(f"{url}/test", headers=tokens["admin"]).get_json() == {"ok": True, "error": None}
        (sent,) = rx.wait_for(1)
        assert sent["query"]["access_token"] == "TOKEN-123" and "test alert" in sent["body"]["text"]["content"]

        assert api.patch(url, headers=tokens["admin"], json={"secret": "SEC-wrong"}).status_code == 200
        assert api.post(f"{url}/test", headers=tokens["admin"]).get_json() == {
            "ok": False, "error": "error 310000: sign not match"}

    for headers in (tokens["operator"], tokens["viewer"]):
        assert api.get("/api/webhooks", headers=headers).status_code == 403
        assert api.post(f"{url}/test", headers=headers).status_code == 403
    bad = [{"name": "x", "url": "ftp://host/x"}, {"name": "x", "url": "http://h/x", "format": "teams"},
           {"name": "x", "url": "http://h/x", "events": ["exploded"]}, {"name": "", "url": "http://h/x"}]
    for body in bad:
        assert api.post("/api/webhooks", headers=tokens["admin"], json=body).status_code == 422, body
    assert api.delete(url, headers=tokens["admin"]).status_code == 204
    assert api.get("/api/webhooks", headers=tokens["admin"]).get_json()["total"] == 0
