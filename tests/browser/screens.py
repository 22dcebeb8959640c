"""Helpers of the browser tests: signing in, and screenshots saved under
test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from pathlib import Path

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
#: The staff account the browser tests sign in with (created in their copy of the demo DB).
CLERK = ("clerk", "clerk-password-1")
#: The reviewer account of the browser tests (created beside the clerk's).
REVIEWER = ("reviewer", "reviewer-password-1")


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def fill_sign_in(page, username: str, password: str) -> None:
    """Type into the sign-in form (Chinese labels: the served app starts in zh_CN) and submit."""
    page.get_by_role("heading", name="登录 ClubCRM").wait_for()
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()


def sign_in(page, username: str = CLERK[0], password: str = CLERK[1]) -> None:
    """Sign in through the form of the page the browser is on; wait until it is done."""
    fill_sign_in(page, username, password)
    page.get_by_role("button", name="退出登录").wait_for()
    settle(page)


#: True while Streamlit is running the script or still shows elements of the previous run.
_BUSY_JS = """() => !!document.querySelector(
    '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"],'
    + ' [data-stale="true"]')"""


def settle(page, quiet_ms: int = 600, timeout_ms: int = 30_000) -> None:
    """Wait until the app has finished its rerun: no running indicator and no stale element of
    the previous run, for ``quiet_ms`` in a row (a rerun can start just after another ends)."""
    waited = 0
    quiet = 0
    while quiet < quiet_ms:
        if waited > timeout_ms:
            raise TimeoutError(f"the app was still busy after {timeout_ms} ms")
        busy = page.evaluate(_BUSY_JS)
        quiet = 0 if busy else quiet + 100
        page.wait_for_timeout(100)
        waited += 100
