"""Declaring endpoints: one decorator does the role check, validates input with pydantic and
records what the OpenAPI document says about the endpoint, so code and document cannot drift.

    @route(bp, "POST", "/rooms", roles=OPERATE, body=RoomIn, response=RoomOut, status=201)
    def create_room(body: RoomIn): ...
"""
from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable, Generic, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from backend.errors import ApiError, not_found
from backend.roles import require_role

ANYONE = ("admin", "operator", "viewer")  # signed in, any role
OPERATE = ("admin", "operator")
ADMIN = ("admin",)
PUBLIC = None
MAX_ID = 2**63 - 1  # ids are positive and fit 64 bits; others 404 before reaching the database
INT_MIN, INT_MAX = -2**31, 2**31 - 1  # every integer of a request fits a signed 32-bit column

T = TypeVar("T")


class Model(BaseModel):
    """Base of request bodies and queries: unknown fields are refused, strings are stripped (and
    must be valid Unicode: pydantic refuses a lone surrogate). An integer field takes what JSON
    Schema calls an integer, 2 or 2.0, but in a JSON body never "2" or true; and it lies in
    INT_MIN..INT_MAX as well as in its own bounds, so that no value overflows a column. The
    OpenAPI document says the same (backend.resources.openapi.RequestSchema)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _json_integer(cls, value: Any, info: ValidationInfo) -> Any:
        if not _takes_int(cls.model_fields[info.field_name].annotation):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, (str, bool)) and (info.context or {}).get("json"):  # a query's are all strings
            raise PydanticCustomError("int_type", "Input should be a valid integer")
        return value

    @field_validator("*")
    @classmethod
    def _fits_32_bits(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if value > INT_MAX:
                raise PydanticCustomError("less_than_equal", "Input should be less than or equal to {le}",
                                          {"le": INT_MAX})
            if value < INT_MIN:
                raise PydanticCustomError("greater_than_equal", "Input should be greater than or equal to {ge}",
                                          {"ge": INT_MIN})
        return value


def _takes_int(annotation: Any) -> bool:
    """`annotation` is int, or int or None (possibly Annotated), and nothing else: not a float."""
    if annotation is int:
        return True
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _takes_int(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return len(kinds) == 1 and _takes_int(kinds[0])
    return False


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
    media: str | tuple[str, ...] | None = None
    refresh: bool = False
    form: dict[str, dict] | None = None


def route(bp: Blueprint, method: str, rule: str, *, roles: tuple[str, ...] | None,
          body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
          response: Any = None, status: int = 200, summary: str = "",
          multipart: bool = False, stream: bool = False, errors: dict[int, str] | None = None,
          media: str | tuple[str, ...] | None = None, refresh: bool = False,
          form: dict[str, dict] | None = None) -> Callable:
    """Register `fn` on `bp` for METHOD rule. `roles` None means public; otherwise a signed-in
    user with one of `roles` (403 for another role, 401 without a valid token; with `refresh`, the
    Bearer token is a refresh token, not an access token). `errors` documents
    statuses beyond those every operation of its kind may answer (see backend.openapi). `media`
    names a non-JSON response type (e.g. audio/wav), or the types it may be; `stream` marks
    Server-Sent Events. `form`: a multipart body's fields, as JSON Schema properties (all required;
    without it, an avatar upload's).
    An `<int:x>` in the rule is an id: outside 1..MAX_ID it answers 404 without a query."""

    def decorate(fn: Callable) -> Callable:
        op = Operation(method, summary or (fn.__doc__ or "").strip().split("\n")[0], roles, body,
                       query, response, status, multipart, stream, dict(errors or {}), media, refresh, form)

        @wraps(fn)
        def view(**kwargs):
            if roles is not None:
                require_role(roles, refresh=refresh, query_token=stream)
            for name, value in kwargs.items():
                if isinstance(value, int) and not 0 < value <= MAX_ID:
                    raise ApiError(404, "not_found", f"{name.removesuffix('_id')} {value} does not exist")
            if body is not None:
                kwargs["body"] = parse(body, _json_body(), "body", json=True)
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
    bad = _not_unicode(data)
    if bad is not None:  # a \ud800 escape: no database column can store it
        loc = ".".join(bad) or "body"
        message = "Input should be a valid string, unable to parse raw data as a unicode string"
        raise ApiError(422, "invalid", f"{loc}: {message}", {loc: message},
                       field_reasons={loc: {"reason": "string_unicode", "params": {}}})
    return data


def _not_unicode(data: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in parsed JSON `data` a string holds a lone surrogate, which no UTF-8 text can (for
    a key, the object holding it); None when none does. Its nesting is bounded (backend.limits)."""
    if isinstance(data, str):
        return None if _encodes(data) else path
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if isinstance(key, str) and not _encodes(key):
            return path
        found = _not_unicode(value, (*path, str(key)))
        if found is not None:
            return found
    return None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse(model: type[BaseModel], data: Any, where: str, json: bool = False) -> BaseModel:
    """Validate `data` (parsed from a JSON body when `json`) against `model`, or answer 422 naming
    each bad field."""
    try:
        return model.model_validate(data, context={"json": json})
    except ValidationError as e:
        fields, reasons = {}, {}
        for err in e.errors():
            loc = ".".join(str(p) for p in err["loc"]) or where
            fields.setdefault(loc, _message(err))
            reasons.setdefault(loc, {"reason": err["type"], "params": _jsonable(err.get("ctx") or {})})
        first = next(iter(fields.items()))
        raise ApiError(422, "invalid", f"{first[0]}: {first[1]}", fields, field_reasons=reasons) from None


def _jsonable(ctx: dict) -> dict:
    return {k: v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
            for k, v in ctx.items() if k != "error"}


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


def multipart_form(fields: str, too_large: str | None = None) -> tuple[FileStorage | None, MultiDict]:
    """The uploaded `file` (None when missing) and the other fields of a multipart request: 415 naming
    `fields` when it is not one, 413 saying `too_large` (else the app's upload limit) when it is bigger."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "unsupported_media_type", f"send multipart/form-data with {fields}")
    try:
        return request.files.get("file"), request.form
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        raise ApiError(413, "too_large", too_large or f"uploads are limited to {limit / 1e6:g} MB") from None


def get_or_404(session, model, ident: int, what: str):
    """The row `ident` of `model`, or a 404 saying which `what` does not exist."""
    row = session.get(model, ident)
    if row is None:
        raise not_found(what, ident)
    return row
