"""Browser tests: the real app served by `clubcrm serve`, driven in headless Debian chromium.

Skipped, with the reason, where chromium or Playwright is missing (CI installs chromium).
Screenshots go to ``test-artifacts/screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(demo_env) -> Iterator[str]:
    """`clubcrm serve` on the shared demo warehouse, on a free local port."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clubcrm.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env={**os.environ, "CLUBCRM_HOME": str(demo_env.home), "CLUBCRM_LOCALE": "zh_CN"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):  # noqa: S310
                break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("clubcrm serve did not answer within 60 s")
    try:
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("browser tests skipped: chromium is not installed (apt-get install chromium)")
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="browser tests skipped: playwright is not installed"
    )
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()
