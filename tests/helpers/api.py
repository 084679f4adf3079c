"""Talking to the admin API as a test does: users and sign-in on a Flask test client, the rows a
schedule or a live needs, and JSON calls to an API served over real HTTP."""
from __future__ import annotations

import functools
import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from werkzeug.security import generate_password_hash

from backend.auth import check_username
from db.models import Avatar, LiveSession, Room, Schedule, Script, User, Voice

PASSWORD = "correct horse battery"


@functools.cache
def _fixture_hash(password: str) -> str:
    """`password` hashed once per run with scrypt at a low cost (n=2**10, not the app's 2**15). A
    sign-in checks a password with the cost its hash names, so it still runs the app's real check,
    30 times faster: hashing was half of every API test's time. Users made through the API or the
    CLI get the full cost, and the tests of those paths see it."""
    return generate_password_hash(password, method="scrypt:1024:8:1")


def make_user(client, username: str, role: str) -> None:
    """A user with PASSWORD, written straight to the database of the test client's app."""
    db = client.app_.extensions["livehost.db"]
    with db.sessions() as s:
        s.add(User(username=check_username(username), password_hash=_fixture_hash(PASSWORD), role=role))
        s.commit()


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def make_refs(api, tokens, rooms: int = 1) -> dict:
    """Rooms through the API; a script, a ready avatar and a voice straight in the database."""
    room_ids = []
    for i in range(rooms):
        r = api.post("/api/rooms", headers=tokens["operator"], json={
            "name": f"room {i}", "platform": "custom", "server_url": "rtmp://127.0.0.1/live", "stream_key": "k3y"})
        assert r.status_code == 201, r.get_json()
        room_ids.append(r.get_json()["id"])
    with api.app_.extensions["livehost.db"].sessions() as s:
        script = Script(name="welcome", segments=[{"type": "text", "text": "hello"}])
        avatar = Avatar(slug="host", name="Host", status="ready")
        voice = Voice(name="espeak en", engine="espeak", voice="en")
        s.add_all([script, avatar, voice])
        s.commit()
        return {"room_id": room_ids[0], "rooms": room_ids, "script_id": script.id, "avatar_id": avatar.id,
                "voice_id": voice.id}


def use_in_schedule(api, *, avatar_id=None, voice_id=None, script_id=None, session=False) -> int:
    """Insert a schedule (or a live session) that uses the given rows; the others are made up."""
    with api.app_.extensions["livehost.db"].sessions() as s:
        room = Room(name="r", platform="custom", server_url="rtmp://127.0.0.1/live")
        s.add(room)
        if avatar_id is None:
            s.add(a := Avatar(slug=f"x{time.monotonic_ns()}", name="x", status="ready"))
            s.flush()
            avatar_id = a.id
        if voice_id is None:
            s.add(v := Voice(name="v", engine="espeak"))
            s.flush()
            voice_id = v.id
        if script_id is None:
            s.add(sc := Script(name="s", segments=[{"say": "hi"}]))
            s.flush()
            script_id = sc.id
        s.flush()
        ids = dict(room_id=room.id, avatar_id=avatar_id, voice_id=voice_id, script_id=script_id)
        start = datetime.now(timezone.utc) + timedelta(hours=1)
        row = LiveSession(**ids) if session else Schedule(**ids, start_at=start, end_at=start + timedelta(hours=1))
        s.add(row)
        s.commit()
        return row.id


def api_call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    """One JSON request to the API served at `base` (http://host:port); the answer's JSON."""
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:  # the API's error says why: keep it in the failure
        detail = e.read().decode(errors="replace")[:500]
        raise urllib.error.HTTPError(e.url, e.code, f"{e.msg}: {detail}", e.hdrs, None) from None
