"""Sign-in with JWT: login, refresh, logout (revocation), me; password hashing and role checks."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from flask import Blueprint, current_app, g, request
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token, get_jwt
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from backend.api import ANYONE, PUBLIC, Model, Out, route
from backend.db import db
from backend.errors import ApiError, error_response, invalid_value
from db.models import User

bp = Blueprint("auth", __name__, url_prefix="/api/auth")

USERNAME = re.compile(r"^[a-z0-9_]{3,20}$")
PASSWORD_LENGTH = (8, 128)
_KEPT = r"[^\s\x1c-\x1f\x85]"  # a character str.strip() keeps (ECMA's \s lacks \x1c-\x1f and \x85)
# what the OpenAPI document says of them: the same rules (a username in any case: it is stored lowercase)
USERNAME_DOC = {"pattern": r"^[A-Za-z0-9_]{3,20}$"}
PASSWORD_DOC = {"minLength": PASSWORD_LENGTH[0], "pattern": rf"^{_KEPT}(.*{_KEPT})?$"}
# werkzeug's scrypt: n=2**15, r=8, p=1 (memory-hard; stronger than pbkdf2-sha256 at 600k)
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_username(name: str) -> str:
    name = name.strip().lower()
    if not USERNAME.fullmatch(name):
        raise invalid_value("username_format")
    return name


def check_password(pw: str) -> str:
    """One rule everywhere (API, CLI, sign-in): a password is taken exactly as typed, 8 to 128
    characters, not beginning or ending with a space (which no one can see they typed)."""
    if not PASSWORD_LENGTH[0] <= len(pw) <= PASSWORD_LENGTH[1]:
        raise invalid_value("password_length")
    if pw != pw.strip():
        raise invalid_value("password_spaces")
    return pw


# never stripped, unlike other strings of a request: what is checked is what was typed
Password = Annotated[str, StringConstraints(strip_whitespace=False, max_length=PASSWORD_LENGTH[1])]
NewPassword = Annotated[Password, Field(json_schema_extra=PASSWORD_DOC)]  # checked by check_password


class LoginIn(Model):
    username: str = Field(max_length=64)
    password: Password


class Tokens(Out):
    access_token: str
    refresh_token: str | None = None
    token_type: str = "Bearer"
    expires_in: int


class LogoutIn(Model):
    refresh_token: str | None = Field(None, max_length=4096)


class UserOut(Out):
    id: int
    username: str
    role: str
    disabled: bool
    created_at: datetime


class PasswordIn(Model):
    password: NewPassword

    _pw = field_validator("password")(lambda cls, v: check_password(v))


def init_jwt(app, revocations) -> None:
    app.config.update(JWT_SECRET_KEY=app.config["LIVEHOST"].jwt_secret,
                      JWT_ACCESS_TOKEN_EXPIRES=app.config["LIVEHOST"].access_minutes * 60,
                      JWT_REFRESH_TOKEN_EXPIRES=app.config["LIVEHOST"].refresh_days * 86400,
                      JWT_TOKEN_LOCATION=["headers"],  # event streams also read ?access_token= (backend.roles)
                      JWT_QUERY_STRING_NAME="access_token")
    jwt = JWTManager(app)
    app.extensions["livehost.revocations"] = revocations

    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload) -> bool:
        jti = payload.get("jti")
        return not isinstance(jti, str) or revocations.is_revoked(jti)  # ours always have one

    def unauthorized(message):
        return error_response(401, "unauthorized", message)

    jwt.unauthorized_loader(lambda reason: unauthorized("sign in first: no access token"))
    jwt.invalid_token_loader(lambda reason: unauthorized("the token is not valid"))
    jwt.expired_token_loader(lambda h, p: unauthorized("the token has expired; refresh or sign in again"))
    jwt.revoked_token_loader(lambda h, p: unauthorized("the token was revoked; sign in again"))
    jwt.needs_fresh_token_loader(lambda h, p: unauthorized("sign in again"))
    jwt.user_lookup_error_loader(lambda h, p: unauthorized("the user no longer exists"))


def _tokens(user: User, refresh: bool = True) -> dict:
    claims = {"role": user.role, "username": user.username, "ver": user.token_version}
    out = {"access_token": create_access_token(str(user.id), additional_claims=claims),
           "token_type": "Bearer", "expires_in": current_app.config["LIVEHOST"].access_minutes * 60}
    if refresh:
        out["refresh_token"] = create_refresh_token(str(user.id), additional_claims=claims)
    return out


@route(bp, "POST", "/login", roles=PUBLIC, body=LoginIn, response=Tokens,
       errors={401: "wrong username or password", 429: "too many failed sign-ins; wait and retry"})
def login(body: LoginIn):
    """Sign in with username and password; returns an access and a refresh token."""
    name = body.username.strip().lower()
    user = db().scalar(select(User).where(User.username == name)) if USERNAME.fullmatch(name) else None
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, body.password)
    if not ok or user is None or user.disabled:
        raise ApiError.because(401, "unauthorized", "wrong_credentials")
    return _tokens(user)


@route(bp, "POST", "/refresh", roles=ANYONE, refresh=True, response=Tokens)
def refresh():
    """A new access token for a refresh token (sent as the Bearer token)."""
    return _tokens(g.user, refresh=False)


@route(bp, "POST", "/logout", roles=ANYONE, body=None)
def logout():
    """Revoke the access token used here (and the refresh token given in the body, if any)."""
    revocations = current_app.extensions["livehost.revocations"]
    _revoke(revocations, get_jwt())
    data = request.get_json(silent=True) or {}
    token = data.get("refresh_token") if isinstance(data, dict) else None
    if isinstance(token, str) and token:
        try:
            payload = decode_token(token)
        except Exception:  # noqa: BLE001 - a bad refresh token is simply not revoked
            raise ApiError(422, "invalid", "refresh_token is not a valid token") from None
        if payload.get("sub") == get_jwt()["sub"]:
            _revoke(revocations, payload)
    return None


def _revoke(revocations, payload: dict) -> None:
    ttl = int(payload["exp"] - datetime.now(timezone.utc).timestamp()) + 1
    revocations.revoke(payload["jti"], ttl)


@route(bp, "GET", "/me", roles=ANYONE, response=UserOut)
def me():
    """The signed-in user."""
    return UserOut.model_validate(g.user)
