"""``clubcrm serve``: the address first, Streamlit offline, settings passed to the app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from clubcrm.cli import main
from clubcrm.settings import Settings, get_settings
from dashboards import serve as serve_module
from dashboards.serve import app_url, streamlit_command, streamlit_environment


class _FakeProcess:
    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command, self.env = command, env

    def wait(self, timeout: float | None = None) -> int:  # noqa: ARG002
        return 0

    def send_signal(self, signum: int) -> None:  # pragma: no cover - not signalled here
        pass


def test_serve_prints_the_address_then_runs_streamlit_headless_and_offline(
    clubcrm_home: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[_FakeProcess] = []

    def fake_popen(command: list[str], env: dict[str, str]) -> _FakeProcess:
        started.append(_FakeProcess(command, env))
        return started[-1]

    monkeypatch.setattr(serve_module.subprocess, "Popen", fake_popen)
    result = CliRunner().invoke(main, ["serve", "--port", "8599"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "ClubCRM is running at http://localhost:8599"
    assert "clubcrm pipeline run" in result.output  # nothing published yet: say what to do
    (process,) = started
    command = process.command
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"]
    assert Path(command[4]) == Path(serve_module.__file__).with_name("app.py")
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert options["--server.port"] == "8599"
    assert options["--server.address"] == "0.0.0.0"
    assert options["--server.headless"] == "true"
    assert options["--browser.gatherUsageStats"] == "false"
    assert options["--browser.serverAddress"] == "localhost"  # no external-IP lookup
    assert process.env["CLUBCRM_HOME"] == str(clubcrm_home.home)
    assert process.env["CLUBCRM_DATABASE_URL"] == clubcrm_home.database_url


def test_the_app_gets_an_absolute_home_and_every_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLUBCRM_HOME", "relative-home")
    monkeypatch.setenv("CLUBCRM_LOCALE", "en_US")
    monkeypatch.setenv("CLUBCRM_CHURN_HORIZON_DAYS", "120")
    env = streamlit_environment(get_settings())
    assert env["CLUBCRM_HOME"] == str(tmp_path / "relative-home")
    assert Path(env["CLUBCRM_HOME"]).is_absolute()
    assert env["CLUBCRM_LOCALE"] == "en_US"
    assert env["CLUBCRM_CHURN_HORIZON_DAYS"] == "120"
    assert env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] == "false"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://localhost:8501"),
        ("127.0.0.1", "http://localhost:8501"),
        ("10.1.2.3", "http://10.1.2.3:8501"),
        ("::", "http://localhost:8501"),
        ("fe80::1", "http://[fe80::1]:8501"),
    ],
)
def test_the_address_printed_is_one_a_browser_can_open(host: str, url: str) -> None:
    assert app_url(8501, host) == url
    assert "--browser.serverAddress" in streamlit_command(8501, host)


def test_the_app_folder_config_keeps_streamlit_offline() -> None:
    config = (Path(serve_module.__file__).parent / ".streamlit" / "config.toml").read_text()
    assert "gatherUsageStats = false" in config
    assert "headless = true" in config
    assert "serverAddress" in config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - localhost only
        return response.status, response.read().decode("utf-8", "replace")


def test_clubcrm_serve_answers_on_its_port(clubcrm_home: Settings) -> None:
    """The real thing: `clubcrm serve` in a child process answers health and page requests."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clubcrm.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env={**os.environ, "CLUBCRM_HOME": str(clubcrm_home.home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                health = _get(f"http://127.0.0.1:{port}/_stcore/health")
                break
            except OSError:
                time.sleep(0.5)
        assert health == (200, "ok"), f"server did not answer (exit code {server.poll()})"
        status, page = _get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert "<title>Streamlit</title>" in page or "streamlit" in page.lower()
    finally:
        server.send_signal(signal.SIGTERM)  # passed on to Streamlit by `clubcrm serve`
        output, _ = server.communicate(timeout=30)
    assert output.splitlines()[0] == f"ClubCRM is running at http://localhost:{port}"
    assert server.returncode == 0, output
