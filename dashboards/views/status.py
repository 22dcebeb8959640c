"""Status (运行状态): did the pipeline run, did it pass, and how fresh is what readers see.

Managers and admins. The last runs come from the Dagster instance of the data folder, the
failed checks and steps from the newest run's events, the freshness from the published
warehouse (``dashboards.data.status``). Before the first run the page says so.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.data import status
from dashboards.i18n import format_date, format_datetime, format_int, t

STATUS_LABELS = ("SUCCESS", "FAILURE", "STARTED", "CANCELED", "QUEUED", "STARTING", "CANCELING")


@st.cache_data(ttl=30, show_spinner=False)
def _runs(home: str) -> list[status.PipelineRun]:
    return status.last_runs(get_settings())


@st.cache_data(ttl=30, show_spinner=False)
def _failures(home: str, run_id: str) -> list[status.Failure]:
    return status.last_run_failures(get_settings(), run_id)


@st.cache_data(ttl=30, show_spinner=False)
def _freshness(home: str) -> status.Freshness | None:
    return status.freshness(get_settings())


def _result(run: status.PipelineRun) -> str:
    code = run.status if run.status in STATUS_LABELS else "OTHER"
    return t(f"status.run.{code.lower()}")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, rest = divmod(int(round(seconds)), 60)
    return t("status.duration", minutes=minutes, seconds=rest)


def _utc(value: datetime | None) -> str:
    """Warehouse timestamps are naive UTC: show them in the club's time like the others."""
    if value is None:
        return ""
    from datetime import UTC

    return format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))


def _runs_table(runs: list[status.PipelineRun]) -> None:
    st.subheader(t("status.runs.title"))
    st.dataframe(
        pd.DataFrame(
            {
                t("status.col.started"): [format_datetime(r.started_at) for r in runs],
                t("status.col.duration"): [_duration(r.seconds) for r in runs],
                t("status.col.result"): [_result(r) for r in runs],
                t("status.col.mode"): [t(f"status.mode.{r.mode}") if r.mode else "" for r in runs],
                t("status.col.as_of"): ["" if r.as_of in (None, "now") else r.as_of for r in runs],
                t("status.col.run_id"): [r.run_id[:8] for r in runs],
            }
        ),
        hide_index=True,
    )


def _failures_table(run: status.PipelineRun, failures: list[status.Failure]) -> None:
    st.subheader(t("status.failures.title"))
    if not failures:
        if run.succeeded:
            st.success(t("status.failures.none"), icon=":material/check_circle:")
        else:
            st.warning(t("status.failures.unknown", result=_result(run)))
        return
    if run.succeeded:  # only warnings: the run published anyway
        st.warning(t("status.failures.warnings", count=len(failures)), icon=":material/warning:")
    else:
        st.error(t("status.failures.count", count=len(failures)), icon=":material/error:")
    st.dataframe(
        pd.DataFrame(
            {
                t("status.col.kind"): [t(f"status.kind.{f.kind}") for f in failures],
                t("status.col.name"): [f.name for f in failures],
                t("status.col.target"): [f.target for f in failures],
                t("status.col.failed_rows"): [
                    "" if f.failed_rows is None else format_int(f.failed_rows) for f in failures
                ],
                t("status.col.message"): [f.message for f in failures],
            }
        ),
        hide_index=True,
    )


def _freshness_section(fresh: status.Freshness | None) -> None:
    st.subheader(t("status.freshness.title"))
    if fresh is None:
        st.info(t("status.freshness.none"))
        return
    first, second, third = st.columns(3)
    first.metric(t("status.freshness.published_at"), _utc(fresh.published_at) or "–")
    second.metric(t("status.freshness.marts_built_at"), _utc(fresh.marts_built_at) or "–")
    third.metric(t("status.freshness.mode"), t(f"status.mode.{fresh.mode}") if fresh.mode else "–")
    if fresh.as_of:
        st.caption(t("status.freshness.as_of", as_of=format_date(fresh.as_of)))
    if fresh.mode == "routine":
        st.caption(t("status.freshness.routine"))
    if fresh.watermarks:
        st.markdown(f"**{t('status.watermarks.title')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("status.col.source"): [w[0] for w in fresh.watermarks],
                    t("status.col.watermark"): [_utc(w[1]) for w in fresh.watermarks],
                    t("status.col.loaded_at"): [_utc(w[2]) for w in fresh.watermarks],
                }
            ),
            hide_index=True,
        )
    if fresh.newest_events:
        st.markdown(f"**{t('status.events.title')}**")
        st.dataframe(
            pd.DataFrame(
                {
                    t("status.col.fact"): [f"core.{e[0]}" for e in fresh.newest_events],
                    t("status.col.column"): [e[1] for e in fresh.newest_events],
                    t("status.col.newest"): [
                        _utc(e[2]) if isinstance(e[2], datetime) else format_date(e[2])
                        for e in fresh.newest_events
                    ],
                }
            ),
            hide_index=True,
        )


actor = require_page("status")
st.title(t("status.title"))
st.caption(t("status.help"))
home = str(get_settings().home)
runs = _runs(home)
fresh = _freshness(home)
if not runs and fresh is None:
    st.info(t("status.nothing"), icon=":material/hourglass_empty:")
    st.stop()
if runs:
    _runs_table(runs)
    _failures_table(runs[0], _failures(home, runs[0].run_id))
else:
    st.info(t("status.runs.none"))
_freshness_section(fresh)
