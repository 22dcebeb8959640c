"""Warehouses for the manager-dashboard tests (no tests here; the test_dash_* modules use them).

The dashboards read the marts the real pipeline builds, so the tests start from the shared demo
environment (``demo_env``: 2,000 generated members run through ``clubcrm pipeline run``) and
republish a *copy* of its published warehouse into a data folder of their own, with or without
the prediction marts (another part of the pipeline writes those; their contract is in
ARCHITECTURE.md). The shared demo is never written to.
"""

from __future__ import annotations

import shutil
from contextlib import closing
from datetime import date
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from clubcrm.published import connect, publish, published_path
from clubcrm.settings import Settings
from dashboards.auth import remember_sign_in
from operational.services.common import Actor

VIEWS = Path(__file__).resolve().parents[2] / "dashboards" / "views"
PREDICTIONS_AS_OF = date(2026, 6, 30)
MODEL_VERSION = "test-2026.06"


def settings_for(home: Path) -> Settings:
    """Settings of a data folder (what ``get_settings`` returns with CLUBCRM_HOME=home)."""
    import os

    from clubcrm.settings import get_settings

    previous = os.environ.get("CLUBCRM_HOME")
    os.environ["CLUBCRM_HOME"] = str(home)
    try:
        settings = get_settings()
    finally:
        if previous is None:
            os.environ.pop("CLUBCRM_HOME", None)
        else:
            os.environ["CLUBCRM_HOME"] = previous
    settings.ensure_dirs()
    return settings


def republish(source: Settings, home: Path, *, predictions: bool) -> Settings:
    """Publish a copy of ``source``'s published warehouse in ``home``, with prediction marts
    made up from the members (``predictions=True``) or without any prediction schema."""
    settings = settings_for(home)
    build = settings.build_warehouse_path
    build.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(published_path(source), build)
    with duckdb.connect(str(build)) as con:
        con.execute("drop schema if exists prediction cascade")
        if predictions:
            add_predictions(con)
    publish(settings, build, run_id="dash-tests")
    return settings


def add_predictions(con: duckdb.DuckDBPyConnection) -> None:
    """The three prediction marts for every member, with the contract's columns.

    Probabilities are a deterministic function of the member number; an older as-of date holds
    different scores, so a page that mixed as-of dates would show the wrong numbers.
    """
    con.execute("create schema prediction")
    scores = """
        select member_no, as_of,
               ((hash(member_no || seed || '{table}') % 1000) / 1000.0)::double as p,
               '{version}' as model_version,
               [reason || ' (' || member_no || ')', 'tenure'] as top_reasons
        from core.dim_members,
             (values (date '{as_of}', 'a', '{reason}'),
                     (date '{as_of}' - interval 90 day, 'b', 'older')) as runs(as_of, seed, reason)
    """
    for table, column, reason in (
        ("churn_risk", "p_churn", "no purchase in 180 days"),
        ("likely_buyers", "p_buy", "bought last quarter"),
        ("care_responsiveness", "p_respond", "answered the last care"),
    ):
        sql = scores.format(
            version=MODEL_VERSION, as_of=PREDICTIONS_AS_OF, reason=reason, table=table
        )
        extra = ", (p - 0.5) / 5 as uplift" if table == "care_responsiveness" else ""
        con.execute(
            f"""
            create table prediction.{table} as
            select member_no, cast(as_of as date) as as_of, p as {column}{extra},
                   model_version, top_reasons
            from ({sql})
            """
        )


def warehouse_scalar(settings: Settings, sql: str, params: list | None = None):
    """One value computed straight from the published warehouse (the tests' own arithmetic)."""
    with closing(connect(settings)) as con:
        return con.execute(sql, params or []).fetchone()[0]


def open_dashboard(
    name: str, role: str = "manager", locale: str | None = None, run: bool = True
) -> AppTest:
    """``dashboards/views/<name>.py`` signed in as ``role`` (in ``locale`` if given)."""
    page = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=60)
    remember_sign_in(page.session_state, Actor(role, role), role.title())
    if locale:
        page.session_state["locale"] = locale
    return page.run() if run else page


def metrics(page: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in page.metric}


def download_labels(page: AppTest) -> list[str]:
    return [element.proto.label for element in page.get("download_button")]
