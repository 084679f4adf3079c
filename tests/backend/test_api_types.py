"""The dashboard's TypeScript types of the API (frontend/src/api/schema.d.ts, committed) are what
openapi-typescript makes of the current OpenAPI document: a change to the API that the dashboard's
types do not follow fails here."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from backend.openapi import document
from tests.helpers.process import ROOT, need

FRONTEND = ROOT / "frontend"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
COMMITTED = FRONTEND / "src" / "api" / "schema.d.ts"
FLAGS = ["--default-non-nullable", "false"]  # as in package.json's gen:api
REGENERATE = "run `cd frontend && npm run gen:api` and commit src/api/schema.d.ts"


def test_openapi_document_is_the_same_on_every_run():
    assert document() == document()


def test_committed_dashboard_api_types_match_the_openapi_document():
    need(shutil.which("node") is not None, "node is not installed (the dashboard needs Node.js 20+)")
    need(GENERATOR.exists(), "frontend/node_modules is not installed (cd frontend && npm ci)")
    script = json.loads((FRONTEND / "package.json").read_text())["scripts"]["gen:api"]
    assert " ".join(FLAGS) in script, f"package.json's gen:api and this test must use the same flags: {FLAGS}"

    run = subprocess.run([str(GENERATOR), *FLAGS], input=document(), capture_output=True, text=True,
                         cwd=FRONTEND, timeout=120)
    assert run.returncode == 0, run.stderr
    if run.stdout != COMMITTED.read_text():
        pytest.fail(f"frontend/src/api/schema.d.ts is stale (the API changed): {REGENERATE}")
