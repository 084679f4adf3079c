"""What an outside probe of the API found (issue 18), each as the user or attacker meets it:
tokens of deleted or changed users, tokens in URLs, forged claims, passwords with spaces,
deletions that lost a live's history, schedules that could never run, errors without a reason."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import jwt as pyjwt

from db.models import LiveSession
from tests.helpers.api import PASSWORD, login, make_refs, make_user


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def user_id(api, tokens, name: str) -> int:
    users = api.get("/api/users?per_page=100", headers=tokens["admin"]).get_json()["items"]
    return next(u["id"] for u in users if u["username"] == name)


def test_a_deleted_user_s_tokens_never_act_as_the_next_user(api, tokens):
    make_user(api, "vic", "viewer")
    old = login(api, "vic").get_json()
    vic = user_id(api, tokens, "vic")
    assert api.delete(f"/api/users/{vic}", headers=tokens["admin"]).status_code == 204
    r = api.post("/api/users", headers=tokens["admin"], json={"username": "ada", "password": PASSWORD, "role": "admin"})
    assert r.status_code == 201 and r.get_json()["id"] > vic, "the deleted user's id was given again"
    for token in (old["access_token"], old["refresh_token"]):
        assert api.get("/api/users", headers=bearer(token)).status_code == 401
    assert api.post("/api/auth/refresh", headers=bearer(old["refresh_token"])).status_code == 401


def test_no_id_is_reused_after_a_delete(api, tokens):
    first = api.post("/api/scripts", headers=tokens["operator"], json={"name": "a", "segments": [{"say": "hi"}]})
    assert first.status_code == 201, first.get_json()
    assert api.delete(f"/api/scripts/{first.get_json()['id']}", headers=tokens["operator"]).status_code == 204
    second = api.post("/api/scripts", headers=tokens["operator"], json={"name": "b", "segments": [{"say": "hi"}]})
    assert second.get_json()["id"] > first.get_json()["id"]


def test_a_new_password_role_or_disabling_ends_the_user_s_tokens(api, tokens):
    make_user(api, "olga", "operator")
    olga = user_id(api, tokens, "olga")
    password = PASSWORD
    for change in ({"password": "a brand new password"}, {"role": "viewer"}, {"disabled": True}):
        session = login(api, "olga", password).get_json()
        assert api.get("/api/auth/me", headers=bearer(session["access_token"])).status_code == 200
        r = api.patch(f"/api/users/{olga}", headers=tokens["admin"], json=change)
        assert r.status_code == 200, r.get_json()
        r = api.get("/api/auth/me", headers=bearer(session["access_token"]))
        assert r.status_code == 401, change
        assert api.post("/api/auth/refresh", headers=bearer(session["refresh_token"])).status_code == 401, change
        password = change.get("password", password)
    # an unchanged user keeps their tokens through an edit that changes nothing
    make_user(api, "pat", "viewer")
    pat = login(api, "pat").get_json()
    api.patch(f"/api/users/{user_id(api, tokens, 'pat')}", headers=tokens["admin"], json={"role": "viewer"})
    assert api.get("/api/auth/me", headers=bearer(pat["access_token"])).status_code == 200


def test_an_access_token_in_the_query_string_opens_only_event_streams(api, tokens):
    token = tokens["viewer"]["Authorization"].split()[1]
    r = api.get(f"/api/rooms?access_token={token}")
    assert r.status_code == 401
    refs = make_refs(api, tokens)
    live = api.post("/api/sessions", headers=tokens["operator"], json={
        k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")}).get_json()
    api.post(f"/api/sessions/{live['id']}/stop", headers=tokens["operator"])
    r = api.get(f"/api/sessions/{live['id']}/events?access_token={token}")
    assert r.status_code in (200, 204), r.get_data(as_text=True)


def test_forged_tokens_without_a_jti_or_with_an_odd_subject_are_401_not_500(api, tokens):
    good = tokens["admin"]["Authorization"].split()[1]
    secret = api.app_.config["JWT_SECRET_KEY"]
    claims = pyjwt.decode(good, secret, algorithms=["HS256"])
    for forged in ({k: v for k, v in claims.items() if k != "jti"}, {**claims, "sub": "admin"},
                   {**claims, "sub": "99999999999999999999999"}, {**claims, "jti": 7},
                   {k: v for k, v in claims.items() if k != "ver"}):
        r = api.get("/api/auth/me", headers=bearer(pyjwt.encode(forged, secret, algorithm="HS256")))
        assert r.status_code == 401, (forged, r.get_data(as_text=True))


def test_a_password_is_taken_as_typed_and_may_not_begin_or_end_with_a_space(api, tokens):
    r = api.post("/api/users", headers=tokens["admin"],
                 json={"username": "sam", "password": " spaced password ", "role": "viewer"})
    assert r.status_code == 422
    assert r.get_json()["error"]["field_reasons"]["password"]["reason"] == "password_spaces"
    r = api.post("/api/users", headers=tokens["admin"],
                 json={"username": "sam", "password": "inner spaces ok", "role": "viewer"})
    assert r.status_code == 201
    assert login(api, "sam", "inner spaces ok").status_code == 200
    assert login(api, "sam", " inner spaces ok").status_code == 401


def go_live(api, tokens, refs) -> dict:
    r = api.post("/api/sessions", headers=tokens["operator"], json={
        k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_a_room_with_a_live_on_air_is_not_deleted_and_can_be_stopped_whole(api, tokens):
    refs = make_refs(api, tokens)
    room = refs["room_id"]
    live = go_live(api, tokens, refs)
    with api.app_.extensions["livehost.db"].sessions() as s:  # as a worker has it
        s.get(LiveSession, live["id"]).status = "live"
        s.commit()
    r = api.delete(f"/api/rooms/{room}", headers=tokens["operator"])
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["reason"] == "in_use" and error["params"]["lives"] == [live["id"]]
    assert f"session {live['id']}" in error["message"]
    assert api.get(f"/api/sessions/{live['id']}", headers=tokens["viewer"]).get_json()["status"] == "live"
    assert api.post(f"/api/rooms/{room}/stop", headers=tokens["viewer"]).status_code == 403
    r = api.post(f"/api/rooms/{room}/stop", headers=tokens["operator"])
    assert r.status_code == 202 and r.get_json() == {"stopped": [live["id"]]}
    assert api.get(f"/api/sessions/{live['id']}", headers=tokens["viewer"]).get_json()["status"] == "stopping"


def test_a_room_whose_lives_are_over_is_archived_and_its_history_kept(api, tokens):
    refs = make_refs(api, tokens)
    room = refs["room_id"]
    live = go_live(api, tokens, refs)
    assert api.post(f"/api/sessions/{live['id']}/stop", headers=tokens["operator"]).status_code == 202
    assert api.delete(f"/api/rooms/{room}", headers=tokens["operator"]).status_code == 204
    listed = api.get("/api/rooms", headers=tokens["viewer"]).get_json()["items"]
    assert room not in [r["id"] for r in listed]
    session = api.get(f"/api/sessions/{live['id']}", headers=tokens["viewer"]).get_json()
    assert session["room_id"] == room and session["status"] == "ended"
    assert api.get(f"/api/rooms/{room}", headers=tokens["viewer"]).status_code == 200
    r = api.post("/api/sessions", headers=tokens["operator"], json={
        **{k: refs[k] for k in ("script_id", "avatar_id", "voice_id")}, "room_id": room})
    assert r.status_code == 422 and "room_id" in r.get_json()["error"]["fields"]
    newer = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "next", "platform": "custom", "server_url": "rtmp://127.0.0.1/live"}).get_json()
    assert newer["id"] > room


def test_a_script_used_by_a_schedule_is_a_409_naming_the_schedule(api, tokens):
    refs = make_refs(api, tokens)
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    sc = api.post("/api/schedules", headers=tokens["operator"], json={
        **{k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")},
        "start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat()})
    assert sc.status_code == 201, sc.get_json()
    for path in (f"/api/scripts/{refs['script_id']}", f"/api/rooms/{refs['room_id']}",
                 f"/api/voices/{refs['voice_id']}", f"/api/avatars/{refs['avatar_id']}"):
        r = api.delete(path, headers=tokens["operator"])
        assert r.status_code == 409, path
        assert r.get_json()["error"]["params"]["schedules"] == [sc.get_json()["id"]], path


def test_a_schedule_entirely_in_the_past_is_refused_with_its_reason(api, tokens):
    refs = make_refs(api, tokens)
    start = datetime.now(timezone.utc) - timedelta(hours=3)
    body = {**{k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")},
            "start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat()}
    r = api.post("/api/schedules", headers=tokens["operator"], json=body)
    assert r.status_code == 422
    assert r.get_json()["error"]["field_reasons"]["end_at"]["reason"] == "schedule_in_past"
    r = api.post("/api/schedules", headers=tokens["operator"], json={**body, "repeat": "daily"})
    assert r.status_code == 201, "a repeating schedule still has occurrences to come"


def test_an_overlap_says_its_reason_and_the_times_for_the_dashboard_to_word(api, tokens):
    refs = make_refs(api, tokens)
    start = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    body = {**{k: refs[k] for k in ("room_id", "script_id", "avatar_id", "voice_id")},
            "start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat()}
    first = api.post("/api/schedules", headers=tokens["operator"], json=body).get_json()
    r = api.post("/api/schedules", headers=tokens["operator"], json=body)
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["reason"] == "schedule_overlap"
    assert error["params"]["schedule"] == first["id"] and error["params"]["room"] == refs["room_id"]
    assert datetime.fromisoformat(error["params"]["start"].replace("Z", "+00:00")) == start


def test_a_server_url_without_a_host_says_so(api, tokens):
    r = api.post("/api/rooms", headers=tokens["operator"], json={
        "name": "x", "platform": "custom", "server_url": "rtmp://"})
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert error["field_reasons"]["server_url"]["reason"] == "url_no_host"
    assert "no host" in error["fields"]["server_url"]


def test_the_lives_feed_says_when_any_live_changes_state(api, tokens):
    refs = make_refs(api, tokens)
    token = tokens["viewer"]["Authorization"].split()[1]
    r = api.get(f"/api/events?access_token={token}", buffered=False)
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    chunks = iter(r.response)
    assert next(chunks).startswith(b"retry:")
    live = go_live(api, tokens, refs)
    text = next(chunks).decode()
    assert text.startswith("event: state\n") and f'"session_id":{live["id"]}' in text and '"state":"queued"' in text
    api.post(f"/api/sessions/{live['id']}/stop", headers=tokens["operator"])
    assert '"state":"ended"' in next(chunks).decode()
    r.close()
    assert api.get("/api/events").status_code == 401
