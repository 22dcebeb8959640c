"""The features contract: which columns of the ``features`` schema the models use, and loading.

dbt builds the features point in time (transforms/models/features); nothing here computes a
feature from raw events, so a model sees exactly what the warehouse documents.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

FEATURES_SCHEMA = "features"
PREDICTION_SCHEMA = "prediction"

NUMERIC_FEATURES: tuple[str, ...] = (
    "tenure_days",
    "has_mobile",
    "has_email",
    "days_since_last_purchase",
    "days_since_last_activity",
    "days_since_last_swipe",
    "days_since_last_attendance",
    "days_since_last_care_response",
    "purchases_90d",
    "purchases_prev_90d",
    "purchases_180d",
    "purchases_365d",
    "purchases_total",
    "amount_365d",
    "amount_total",
    "swipes_90d",
    "swipes_365d",
    "swipes_total",
    "attendances_90d",
    "attendances_365d",
    "attendances_total",
    "redemptions_365d",
    "active_days_90d",
    "active_days_180d",
    "active_days_365d",
    "active_days_total",
    "points_balance",
    "points_earned_365d",
    "care_contacts_365d",
    "care_responses_365d",
    "care_contacts_total",
    "care_responses_total",
    "complaints_365d",
    "complaints_total",
    "observed_days",
    "purchases_per_year",
    "active_days_per_year",
    "care_response_rate",
    "expected_active_days_missed",
    "expected_purchases_missed",
    "swipes_per_year",
    "attendances_per_year",
    "events_per_year",
    "expected_events_missed",
    "purchase_rate_smoothed",
)
CATEGORICAL_FEATURES: tuple[str, ...] = ("tier", "region", "join_channel")
# Care contacts add what the club chooses when it contacts a member.
CARE_CATEGORICAL_FEATURES: tuple[str, ...] = ("contact_channel", "care_trigger")
# ... and the member's care history at the moment of the contact (features.feat_care_contacts;
# when scoring, from features.feat_member_channels for the channel the member is scored on).
CARE_NUMERIC_FEATURES: tuple[str, ...] = (
    "days_after_snapshot",
    "channel_contacts_before",
    "channel_responses_before",
    "channel_response_rate",
    "contacts_before",
    "responses_before",
)


@dataclass(frozen=True)
class Task:
    """One prediction task: where its rows and labels come from and which mart it feeds."""

    name: str
    label: str
    observed: str
    mart: str
    probability_column: str
    horizon_setting: str


CHURN = Task(
    name="churn",
    label="churned",
    observed="is_churn_label_observed",
    mart="churn_risk",
    probability_column="p_churn",
    horizon_setting="churn_horizon_days",
)
BUYER = Task(
    name="buyer",
    label="bought",
    observed="is_buy_label_observed",
    mart="likely_buyers",
    probability_column="p_buy",
    horizon_setting="buyer_horizon_days",
)
CARE = Task(
    name="care",
    label="responded",
    observed="is_response_label_observed",
    mart="care_responsiveness",
    probability_column="p_respond",
    horizon_setting="care_response_days",
)
TASKS: dict[str, Task] = {task.name: task for task in (CHURN, BUYER, CARE)}


class FeaturesMissing(RuntimeError):
    """The features schema has not been built (run the dbt build first)."""


def _table_exists(connection: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [FEATURES_SCHEMA, table],
    ).fetchone()
    return bool(found and found[0])


def _require(connection: duckdb.DuckDBPyConnection, *tables: str) -> None:
    missing = [table for table in tables if not _table_exists(connection, table)]
    if missing:
        raise FeaturesMissing(
            f"features.{', features.'.join(missing)} not found in the warehouse: "
            "run the dbt build (clubcrm pipeline run) first"
        )


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 (DuckDB sums arrive as 128-bit integers), dates as Timestamps."""
    for column in (*NUMERIC_FEATURES, *CARE_NUMERIC_FEATURES):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in (*CATEGORICAL_FEATURES, *CARE_CATEGORICAL_FEATURES):
        if column in frame:
            frame[column] = frame[column].astype("object")
    if "snapshot_date" in frame:
        frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    return frame


def spine(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The snapshot dates and horizons the features were built with."""
    _require(connection, "feat_snapshot_dates")
    frame = connection.execute(
        "select * from features.feat_snapshot_dates order by snapshot_date"
    ).df()
    frame["snapshot_date"] = pd.to_datetime(frame["snapshot_date"])
    return frame


def horizons(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """buyer_horizon_days, churn_horizon_days and care_response_days of the build."""
    frame = spine(connection)
    if frame.empty:
        raise FeaturesMissing("features.feat_snapshot_dates is empty")
    return {
        name: int(frame[name].iloc[0])
        for name in ("buyer_horizon_days", "churn_horizon_days", "care_response_days")
    }


def member_training_rows(connection: duckdb.DuckDBPyConnection, task: Task) -> pd.DataFrame:
    """Member features of every training snapshot whose ``task`` label window has closed."""
    _require(connection, "feat_member_snapshots", "feat_member_labels")
    frame = connection.execute(
        f"""
        select features.*, labels.{task.label}
        from features.feat_member_snapshots as features
        inner join features.feat_member_labels as labels
            on labels.member_no = features.member_no
           and labels.snapshot_date = features.snapshot_date
        where labels.{task.observed}
        order by features.snapshot_date, features.member_no
        """
    ).df()
    return _tidy(frame)


def care_training_rows(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Care contacts with observed answers and the member's features just before each."""
    _require(connection, "feat_member_snapshots", "feat_care_contacts")
    frame = connection.execute(
        """
        select
            features.*,
            contacts.care_contact_id,
            contacts.is_treated,
            contacts.contact_channel,
            contacts.care_trigger,
            contacts.days_after_snapshot,
            contacts.channel_contacts_before,
            contacts.channel_responses_before,
            contacts.contacts_before,
            contacts.responses_before,
            contacts.responded
        from features.feat_care_contacts as contacts
        inner join features.feat_member_snapshots as features
            on features.member_no = contacts.member_no
           and features.snapshot_date = contacts.snapshot_date
        where contacts.is_response_label_observed
        order by features.snapshot_date, contacts.care_contact_id
        """
    ).df()
    return _tidy(with_channel_rate(frame))


def with_channel_rate(frame: pd.DataFrame) -> pd.DataFrame:
    """The member's smoothed answer rate on the contact's channel: (answers + 1) / (contacts + 4)."""
    frame["channel_response_rate"] = (
        pd.to_numeric(frame["channel_responses_before"]).astype("float64") + 1.0
    ) / (pd.to_numeric(frame["channel_contacts_before"]).astype("float64") + 4.0)
    return frame


def care_history_for(frame: pd.DataFrame, channels: pd.DataFrame) -> pd.DataFrame:
    """Care history columns of scoring rows for a contact on ``frame.contact_channel`` now.

    ``channels`` is :func:`member_channels` (sent contacts and answers per member and
    channel up to the reference day), the same counts feat_care_contacts makes before a
    contact; the scoring snapshot is the reference day itself (0 days after it).
    """
    frame = frame.copy()
    frame["days_after_snapshot"] = 0.0
    if channels.empty:
        for column in ("channel_contacts_before", "channel_responses_before",
                       "contacts_before", "responses_before"):  # fmt: skip
            frame[column] = 0.0
        return with_channel_rate(frame)
    totals = channels.groupby("member_no")[["contacts", "responses"]].sum()
    frame["contacts_before"] = frame["member_no"].map(totals["contacts"]).fillna(0.0)
    frame["responses_before"] = frame["member_no"].map(totals["responses"]).fillna(0.0)
    keyed = channels.set_index(["member_no", "channel"])
    index = pd.MultiIndex.from_arrays(
        [frame["member_no"].to_numpy(), frame["contact_channel"].astype("object").to_numpy()]
    )
    frame["channel_contacts_before"] = keyed["contacts"].reindex(index).fillna(0.0).to_numpy()
    frame["channel_responses_before"] = keyed["responses"].reindex(index).fillna(0.0).to_numpy()
    return with_channel_rate(frame)


def scoring_rows(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Member features on the scoring snapshot (the reference day)."""
    _require(connection, "feat_member_snapshots")
    frame = connection.execute(
        "select * from features.feat_member_snapshots where is_scoring order by member_no"
    ).df()
    return _tidy(frame)


def member_channels(connection: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Care contacts and answers per member and channel up to the reference day."""
    _require(connection, "feat_member_channels")
    frame = connection.execute("select * from features.feat_member_channels").df()
    for column in ("contacts", "responses"):
        frame[column] = pd.to_numeric(frame[column]).astype("float64")
    return frame


def fingerprint(frame: pd.DataFrame, columns: list[str]) -> str:
    """A short, order-independent hash of the rows a model was trained and validated on."""
    present = [column for column in columns if column in frame]
    hashed = pd.util.hash_pandas_object(frame[present], index=False).to_numpy()
    digest = np.bitwise_xor.reduce(hashed) if len(hashed) else np.uint64(0)
    total = int(hashed.sum(dtype=np.uint64)) if len(hashed) else 0
    return f"{int(digest):016x}{total & 0xFFFFFFFF:08x}-{len(frame)}"
