"""Card readers (刷卡机): each reader's state, last swipe and errors; refused swipes to follow up.

The live state comes from the reader processes (``devices.reader.read_status``: the STATUS file
each one keeps in its spool folder); what posting did comes from
``operational.services.swipes``. Refused swipes (unknown, lost or cancelled cards, a member who
left, an activity not running…) are listed here so staff can follow them up: nothing is dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import plotly.express as px
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.feedback import error_text
from dashboards.i18n import format_datetime, format_int, t
from devices.reader import read_status
from operational.db import session_scope
from operational.services import swipes
from operational.services.common import ServiceError

#: A reader whose status was not refreshed for this long has stopped without saying so.
STALE_SECONDS = 120
OUTCOMES = ("posted", "already", "recorded", "refused")
#: Refusal codes with a label of their own (others show the service's message).
REASONS = frozenset(
    {
        "unknown_card",
        "card_not_active",
        "member_not_active",
        "member_archived",
        "activity_not_found",
        "activity_number_unknown",
        "activity_wrong_state",
        "no_running_service",
        "bad_reader_target",
        "unknown_purpose",
    }
)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _state(status: dict | None, now: datetime) -> str:
    if status is None:
        return t("readers.state.unknown")
    state = status.get("state", "unknown")
    updated = _when(status.get("updated_at"))
    if state in ("connected", "disconnected", "starting") and (
        updated is None or (now - updated).total_seconds() > STALE_SECONDS
    ):
        return t("readers.state.silent")
    return t(f"readers.state.{state}") if state in ("connected", "disconnected", "stopped",
                                                    "failed", "starting") else state  # fmt: skip


def _reason(outcome: swipes.SwipeOutcome) -> str:
    """The refusal in the reader's language: this page's words, else the service's label."""
    if outcome.code in REASONS:
        return t(f"readers.reason.{outcome.code}")
    error = ServiceError(outcome.message or "", code=outcome.code, **outcome.params)
    return error_text(error)


actor = require_page("readers")
settings = get_settings()
st.title(t("readers.title"))
st.caption(t("readers.help"))

with session_scope(settings.database_url) as session:
    readers = swipes.list_readers(session)
    refused = swipes.refused_swipes(session, limit=200)
live = {status.get("reader_id"): status for status in read_status(settings.spool_dir)}
now = datetime.now(UTC)

ids = [r.reader_id for r in readers] + sorted(set(live) - {r.reader_id for r in readers})
if not ids:
    st.info(t("readers.none"), icon=":material/contactless:")
    st.stop()

by_id = {r.reader_id: r for r in readers}
rows = []
for reader_id in ids:
    row = by_id.get(reader_id)
    status = live.get(reader_id)
    last_swipe = _when(status.get("last_swipe_at")) if status else None
    if (
        row is not None
        and row.last_swipe_at
        and (last_swipe is None or row.last_swipe_at > last_swipe)
    ):
        last_swipe = row.last_swipe_at
    rows.append(
        {
            t("readers.col.reader"): reader_id,
            t("readers.col.name"): row.name if row else "",
            t("readers.col.purpose"): t(f"readers.purpose.{row.purpose}")
            if row and row.purpose
            else t("readers.purpose.none"),
            t("readers.col.target"): (row.target if row else None) or "",
            t("readers.col.state"): _state(status, now),
            t("readers.col.last_swipe"): format_datetime(last_swipe),
            t("readers.col.swipes"): format_int(status.get("swipes", 0)) if status else "",
            t("readers.col.bad_checksums"): format_int(status.get("bad_checksums", 0))
            if status
            else "",
            t("readers.col.reconnects"): format_int(status.get("reconnects", 0)) if status else "",
            t("readers.col.refused"): format_int(row.outcomes.get("refused", 0) if row else 0),
        }
    )
st.dataframe(pd.DataFrame(rows), hide_index=True)

counts = [
    {"reader": r.reader_id, "outcome": t(f"readers.outcome.{o}"), "count": r.outcomes.get(o, 0)}
    for r in readers
    for o in OUTCOMES
    if r.outcomes.get(o, 0)
]
if counts:
    st.subheader(t("readers.chart"))
    figure = px.bar(
        pd.DataFrame(counts),
        x="reader",
        y="count",
        color="outcome",
        labels={"reader": t("readers.col.reader"), "count": t("readers.count"), "outcome": ""},
    )
    st.plotly_chart(figure)

st.subheader(t("readers.refused.title", count=format_int(len(refused))))
if not refused:
    st.success(t("readers.refused.none"), icon=":material/check_circle:")
else:
    st.dataframe(
        pd.DataFrame(
            {
                t("readers.col.swiped_at"): [format_datetime(o.swiped_at) for o in refused],
                t("readers.col.reader"): [o.reader_id for o in refused],
                t("readers.col.card"): [o.card_no or "" for o in refused],
                t("readers.col.member"): [o.member_no or "" for o in refused],
                t("readers.col.reason"): [_reason(o) for o in refused],
            }
        ),
        hide_index=True,
    )
