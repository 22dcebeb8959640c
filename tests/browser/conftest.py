"""Browser tests: the real app served by `clubcrm serve`, driven in headless Debian chromium.

Skipped, with the reason, where chromium or Playwright is missing (CI installs chromium).
Screenshots go to ``test-artifacts/screenshots/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing

import pytest
from screens import CLERK, REVIEWER, screenshot
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.services.accounts import create_account
from operational.services.common import SYSTEM

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
def app_database_url(demo_env, tmp_path_factory) -> str:
    """A copy of the demo's operational DB for the served app, with the clerk's and the
    reviewer's accounts.

    Signing in writes (last sign-in, failed attempts), and the shared demo must stay unchanged.
    """
    source = make_url(demo_env.database_url)
    assert source.get_backend_name() == "sqlite", "the demo environment uses SQLite"
    copy = tmp_path_factory.mktemp("browser-db") / "operational.sqlite"
    with closing(sqlite3.connect(source.database)) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    url = f"sqlite:///{copy}"
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        create_account(session, SYSTEM, CLERK[0], "Clerk", CLERK[1], "staff")
        create_account(session, SYSTEM, REVIEWER[0], "Reviewer", REVIEWER[1], "reviewer")
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def app_url(demo_env, app_database_url) -> Iterator[str]:
    """`clubcrm serve` on the shared demo warehouse (and a copy of its DB), on a free port."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clubcrm.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env={
            **os.environ,
            "CLUBCRM_HOME": str(demo_env.home),
            "CLUBCRM_DATABASE_URL": app_database_url,
            "CLUBCRM_LOCALE": "zh_CN",
        },
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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failing browser test, add what the page showed to the report, and save a
    screenshot ``FAILED-<test>.png``: a timeout alone does not say what the app did instead."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if report.when == "call" and report.failed else None
    if page is None:
        return
    try:
        text = page.inner_text("body", timeout=5_000)
        screenshot(page, f"FAILED-{item.name}")
    except Exception as error:  # noqa: BLE001 - the diagnosis must not hide the failure
        text = f"(could not read the page: {error})"
    report.sections.append(("what the page showed", f"{page.url}\n{text[-4000:]}"))


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()
