"""Cards (会员卡): look a card up by its number, issue cards in batch, expire sub-cards now.

Every rule is in ``operational.services.cards``: the page parses what the clerk typed and
shows what the service answered (cards issued, members refused with the reason).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import error_text, show_error
from dashboards.i18n import (
    DISPLAY_TIMEZONE,
    current_locale,
    dictionary_label,
    format_date,
    format_datetime,
    format_int,
    t,
)
from operational.db import session_scope
from operational.services import cards
from operational.services.common import ServiceError, dictionary_codes

FLASH_KEY = "cards_flash"
BATCH_KEY = "cards_batch_result"
#: Batch "main" cards: each member's tier card unless a type is chosen.
TIER = ""


def _today():
    return datetime.now(DISPLAY_TIMEZONE).date()


def _card_types(url: str, kind: str) -> list[str]:
    with session_scope(url) as session:
        return dictionary_codes(session, "card_type", parent=kind)


def member_numbers(text: str) -> list[str]:
    """Member numbers pasted one a line, or separated by commas (also 、，；) or blanks."""
    return [part for part in re.split(r"[\s,，、;；]+", text) if part]


def _lookup(url: str, number: str) -> None:
    with session_scope(url) as session:
        found = cards.find_card(session, number)
    if found is None:
        st.warning(t("cards.not_found", card_no=number))
        return
    rows = {
        t("col.card_no"): found.card_no,
        t("col.kind"): t(f"kind.{found.kind}"),
        t("col.card_type"): dictionary_label("card_type", found.card_type, locale),
        t("col.status"): t(f"card_status.{found.status}"),
        t("cards.owner"): f"{found.member_no} · {found.member_name}",
        t("cards.owner_status"): t(f"status.{found.member_status}"),
        t("col.issued_at"): format_datetime(found.issued_at),
        t("col.expires_on"): format_date(found.expires_on),
        t("col.ended_at"): format_datetime(found.ended_at),
        t("cards.end_reason"): t(f"cards.end.{found.end_reason}") if found.end_reason else "",
        t("col.parent_card"): found.main_card_no or "",
        t("cards.replaced_by"): found.replaced_by_card_no or "",
    }
    if found.usable:
        st.success(t("cards.usable", card_no=found.card_no), icon=":material/check_circle:")
    else:
        st.warning(t("cards.not_usable", card_no=found.card_no), icon=":material/block:")
    st.dataframe(
        pd.DataFrame({t("col.field"): list(rows), t("col.value"): list(rows.values())}),
        hide_index=True,
        key="cards_lookup_result",
    )


def _show_batch(result: dict[str, list[dict[str, str]]]) -> None:
    st.success(
        t(
            "cards.batch.summary",
            issued=format_int(len(result["issued"])),
            refused=format_int(len(result["refused"])),
        )
    )
    if result["issued"]:
        st.markdown(f"**{t('cards.batch.issued')}**")
        st.dataframe(pd.DataFrame(result["issued"]), hide_index=True, key="cards_batch_issued")
    if result["refused"]:
        st.markdown(f"**{t('cards.batch.refused')}**")
        st.dataframe(pd.DataFrame(result["refused"]), hide_index=True, key="cards_batch_refused")


actor = require_page("cards")
settings = get_settings()
locale = current_locale()
st.title(t("cards.title"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

lookup, batch, expiry = st.tabs([t("cards.lookup"), t("cards.batch"), t("cards.expire")])

with lookup:
    with st.form("cards_lookup"):
        number = st.text_input(t("cards.card_no"), key="cards_lookup_no")
        submitted = st.form_submit_button(t("cards.find"), type="primary")
    if submitted and number.strip():
        _lookup(settings.database_url, number.strip())

with batch:
    kinds = {code: t(f"kind.{code}") for code in cards.KINDS}
    kind = st.radio(
        t("col.kind"),
        list(kinds),
        format_func=kinds.__getitem__,
        horizontal=True,
        key="cards_batch_kind",
    )
    with st.form("cards_batch"):
        text = st.text_area(t("cards.batch.members"), key="cards_batch_members")
        types = _card_types(settings.database_url, kind)
        if kind == "main":
            types = [TIER, *types]
        type_labels = {
            code: t("cards.batch.tier")
            if code == TIER
            else dictionary_label("card_type", code, locale)
            for code in types
        }
        card_type = st.selectbox(
            t("col.card_type"),
            types,
            format_func=type_labels.__getitem__,
            key=f"cards_batch_type_{kind}",
        )
        expires_on = None
        if kind == "sub":
            expires_on = st.date_input(
                t("col.expires_on"),
                value=_today() + timedelta(days=365),
                key="cards_batch_expiry",
            )
        submitted = st.form_submit_button(t("cards.batch.submit"), type="primary")
    if submitted:
        numbers = member_numbers(text)
        if not numbers:
            st.warning(t("cards.batch.empty"))
        else:
            try:
                with session_scope(settings.database_url) as session:
                    result = cards.batch_issue(
                        session,
                        actor,
                        numbers,
                        kind=kind,
                        card_type=card_type or None,
                        expires_on=expires_on,
                    )
                    shown = {
                        "issued": [
                            {
                                t("col.member_no"): item.member_no,
                                t("col.card_no"): item.card_no,
                                t("col.kind"): t(f"kind.{item.kind}"),
                                t("col.card_type"): dictionary_label(
                                    "card_type", item.card_type, locale
                                ),
                            }
                            for item in result.issued
                        ],
                        "refused": [
                            {
                                t("col.member_no"): problem.member_no,
                                t("col.reason"): error_text(
                                    ServiceError(
                                        problem.message,
                                        code=problem.code,
                                        member_no=problem.member_no,
                                    )
                                ),
                            }
                            for problem in result.problems
                        ],
                    }
            except ServiceError as error:
                show_error(error)
            else:
                st.session_state[BATCH_KEY] = shown
    if st.session_state.get(BATCH_KEY):
        _show_batch(st.session_state[BATCH_KEY])

with expiry:
    st.caption(t("cards.expire.help", today=format_date(_today())))
    if st.button(t("cards.expire.run"), key="cards_expire_run"):
        try:
            with session_scope(settings.database_url) as session:
                count = cards.cancel_expired_sub_cards(session, today=_today(), actor=actor)
        except ServiceError as error:
            show_error(error)
        else:
            st.success(t("cards.expire.done", count=format_int(count)))
