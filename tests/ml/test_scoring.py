"""Scoring: the prediction marts, their reasons and the best channel."""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from models_ml.registry import Registry
from models_ml.score import MART_COLUMNS, best_channels, score_all


@pytest.fixture(scope="module")
def scored(features_build, trained_registry: Registry, tmp_path_factory) -> dict:
    copy = tmp_path_factory.mktemp("scored") / "build.duckdb"
    copy.write_bytes(features_build.read_bytes())
    with duckdb.connect(str(copy)) as connection:
        result = score_all(connection, trained_registry, locale="en")
        marts = {m: connection.execute(f"select * from prediction.{m}").df() for m in MART_COLUMNS}
        members = connection.execute(
            "select * from features.feat_member_snapshots where is_scoring"
        ).df()
        score_all(connection, trained_registry, locale="zh_CN")
        chinese = connection.execute("select * from prediction.churn_risk").df()
    return {"result": result, "marts": marts, "members": members, "chinese": chinese}


def test_every_member_of_the_scoring_day_gets_each_prediction(scored, trained_registry) -> None:
    members = set(scored["members"]["member_no"])
    for mart, columns in MART_COLUMNS.items():
        frame = scored["marts"][mart]
        assert list(frame.columns) == list(columns)
        if mart == "care_responsiveness" and scored["result"].versions["care"] is None:
            assert frame.empty  # no care model beat its baselines: an empty mart, same columns
            continue
        assert set(frame["member_no"]) == members and frame["member_no"].is_unique
        assert (pd.to_datetime(frame["as_of"]).dt.date.astype(str) == "2026-03-31").all()
    churn = scored["marts"]["churn_risk"]
    assert churn["p_churn"].between(0, 1).all()
    assert (churn["model_version"] == trained_registry.require_current("churn").version).all()


def test_members_who_stopped_coming_are_the_likeliest_to_leave(scored) -> None:
    frame = scored["marts"]["churn_risk"].merge(scored["members"], on="member_no")
    days = frame["days_since_last_activity"]
    # Gone: nothing for a year, or never anything in a year or more of membership (a member
    # who joined last month and has not come yet is not "gone", and is scored lower).
    gone = (days > 365) | (days.isna() & (frame["tenure_days"] > 365))
    recent = days <= 30
    assert frame.loc[gone, "p_churn"].mean() > 0.8
    assert frame.loc[recent, "p_churn"].mean() < 0.4
    # The longer since the last visit or activity, the likelier to leave, band by band.
    bands = pd.cut(days, [-1, 30, 90, 180, 365, float("inf")])
    by_band = frame.groupby(bands, observed=True)["p_churn"].mean()
    assert len(by_band) == 5 and by_band.is_monotonic_increasing, by_band


def test_reasons_quote_the_members_own_figures(scored) -> None:
    frame = scored["marts"]["churn_risk"].merge(scored["members"], on="member_no")
    risky = frame[frame["p_churn"] > 0.5]
    assert (risky["top_reasons"].str.len() > 0).mean() > 0.9
    with_recency = risky[risky["top_reason_codes"].str.contains("activity_recency")]
    assert len(with_recency) > 10
    for row in with_recency.head(50).itertuples():
        if pd.isna(row.days_since_last_activity):
            assert "no visit or activity on record" in row.top_reasons
        else:
            days = int(row.days_since_last_activity)
            assert f"last visit or activity {days} days ago" in row.top_reasons
        assert re.fullmatch(r"(\w+:\+\d+\.\d)(;\w+:\+\d+\.\d)*", row.top_reason_codes)
    chinese = scored["chinese"].set_index("member_no")["top_reasons"]
    assert chinese.loc[with_recency["member_no"]].str.contains("天前|没有到访或活动记录").all()


def test_care_scores_carry_uplift_and_a_channel(scored) -> None:
    care = scored["marts"]["care_responsiveness"]
    if scored["result"].versions["care"] is None:
        assert care.empty  # no care model beat its baselines on this small history
        return
    assert care["p_respond"].between(0, 1).all()
    assert care["uplift"].between(-1, 1).all()
    assert care["best_channel"].notna().all()


def test_best_channel_prefers_a_members_own_answers_over_the_club_average() -> None:
    channels = pd.DataFrame(
        {
            "member_no": ["A", "A", "B", "C"],
            "channel": ["sms", "letter", "sms", "letter"],
            "contacts": [10.0, 10.0, 40.0, 40.0],
            "responses": [0.0, 8.0, 20.0, 4.0],
        }
    )
    members = pd.Series(["A", "B", "C", "D"])
    chosen = best_channels(channels, members)
    # club: sms 20/50 = 0.40, letter 12/50 = 0.24
    assert list(chosen) == ["letter", "sms", "sms", "sms"]
