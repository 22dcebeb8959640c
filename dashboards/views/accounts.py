"""Staff accounts (账号管理): admins create accounts, change roles, disable and enable them,
reset passwords and lift lockouts.

Admins only. Every rule is in ``operational.services.accounts`` (password length, known roles,
nobody disables or demotes themselves, the last active admin stays). A generated password is
shown once, right after the reset or creation, and never stored anywhere but as its hash.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import format_datetime, t
from operational.db import session_scope
from operational.models.reference import ROLES
from operational.services import accounts
from operational.services.accounts import AccountRow
from operational.services.common import ServiceError

FLASH_KEY = "accounts_flash"
PASSWORD_FLASH_KEY = "accounts_new_password"
PICK_KEY = "accounts_pick"


def _status(row: AccountRow, now: datetime) -> str:
    if not row.active:
        return t("accounts.status.disabled")
    if row.locked(now):
        return t("accounts.status.locked")
    return t("accounts.status.active")


def _role_labels() -> dict[str, str]:
    """Role code -> label, built while the page runs (a lambda calling ``t`` later would not
    know the reader's language)."""
    return {code: t(f"role.{code}") for code in ROLES}


def _frame(rows: list[AccountRow], now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("accounts.col.username"): [r.username for r in rows],
            t("accounts.col.display_name"): [r.display_name for r in rows],
            t("accounts.col.role"): [t(f"role.{r.role}") for r in rows],
            t("accounts.col.department"): [r.department or "" for r in rows],
            t("accounts.col.status"): [_status(r, now) for r in rows],
            t("accounts.col.last_login"): [format_datetime(r.last_login_at) for r in rows],
            t("accounts.col.locked_until"): [
                format_datetime(r.locked_until) if r.locked(now) else "" for r in rows
            ],
        }
    )


def _run(action, *args) -> bool:
    """Run one service call in its own transaction; show a refusal and return False."""
    try:
        with session_scope(get_settings().database_url) as session:
            action(session, actor, *args)
    except ServiceError as refusal:
        show_error(refusal)
        return False
    return True


def _done(message: str, password: str | None = None) -> None:
    st.session_state[FLASH_KEY] = message
    if password is not None:
        st.session_state[PASSWORD_FLASH_KEY] = password
    st.rerun()


def _show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message, icon=":material/check_circle:")
    password = st.session_state.pop(PASSWORD_FLASH_KEY, None)
    if password:
        st.warning(t("accounts.password_once"), icon=":material/key:")
        st.code(password, language=None)


def _create_form() -> None:
    st.subheader(t("accounts.create.title"))
    with st.form("accounts_create", clear_on_submit=False):
        left, right = st.columns(2)
        username = left.text_input(t("accounts.col.username"), key="accounts_new_username")
        display_name = right.text_input(
            t("accounts.col.display_name"), key="accounts_new_display_name"
        )
        role = left.selectbox(
            t("accounts.col.role"),
            ROLES,
            format_func=_role_labels().__getitem__,
            key="accounts_new_role",
        )
        department = right.text_input(t("accounts.col.department"), key="accounts_new_department")
        password = st.text_input(
            t("accounts.password"),
            type="password",
            key="accounts_new_password_input",
            help=t("accounts.password_help", min=accounts.MIN_PASSWORD_LENGTH),
        )
        submitted = st.form_submit_button(
            t("accounts.create.submit"), type="primary", icon=":material/person_add:"
        )
    if not submitted:
        return
    generated = not password
    chosen = accounts.generate_password() if generated else password
    if _run(accounts.create_account, username, display_name, chosen, role, department):
        _done(
            t("accounts.create.done", username=username.strip()),
            chosen if generated else None,
        )


def _manage(rows: list[AccountRow], now: datetime) -> None:
    st.subheader(t("accounts.manage.title"))
    names = {r.username: f"{r.username} · {r.display_name} ({t(f'role.{r.role}')})" for r in rows}
    username = st.selectbox(
        t("accounts.manage.account"), list(names), format_func=names.__getitem__, key=PICK_KEY
    )
    row = next(r for r in rows if r.username == username)
    st.caption(
        t(
            "accounts.manage.summary",
            status=_status(row, now),
            failed=row.failed_logins,
            last=format_datetime(row.last_login_at) or t("accounts.never"),
        )
    )

    with st.form(f"accounts_role_{username}"):
        role = st.selectbox(
            t("accounts.col.role"),
            ROLES,
            index=ROLES.index(row.role),
            format_func=_role_labels().__getitem__,
            key=f"accounts_role_pick_{username}",
        )
        if st.form_submit_button(t("accounts.role.submit"), icon=":material/badge:"):
            if _run(accounts.change_role, username, role):
                _done(t("accounts.role.done", username=username, role=t(f"role.{role}")))

    columns = st.columns(2)
    if row.active:
        if columns[0].button(
            t("accounts.disable"), key=f"accounts_disable_{username}", icon=":material/block:"
        ) and _run(accounts.set_active, username, False):
            _done(t("accounts.disable.done", username=username))
    elif columns[0].button(
        t("accounts.enable"), key=f"accounts_enable_{username}", icon=":material/check:"
    ) and _run(accounts.set_active, username, True):
        _done(t("accounts.enable.done", username=username))
    if row.locked_until is not None or row.failed_logins:
        if columns[1].button(
            t("accounts.unlock"), key=f"accounts_unlock_{username}", icon=":material/lock_open:"
        ) and _run(accounts.unlock, username):
            _done(t("accounts.unlock.done", username=username))

    with st.form(f"accounts_reset_{username}"):
        st.markdown(f"**{t('accounts.reset.title')}**")
        typed = st.text_input(
            t("accounts.reset.password"),
            type="password",
            key=f"accounts_reset_password_{username}",
            help=t("accounts.password_help", min=accounts.MIN_PASSWORD_LENGTH),
        )
        if st.form_submit_button(t("accounts.reset.submit"), icon=":material/key:"):
            result: list[str] = []

            def reset(session, who, name, password):
                result.append(accounts.reset_password(session, who, name, password))

            if _run(reset, username, typed or None):
                _done(
                    t("accounts.reset.done", username=username),
                    None if typed else result[0],
                )


actor = require_page("accounts")
st.title(t("accounts.title"))
st.caption(t("accounts.help"))
_show_flash()
now = datetime.now(UTC)
with session_scope(get_settings().database_url) as session:
    rows = accounts.list_accounts(session, actor)
st.dataframe(_frame(rows, now), hide_index=True)
_manage(rows, now)
_create_form()
