"""Declaring endpoints: one decorator does the role check, validates input with pydantic and
records what the OpenAPI document says about the endpoint, so code and document cannot drift.

    @route(bp, "POST", "/rooms", roles=OPERATE, body=RoomIn, response=RoomOut, status=201)
    def create_room(body: RoomIn): ...
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Generic, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, select

from backend.errors import ApiError, not_found
from backend.roles import require_role

ANYONE = ("admin", "operator", "viewer")  # signed in, any role
OPERATE = ("admin", "operator")
ADMIN = ("admin",)
PUBLIC = None
MAX_ID = 2**63 - 1  # ids are positive and fit 64 bits; others 404 before reaching the database

T = TypeVar("T")


class Model(BaseModel):
    """Base of request bodies: unknown fields are refused, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int


class PageQuery(Model):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)


@dataclass
class Operation:
    method: str
    summary: str
    roles: tuple[str, ...] | None
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    multipart: bool
    stream: bool
    errors: dict[int, str]
    media: str | None = None


def route(bp: Blueprint, method: str, rule: str, *, roles: tuple[str, ...] | None,
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          response: Any = None, status: int = 200, summary: str = "",
          multipart: bool = False, stream: bool = False, errors: dict[int, str] | None = None,
          media: str | None = None) -> Callable:
    """Register `fn` on `bp` for METHOD rule. `roles` None means public; otherwise a signed-in
    user with one of `roles` (403 for another role, 401 without a valid token). `errors` documents
    statuses beyond those every operation of its kind may answer (see backend.openapi). `media`
    names a non-JSON response type (e.g. audio/wav); `stream` marks Server-Sent Events.
    An `<int:x>` in the rule is an id: outside 1..MAX_ID it answers 404 without a query."""

    def decorate(fn: Callable) -> Callable:
        op = Operation(method, summary or (fn.__doc__ or "").strip().split("\n")[0], roles, body,
                       query, response, status, multipart, stream, dict(errors or {}), media)

        @wraps(fn)
        def view(**kwargs):
            if roles is not None:
                require_role(roles)
            for name, value in kwargs.items():
                if isinstance(value, int) and not 0 < value <= MAX_ID:
                    raise ApiError(404, "not_found", f"{name.removesuffix('_id')} {value} does not exist")
            if body is not None:
                kwargs["body"] = parse(body, _json_body(), "body")
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict(), "query")
            return render(fn(**kwargs), status)

        view.livehost_op = op  # read by the OpenAPI generator
        bp.add_url_rule(rule, fn.__name__, view, methods=[method])
        return view

    return decorate


def _json_body() -> Any:
    if not request.is_json and (request.content_length or request.data):
        raise ApiError(415, "unsupported_media_type", "send JSON with Content-Type: application/json")
    if not request.data:
        raise ApiError(400, "bad_request", "a JSON body is required")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "bad_request", "the body is not valid JSON")
    return data


def parse(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    """Validate `data` against `model`, or answer 422 naming each bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        fields = {}
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"]) or where
            fields.setdefault(loc, _message(err))
        first = next(iter(fields.items()))
        raise ApiError(422, "invalid", f"{first[0]}: {first[1]}", fields) from None


def _message(err: dict) -> str:
    msg = err["msg"]
    return msg[len("Value error, "):] if msg.startswith("Value error, ") else msg


def render(result: Any, status: int) -> Response | tuple:
    """A view's return value as a response: a model, dict or list as JSON, None as 204,
    (value, status) to override the status."""
    if isinstance(result, tuple):
        return render(result[0], result[1])
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status=204)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return jsonify(result), status


def current_user():
    """The signed-in user of this request (set by the role check)."""
    return g.user


def paginate(session, stmt, query: PageQuery, item: Callable[[Any], BaseModel]) -> dict:
    """One page of `stmt`'s rows, each turned into a model by `item` (e.g. UserOut.model_validate)."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.scalars(stmt.limit(query.per_page).offset((query.page - 1) * query.per_page)).all()
    return {"items": [item(r).model_dump(mode="json") for r in rows],
            "page": query.page, "per_page": query.per_page, "total": total}


def get_or_404(session, model, ident: int, what: str):
    """The row `ident` of `model`, or a 404 saying which `what` does not exist."""
    row = session.get(model, ident)
    if row is None:
        raise not_found(what, ident)
    return row
