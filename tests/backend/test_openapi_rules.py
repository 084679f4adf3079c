"""The OpenAPI document states the rules the server applies (issue 18's probe): the bounds of every
integer, the shape of a username, a password and a push URL, which token each operation needs; and
a path the API does not have is a JSON 404, never a redirect built from the Host header."""
from __future__ import annotations

import re

import pytest

from backend import create_app
from backend.api import INT_MAX, INT_MIN
from backend.settings import ApiSettings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("doc")
    app = create_app(ApiSettings.from_env(env={}, database_url=f"sqlite:///{folder / 'doc.db'}", var_dir=folder,
                                          testing=True))
    yield app
    app.extensions["livehost.db"].dispose()


@pytest.fixture(scope="module")
def doc(app):
    return app.test_client().get("/api/openapi.json").get_json()


def body_schema(doc: dict, method: str, path: str) -> dict:
    ref = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.split("/")[-1]]


def request_integers(doc: dict):
    """(where, schema) of every integer a request body or query may hold."""
    def walk(schema, where):
        if isinstance(schema, dict):
            if "$ref" in schema:
                yield from walk(doc["components"]["schemas"][schema["$ref"].split("/")[-1]], where)
            if schema.get("type") == "integer":
                yield where, schema
            for key, sub in schema.items():
                if key != "$ref":
                    yield from walk(sub, f"{where}.{key}")
        elif isinstance(schema, list):
            for i, sub in enumerate(schema):
                yield from walk(sub, f"{where}.{i}")

    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p["in"] == "query":
                    yield from walk(p["schema"], f"{method.upper()} {path} ?{p['name']}")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield from walk(body["schema"], f"{method.upper()} {path}")


def test_every_integer_of_a_request_is_documented_within_32_bits(doc):
    found = list(request_integers(doc))
    assert len(found) >= 5
    for where, schema in found:
        assert INT_MIN <= schema.get("minimum", schema.get("exclusiveMinimum")) <= INT_MAX, where
        assert INT_MIN <= schema.get("maximum", schema.get("exclusiveMaximum")) <= INT_MAX, where
    loop = body_schema(doc, "post", "/api/scripts")["properties"]["loop"]
    assert (loop["minimum"], loop["maximum"]) == (0, INT_MAX)


def test_usernames_passwords_and_push_urls_are_documented_as_checked(doc):
    user = body_schema(doc, "post", "/api/users")["properties"]
    assert re.fullmatch(user["username"]["pattern"], "Anna_01") and not re.search(user["username"]["pattern"], "an")
    assert (user["password"]["minLength"], user["password"]["maxLength"]) == (8, 128)
    pattern = user["password"]["pattern"]
    assert re.search(pattern, "correct horse") and not re.search(pattern, " correct horse")
    url = body_schema(doc, "post", "/api/rooms")["properties"]["server_url"]["pattern"]
    assert re.search(url, "rtmp://live-push.bilivideo.com/live-bvc/")
    assert re.search(url, "rtmps://live.example.com:443/app")
    for bad in ("http://example.com/live", "rtmp://", "rtmp://host/app?key=1", "rtmp://host /app"):
        assert not re.search(url, bad), bad


def test_refresh_needs_the_refresh_token_as_bearer(doc):
    refresh = doc["paths"]["/api/auth/refresh"]["post"]
    assert refresh["security"] == [{"bearer": []}] and "refresh" in refresh["responses"]["401"]["description"]
    assert "security" not in doc["paths"]["/api/auth/login"]["post"]


def test_a_doubled_slash_is_a_json_404_not_a_redirect(app):
    client = app.test_client()
    for path in ("/api//health", "/api/health/", "/api//rooms//1"):
        r = client.get(path, headers={"Host": "evil.example.com"})
        assert r.status_code == 404 and r.is_json, (path, r.status_code)
        assert "Location" not in r.headers and b"evil.example.com" not in r.data
    assert client.get("/api/health").status_code in (200, 503)


def test_the_upload_states_the_pixel_limits(doc):
    upload = doc["paths"]["/api/avatars"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert "at most 8192 pixels a side and 50 megapixels" in upload["properties"]["file"]["description"]
    assert "422" in doc["paths"]["/api/avatars"]["post"]["responses"]


def test_a_string_checked_after_stripping_is_documented_without_spaces_at_its_ends(doc):
    name = body_schema(doc, "post", "/api/rooms")["properties"]["name"]
    assert name["minLength"] == 1
    for ok in ("a", "Room 1", "主播间"):
        assert re.search(name["pattern"], ok), ok
    for bad in (" ", " a", "a\t", "\x1c"):  # stripped to less than what minLength says
        assert not re.search(name["pattern"], bad), bad
    settings = doc["components"]["schemas"]["RoomSettings"]["properties"]["keyword_replies"]
    assert "patternProperties" not in settings and settings["propertyNames"]["pattern"] == name["pattern"]
