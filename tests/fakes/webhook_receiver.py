"""Incoming webhooks as the chat services run them, on loopback: a real HTTP server that keeps each
POST (path, query, JSON body) and answers as WeCom (errcode 0), DingTalk (errcode 0, and 310000
when a signed URL's sign is wrong), Feishu (code 0, and 19021 when a signed body's sign is wrong)
and Slack ("ok") do. `fail_next` makes the next requests answer 500, as a server that is down."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class WebhookReceiver:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.received: list[dict] = []  # {path, query, body}
        self.fail_next = 0
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                with receiver.arrived:
                    if receiver.fail_next > 0:
                        receiver.fail_next -= 1
                        return self._answer(500, {"error": "down for maintenance"})
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        return self._answer(400, {"error": "not JSON"})
                    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    receiver.received.append({"path": parts.path, "query": query, "body": body})
                    receiver.arrived.notify_all()
                self._answer(200, receiver.answer(parts.path, query, body))

            def _answer(self, status: int, body) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def answer(self, path: str, query: dict, body: dict):
        if path.startswith("/slack"):
            return "ok"
        if path.startswith("/dingtalk") and self.secret:
            expected = base64.b64encode(hmac.new(self.secret.encode(), f"{query.get('timestamp')}\n{self.secret}"
                                                 .encode(), hashlib.sha256).digest()).decode()
            if query.get("sign") != expected:
                return {"errcode": 310000, "errmsg": "sign not match"}
        if path.startswith("/feishu"):
            if self.secret:
                key = f"{body.get('timestamp')}\n{self.secret}".encode()
                if body.get("sign") != base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode():
                    return {"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}
            return {"code": 0, "msg": "success", "data": {}}
        return {"errcode": 0, "errmsg": "ok"}

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """The requests kept once there are `count` of them (or what came within `timeout`)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)

    def __enter__(self) -> "WebhookReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
