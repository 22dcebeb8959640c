"""Who gets in, in chromium: the lockout after wrong passwords, an analyst querying the
warehouse on the SQL page (and refused a write), and a clerk kept off a manager's page.

The app is served on a small club of its own (``tests/dashboards/smallclub.py``: its accounts and
a hand-made published warehouse), so this module does not need the demo environment.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from screens import fill_sign_in, screenshot, settle, sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboards"))
from smallclub import (  # noqa: E402
    ACCOUNTS,
    ADMIN_PASSWORD,
    build_small_warehouse,
    seed_small_club,
)

from clubcrm.settings import get_settings  # noqa: E402
from operational.bootstrap import initialise  # noqa: E402
from operational.services.accounts import MAX_FAILED_LOGINS  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """`clubcrm serve` on a small club with a published warehouse, on a free port."""
    home = tmp_path_factory.mktemp("access-home")
    env = {
        **os.environ,
        "CLUBCRM_HOME": str(home),
        "CLUBCRM_DATABASE_URL": f"sqlite:///{home / 'operational.sqlite'}",
        "CLUBCRM_LOCALE": "zh_CN",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("CLUBCRM_HOME", "CLUBCRM_DATABASE_URL"):
            patch.setenv(name, env[name])
        settings = get_settings()
        settings.ensure_dirs()
        initialise(settings.database_url, admin_password=ADMIN_PASSWORD)
        seed_small_club(settings.database_url)
        build_small_warehouse(settings)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "clubcrm.cli", "serve", "--port", str(port), "--host", "127.0.0.1"],
        env=env,
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


def _alert(page, text: str):
    alert = page.locator("[data-testid='stAlert']").filter(has_text=text)
    alert.first.wait_for()
    return alert.first


def test_wrong_passwords_lock_the_account_even_for_the_right_one(app_url, page) -> None:
    username, password = ACCOUNTS["reviewer"]
    page.goto(app_url)
    for attempt in range(1, MAX_FAILED_LOGINS):
        fill_sign_in(page, username, f"wrong-password-{attempt}")
        _alert(page, "用户名或密码错误。")
        page.wait_for_timeout(500)  # the rerun has finished before the next attempt
    fill_sign_in(page, username, "wrong-password-last")
    _alert(page, "登录失败次数过多，账户已锁定")
    fill_sign_in(page, username, password)  # the right password: still locked
    page.wait_for_timeout(500)
    _alert(page, "登录失败次数过多，账户已锁定")
    assert page.get_by_role("button", name="退出登录").count() == 0
    screenshot(page, "access-locked")


def test_an_analyst_queries_the_warehouse_and_is_refused_a_write(app_url, page) -> None:
    page.goto(f"{app_url}/sql")
    sign_in(page, *ACCOUNTS["analyst"])
    page.get_by_role("heading", name="SQL 查询").wait_for()
    editor = page.locator("textarea").first
    editor.fill("select member_no, tier from core.dim_members order by member_no limit 3")
    page.get_by_role("button", name="执行查询").click()
    page.get_by_text("共 3 行").wait_for()
    downloads = page.locator("[data-testid='stDownloadButton']")
    downloads.first.wait_for()
    assert "下载 CSV" in downloads.first.inner_text()
    screenshot(page, "access-sql-result")

    settle(page)
    editor.fill("drop table core.dim_members")
    page.get_by_role("button", name="执行查询").click()
    refusal = _alert(page, "不允许执行 DROP 语句")
    assert "只读" in refusal.inner_text()
    screenshot(page, "access-sql-refused")


def test_a_clerk_is_kept_off_a_managers_page(app_url, page) -> None:
    page.goto(f"{app_url}/dash_members")  # a manager's bookmark
    sign_in(page, *ACCOUNTS["staff"])
    page.get_by_role("heading", name="会员总览").wait_for()  # the default page instead
    assert page.get_by_role("heading", name="会员分析").count() == 0
    navigation = page.locator("[data-testid='stSidebarNav']")
    navigation.wait_for()
    more = navigation.get_by_text("View", exact=False)
    if more.count():  # a long navigation is folded: unfold it to see every entry
        more.first.click()
        page.wait_for_timeout(500)
    links = navigation.inner_text()
    assert "会员查询" in links and "销售成交" in links  # the clerk's own pages are there ...
    for manager_page in ("会员分析", "SQL 查询", "运行状态", "账号管理"):
        assert manager_page not in links  # ... a manager's, an analyst's, an admin's are not
    screenshot(page, "access-clerk-refused")


def test_an_admin_opens_the_accounts_and_status_pages(app_url, page) -> None:
    page.goto(f"{app_url}/accounts")
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("heading", name="账号管理").first.wait_for()
    page.get_by_role("button", name="新建账号").wait_for()
    screenshot(page, "access-accounts")
    page.goto(f"{app_url}/status")
    sign_in(page, *ACCOUNTS["admin"])
    page.get_by_role("heading", name="运行状态").wait_for()
    page.get_by_text("数据新鲜程度").wait_for()  # published, though the pipeline never ran here
    screenshot(page, "access-status")
