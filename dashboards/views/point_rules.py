"""Points rules (积分规则): which events earn points by themselves, and whether they wait.

Admins only. Every rule is in ``operational.services.point_rules``: the rule with the event's
code wins over the rule for any event of the type; a rule that needs approval creates pending
entries for the approval queue. Changing a rule never changes entries already created.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import show_error
from dashboards.i18n import current_locale, format_datetime, format_int, t, translate
from operational.db import session_scope
from operational.models.cards_points import RULE_EVENT_TYPES
from operational.services import point_rules
from operational.services.common import ServiceError
from operational.services.point_rules import RuleRow

FLASH_KEY = "point_rules_flash"


def _rules(url: str) -> list[RuleRow]:
    with session_scope(url) as session:
        return point_rules.list_rules(session)


def _code_label(code: str) -> str:
    return code or t("rules.any")


actor = require_page("point_rules")
settings = get_settings()
st.title(t("rules.title"))
st.caption(t("rules.help"))
flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

rules = _rules(settings.database_url)
st.dataframe(
    pd.DataFrame(
        {
            t("rules.col.event"): [t(f"event.{r.event_type}") for r in rules],
            t("rules.col.code"): [_code_label(r.match_code) for r in rules],
            t("col.points"): [format_int(r.points) for r in rules],
            t("rules.col.approval"): [
                t("rules.pending") if r.needs_approval else t("rules.posted") for r in rules
            ],
            t("rules.col.active"): [t("rules.on") if r.active else t("rules.off") for r in rules],
            t("rules.col.description"): [r.description or "" for r in rules],
            t("rules.col.updated"): [
                f"{format_datetime(r.updated_at)} {r.updated_by or ''}".strip() for r in rules
            ],
        }
    ),
    hide_index=True,
)

st.subheader(t("rules.edit"))
by_key = {(r.event_type, r.match_code): r for r in rules}
locale = current_locale()  # the labels are formatted again outside the page's run
event_type = st.selectbox(
    t("rules.col.event"),
    RULE_EVENT_TYPES,
    format_func=lambda code: translate(f"event.{code}", locale),
    key="rules_event",
)
match_code = st.text_input(t("rules.col.code"), key="rules_code", help=t("rules.code_help"))
current = by_key.get((event_type, match_code.strip().lower()))
if current is not None:
    st.caption(
        t("rules.editing", event=t(f"event.{event_type}"), code=_code_label(current.match_code))
    )
else:
    st.caption(t("rules.new"))
with st.form("rule_form"):
    amount = st.number_input(
        t("col.points"), min_value=0, step=10, value=current.points if current else 0
    )
    needs_approval = st.checkbox(
        t("rules.needs_approval"), value=current.needs_approval if current else True
    )
    active = st.checkbox(t("rules.active"), value=current.active if current else True)
    description = st.text_input(
        t("rules.col.description"), value=(current.description or "") if current else ""
    )
    if st.form_submit_button(t("rules.save"), type="primary"):
        try:
            with session_scope(settings.database_url) as session:
                saved = point_rules.set_rule(
                    session,
                    actor,
                    event_type=event_type,
                    match_code=match_code,
                    points=int(amount),
                    needs_approval=needs_approval,
                    active=active,
                    description=description,
                )
        except ServiceError as error:
            show_error(error)
        else:
            st.session_state[FLASH_KEY] = t(
                "rules.saved",
                event=t(f"event.{saved.event_type}"),
                code=_code_label(saved.match_code),
                points=format_int(saved.points),
            )
            st.rerun()
