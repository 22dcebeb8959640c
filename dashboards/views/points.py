"""Points (积分): a member's balance and history, manual adjustments, batch adjustments.

Every rule is in ``operational.services.points`` (thresholds, daily cap, never below zero). The
page gives each submission an idempotency key, kept in the session while the form's values stay
the same: a double click, or a resubmission of the same values, finds the entry already made and
posts nothing twice. "New adjustment" starts a fresh key on purpose.
"""

from __future__ import annotations

from uuid import uuid4

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.cardlists import card_numbers, uploaded_card_numbers
from dashboards.feedback import error_text, show_error
from dashboards.i18n import STRINGS, current_locale, format_date, format_datetime, format_int, t
from operational.db import session_scope
from operational.models import Member
from operational.services import cards, points
from operational.services.common import ServiceError

FLASH_KEY = "points_flash"
MEMBER_KEY = "points_member"  # the member number the first tab shows
MANUAL_KEY = "points_manual_submission"  # {"values": [...], "key": str, "done": bool}
BATCH_KEY = "points_batch_submission"
BATCH_RESULT_KEY = "points_batch_result"
HISTORY_LIMIT = 100
BATCH_CHUNK = 20


def submission(state_key: str, values: list) -> dict:
    """The submission for ``values``: the same one (same key) while the values stay the same."""
    current = st.session_state.get(state_key)
    if not current or current["values"] != values:
        current = {"values": values, "key": uuid4().hex, "done": False}
        st.session_state[state_key] = current
    return current


def _member_of(url: str, number: str) -> str | None:
    """The member number of a member number or a card number (None when neither exists)."""
    with session_scope(url) as session:
        return cards.member_no_for(session, number)


def _show_member(url: str, member_no: str) -> None:
    with session_scope(url) as session:
        member = points.member_points(session, member_no)
        if member is None:
            st.warning(t("points.not_found", number=member_no))
            return
        name = member.name
        balance = member.balance
        history = points.points_history(session, member_no, limit=HISTORY_LIMIT)
    st.markdown(t("points.member", member_no=member_no, name=name))
    st.metric(t("points.balance"), format_int(balance))
    if not history:
        st.info(t("points.no_history"))
        return
    st.markdown(f"**{t('points.history', count=format_int(len(history)))}**")
    st.dataframe(
        pd.DataFrame(
            {
                t("col.created_at"): [format_datetime(r.created_at) for r in history],
                t("col.points"): [r.points for r in history],
                t("col.event_type"): [t(f"event.{r.event_type}") for r in history],
                t("col.status"): [t(f"point_status.{r.status}") for r in history],
                t("col.reason"): [r.reason or "" for r in history],
                t("col.card_no"): [r.card_no or "" for r in history],
                t("points.col.remaining"): [
                    "" if r.remaining is None else r.remaining for r in history
                ],
                t("col.expires_on"): [format_date(r.expires_on) for r in history],
                t("points.col.created_by"): [r.created_by or "" for r in history],
                t("points.col.approved_by"): [r.approved_by or "" for r in history],
            }
        ),
        hide_index=True,
        key="points_history",
    )
    _reverse_form(url, member_no, history)


def _reversible(history: list[points.PointHistoryRow]) -> list[points.PointHistoryRow]:
    """Posted entries of the shown history that are not reversals and not reversed yet (the
    service decides; this only keeps the choice short)."""
    reversed_ids = {r.reverses_entry_id for r in history if r.reverses_entry_id is not None}
    return [
        r
        for r in history
        if r.status == "posted"
        and r.id not in reversed_ids
        and not (r.event_type == "reversal" and r.reverses_entry_id is not None)
    ]


def _reverse_form(url: str, member_no: str, history: list[points.PointHistoryRow]) -> None:
    st.markdown(f"**{t('points.reverse.title')}**")
    st.caption(t("points.reverse.help"))
    candidates = _reversible(history)
    if not candidates:
        st.caption(t("points.reverse.none"))
        return
    # labels made now: a format_func may also run outside the page's run (e.g. in AppTest)
    labels = {
        r.id: t(
            "points.reverse.entry",
            id=r.id,
            created_at=format_datetime(r.created_at),
            event=t(f"event.{r.event_type}"),
            points=format_int(r.points),
        )
        for r in candidates
    }
    with st.form("points_reverse"):
        entry_id = st.selectbox(
            t("points.reverse.pick"),
            list(labels),
            format_func=labels.__getitem__,
            key="points_reverse_entry",
        )
        reason = st.text_input(t("points.reverse.reason"), key="points_reverse_reason")
        submitted = st.form_submit_button(t("points.reverse.submit"))
    if submitted:
        _reverse(url, member_no, int(entry_id), reason)


def _reverse_error(error: ServiceError) -> None:
    key = f"points.reverse.problem.{error.code}"
    if key in STRINGS.get(current_locale(), {}):
        st.error(t(key), icon=":material/error:")
    else:
        show_error(error)


def _reverse(url: str, member_no: str, entry_id: int, reason: str) -> None:
    """Reverse one entry (``points.reverse_entry``: once per entry) and say what it did."""
    try:
        with session_scope(url) as session:
            reversal, created = points.reverse_entry(session, actor, entry_id, reason=reason)
            shortfall = points.reversal_shortfall(session, reversal)
            balance = points.balance_of(session, reversal.member_id)
            taken, status = reversal.points, reversal.status
    except ServiceError as error:
        _reverse_error(error)
        return
    values = {"entry": entry_id, "member_no": member_no, "balance": format_int(balance)}
    if not created:
        kind, message = "success", t("points.reverse.already", entry=entry_id)
    elif status != "posted":
        kind = "warning"
        message = t("points.reverse.nothing", shortfall=format_int(shortfall), **values)
    elif taken > 0:
        kind = "success"
        message = t("points.reverse.gave_back", points=format_int(taken), **values)
    elif shortfall:
        kind = "warning"
        message = t(
            "points.reverse.shortfall",
            points=format_int(-taken),
            shortfall=format_int(shortfall),
            **values,
        )
    else:
        kind = "success"
        message = t("points.reverse.took_back", points=format_int(-taken), **values)
    st.session_state.pop("points_reverse_reason", None)
    st.session_state[FLASH_KEY] = (kind, message)
    st.rerun()


def _post_manual(url: str, by: str, number: str, amount: int, reason: str) -> None:
    sent = submission(MANUAL_KEY, [by, cards.clean_card_no(number), amount, reason.strip()])
    repeated = sent["done"]
    try:
        with session_scope(url) as session:
            entry = points.post_manual(
                session,
                actor,
                member_no=number if by == "member" else None,
                card_no=number if by == "card" else None,
                points=amount,
                reason=reason,
                idempotency_key=f"manual:{sent['key']}",
            )
            member = session.get(Member, entry.member_id)
            member_no = member.member_no if member else ""
            balance = points.balance_of(session, entry.member_id)
            status = entry.status
    except ServiceError as error:
        show_error(error)
        return
    sent["done"] = True
    if repeated:
        message = t("points.manual.already")
    elif status == "pending":
        message = t(
            "points.manual.pending",
            member_no=member_no,
            points=format_int(amount),
            threshold=format_int(points.MANUAL_APPROVAL_THRESHOLD),
        )
    else:
        message = t(
            "points.manual.posted",
            member_no=member_no,
            points=format_int(amount),
            balance=format_int(balance),
        )
    st.session_state[FLASH_KEY] = (status, message)
    st.session_state[MEMBER_KEY] = member_no
    st.rerun()


def _post_batch(url: str, numbers: list[str], amount: int, reason: str) -> None:
    st.session_state.pop(BATCH_RESULT_KEY, None)  # never show an earlier batch's result
    batch_key = f"batch:{submission(BATCH_KEY, [numbers, amount, reason.strip()])['key']}"
    progress = st.progress(0.0, text=t("points.batch.progress", done=0, total=len(numbers)))
    posted = pending = already = 0
    problems: list[dict[str, str]] = []
    for start in range(0, len(numbers), BATCH_CHUNK):
        chunk = numbers[start : start + BATCH_CHUNK]
        try:
            with session_scope(url) as session:
                result = points.post_batch(
                    session, actor, chunk, points=amount, reason=reason, batch_key=batch_key
                )
                statuses = [entry.status for entry in result.posted]
        except ServiceError as error:
            progress.empty()
            show_error(error)
            return
        pending += statuses.count("pending")
        posted += statuses.count("posted")
        already += result.already
        problems.extend(
            {
                t("col.card_no"): problem.card_no,
                t("col.reason"): error_text(ServiceError(problem.message, code=problem.code)),
            }
            for problem in result.problems
        )
        done = min(start + BATCH_CHUNK, len(numbers))
        progress.progress(
            done / len(numbers), text=t("points.batch.progress", done=done, total=len(numbers))
        )
    st.session_state[BATCH_KEY]["done"] = True
    st.session_state[BATCH_RESULT_KEY] = {
        "summary": t(
            "points.batch.summary",
            posted=format_int(posted),
            pending=format_int(pending),
            already=format_int(already),
            problems=format_int(len(problems)),
        ),
        "problems": problems,
    }


def _show_batch(result: dict) -> None:
    st.success(result["summary"], icon=":material/check_circle:")
    if result["problems"]:
        st.markdown(f"**{t('points.batch.problems')}**")
        st.dataframe(pd.DataFrame(result["problems"]), hide_index=True, key="points_problems")


actor = require_page("points")
settings = get_settings()
url = settings.database_url
st.title(t("points.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    status, message = flash
    if status == "pending":
        st.warning(message, icon=":material/hourglass_top:")
    elif status == "warning":
        st.warning(message, icon=":material/warning:")
    else:
        st.success(message, icon=":material/check_circle:")

member_tab, manual_tab, batch_tab = st.tabs(
    [t("points.tab.member"), t("points.tab.manual"), t("points.tab.batch")]
)

with member_tab:
    with st.form("points_lookup"):
        number = st.text_input(t("points.lookup_no"), key="points_lookup_no")
        submitted = st.form_submit_button(t("points.find"), type="primary")
    if submitted and number.strip():
        found = _member_of(url, number.strip())
        if found is None:
            st.session_state.pop(MEMBER_KEY, None)
            st.warning(t("points.not_found", number=number.strip()))
        else:
            st.session_state[MEMBER_KEY] = found
    if st.session_state.get(MEMBER_KEY):
        _show_member(url, st.session_state[MEMBER_KEY])

with manual_tab:
    st.caption(t("points.manual.help", threshold=format_int(points.MANUAL_APPROVAL_THRESHOLD)))
    with st.form("points_manual"):
        by_labels = {"member": t("points.by.member"), "card": t("points.by.card")}
        by = st.radio(
            t("points.by"),
            list(by_labels),
            format_func=by_labels.__getitem__,
            horizontal=True,
            key="points_manual_by",
        )
        who = st.text_input(t("points.number"), key="points_manual_no")
        amount = st.number_input(t("points.amount"), value=0, step=1, key="points_manual_points")
        reason = st.text_input(t("points.reason"), key="points_manual_reason")
        submitted = st.form_submit_button(t("points.manual.submit"), type="primary")
    if submitted:
        _post_manual(url, by, who.strip(), int(amount), reason)
    if st.session_state.get(MANUAL_KEY, {}).get("done") and st.button(
        t("points.manual.new"), key="points_manual_new"
    ):
        st.session_state.pop(MANUAL_KEY, None)
        st.rerun()

with batch_tab:
    with st.form("points_batch"):
        text = st.text_area(t("points.batch.cards"), key="points_batch_cards")
        upload = st.file_uploader(
            t("points.batch.upload"), type=["txt", "csv"], key="points_batch_upload"
        )
        batch_amount = st.number_input(
            t("points.amount"), value=0, step=1, key="points_batch_points"
        )
        batch_reason = st.text_input(t("points.reason"), key="points_batch_reason")
        submitted = st.form_submit_button(t("points.batch.submit"), type="primary")
    if submitted:
        numbers = card_numbers(text)
        if upload is not None:
            numbers = card_numbers("\n".join([*numbers, *uploaded_card_numbers(upload.getvalue())]))
        if not numbers:
            st.warning(t("points.batch.empty"))
        else:
            _post_batch(url, numbers, int(batch_amount), batch_reason)
    if st.session_state.get(BATCH_RESULT_KEY):
        _show_batch(st.session_state[BATCH_RESULT_KEY])
