"""Nothing after the as-of date reaches a feature or a score (point in time)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pandas as pd
from conftest import AS_OF

from models_ml.registry import Registry
from models_ml.score import score_all

# Every event source of the features, with the column that dates it.
EVENT_TABLES = {
    "purchases": ("id", "purchased_at"),
    "activity_attendance": ("id", "attended_at"),
    "redemptions": ("id", "redeemed_at"),
    "point_entries": ("id", "posted_at"),
    "complaints": ("id", "received_at"),
    "care_contacts": ("id", "contacted_at"),
}


def add_events_after_as_of(connection: duckdb.DuckDBPyConnection) -> None:
    """Copy every member's events to a few days after the as-of date (new ids), answer every
    unanswered care contact after it, and swipe every card again after it."""
    after = pd.Timestamp(AS_OF + timedelta(days=3)).to_pydatetime()
    for table, (key, dated) in EVENT_TABLES.items():
        offset = connection.execute(f"select max({key}) from raw.{table}").fetchone()[0]
        connection.execute(
            f"""
            insert into raw.{table}
            select * replace ({key} + {offset} as {key}, ? as {dated})
            from raw.{table} where {dated} is not null
            """,
            [after],
        )
    connection.execute(
        "update raw.care_contacts set responded_at = ? where responded_at is null", [after]
    )
    connection.execute(
        """
        insert into raw.swipes
        select * replace ('late-' || swipe_id as swipe_id, ? as swiped_at) from raw.swipes
        """,
        [after],
    )


def _ordered(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return connection.execute(sql).df().reset_index(drop=True)


def test_events_after_the_as_of_date_change_no_feature_and_no_score(
    build_features, features_build, trained_registry: Registry, tmp_path
) -> None:
    with_future = build_features("features-with-future", alter=add_events_after_as_of)

    with duckdb.connect(str(with_future), read_only=True) as connection:
        assert (
            connection.execute(  # the added events are really in the raw data
                "select count(*) from raw.purchases where purchased_at > ?", [AS_OF]
            ).fetchone()[0]
            > 1000
        )

    marts = {}
    for name, path in (("plain", features_build), ("future", with_future)):
        copy = tmp_path / f"{name}.duckdb"
        copy.write_bytes(path.read_bytes())
        with duckdb.connect(str(copy)) as connection:
            score_all(connection, trained_registry, locale="en")
            marts[name] = {
                "snapshots": _ordered(
                    connection,
                    "select * from features.feat_member_snapshots order by snapshot_date, member_no",
                ),
                "labels_closed": _ordered(
                    connection,
                    "select * from features.feat_member_labels order by snapshot_date, member_no",
                ),
                "care_contacts": _ordered(
                    connection,
                    "select * from features.feat_care_contacts order by care_contact_id",
                ),
                "churn": _ordered(connection, "select * from prediction.churn_risk order by 1"),
                "buyer": _ordered(connection, "select * from prediction.likely_buyers order by 1"),
                "care": _ordered(
                    connection, "select * from prediction.care_responsiveness order by 1"
                ),
            }

    plain, future = marts["plain"], marts["future"]
    assert len(plain["snapshots"]) > 10_000
    pd.testing.assert_frame_equal(plain["snapshots"], future["snapshots"])
    pd.testing.assert_frame_equal(plain["labels_closed"], future["labels_closed"])
    # The care history of each contact (answers known before it) ignores later answers too.
    assert plain["care_contacts"]["channel_responses_before"].sum() > 0
    pd.testing.assert_frame_equal(plain["care_contacts"], future["care_contacts"])
    for mart in ("churn", "buyer"):
        assert len(plain[mart]) > 1000
    for mart in ("churn", "buyer", "care"):  # care is empty when no care model was promoted
        pd.testing.assert_frame_equal(plain[mart], future[mart])
