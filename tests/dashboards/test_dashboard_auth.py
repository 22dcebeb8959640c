"""Signing in (AppTest): the form until signed in, refusals, each role's navigation, sign-out,
page-level refusals and the PII reveal under the signed-in user's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from smallclub import ACCOUNTS, signed_in
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from dashboards.auth import PAGE_ROLES, SIGNED_IN_KEY
from operational.db import make_engine
from operational.models import PiiAccessLog, StaffAccount

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"
APP = DASHBOARDS / "app.py"
MEMBERS_PAGE = str(DASHBOARDS / "views" / "members.py")
# The router is run from a one-line script outside dashboards/, as `clubcrm serve` would run it.
# (The pages live in dashboards/views/, not pages/: next to a `pages/` folder Streamlit's first
# run takes the folder's files for v1 multipage pages and runs a page without the router.)
ROUTER = f"import runpy\nrunpy.run_path({str(APP)!r}, run_name='__main__')\n"


def _router(locale: str | None = None) -> AppTest:
    app = AppTest.from_string(ROUTER, default_timeout=60)
    if locale:
        app.session_state["locale"] = locale
    return app


def _sign_in(app: AppTest, username: str, password: str) -> AppTest:
    app.text_input(key="sign_in_username").input(username)
    app.text_input(key="sign_in_password").input(password)
    app.button[0].click()  # the form's submit button
    return app.run()


def _account(settings: Settings, username: str) -> StaffAccount:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        account = session.scalars(
            select(StaffAccount).where(StaffAccount.username == username)
        ).one()
    engine.dispose()
    return account


def _page(name: str) -> str:
    # absolute: AppTest resolves page paths against the (temporary) main script's folder
    return str(DASHBOARDS / "views" / name)


def _page_paths(app: AppTest) -> set[str]:
    """The pages the navigation offers (of overview.py and members.py)."""
    paths = set()
    for name in ("overview.py", "members.py"):
        try:
            app.switch_page(_page(name))
        except ValueError:  # not a page of this navigation
            continue
        paths.add(name)
    return paths


def test_signed_out_the_app_shows_only_the_sign_in_form(small_warehouse: Settings) -> None:
    app = _router().run()
    assert not app.exception
    assert [title.value for title in app.title] == ["登录 ClubCRM"]
    assert [field.label for field in app.text_input] == ["用户名", "密码"]
    assert [button.label for button in app.button] == ["登录"]
    assert not app.metric  # nothing of the Overview
    assert not app.sidebar.button  # no sign-out button


def test_a_wrong_password_shows_the_error_and_is_counted(small_warehouse: Settings) -> None:
    app = _sign_in(_router().run(), "clerk", "not-my-password")
    assert not app.exception
    assert [error.value for error in app.error] == ["用户名或密码错误。"]
    assert app.title[0].value == "登录 ClubCRM"  # still the form
    assert SIGNED_IN_KEY not in app.session_state
    assert _account(small_warehouse, "clerk").failed_logins == 1
    # an unknown user gets the very same message
    app = _sign_in(app, "nobody", "not-my-password")
    assert [error.value for error in app.error] == ["用户名或密码错误。"]


def test_empty_fields_ask_for_both(small_warehouse: Settings) -> None:
    app = _sign_in(_router("en_US").run(), "clerk", "")
    assert [warning.value for warning in app.warning] == ["Enter your username and password."]


def test_the_right_password_opens_the_overview_with_the_user_in_the_sidebar(
    small_warehouse: Settings,
) -> None:
    app = _sign_in(_router().run(), "clerk", ACCOUNTS["staff"][1])
    assert not app.exception
    assert not app.error
    assert app.title[0].value == "会员总览"
    assert len(app.metric) == 8
    assert [md.value for md in app.sidebar.markdown] == ["当前用户：**Clerk (clerk)**"]
    assert [caption.value for caption in app.sidebar.caption] == ["角色：业务员"]
    assert [button.label for button in app.sidebar.button] == ["退出登录"]
    assert _account(small_warehouse, "clerk").last_login_at is not None


def test_five_wrong_passwords_lock_the_account_and_say_for_how_long(
    small_warehouse: Settings,
) -> None:
    app = _router("en_US").run()
    for _ in range(5):
        app = _sign_in(app, "reviewer", "wrong-password")
    (error,) = app.error
    assert "locked" in error.value and "15 minutes" in error.value
    # now even the right password is refused
    app = _sign_in(app, "reviewer", ACCOUNTS["reviewer"][1])
    assert "locked" in app.error[0].value
    assert SIGNED_IN_KEY not in app.session_state


def test_a_deactivated_account_is_refused(small_warehouse: Settings) -> None:
    engine = make_engine(small_warehouse.database_url)
    with Session(engine) as session, session.begin():
        session.scalars(
            select(StaffAccount).where(StaffAccount.username == "analyst")
        ).one().active = False
    engine.dispose()
    app = _sign_in(_router().run(), "analyst", ACCOUNTS["analyst"][1])
    assert [error.value for error in app.error] == ["该账户已停用，请联系管理员。"]


@pytest.mark.parametrize(
    ("role", "pages"),
    [
        ("staff", {"overview.py", "members.py"}),
        ("reviewer", {"overview.py", "members.py"}),
        ("admin", {"overview.py", "members.py"}),
        ("manager", {"overview.py"}),
        ("analyst", {"overview.py"}),
    ],
)
def test_each_roles_navigation_holds_only_its_pages(
    small_warehouse: Settings, role: str, pages: set[str]
) -> None:
    username, password = ACCOUNTS[role]
    app = _sign_in(_router().run(), username, password)
    assert not app.exception
    assert _page_paths(app) == pages
    for url_path in ("overview", "members"):
        assert (f"{url_path}.py" in pages) == (role in PAGE_ROLES[url_path])
    if "members.py" in pages:
        app.switch_page(_page("members.py")).run()
        assert app.title[0].value == "会员查询"


def test_signing_out_returns_to_the_form_and_forgets_the_pages_state(
    small_warehouse: Settings,
) -> None:
    app = signed_in(_router("en_US"), "staff").run()
    app.switch_page(_page("members.py")).run()
    app.text_input(key="members_query_input").input("王小明")
    app.button[0].click()
    app.run()
    assert app.subheader[0].value == "王小明 · M000001"
    app.sidebar.button(key="sign_out").click()
    app.run()
    assert app.title[0].value == "Sign in to ClubCRM"
    assert SIGNED_IN_KEY not in app.session_state
    assert "members_query" not in app.session_state
    assert app.session_state["locale"] == "en_US"  # the language stays


def test_a_page_refuses_a_role_that_may_not_open_it(small_club: Settings) -> None:
    page = signed_in(AppTest.from_file(MEMBERS_PAGE, default_timeout=30), "analyst").run()
    assert [error.value for error in page.error] == [
        "您的角色（数据分析员）无权打开此页面。请从左侧菜单选择其他页面。"
    ]
    assert not page.title and not page.text_input


def test_a_page_run_without_the_router_asks_to_sign_in_first(small_club: Settings) -> None:
    page = AppTest.from_file(MEMBERS_PAGE, default_timeout=30).run()
    assert [info.value for info in page.info] == ["请先登录。"]
    assert [title.value for title in page.title] == ["登录 ClubCRM"]  # not the Members page
    assert [field.label for field in page.text_input] == ["用户名", "密码"]
    page = _sign_in(page, "clerk", ACCOUNTS["staff"][1])
    assert [title.value for title in page.title] == ["会员查询"]


def test_full_numbers_are_shown_on_request_and_logged_under_the_signed_in_user(
    small_club: Settings,
) -> None:
    page = signed_in(AppTest.from_file(MEMBERS_PAGE, default_timeout=30), "staff").run()
    page.text_input(key="members_query_input").input("M000001")
    page.button[0].click()
    page.run()

    def profile() -> dict[str, str]:
        table = {tab.label: tab for tab in page.tabs}["基本资料"].dataframe[0].value
        return dict(zip(table["字段"], table["内容"], strict=True))

    assert profile()["身份证号"] == "110105********002X"
    page.button(key="members_reveal").click()
    page.run()
    assert not page.exception
    assert profile()["身份证号"] == "11010519491231002X"
    assert profile()["手机"] == "13800008000"
    assert "clerk" in page.caption[-1].value

    engine = make_engine(small_club.database_url)
    with Session(engine) as session:
        logged = session.execute(select(PiiAccessLog.field, PiiAccessLog.viewed_by)).all()
    engine.dispose()
    assert sorted(logged) == [("id_number", "clerk"), ("mobile", "clerk")]
