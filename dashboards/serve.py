"""``clubcrm serve``: run the Streamlit app in a child process of the same Python.

The child gets the caller's settings through the environment (with an absolute CLUBCRM_HOME, so
the working directory does not matter) and never reaches the internet: no usage statistics and
no external-IP lookup for the start-up banner.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from clubcrm.settings import Settings
from dashboards.data.overview import published_version

APP_SCRIPT = Path(__file__).resolve().with_name("app.py")
_ANY_ADDRESS = {"", "0.0.0.0", "::"}
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}


def app_url(port: int, host: str) -> str:
    """The address to open in a browser on this machine (or the one given by ``host``)."""
    name = "localhost" if host in _ANY_ADDRESS | _LOCAL_NAMES else host
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def streamlit_command(port: int, host: str) -> list[str]:
    browser_host = "localhost" if host in _ANY_ADDRESS else host
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # Set explicitly so Streamlit does not look up this machine's public IP on start-up.
        "--browser.serverAddress",
        browser_host,
        "--browser.serverPort",
        str(port),
    ]


def streamlit_environment(settings: Settings) -> dict[str, str]:
    """The current environment plus every ClubCRM setting, spelled out for the child."""
    env = dict(os.environ)
    env.update(
        CLUBCRM_HOME=str(settings.home.expanduser().resolve()),
        CLUBCRM_DATABASE_URL=settings.database_url,
        CLUBCRM_LOCALE=settings.locale,
        CLUBCRM_BUYER_HORIZON_DAYS=str(settings.buyer_horizon_days),
        CLUBCRM_CHURN_HORIZON_DAYS=str(settings.churn_horizon_days),
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
    )
    return env


def serve(settings: Settings, port: int, host: str) -> None:
    """Print the address, then run Streamlit until Ctrl+C (or SIGTERM, passed on to it)."""
    print(f"ClubCRM is running at {app_url(port, host)}", flush=True)
    if not published_version(settings):
        print(
            "The dashboards stay empty until a warehouse is published: run `clubcrm pipeline run`.",
            flush=True,
        )
    print("Press Ctrl+C to stop.", flush=True)
    process = subprocess.Popen(streamlit_command(port, host), env=streamlit_environment(settings))

    def pass_on(signum: int, _frame: object) -> None:
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, pass_on)
    try:
        try:
            code = process.wait()
        except KeyboardInterrupt:  # Streamlit got the same Ctrl+C and is shutting down
            try:
                code = process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        raise SystemExit(code)
