"""POST /api/rooms/{id}/test-push: a few seconds of a test card pushed to the room's RTMP URL and
pulled back from a real nginx-rtmp; clear failures with the key masked; roles and busy rooms."""
from __future__ import annotations

import logging

import numpy as np

from db.models import Room
from tests.helpers.api import make_refs
from tests.helpers.media import Player
from tests.helpers.process import free_port, wait_for

KEY = "test_push_SeCrEt_9876"


def room(api, tokens, server_url: str) -> int:
    r = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "check me", "platform": "custom", "server_url": server_url, "stream_key": KEY})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_test_push_reaches_the_server_and_a_player_sees_the_card(api, tokens, nginx_rtmp, caplog):
    caplog.set_level(logging.DEBUG)
    room_id = room(api, tokens, f"rtmp://127.0.0.1:{nginx_rtmp.port}/live")
    # The top-left corner: the first, light grey bar. The push is short: probe for both streams.
    player = Player(nginx_rtmp.url(KEY), box=(0, 0, 16, 16), probe_s=1.0)
    player.start()
    log = nginx_rtmp.dir / "logs" / "error.log"
    assert wait_for(lambda: f"play: name='{KEY}'" in log.read_text(), 10), "the player did not reach nginx"
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={"seconds": 2})
    assert wait_for(lambda: len(player.video) >= 45, 5), f"the player saw {len(player.video)} frames of 50"
    player.stop()
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["ok"] is True and body["error"] is None
    assert body["url"] == f"rtmp://127.0.0.1:{nginx_rtmp.port}/live/***" and body["seconds"] == 2.0
    assert 0 <= body["connect_ms"] < 5000
    corner = np.stack([crop for _, _, crop in player.video if crop is not None])
    assert 150 < corner.mean() < 200, "not the light grey bar"  # BGR 192 grey -> Y ~ 175
    assert player.audio and max(rms for _, _, rms in player.audio) > 0.03, "the tone was not heard"
    assert KEY not in caplog.text and KEY not in r.get_data(as_text=True)
    audit = api.get("/api/audit", headers=tokens["admin"]).get_json()["items"]
    assert any(a["action"] == "room.test_push" and a["target"] == f"room:{room_id}" for a in audit)


def test_an_unreachable_server_is_named_in_the_result_without_the_key(api, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there
    room_id = room(api, tokens, f"rtmp://127.0.0.1:{port}/live")
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={})
    assert r.status_code == 200
    assert r.get_json() == {"ok": False, "url": f"rtmp://127.0.0.1:{port}/live/***", "seconds": 0.0,
                            "connect_ms": None,
                            "error": f"cannot connect to RTMP server 127.0.0.1:{port}: Connection refused",
                            "reason": "rtmp_unreachable", "params": {"host": "127.0.0.1", "port": port},
                            "warnings": []}
    assert KEY not in caplog.text
    audit = api.get("/api/audit", headers=tokens["admin"]).get_json()["items"]
    assert any(a["action"] == "room.test_push" and a["detail"]["ok"] is False for a in audit), audit


def test_the_form_s_unsaved_server_and_key_are_pushed_not_the_saved_ones(api, tokens, nginx_rtmp):
    room_id = room(api, tokens, f"rtmp://127.0.0.1:{free_port()}/live")  # saved: nothing listens there
    typed = "typed_not_saved_4321"
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={
        "seconds": 1, "server_url": f"rtmp://127.0.0.1:{nginx_rtmp.port}/live", "stream_key": typed})
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is True, body
    log = (nginx_rtmp.dir / "logs" / "error.log").read_text()
    assert f"publish: name='{typed}'" in log and KEY not in log
    assert typed not in r.get_data(as_text=True)


def test_a_saved_destination_is_pushed_with_its_own_key(api, tokens, nginx_rtmp):
    room_id = room(api, tokens, f"rtmp://127.0.0.1:{free_port()}/live")  # the room's own: nothing listens there
    other = "second_platform_key_5555"
    r = api.patch(f"/api/rooms/{room_id}", headers=tokens["operator"], json={"destinations": [
        {"name": "second", "server_url": f"rtmp://127.0.0.1:{nginx_rtmp.port}/live", "stream_key": other}]})
    (destination,) = r.get_json()["destinations"]
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"],
                 json={"seconds": 1, "destination": destination["id"]})
    body = r.get_json()
    assert r.status_code == 200 and body["ok"] is True, body
    assert body["url"] == f"rtmp://127.0.0.1:{nginx_rtmp.port}/live/***" and other not in r.get_data(as_text=True)
    log = (nginx_rtmp.dir / "logs" / "error.log").read_text()
    assert f"publish: name='{other}'" in log and KEY not in log
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={"destination": 99})
    assert r.status_code == 422 and "destination" in r.get_json()["error"]["fields"]


def test_a_push_url_without_a_stream_name_is_not_reported_as_a_success(api, tokens, nginx_rtmp):
    r = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "no key", "platform": "bilibili", "server_url": f"rtmp://127.0.0.1:{nginx_rtmp.port}/live"})
    room_id = r.get_json()["id"]
    body = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={"seconds": 1}).get_json()
    assert body["ok"] is False and body["reason"] == "no_stream_name", body
    assert body["warnings"] == ["no_stream_key"]


def test_a_stream_key_holding_slashes_is_masked_whole(api, tokens, caplog):
    caplog.set_level(logging.DEBUG)
    port = free_port()
    key = "part0ne/secretTail"
    r = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "slashes", "platform": "custom", "server_url": f"rtmp://127.0.0.1:{port}/live", "stream_key": key})
    room_id = r.get_json()["id"]
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={"seconds": 1})
    assert r.get_json()["url"] == f"rtmp://127.0.0.1:{port}/live/***"
    audit = api.get("/api/audit", headers=tokens["admin"]).get_data(as_text=True)
    for part in key.split("/"):
        assert part not in r.get_data(as_text=True) and part not in audit and part not in caplog.text


def test_viewers_may_not_push_and_bad_input_is_refused(api, tokens):
    room_id = room(api, tokens, "rtmp://127.0.0.1:1/live")
    assert api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["viewer"], json={}).status_code == 403
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={"seconds": 60})
    assert r.status_code == 422 and "seconds" in r.get_json()["error"]["fields"]
    assert api.post("/api/rooms/999/test-push", headers=tokens["operator"], json={}).status_code == 404


def test_a_room_in_use_is_not_pushed_to(api, tokens):
    refs = make_refs(api, tokens)
    body = {k: refs[k] for k in ("script_id", "avatar_id", "voice_id")}
    live = api.post("/api/sessions", headers=tokens["operator"], json={**body, "room_id": refs["room_id"]})
    assert live.status_code == 201, live.get_json()
    r = api.post(f"/api/rooms/{refs['room_id']}/test-push", headers=tokens["operator"], json={})
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["message"] == (f"room {refs['room_id']} is in use by session "
                                f"{live.get_json()['id']}: a test push would cut into it")
    assert error["reason"] == "room_busy" and error["params"] == {"room": refs["room_id"],
                                                                  "session": live.get_json()["id"]}


def test_a_stream_key_that_cannot_be_decrypted_is_said_not_a_500(api, tokens):
    room_id = room(api, tokens, "rtmp://127.0.0.1:1/live")
    with api.app_.extensions["livehost.db"].sessions() as s:
        s.get(Room, room_id).stream_key_enc = "not-a-fernet-token"  # as after LIVEHOST_DATA_KEY changed
        s.commit()
    r = api.post(f"/api/rooms/{room_id}/test-push", headers=tokens["operator"], json={})
    assert r.status_code == 200
    assert r.get_json() == {"ok": False, "url": "rtmp://127.0.0.1:1/live/***", "seconds": 0.0, "connect_ms": None,
                            "error": "the stream key cannot be decrypted: was LIVEHOST_DATA_KEY changed?",
                            "reason": "key_unreadable", "params": {}, "warnings": []}
