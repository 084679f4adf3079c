"""Sign-in, tokens and roles, against the real database and Redis."""
from __future__ import annotations

import time

import jwt as pyjwt

from tests.helpers.api import PASSWORD, login, make_user


def test_login_gives_tokens_that_open_me(api):
    make_user(api, "Anna_01", "operator")
    r = login(api, "ANNA_01")  # usernames are case-insensitive
    assert r.status_code == 200
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]
    me = api.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["username"] == "anna_01" and me.get_json()["role"] == "operator"
    assert "password" not in str(me.get_json())


def test_wrong_password_and_unknown_user_look_the_same(api):
    make_user(api, "bob", "viewer")
    a, b = login(api, "bob", "wrong password"), login(api, "nobody", "wrong password")
    assert a.status_code == b.status_code == 401
    assert a.get_json() == b.get_json() == {"error": {"code": "unauthorized", "message": "wrong username or password",
                                                      "reason": "wrong_credentials", "params": {}}}


def test_tampered_expired_and_missing_tokens_are_401(api, tokens):
    good = tokens["viewer"]["Authorization"].split()[1]
    head, payload, sig = good.split(".")
    tampered = f"{head}.{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}"
    for headers in ({}, {"Authorization": f"Bearer {tampered}"}, {"Authorization": "Bearer nonsense"}):
        r = api.get("/api/auth/me", headers=headers)
        assert r.status_code == 401, headers
        assert r.get_json()["error"]["code"] == "unauthorized"
    secret = api.app_.config["JWT_SECRET_KEY"]
    claims = pyjwt.decode(good, secret, algorithms=["HS256"])
    claims.update(exp=int(time.time()) - 10, iat=int(time.time()) - 100, nbf=int(time.time()) - 100)
    expired = pyjwt.encode(claims, secret, algorithm="HS256")
    r = api.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.get_json()["error"]["message"]


def test_logout_revokes_access_and_refresh_tokens(api):
    make_user(api, "carol", "operator")
    body = login(api, "carol").get_json()
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert api.post("/api/auth/logout", headers=auth, json={"refresh_token": body["refresh_token"]}).status_code == 204
    r = api.get("/api/auth/me", headers=auth)
    assert r.status_code == 401 and "revoked" in r.get_json()["error"]["message"]
    r = api.post("/api/auth/refresh", headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert r.status_code == 401


def test_refresh_gives_a_new_access_token(api):
    make_user(api, "dave", "viewer")
    body = login(api, "dave").get_json()
    r = api.post("/api/auth/refresh", headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert r.status_code == 200
    new = r.get_json()["access_token"]
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    # an access token is not a refresh token, and the other way round
    assert api.post("/api/auth/refresh", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    assert api.get("/api/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"}).status_code == 401


def test_sixth_rapid_failed_login_is_429(api):
    make_user(api, "erin", "viewer")
    codes = [login(api, "erin", "bad password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    r = login(api, "erin", PASSWORD)
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"


def test_roles_are_checked(api, tokens):
    new_user = {"username": "frank", "password": "long enough pw", "role": "viewer"}
    assert api.post("/api/users", json=new_user, headers=tokens["operator"]).status_code == 403
    assert api.post("/api/users", json=new_user, headers=tokens["viewer"]).status_code == 403
    r = api.post("/api/users", json=new_user, headers=tokens["admin"])
    assert r.status_code == 201 and r.get_json()["username"] == "frank"
    assert api.get("/api/users", headers=tokens["viewer"]).get_json()["error"]["code"] == "forbidden"


def test_disabled_user_is_locked_out_at_once(api, tokens):
    make_user(api, "gina", "operator")
    auth = {"Authorization": f"Bearer {login(api, 'gina').get_json()['access_token']}"}
    users = api.get("/api/users?per_page=100", headers=tokens["admin"]).get_json()["items"]
    gina = next(u for u in users if u["username"] == "gina")
    assert api.patch(f"/api/users/{gina['id']}", json={"disabled": True}, headers=tokens["admin"]).status_code == 200
    assert api.get("/api/auth/me", headers=auth).status_code == 401
    assert login(api, "gina").status_code == 401
