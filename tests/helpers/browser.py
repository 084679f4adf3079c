"""The dashboard's browser for end-to-end tests: Debian's Chromium driven by Playwright (no browser
download), screenshots into test-artifacts/dashboard/, and what its fake microphone says."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.process import ROOT, need

ARTIFACTS = ROOT / "test-artifacts" / "dashboard"
CHROMIUM = [Path(p) for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")]
SPOKEN = "What is the price of the green tea?"  # what the fake microphone of push-to-talk says


@contextmanager
def chromium(*extra_args: str):
    """Debian's Chromium, headless, through Playwright."""
    exe = next((p for p in CHROMIUM if p.exists()), None) or (Path(shutil.which("chromium")) if shutil.which("chromium") else None)
    need(exe is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # the test extra; only tests that open a browser need it

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(exe), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                    "--disable-dev-shm-usage", *extra_args])
        yield b
        b.close()


def shot(page, name: str) -> None:
    """A full-page screenshot as test-artifacts/dashboard/`name`.png."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
