"""A member at a glance (360°): profile, cards, points, purchases, activities, cares,
complaints, segments and prediction scores, from the published warehouse.

Personal data is what the warehouse holds: ID numbers and mobiles only masked (core masks them,
the published copy masks ``raw``), no e-mail or address. :func:`mask_name` hides the name from
roles that may see masked personal data only (analysts). Each history is the latest
:data:`HISTORY_ROWS` rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import pandas as pd

from dashboards.data.filtering import query, table_exists

HISTORY_ROWS = 200
PREDICTIONS = {
    "churn_risk": "p_churn",
    "likely_buyers": "p_buy",
    "care_responsiveness": "p_respond",
}


@dataclass(frozen=True)
class Member360:
    profile: dict[str, object]
    cards: pd.DataFrame
    points: pd.DataFrame
    purchases: pd.DataFrame
    activities: pd.DataFrame
    cares: pd.DataFrame
    complaints: pd.DataFrame
    segments: dict[str, object]
    #: prediction table -> its latest row for the member (absent tables left out)
    scores: dict[str, dict[str, object]] = field(default_factory=dict)


def mask_name(name: str | None) -> str:
    """'王小明' -> '王**': the family name only, as an analyst may see it."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def find_member_no(con: duckdb.DuckDBPyConnection, number: str) -> str | None:
    """The member with that member number, or owning that card number (any card, even ended)."""
    number = number.strip()
    if not number:
        return None
    row = con.execute(
        """
        select member_no from core.dim_members where member_no = $number
        union all
        select member_no from core.dim_cards where card_no = $number and member_no is not null
        limit 1
        """,
        {"number": number},
    ).fetchone()
    return None if row is None else row[0]


def load(con: duckdb.DuckDBPyConnection, member_no: str) -> Member360 | None:
    """Everything about one member (None when the number is not a member's)."""
    profile_frame = query(
        con,
        """
        select member_no, member_name, status, tier, region, region_name_zh, region_name_en,
               gender, age_band, channel, source, joined_at, id_number_masked, mobile_masked,
               main_card_no, main_card_status, points_balance, points_pending,
               points_earned_total, points_redeemed_total, archived_at,
               (select count(*) from core.fct_purchases where member_no = $member_no)
                   as purchases_count,
               (select count(*) from core.fct_complaints where member_no = $member_no)
                   as complaints_count
        from core.dim_members where member_no = $member_no
        """,
        {"member_no": member_no},
    )
    if profile_frame.empty:
        return None
    profile = profile_frame.iloc[0].to_dict()

    def history(sql: str) -> pd.DataFrame:
        return query(con, sql.format(rows=HISTORY_ROWS), [member_no])

    return Member360(
        profile=profile,
        cards=history(
            """select card_no, card_kind, card_type, status, issued_at, expires_on, ended_at
               from core.dim_cards where member_no = ? order by issued_at desc limit {rows}"""
        ),
        points=history(
            """select posted_at, created_at, points, event_type, status, reference
               from core.fct_point_entries where member_no = ?
               order by coalesce(posted_at, created_at) desc, entry_id desc limit {rows}"""
        ),
        purchases=history(
            """select purchase_no, purchased_at, product, channel, purchase_type, amount,
                      paid_amount, salesperson
               from core.fct_purchases where member_no = ?
               order by purchased_at desc limit {rows}"""
        ),
        activities=history(
            """select activity_code, activity_name, activity_type, attended_at, points_awarded
               from core.fct_activity_attendance where member_no = ?
               order by attended_at desc limit {rows}"""
        ),
        cares=history(
            """select care_title, care_trigger, contact_channel, is_control, status,
                      contacted_at, responded_at
               from core.fct_care_contacts where member_no = ?
               order by contacted_at desc limit {rows}"""
        ),
        complaints=history(
            """select complaint_no, complaint_type, channel, importance, status, received_at,
                      due_at, closed_at, is_overdue
               from core.fct_complaints where member_no = ?
               order by received_at desc limit {rows}"""
        ),
        segments=_segments(con, member_no),
        scores=_scores(con, member_no),
    )


def _segments(con: duckdb.DuckDBPyConnection, member_no: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for mart, columns in (
        ("analysis_member_rfm", "rfm_segment, rfm_cell"),
        ("analysis_member_abc", "abc_class"),
        ("analysis_member_loyalty_stage", "loyalty_stage"),
        ("analysis_member_value_flags", "value_trend, problem_reason"),
    ):
        if not table_exists(con, "analysis", mart):
            continue
        frame = query(
            con, f"select {columns} from analysis.{mart} where member_no = ?", [member_no]
        )
        if not frame.empty:
            found.update(frame.iloc[0].to_dict())
    return found


def _scores(con: duckdb.DuckDBPyConnection, member_no: str) -> dict[str, dict[str, object]]:
    scores: dict[str, dict[str, object]] = {}
    for table in PREDICTIONS:
        if not table_exists(con, "prediction", table):
            continue
        frame = query(
            con,
            f"""select * from prediction.{table} where member_no = ?
                order by as_of desc limit 1""",
            [member_no],
        )
        if not frame.empty:
            scores[table] = frame.iloc[0].to_dict()
    return scores
