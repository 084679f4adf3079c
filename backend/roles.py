"""The role check of every signed-in endpoint (backend.api.route runs it): the user of the
request's JWT, refused unless their role is one of the endpoint's."""
from __future__ import annotations

from flask import g
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_jwt_extended.exceptions import JWTExtendedException
from jwt import PyJWTError

from backend.db import db
from backend.errors import ApiError
from db.models import User


def require_role(roles: tuple[str, ...], refresh: bool = False) -> User:
    """The signed-in user, if their role is one of `roles`; else 401/403 as ApiError."""
    try:
        verify_jwt_in_request(refresh=refresh, locations=["headers"] if refresh else None)
    except (JWTExtendedException, PyJWTError):
        raise  # answered by flask-jwt-extended's loaders (backend.auth.init_jwt)
    user = db().get(User, int(get_jwt_identity()))
    if user is None or user.disabled:
        raise ApiError(401, "unauthorized", "this account no longer exists or is disabled")
    if user.role not in roles:
        raise ApiError(403, "forbidden", f"a {user.role} may not do this")
    g.user = user
    return user
