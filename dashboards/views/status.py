"""Status (运行状态): did the pipeline run, did it pass, and how fresh is what readers see.

Managers and admins. The last runs come from the Dagster instance of the data folder, the
failed checks and steps from the newest run's events, the freshness from the published
warehouse (``dashboards.data.status``). Before the first run the page says so.

A manager or admin can start a run here (routine or complete): it runs as a detached
``clubcrm pipeline run`` process, so it goes on whatever the browser does; a progress bar
follows the steps of its Dagster run (refreshed every few seconds by a fragment), then the page
shows how it ended with the run's summary lines.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from clubcrm.settings import get_settings
from dashboards.auth import require_page
from dashboards.data import status
from dashboards.i18n import (
    current_locale,
    format_date,
    format_datetime,
    format_int,
    t,
    translate,
)

#: How often the progress of a run started here is refreshed.
PROGRESS_SECONDS = 2
#: Step key fragments (orchestration's ops) -> the step's name in the catalogue.
STEP_LABELS = (
    ("operational", "status.step.operational"),
    ("swipes", "status.step.swipes"),
    ("dbt", "status.step.dbt"),
    ("train", "status.step.train"),
    ("prediction", "status.step.prediction"),
    ("publish", "status.step.publish"),
)
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


def _step_name(key: str) -> str:
    return next((t(label) for fragment, label in STEP_LABELS if fragment in key), key)


def _mode_name(mode: str) -> str:
    return t(f"status.mode.{mode}")


def _show_progress(progress: status.RunProgress) -> None:
    launched = progress.launched
    elapsed = (datetime.now(UTC) - launched.started_at).total_seconds()
    if progress.current_step:
        text = t(
            "status.launch.running",
            step=_step_name(progress.current_step),
            index=min(progress.steps_done + 1, progress.steps_total or 1),
            total=progress.steps_total or 1,
        )
        if progress.step_assets_total > 1:
            text += " · " + t(
                "status.launch.dbt_models",
                done=format_int(progress.step_assets_done),
                total=format_int(progress.step_assets_total),
            )
    else:
        text = t("status.launch.starting")
    st.progress(progress.fraction, text=text)
    st.caption(
        t(
            "status.launch.by",
            mode=_mode_name(launched.mode),
            user=launched.started_by,
            when=format_datetime(launched.started_at),
            elapsed=_duration(max(elapsed, 0)),
            log=launched.log_path,
        )
    )


def _show_outcome(progress: status.RunProgress) -> None:
    mode = _mode_name(progress.launched.mode)
    if progress.succeeded:
        st.success(t("status.launch.succeeded", mode=mode), icon=":material/check_circle:")
    else:
        st.error(t("status.launch.failed", mode=mode), icon=":material/error:")
    if progress.summary:
        st.code("\n".join(progress.summary), language=None)
    else:
        st.caption(t("status.launch.no_summary"))
        st.code("\n".join(progress.log_tail) or "–", language=None)
    st.caption(t("status.launch.log", log=progress.launched.log_path))


def _progress_panel() -> None:
    """The run started here: its progress while it runs; how it ended once it has."""
    progress = status.run_progress(get_settings())
    if progress is None:
        return
    if progress.running:
        st.session_state["status.watching"] = progress.launched.pid
        _show_progress(progress)
        return
    if st.session_state.pop("status.watching", None) == progress.launched.pid:
        # It ended while this page watched: refresh the run list and freshness too.
        _runs.clear()
        _failures.clear()
        _freshness.clear()
        st.rerun(scope="app")
    _show_outcome(progress)


def _launch_section(actor) -> None:
    settings = get_settings()
    st.subheader(t("status.launch.title"))
    launched = status.launched_run(settings)
    running = launched is not None and status.process_alive(launched.pid)
    locale = current_locale()
    mode = st.radio(
        t("status.launch.mode"),
        status.LAUNCH_MODES,
        # the locale fixed here, not read when called (Streamlit may format outside the run)
        format_func=lambda code: translate(f"status.launch.mode.{code}", locale),
        horizontal=True,
        key="status.launch_mode",
        disabled=running,
    )
    st.caption(t(f"status.launch.help.{mode}"))
    if st.button(
        t("status.launch.start"),
        key="status.launch_start",
        type="primary",
        icon=":material/play_arrow:",
        disabled=running,
    ):
        try:
            status.start_pipeline_run(settings, actor, mode)
        except status.PipelineAlreadyRunning:
            st.warning(t("status.launch.busy"), icon=":material/hourglass_top:")
        except PermissionError:
            st.error(t("status.launch.refused"), icon=":material/block:")
        else:
            st.toast(t("status.launch.started", mode=_mode_name(mode)))
            st.rerun()
    # Refreshed on a timer only while a run goes on (a finished one needs no polling).
    st.fragment(run_every=PROGRESS_SECONDS if running else None)(_progress_panel)()


actor = require_page("status")
st.title(t("status.title"))
st.caption(t("status.help"))
_launch_section(actor)
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
