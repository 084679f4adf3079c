"""Users: admins create, list, change and remove accounts."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint
from pydantic import Field, field_validator
from sqlalchemy import select

from backend import audit
from backend.api import ADMIN, Model, Page, PageQuery, current_user, get_or_404, paginate, route
from backend.auth import USERNAME_DOC, NewPassword, UserOut, check_password, check_username, hash_password
from backend.db import db
from backend.errors import ApiError
from db.models import User

bp = Blueprint("users", __name__, url_prefix="/api/users")

Role = Literal["admin", "operator", "viewer"]


class UserIn(Model):
    username: str = Field(max_length=64, json_schema_extra=USERNAME_DOC)
    password: NewPassword
    role: Role

    _u = field_validator("username")(lambda cls, v: check_username(v))
    _p = field_validator("password")(lambda cls, v: check_password(v))


class UserPatch(Model):
    password: NewPassword | None = None
    role: Role | None = None
    disabled: bool | None = None

    _p = field_validator("password")(lambda cls, v: v if v is None else check_password(v))


def create_user(session, username: str, password: str, role: str) -> User:
    """Create a user (shared by the API and `livehost user create`); 409 if the name is taken."""
    username = check_username(username)
    if session.scalar(select(User).where(User.username == username)):
        raise ApiError.because(409, "conflict", "username_taken", username=username)
    user = User(username=username, password_hash=hash_password(check_password(password)), role=role)
    session.add(user)
    session.flush()
    return user


@route(bp, "GET", "", roles=ADMIN, query=PageQuery, response=Page[UserOut])
def list_users(query: PageQuery):
    """All users."""
    return paginate(db(), select(User).order_by(User.id), query, UserOut.model_validate)


@route(bp, "POST", "", roles=ADMIN, body=UserIn, response=UserOut, status=201)
def add_user(body: UserIn):
    """Create a user."""
    s = db()
    user = create_user(s, body.username, body.password, body.role)
    audit.record("user.create", f"user:{user.id}", username=user.username, role=user.role)
    s.commit()
    return UserOut.model_validate(user)


@route(bp, "PATCH", "/<int:user_id>", roles=ADMIN, body=UserPatch, response=UserOut)
def change_user(user_id: int, body: UserPatch):
    """Change a user's role, password or disabled flag."""
    s = db()
    user = get_or_404(s, User, user_id, "user")
    if user.id == current_user().id and (body.role not in (None, "admin") or body.disabled):
        raise ApiError.because(409, "conflict", "cannot_change_self")
    before = (user.password_hash, user.role, user.disabled)
    if body.password is not None:
        user.password_hash = hash_password(body.password)
    if body.role is not None:
        user.role = body.role
    if body.disabled is not None:
        user.disabled = body.disabled
    if (user.password_hash, user.role, user.disabled) != before:
        user.token_version += 1  # the user's tokens issued before this stop working
    audit.record("user.change", f"user:{user.id}", role=user.role, disabled=user.disabled,
                 password_changed=body.password is not None)
    s.commit()
    return UserOut.model_validate(user)


@route(bp, "DELETE", "/<int:user_id>", roles=ADMIN)
def delete_user(user_id: int):
    """Remove a user."""
    s = db()
    user = get_or_404(s, User, user_id, "user")
    if user.id == current_user().id:
        raise ApiError.because(409, "conflict", "cannot_delete_self")
    audit.record("user.delete", f"user:{user.id}", username=user.username)
    s.delete(user)
    s.commit()
