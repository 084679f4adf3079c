"""The dashboard in a real browser: Debian's Chromium driven by Playwright (no browser download),
against `livehost serve` (gunicorn) on MariaDB and Redis, with `livehost scheduler` and a
`livehost worker` running lives on the embedded default (espeak, parametric lipsync) to nginx-rtmp.
Push-to-talk's browser has a fake microphone that plays a WAV of espeak speech.
Screenshots of every page land in test-artifacts/dashboard/."""
from __future__ import annotations

import json
import os
import shutil
import urllib.request
import wave
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import pytest

from backend.resources.users import create_user
from tests.conftest import ROOT, free_port, need, wait_port
from tests.scheduler.conftest import Deployment, scratch_database

PASSWORD = "correct horse battery"
ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = [Path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")]


def api_call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"{}")


class Stack(Deployment):
    """The deployment of tests/scheduler plus the API serving the built dashboard."""

    def serve(self, transcriber_url: str = "") -> str:
        """The API; push-to-talk on when `transcriber_url` names a transcription service."""
        self.env["LIVEHOST_TRANSCRIBER_URL"] = transcriber_url
        self.port = free_port()
        self.start("serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1", log_name="api")
        wait_port(self.port, timeout=30)
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def stack(redis_server, nginx_rtmp, avatars_dir, tmp_path):
    need((ROOT / "frontend" / "dist" / "index.html").is_file(),
         "the dashboard is not built (make setup with npm, or cd frontend && npm ci && npm run build)")
    with scratch_database("livehost_e2e") as database:
        s = Stack(database, redis_server.url, nginx_rtmp, avatars_dir, tmp_path)
        with database.sessions() as db:
            create_user(db, "admin", PASSWORD, "admin")
            db.commit()
        yield s
        s.stop_all()


@contextmanager
def chromium(*extra_args: str):
    """Debian's Chromium, headless, through Playwright."""
    exe = next((p for p in CHROMIUM if p.exists()), None) or (Path(shutil.which("chromium")) if shutil.which("chromium") else None)
    need(exe is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(exe), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-dev-shm-usage", *extra_args])
        yield b
        b.close()


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


SPOKEN = "What is the price of the green tea?"


@pytest.fixture
def spoken_wav(tmp_path) -> Path:
    """SPOKEN in espeak's voice with 1 s of silence before and 4 s after: 16 kHz mono 16-bit PCM,
    the format Chromium's fake microphone reads (it plays the file in a loop)."""
    from tests.transcriber.client import RATE, speech

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


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
