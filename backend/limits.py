"""Bounds on what one request may send, checked before a view or a parser sees it.

- A body is read through a bounded stream whatever its transfer encoding: a chunked body over
  the limit (max_body_bytes, or max_upload_bytes for multipart uploads) is a 413 once the limit
  is passed, without reading the rest.
- A JSON body nested deeper than MAX_JSON_DEPTH is a 400 before any recursive parser runs (the
  brackets are counted on the raw bytes, outside strings).
"""
from __future__ import annotations

import re

import numpy as np
from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

from backend.errors import ApiError
from backend.settings import ApiSettings

MAX_JSON_DEPTH = 32  # no request model nests deeper than a few levels

_ESCAPE = re.compile(rb"\\.", re.DOTALL)  # removed first, so that a string is quote, non-quotes, quote
_STRING = re.compile(rb'"[^"]*"')
_STEP = np.zeros(256, np.int8)  # +1 for a byte that opens an array or an object, -1 for one that closes it
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


def json_depth(body: bytes) -> int:
    """How deeply JSON text `body` nests arrays and objects (brackets in strings do not count).
    Linear in the length of `body`, and never recursive."""
    skeleton = _STRING.sub(b"", _ESCAPE.sub(b"", body))
    steps = _STEP[np.frombuffer(skeleton, np.uint8)]
    return int(np.cumsum(steps, dtype=np.int64).max(initial=0))


def limit_request_bodies(app: Flask, settings: ApiSettings) -> None:
    """Check every request's body against `settings` before its view runs."""

    @app.before_request
    def _bounded_body():
        if request.mimetype == "multipart/form-data":
            return  # an upload: the app's MAX_CONTENT_LENGTH (max_upload_bytes) bounds it
        limit = settings.max_body_bytes
        # werkzeug's LimitedStream stops at this many bytes: one more than allowed tells a body
        # over the limit from one at it (a stream without Content-Length is only known by reading)
        request.max_content_length = limit + 1
        if not request.is_json:
            return  # refused by the view that reads it (415), the stream bounded all the same
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge:  # its Content-Length says so
            body = None
        if body is None or len(body) > limit:
            raise ApiError.because(413, "too_large", "body_too_large", limit=limit)
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ApiError.because(400, "bad_request", "json_too_deep", limit=MAX_JSON_DEPTH)
