"""The Accounts page (AppTest): admins manage staff accounts in both languages; others are
refused."""

from __future__ import annotations

from smallclub import ACCOUNTS, click, open_page
from streamlit.testing.v1 import AppTest

from clubcrm.settings import Settings
from operational.db import session_scope
from operational.services.accounts import authenticate
from operational.services.common import Actor, ServiceError


def _table(page: AppTest, column: str):
    return next(df.value for df in page.dataframe if column in df.value.columns)


def _sign_in(settings: Settings, username: str, password: str):
    with session_scope(settings.database_url) as session:
        try:
            return authenticate(session, username, password)
        except ServiceError as refusal:
            return refusal


def test_only_admins_open_the_accounts_page(small_club: Settings) -> None:
    for role in ("staff", "manager", "analyst"):
        page = open_page("accounts", role=role, locale="en_US")
        assert not page.exception
        assert "may not open this page" in page.error[0].value
        assert not page.dataframe


def test_an_admin_sees_every_account_with_role_and_status(small_club: Settings) -> None:
    page = open_page("accounts", role="admin", locale="en_US")
    assert not page.exception
    table = _table(page, "Username").set_index("Username")
    assert set(table.index) >= {name for name, _ in ACCOUNTS.values()}
    assert table.loc["analyst", "Role"] == "Analyst"
    assert table.loc["clerk", "Status"] == "Active"


def test_a_new_account_gets_a_generated_password_shown_once(small_club: Settings) -> None:
    page = open_page("accounts", role="admin", locale="en_US")
    page.text_input(key="accounts_new_username").input("newbie")
    page.text_input(key="accounts_new_display_name").input("New Person")
    page.selectbox(key="accounts_new_role").set_value("analyst")
    page = click(page, "Create account")
    assert not page.exception
    assert page.success[0].value == "Account newbie created."
    password = page.code[0].value
    assert _sign_in(small_club, "newbie", password) == Actor("newbie", "analyst")
    page = page.run()  # shown once only
    assert not page.code
    assert "newbie" in list(_table(page, "Username")["Username"])


def test_a_short_password_and_a_taken_username_are_refused_in_chinese(
    small_club: Settings,
) -> None:
    page = open_page("accounts", role="admin")
    page.text_input(key="accounts_new_username").input("clerk")
    page.text_input(key="accounts_new_display_name").input("重复")
    page.text_input(key="accounts_new_password_input").input("short")
    page = click(page, "新建账号")
    assert not page.exception
    error = page.error[0].value
    assert "用户名：“clerk”已被使用。" in error
    assert "密码：太短：至少 8 个字符。" in error


def test_an_admin_disables_an_account_and_cannot_disable_themselves(small_club: Settings) -> None:
    page = open_page("accounts", role="admin", locale="en_US")
    page.selectbox(key="accounts_pick").set_value("clerk")
    page = page.run()
    page.button(key="accounts_disable_clerk").click()
    page = page.run()
    assert page.success[0].value == "Account clerk disabled; it can no longer sign in."
    assert _table(page, "Username").set_index("Username").loc["clerk", "Status"] == "Disabled"
    assert _sign_in(small_club, "clerk", ACCOUNTS["staff"][1]).code == "inactive"

    page.selectbox(key="accounts_pick").set_value("admin")
    page = page.run()
    page.button(key="accounts_disable_admin").click()
    page = page.run()
    assert "may not disable or demote your own account" in page.error[0].value


def test_a_locked_account_is_unlocked_and_its_password_reset_in_chinese(
    small_club: Settings,
) -> None:
    for _ in range(5):
        _sign_in(small_club, "analyst", "wrong-password")
    page = open_page("accounts", role="admin")
    assert _table(page, "用户名").set_index("用户名").loc["analyst", "状态"] == "已锁定"
    page.selectbox(key="accounts_pick").set_value("analyst")
    page = page.run()
    page.button(key="accounts_unlock_analyst").click()
    page = page.run()
    assert page.success[0].value == "已解除账号 analyst 的锁定。"
    assert _sign_in(small_club, "analyst", ACCOUNTS["analyst"][1]) == Actor("analyst", "analyst")

    page.selectbox(key="accounts_pick").set_value("analyst")
    page = page.run()
    page.text_input(key="accounts_reset_password_analyst").input("chosen-password-7")
    page = click(page, "重设密码")
    assert page.success[0].value == "已重设账号 analyst 的密码，锁定同时解除。"
    assert not page.code  # a password the admin typed is not echoed back
    assert _sign_in(small_club, "analyst", "chosen-password-7") == Actor("analyst", "analyst")


def test_a_role_change_is_saved(small_club: Settings) -> None:
    page = open_page("accounts", role="admin", locale="en_US")
    page.selectbox(key="accounts_pick").set_value("clerk")
    page = page.run()
    page.selectbox(key="accounts_role_pick_clerk").set_value("reviewer")
    page = click(page, "Change role")
    assert page.success[0].value == "clerk is now Reviewer, from their next sign-in."
    assert _sign_in(small_club, "clerk", ACCOUNTS["staff"][1]) == Actor("clerk", "reviewer")
