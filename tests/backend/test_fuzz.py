"""Property-based fuzzing of every operation in /api/openapi.json with schemathesis: whatever is
sent, signed in as an admin, the API never answers 5xx and its answers match its own document
(documented status codes, content types and response bodies).

Bounded: LIVEHOST_FUZZ_EXAMPLES examples per operation and mode (valid and invalid input; default
30, about a minute on two cores). Raise it for a longer hunt, e.g. LIVEHOST_FUZZ_EXAMPLES=300."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
from flask_jwt_extended import create_access_token
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, ignored_auth, not_a_server_error,
                                 response_schema_conformance, status_code_conformance)

from backend import create_app
from backend.openapi import build
from backend.resources.users import create_user
from backend.settings import ApiSettings
from db.migrate import upgrade_to_head

EXAMPLES = int(os.environ.get("LIVEHOST_FUZZ_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          ignored_auth]


def settings_for(folder: Path, **overrides) -> ApiSettings:
    key = uuid.uuid4().hex
    return ApiSettings(**{**dict(database_url=f"sqlite:///{folder / 'fuzz.db'}", var_dir=folder / "var",
                                 avatars_dir=folder / "avatars", testing=True, jwt_secret="fuzz-" + key * 2,
                                 data_key="data-" + key, login_limit="1000000 per minute"), **overrides})


# Left out: event streams (below) and the rooms' test push, which sends media for seconds to
# whatever server a fuzzed room names (tests/backend/test_test_push.py covers it).


def is_event_stream(op: dict) -> bool:
    """Server-Sent Events endpoints never end: a WSGI test client would wait for ever."""
    return any("text/event-stream" in (r.get("content") or {}) for r in op.get("responses", {}).values())


def operations() -> list[str]:
    """'METHOD /path' of every documented operation (read from a throw-away app at collection)."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings_for(Path(folder)))
        try:
            doc = build(app)
        finally:
            app.extensions["livehost.db"].dispose()
    return [f"{method.upper()} {path}" for path, ops in doc["paths"].items() for method, op in ops.items()
            if not is_event_stream(op) and not path.endswith("/test-push")]


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """The app on a fresh SQLite file (in-process token store and control bus), with one admin."""
    folder = tmp_path_factory.mktemp("fuzz")
    settings = settings_for(folder)
    upgrade_to_head(settings.database_url)
    app = create_app(settings)
    with app.extensions["livehost.db"].sessions() as s:
        app.fuzz_admin = create_user(s, "fuzz_admin", "correct horse battery", "admin")
        s.commit()
    yield app
    app.extensions["livehost.db"].dispose()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)


def bearer(app) -> str:
    """A fresh admin token per request: a fuzzed POST /api/auth/logout revokes the one it was sent with."""
    admin = app.fuzz_admin
    with app.app_context():
        return "Bearer " + create_access_token(str(admin.id), additional_claims={
            "role": admin.role, "username": admin.username})


@pytest.mark.parametrize("operation", operations())
def test_operation_never_answers_5xx_and_keeps_to_its_schema(operation, api_schema, fuzz_app):
    method, path = operation.split(" ", 1)
    found = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        @given(case=api_schema[path][method].as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck), print_blob=False)
        def check(case):
            case.call_and_validate(headers={"Authorization": bearer(fuzz_app)}, checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # nothing to vary (no parameters, no body): no invalid input exists
            assert mode is GenerationMode.NEGATIVE
        except (AssertionError, BaseExceptionGroup) as e:
            found.append(f"--- {mode.value} input:\n{e}")
    assert not found, f"{operation}:\n" + "\n".join(found)
