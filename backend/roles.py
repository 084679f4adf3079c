"""The role check of every signed-in endpoint (backend.api.route runs it): the user of the
request's JWT, refused unless their role is one of the endpoint's."""
from __future__ import annotations

from flask import g
from flask_jwt_extended import get_jwt, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from backend.db import db
from backend.errors import ApiError
from db.models import User


def require_role(roles: tuple[str, ...], refresh: bool = False, query_token: bool = False) -> User:
    """The signed-in user, if their role is one of `roles`; else 401/403 as ApiError.

    The token is read from the Authorization header only, or also from ?access_token= when
    `query_token` (event streams: a browser's EventSource cannot send headers). It must name the
    user's current token version: a new password, role or disabling ends every older token."""
    try:
        verify_jwt_in_request(refresh=refresh, locations=["headers", "query_string"] if query_token else ["headers"])
    except (JWTExtendedException, PyJWTError):
        raise  # answered by flask-jwt-extended's loaders (backend.auth.init_jwt)
    claims = get_jwt()
    sub, version = claims.get("sub"), claims.get("ver")
    if not (isinstance(sub, str) and sub.isdigit() and 0 < int(sub) < 2**63) or type(version) is not int:
        raise ApiError.because(401, "unauthorized", "token_revoked")
    user = db().get(User, int(sub))
    if user is None or user.disabled:
        raise ApiError.because(401, "unauthorized", "account_gone")
    if user.token_version != version:
        raise ApiError.because(401, "unauthorized", "token_revoked")
    if user.role not in roles:
        raise ApiError.because(403, "forbidden", "role_forbidden", role=user.role)
    g.user = user
    return user
