"""The OpenAPI document (and the dashboard's types generated from it) is the same in every process,
whatever Python's hash seed: CI compares it with the committed types in a fresh process."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

from tests.helpers.process import ROOT

PRINT_DIGEST = "import hashlib; from backend.openapi import document; print(hashlib.sha256(document().encode()).hexdigest())"


def digest_with_hash_seed(seed: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    run = subprocess.run([sys.executable, "-c", PRINT_DIGEST], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_openapi_document_does_not_depend_on_the_hash_seed():
    digests = {digest_with_hash_seed(seed) for seed in (1, 2, 3, 4)}
    assert len(digests) == 1, "the OpenAPI document differs between processes (a set or dict order leaks into it)"
    assert all(len(d) == len(hashlib.sha256().hexdigest()) for d in digests)
