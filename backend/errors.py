"""Errors as JSON with one stable shape:

    {"error": {"code", "message", "reason"?, "params"?, "fields"?, "field_reasons"?}}

`code` is the kind of failure (conflict, invalid, ...); `reason` names the precise one from
REASONS and `params` its values, so the dashboard can word it in the user's language (times as
ISO 8601 UTC, for it to show in local time). `message` is the English wording of the same, for
API users and logs. `fields` maps a field to its English message, `field_reasons` to its
{"reason", "params"} (pydantic's error type and context for validation errors).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from pydantic_core import PydanticCustomError
from werkzeug.exceptions import HTTPException

log = logging.getLogger("livehost.api")

# every reason the API gives, with its English wording; frontend/src/i18n words each one too
# (tests/backend/test_error_reasons.py keeps the two in step)
REASONS: dict[str, str] = {
    "not_found": "{what} {id} does not exist",
    "in_use": "{what} {id} is used by {users}; stop or delete those first",
    "room_busy": "room {room} is in use by session {session}: a test push would cut into it",
    "session_ended": "session {session} has ended ({status}); it takes no more commands",
    "live_exists": "room {room} already has session {session} ({status}); stop it first",
    "schedule_overlap": "overlaps schedule {schedule} of room {room} ({repeat}, {start} to {end}): "
                        "both would run at {at}",
    "schedule_in_past": "the schedule ends at {end}, which has already passed",
    "username_taken": "user {username} already exists",
    "cannot_change_self": "you cannot demote or disable yourself",
    "cannot_delete_self": "you cannot delete yourself",
    "avatar_preparing": "avatar {id} is still being prepared; wait until it is ready or has failed",
    "no_thumbnail": "avatar {id} has no thumbnail yet (status: {status})",
    "wrong_credentials": "wrong username or password",
    "token_revoked": "the token was revoked; sign in again",
    "account_gone": "this account no longer exists or is disabled",
    "role_forbidden": "a {role} may not do this",
    "redis_unavailable": "the control bus (Redis) is unreachable; try again",
    "body_too_large": "request bodies are limited to {limit} bytes",
    "json_too_deep": "the JSON body is nested too deep (more than {limit} levels of arrays and objects)",
    "no_model_in_zip": "{file} holds no Live2D model: put a Cubism 3/4 *.model3.json or a Cubism 2 model.json "
                       "in the zip with its textures, motions and expressions",
    "source_too_large": "{file} is {width}x{height} pixels; the limit is {max_side} pixels a side and "
                        "{megapixels} megapixels",
    # the audience: a room's relay, a live's viewers
    "relay_token_invalid": "a valid relay token of room {room} is required (Authorization: Bearer TOKEN, "
                           "X-Livehost-Token or ?token=)",
    "relay_off": "room {room} does not take relay events: turn its relay source on first",
    "no_live": "room {room} has no live running to take the events",
    "relay_too_fast": "room {room}'s relay takes at most {limit} requests and messages; slow down",
    "relay_event": "{field}: {error}",
    "blocked_users_full": "room {room} already blocks {limit} viewers; unblock some in its settings first",
    # selling: products, copy generation
    "no_llm": "no LLM is configured: set llm_base_url and llm_model (LIVEHOST_LLM_BASE_URL, LIVEHOST_LLM_MODEL) "
              "to draft scripts",
    "llm_failed": "the LLM could not draft the script: {error}",
    # field checks (field_reasons)
    "banned_words": "banned words: {words}",
    "url_invalid": "server_url is not a valid URL",
    "url_scheme": "server_url must start with rtmp:// or rtmps://",
    "url_no_host": "server_url has no host (e.g. rtmp://live-push.example.com/live)",
    "url_plain": "server_url must be a plain rtmp:// URL without spaces, ? or #",
    "stream_key_chars": "stream_key must not contain spaces or control characters",
    "username_format": "username must be 3-20 characters: a-z, 0-9 and _",
    "password_length": "password must be 8 to 128 characters",
    "password_spaces": "password must not begin or end with a space",
    # voices and a clone's reference clip
    "voice_name_chars": "letters, digits, '_', '.' and '-' only",
    "voice_server_url": "a {engine} voice is its server's URL, e.g. http://127.0.0.1:9880",
    "no_server_params": "{engine} voices take no server parameters",
    "no_pitch": "{engine} voices have no pitch setting; leave it at 0",
    "no_speed": "{engine}'s server has no speed setting; leave the rate at 0",
    "voice_refused": "{error}",
    "clip_servers_only": "{engine} voices are not cloned from a clip; only gptsovits and cosyvoice voices are",
    "clip_unreadable": "not a sound file, or it cannot be decoded: give a WAV, MP3 or M4A clip",
    "clip_length": "the clip is {seconds} s long; a reference clip must be {low} to {high} s",
    "clip_rate": "the clip is sampled at {rate} Hz; record it at 16 kHz or more",
    "clip_silent": "no speech heard in the clip ({seconds} s above its background); record the voice speaking, "
                   "close to the microphone",
    "clip_text": "what is said in the clip, 1 to 500 characters",
    # a room's test push (its result's reason and warnings)
    "rtmp_unreachable": "cannot connect to RTMP server {host}:{port}",
    "rtmp_refused": "RTMP server {host}:{port} refused the stream",
    "rtmp_dropped": "the RTMP server dropped the stream after {seconds} s",
    "no_stream_name": "the push URL has no stream name after the application (rtmp://host/app/NAME): "
                      "give a stream key",
    "key_unreadable": "the stored stream key cannot be decrypted (has the data key changed?)",
    "no_stream_key": "this room has no stream key: the platform will refuse a stream without one",
    "secret_chars": "a credential must not contain control characters or line breaks",
    # a room's source test (its result's reason)
    "source_unreachable": "the {platform} chat cannot be read: {error}",
    "source_secrets_unreadable": "the saved credentials cannot be decrypted (has the data key changed?); "
                                 "enter them again",
}


def invalid_value(reason: str, **params: Any) -> PydanticCustomError:
    """Raise from a pydantic validator: a field error named `reason` (REASONS) with `params`.
    A ValueError, so code outside pydantic (the CLI) catches it like any other."""
    return PydanticCustomError(reason, REASONS[reason], params)


class ApiError(Exception):
    """Raise from a view to answer `status` with a clear message (and per-field details)."""

    def __init__(self, status: int, code: str, message: str, fields: dict[str, str] | None = None, *,
                 reason: str | None = None, params: dict[str, Any] | None = None,
                 field_reasons: dict[str, dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields
        self.reason, self.params, self.field_reasons = reason, params, field_reasons

    @classmethod
    def because(cls, http_status: int, code: str, reason: str, /, **params: Any) -> ApiError:
        """The error named `reason` in REASONS, its message worded from `params`."""
        return cls(http_status, code, REASONS[reason].format(**params), reason=reason, params=params)


def not_found(what: str, ident) -> ApiError:
    return ApiError.because(404, "not_found", "not_found", what=what, id=ident)


def error_response(status: int, code: str, message: str, fields: dict | None = None, *,
                   reason: str | None = None, params: dict | None = None, field_reasons: dict | None = None):
    body: dict = {"code": code, "message": message}
    if reason:
        body["reason"] = reason
        body["params"] = params or {}
    if fields:
        body["fields"] = fields
    if field_reasons:
        body["field_reasons"] = field_reasons
    return jsonify(error=body), status


_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
          422: "invalid", 429: "rate_limited"}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(e: ApiError):
        return error_response(e.status, e.code, e.message, e.fields, reason=e.reason, params=e.params,
                              field_reasons=e.field_reasons)

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
