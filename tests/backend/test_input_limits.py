"""What one request may send is bounded before it costs memory or a 500 (issue 18's probe): a
picture's size is read from its header, a body's length holds whatever its transfer encoding, JSON
nesting is counted before parsing, integers fit a column and text is valid Unicode."""
from __future__ import annotations

import http.client
import json
import os
import select
import subprocess
import typing
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

from backend.api import INT_MAX, INT_MIN, Model
from tests.helpers.api import PASSWORD
from tests.helpers.bombs import peak_rss_mb, png_bomb
from tests.helpers.process import free_port, livehost_cmd, wait_for, wait_port

SCRIPT = {"name": "welcome", "segments": [{"say": "hello"}]}


# --- one process of the real server ------------------------------------------------------------

@dataclass
class Served:
    base: str
    port: int
    worker: int  # the gunicorn worker's pid, whose memory is watched
    token: str  # an operator's access token


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`livehost serve` (gunicorn, one worker) on a fresh SQLite database, with an operator."""
    tmp = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEHOST_", "DATABASE_URL", "REDIS_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp / 'api.db'}", LIVEHOST_VAR_DIR=str(tmp / "var"),
               LIVEHOST_AVATARS_DIR=str(tmp / "avatars"), LIVEHOST_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")
    subprocess.run(livehost_cmd("user", "create", "olga", "--role", "operator"), env=env, check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen(livehost_cmd("serve", "--port", str(port), "--workers", "1", "--threads", "4"),
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, timeout=30)
        children = f"/proc/{server.pid}/task/{server.pid}/children"
        worker = wait_for(lambda: open(children).read().split(), timeout=10)
        assert worker, (tmp / "serve.log").read_text()
        base = f"http://127.0.0.1:{port}"
        token = call(base, "POST", "/api/auth/login", json.dumps({"username": "olga", "password": PASSWORD}).encode(),
                     {"Content-Type": "application/json"})[1]["access_token"]
        yield Served(base, port, int(worker[0]), token)
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def call(base: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    """(status, JSON answer) of one request to the served API."""
    req = urllib.request.Request(base + path, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_png_bomb_upload_is_422_and_the_worker_stays_small(served):
    bomb = png_bomb(30000, 30000)  # 2.7 GB once decoded as BGR
    assert len(bomb) < 1_000_000
    body, content_type = multipart({"name": "Bomb"}, "bomb.png", bomb)
    auth = {"Authorization": f"Bearer {served.token}"}
    before = peak_rss_mb(served.worker)
    status, answer = call(served.base, "POST", "/api/avatars", body, {**auth, "Content-Type": content_type})
    # a preparation runs on a thread of the worker: wait until none is left 'preparing'
    wait_for(lambda: all(a["status"] != "preparing"
                         for a in call(served.base, "GET", "/api/avatars", headers=auth)[1]["items"]), timeout=120)
    grown = peak_rss_mb(served.worker) - before
    assert status == 422, answer
    assert answer["error"]["fields"]["file"] == ("bomb.png is 30000x30000 pixels; "
                                                 "the limit is 8192 pixels a side and 50 megapixels")
    assert grown < 100, f"the worker's peak memory grew by {grown:.0f} MB"
    assert call(served.base, "GET", "/api/avatars", headers=auth)[1]["total"] == 0


def test_a_chunked_json_body_over_the_limit_is_413_before_it_is_all_sent(served):
    total, chunk = 60_000_000, b"a" * 65536
    before = peak_rss_mb(served.worker)
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    conn.putrequest("POST", "/api/auth/login")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    sent, answered = 0, False
    data = b'{"username": "olga", "password": "'
    try:
        while sent < total and not answered:
            conn.send(b"%x\r\n%s\r\n" % (len(data), data))
            sent += len(data)
            data = chunk
            answered = bool(select.select([conn.sock], [], [], 0)[0])
        if not answered:
            conn.send(b'"}\r\n0\r\n\r\n')
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server has answered and closed: read its answer
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    assert response.status == 413, answer
    assert answer["error"]["reason"] == "body_too_large" and answer["error"]["params"] == {"limit": 1_000_000}
    assert sent < total // 2, f"the answer came after {sent} of {total} bytes"
    assert peak_rss_mb(served.worker) - before < 30, "the worker held the body"


# --- on both databases -------------------------------------------------------------------------

def test_deeply_nested_json_is_400_before_it_is_parsed(api, tokens):
    deep = b"[" * 1000 + b"]" * 1000
    for path, headers in (("/api/auth/login", {}), ("/api/scripts", tokens["operator"]),
                          ("/api/auth/logout", tokens["viewer"])):
        r = api.post(path, data=deep, content_type="application/json", headers=headers)
        assert r.status_code == 400, (path, r.get_json())
        assert "nested too deep" in r.get_json()["error"]["message"]
    nested_32 = {"name": "deep", "segments": [{"say": "hi", "x": json.loads("[" * 29 + "]" * 29)}]}
    r = api.post("/api/scripts", json=nested_32, headers=tokens["operator"])
    assert r.status_code in (201, 422) and "nested" not in r.get_json().get("error", {}).get("message", "")
    brackets_in_text = {"name": "[{" * 50, "segments": [{"say": "hello [" + "\\\"[" * 200}]}
    assert api.post("/api/scripts", json=brackets_in_text, headers=tokens["operator"]).status_code == 201


def test_an_integer_beyond_32_bits_is_422(api, tokens):
    op = tokens["operator"]
    for loop in (2**31, 2**63, 10**30):
        r = api.post("/api/scripts", json={**SCRIPT, "loop": loop}, headers=op)
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["error"]["field_reasons"]["loop"] == {"reason": "less_than_equal",
                                                                  "params": {"le": INT_MAX}}
    r = api.post("/api/scripts", json={**SCRIPT, "loop": INT_MAX}, headers=op)
    assert r.status_code == 201 and r.get_json()["loop"] == INT_MAX
    r = api.patch(f"/api/scripts/{r.get_json()['id']}", json={"loop": 2**31}, headers=op)
    assert r.status_code == 422
    assert api.get("/api/sessions?room_id=2147483648", headers=op).status_code == 422


def test_text_with_a_lone_surrogate_is_422(api, tokens):
    op = tokens["operator"]
    for raw, field in (('{"name": "s\\ud800", "segments": [{"say": "hi"}]}', "name"),
                       ('{"name": "s", "segments": [{"say": "hi \\udc00 there"}]}', "segments.0.say"),
                       ('{"name": "s", "segments": [{"\\ud800": "hi"}]}', "segments.0")):
        r = api.post("/api/scripts", data=raw, content_type="application/json", headers=op)
        assert r.status_code == 422, r.get_json()
        assert r.get_json()["error"]["field_reasons"] == {field: {"reason": "string_unicode", "params": {}}}
    r = api.post("/api/rooms", data='{"name": "r", "platform": "custom", "server_url": "rtmp://h/live", '
                                     '"settings": {"persona": "\\ud83d"}}',
                 content_type="application/json", headers=op)
    assert r.status_code == 422 and "settings.persona" in r.get_json()["error"]["fields"]
    r = api.post("/api/scripts", data='{"name": "\\ud83d\\ude00", "segments": [{"say": "hi"}]}',
                 content_type="application/json", headers=op)  # a pair is one character: fine
    assert r.status_code == 201 and r.get_json()["name"] == "\U0001F600"


def request_models(app) -> set[type[BaseModel]]:
    """Every model a route validates a body or a query with, and the models they hold."""
    found: set[type[BaseModel]] = set()

    def add(t) -> None:
        if isinstance(t, type) and issubclass(t, BaseModel):
            if t not in found:
                found.add(t)
                for f in t.model_fields.values():
                    add(f.annotation)
        for arg in typing.get_args(t):
            add(arg)

    for view in app.view_functions.values():
        op = getattr(view, "livehost_op", None)
        if op is not None:
            add(op.body)
            add(op.query)
    return found


def holds_int(annotation) -> bool:
    """`annotation` is int, or a union or an Annotated of one."""
    if annotation is int:
        return True
    return any(holds_int(arg) for arg in typing.get_args(annotation))


def test_every_integer_field_of_every_request_model_is_bounded_to_32_bits(api):
    models = request_models(api.app_)
    assert all(issubclass(m, Model) for m in models), [m for m in models if not issubclass(m, Model)]
    checked = 0
    for model in models:
        for name, f in model.model_fields.items():
            if not holds_int(f.annotation):
                continue
            for value in (INT_MAX + 1, INT_MIN - 1):
                try:
                    model.model_validate({name: value})
                except Exception as e:  # noqa: BLE001 - a ValidationError, naming the field
                    assert any(err["loc"][:1] == (name,) for err in e.errors()), (model, name, value)
                else:
                    pytest.fail(f"{model.__name__}.{name} took {value}")
            checked += 1
    assert checked >= 5
