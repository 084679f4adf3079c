"""The dashboard in a real browser: Debian's Chromium driven by Playwright (no browser download),
against `livehost serve` (gunicorn) on MariaDB and Redis, with `livehost scheduler` and a
`livehost worker` running lives on the embedded default (espeak, parametric lipsync) to nginx-rtmp.
Push-to-talk's browser has a fake microphone that plays a WAV of espeak speech.
Screenshots of every page land in test-artifacts/dashboard/."""
from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np
import pytest

from backend.resources.users import create_user
from tests.helpers.api import PASSWORD
from tests.helpers.browser import SPOKEN, chromium
from tests.helpers.databases import scratch_database
from tests.helpers.deployment import Deployment
from tests.helpers.process import ROOT, need
from tests.helpers.speech import RATE, speech


@pytest.fixture
def stack(redis_server, nginx_rtmp, avatars_dir, tmp_path):
    """A deployment (tests/helpers/deployment.py) with an admin user, whose `serve()` starts the API
    serving the built dashboard."""
    need((ROOT / "frontend" / "dist" / "index.html").is_file(),
         "the dashboard is not built (make setup with npm, or cd frontend && npm ci && npm run build)")
    with scratch_database("livehost_e2e") as database:
        s = Deployment(database, redis_server.url, nginx_rtmp, avatars_dir, tmp_path)
        with database.sessions() as db:
            create_user(db, "admin", PASSWORD, "admin")
            db.commit()
        yield s
        s.stop_all()


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def spoken_wav(tmp_path) -> Path:
    """SPOKEN in espeak's voice with 1 s of silence before and 4 s after: 16 kHz mono 16-bit PCM,
    the format Chromium's fake microphone reads (it plays the file in a loop)."""
    samples = np.concatenate([np.zeros(RATE, np.float32), speech(SPOKEN), np.zeros(4 * RATE, np.float32)])
    path = tmp_path / "spoken.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path.resolve()  # Chromium reads the fake file by absolute path only


@pytest.fixture
def browser_with_microphone(spoken_wav):
    """Chromium whose microphone plays `spoken_wav`, permission granted without asking."""
    with chromium("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={spoken_wav}") as b:
        yield b


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
