"""Errors as JSON with one stable shape: {"error": {"code", "message", "fields"?}}."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("livehost.api")


class ApiError(Exception):
    """Raise from a view to answer `status` with a clear message (and per-field details)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def not_found(what: str, ident) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident} does not exist")


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return jsonify(error=body), status


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid", 429: "rate_limited"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.code, e.message, e.fields)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        code = _CODES.get(e.code or 500, "error")
        message = {404: "no such endpoint", 405: "method not allowed here",
                   413: "request body too large", 429: "too many requests; slow down"}.get(
            e.code or 0, e.description or e.name)
        return error_response(e.code or 500, code, message)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal", "internal error; see the server log")
