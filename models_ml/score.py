"""Scoring: the prediction marts, written into the build warehouse (schema ``prediction``).

Every pipeline run scores every member in the scoring snapshot (the reference day: the
``--as-of`` day or today) with the current model of each task:

- ``prediction.churn_risk(member_no, as_of, p_churn, model_version, top_reasons, top_reason_codes)``
- ``prediction.likely_buyers(member_no, as_of, p_buy, model_version, top_reasons, top_reason_codes)``
- ``prediction.care_responsiveness(member_no, as_of, p_respond, uplift, model_version,
  top_reasons, top_reason_codes, best_channel)``: p_respond = P(answer within the response
  window | contacted on best_channel), uplift = that minus P(answer | not contacted).

A task without a current model (too little history to train one) gets an empty mart with the
same columns, so dashboards and the published warehouse always have the tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from models_ml import features as F
from models_ml.estimator import UpliftModel
from models_ml.reasons import contributions, describe, typical_member
from models_ml.registry import Registry

# Pseudo-count of the channel smoothing: a member's own answers count once they have a few.
CHANNEL_PRIOR_CONTACTS = 4.0

MART_COLUMNS: dict[str, dict[str, str]] = {
    "churn_risk": {
        "member_no": "varchar",
        "as_of": "date",
        "p_churn": "double",
        "model_version": "varchar",
        "top_reasons": "varchar",
        "top_reason_codes": "varchar",
    },
    "likely_buyers": {
        "member_no": "varchar",
        "as_of": "date",
        "p_buy": "double",
        "model_version": "varchar",
        "top_reasons": "varchar",
        "top_reason_codes": "varchar",
    },
    "care_responsiveness": {
        "member_no": "varchar",
        "as_of": "date",
        "p_respond": "double",
        "uplift": "double",
        "model_version": "varchar",
        "top_reasons": "varchar",
        "top_reason_codes": "varchar",
        "best_channel": "varchar",
    },
}


@dataclass
class ScoringResult:
    as_of: date
    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)


def best_channels(channels: pd.DataFrame, members: pd.Series) -> pd.Series:
    """Each member's channel with the highest smoothed answer rate.

    A member's rate on a channel is (answers + k × club rate) / (contacts + k), k =
    CHANNEL_PRIOR_CONTACTS: with no history it is the club-wide rate of the channel, with a
    long history the member's own. Members never contacted get the club's best channel.
    """
    if channels.empty:
        return pd.Series([None] * len(members), index=members.index, dtype="object")
    club = channels.groupby("channel")[["contacts", "responses"]].sum()
    club_rate = (club["responses"] / club["contacts"]).rename("club_rate")
    club_best = str(club_rate.idxmax())
    per_member = channels.join(club_rate, on="channel")
    per_member["rate"] = (
        per_member["responses"] + CHANNEL_PRIOR_CONTACTS * per_member["club_rate"]
    ) / (per_member["contacts"] + CHANNEL_PRIOR_CONTACTS)
    # Channels the member was never contacted on keep the club rate: include them as well.
    best_own = per_member.sort_values(["member_no", "rate"], ascending=[True, False])
    best_own = best_own.drop_duplicates("member_no").set_index("member_no")
    club_best_rate = float(club_rate.max())
    chosen = np.where(best_own["rate"] >= club_best_rate, best_own["channel"], club_best)
    lookup = pd.Series(chosen, index=best_own.index)
    return members.map(lookup).fillna(club_best)


def _reasons(model, frame: pd.DataFrame, reference: dict, locale: str, predict=None):
    predict = predict or model.predict
    probabilities, contribution = contributions(predict, frame, reference, model.feature_columns)
    texts, codes = describe(frame, contribution, locale)
    return probabilities, texts, codes


def _empty(mart: str) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in MART_COLUMNS[mart]})


def _write(connection: duckdb.DuckDBPyConnection, mart: str, frame: pd.DataFrame) -> None:
    columns = MART_COLUMNS[mart]
    select = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns.items())
    connection.register("_prediction_rows", frame[list(columns)])
    try:
        connection.execute("begin transaction")
        connection.execute(f"create schema if not exists {F.PREDICTION_SCHEMA}")
        connection.execute(
            f"create or replace table {F.PREDICTION_SCHEMA}.{mart} as "
            f"select {select} from _prediction_rows"
        )
        connection.execute("commit")
    except Exception:
        connection.execute("rollback")
        raise
    finally:
        connection.unregister("_prediction_rows")


def score_all(
    connection: duckdb.DuckDBPyConnection, registry: Registry, locale: str = "zh_CN"
) -> ScoringResult:
    """Score the scoring snapshot with each task's current model and write the marts."""
    spine = F.spine(connection)
    as_of = pd.Timestamp(spine["reference_date"].iloc[0]).date()
    result = ScoringResult(as_of)
    members = F.scoring_rows(connection)
    for task in F.TASKS.values():
        current = registry.current(task.name)
        if current is None or members.empty:
            frame = _empty(task.mart)
            result.versions[task.name] = None
        else:
            frame = _score_task(connection, task, current, members, locale)
            result.versions[task.name] = current.version
        frame["as_of"] = as_of
        _write(connection, task.mart, frame)
        result.rows[task.mart] = len(frame)
    return result


def _score_task(connection, task: F.Task, current, members: pd.DataFrame, locale: str):
    model = current.load()
    reference = current.card.get("typical_member") or typical_member(members, model.feature_columns)
    frame = members.copy()
    output = pd.DataFrame({"member_no": frame["member_no"].to_numpy()})
    if isinstance(model, UpliftModel):
        channels = F.member_channels(connection)
        frame["contact_channel"] = best_channels(channels, frame["member_no"])
        frame = F.care_history_for(frame, channels)
        frame["care_trigger"] = model.scoring_trigger
        probabilities, texts, codes = _reasons(model, frame, reference, locale)
        output["uplift"] = probabilities - model.predict_control(frame)
        output["best_channel"] = frame["contact_channel"].to_numpy()
    else:
        probabilities, texts, codes = _reasons(model, frame, reference, locale)
    output[task.probability_column] = probabilities
    output["model_version"] = current.version
    output["top_reasons"] = texts
    output["top_reason_codes"] = codes
    return output
