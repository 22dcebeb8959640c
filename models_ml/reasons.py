"""``top_reasons``: why a member got their score, per member, in words a manager reads.

Attribution is a cheap local one that works for any model: for each *reason group* (a few
related features, e.g. everything about purchases frequency) the member's values are
replaced by those of a typical member (training medians, most common category) and the
member is scored again. The drop in probability is that group's contribution: how much
higher this member's probability is *because of* those features. The groups with the
largest positive contributions (at least 1 percentage point), at most three, become the
reasons, phrased with the member's own values ("no purchase for 240 days").

Two columns are written: ``top_reasons`` (text in the club's locale, CLUBCRM_LOCALE: zh_CN
or English) and ``top_reason_codes`` (``code:+pp`` pairs, e.g. ``purchase_recency:+12.5``,
stable for dashboards that translate themselves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

MIN_CONTRIBUTION = 0.01
MAX_REASONS = 3


def _days(value: float) -> int:
    return int(round(value))


def _num(value: float) -> str:
    return f"{value:,.0f}"


@dataclass(frozen=True)
class ReasonGroup:
    code: str
    features: tuple[str, ...]
    english: Callable[[pd.Series], str]
    chinese: Callable[[pd.Series], str]


def _recency(column: str, en_noun: str, zh_noun: str) -> tuple[Callable, Callable]:
    def en(row: pd.Series) -> str:
        if pd.isna(row[column]):
            return f"no {en_noun} on record"
        return f"last {en_noun} {_days(row[column])} days ago"

    def zh(row: pd.Series) -> str:
        if pd.isna(row[column]):
            return f"没有{zh_noun}记录"
        return f"最近一次{zh_noun}在{_days(row[column])}天前"

    return en, zh


_purchase_en, _purchase_zh = _recency("days_since_last_purchase", "purchase", "消费")
_activity_en, _activity_zh = _recency("days_since_last_activity", "visit or activity", "到访或活动")

GROUPS: tuple[ReasonGroup, ...] = (
    ReasonGroup(
        "purchase_recency",
        ("days_since_last_purchase", "expected_purchases_missed"),
        _purchase_en,
        _purchase_zh,
    ),
    ReasonGroup(
        "activity_recency",
        (
            "days_since_last_activity",
            "days_since_last_swipe",
            "days_since_last_attendance",
            "expected_active_days_missed",
            "expected_events_missed",
        ),
        _activity_en,
        _activity_zh,
    ),
    ReasonGroup(
        "purchase_frequency",
        (
            "purchases_90d",
            "purchases_prev_90d",
            "purchases_180d",
            "purchases_365d",
            "purchases_total",
            "purchases_per_year",
            "purchase_rate_smoothed",
        ),
        lambda r: (
            f"{_num(r['purchases_365d'])} purchases in the last year "
            f"({_num(r['purchases_90d'])} in the last 90 days)"
        ),
        lambda r: f"近一年消费{_num(r['purchases_365d'])}次（近90天{_num(r['purchases_90d'])}次）",
    ),
    ReasonGroup(
        "spend",
        ("amount_365d", "amount_total"),
        lambda r: f"spent ¥{_num(r['amount_365d'])} in the last year",
        lambda r: f"近一年消费金额¥{_num(r['amount_365d'])}",
    ),
    ReasonGroup(
        "engagement",
        (
            "swipes_90d",
            "swipes_365d",
            "swipes_total",
            "swipes_per_year",
            "attendances_90d",
            "attendances_365d",
            "attendances_total",
            "attendances_per_year",
            "active_days_90d",
            "active_days_180d",
            "active_days_365d",
            "active_days_total",
            "active_days_per_year",
            "events_per_year",
        ),
        lambda r: (
            f"active on {_num(r['active_days_365d'])} days in the last year "
            f"({_num(r['attendances_365d'])} activities, {_num(r['swipes_365d'])} visits)"
        ),
        lambda r: (
            f"近一年活跃{_num(r['active_days_365d'])}天"
            f"（参加活动{_num(r['attendances_365d'])}次，到访{_num(r['swipes_365d'])}次）"
        ),
    ),
    ReasonGroup(
        "points",
        ("points_balance", "points_earned_365d", "redemptions_365d"),
        lambda r: (
            f"{_num(r['points_balance'])} points, "
            f"{_num(r['redemptions_365d'])} redemptions in the last year"
        ),
        lambda r: f"积分余额{_num(r['points_balance'])}，近一年兑换{_num(r['redemptions_365d'])}次",
    ),
    ReasonGroup(
        "care_response",
        (
            "care_contacts_365d",
            "care_responses_365d",
            "care_contacts_total",
            "care_responses_total",
            "days_since_last_care_response",
            "care_response_rate",
            "contacts_before",
            "responses_before",
        ),
        lambda r: (
            f"{_num(r['care_responses_total'])} of {_num(r['care_contacts_total'])} "
            "care contacts answered"
        ),
        lambda r: (
            f"关怀回应{_num(r['care_responses_total'])}次"
            f"（共联系{_num(r['care_contacts_total'])}次）"
        ),
    ),
    ReasonGroup(
        "complaints",
        ("complaints_365d", "complaints_total"),
        lambda r: f"{_num(r['complaints_365d'])} complaints in the last year",
        lambda r: f"近一年投诉{_num(r['complaints_365d'])}次",
    ),
    ReasonGroup(
        "tenure",
        ("tenure_days", "observed_days"),
        lambda r: f"member for {r['tenure_days'] / 365.25:.1f} years",
        lambda r: f"入会{r['tenure_days'] / 365.25:.1f}年",
    ),
    ReasonGroup(
        "profile",
        ("tier", "region", "join_channel", "has_mobile", "has_email"),
        lambda r: f"tier {r['tier']}, region {r['region']}, joined via {r['join_channel']}",
        lambda r: f"等级{r['tier']}，地区{r['region']}，入会渠道{r['join_channel']}",
    ),
    ReasonGroup(
        "contact_channel",
        (
            "contact_channel",
            "channel_contacts_before",
            "channel_responses_before",
            "channel_response_rate",
        ),
        lambda r: f"reachable by {r['contact_channel']}",
        lambda r: f"适合通过{r['contact_channel']}联系",
    ),
)


def typical_member(frame: pd.DataFrame, columns: list[str]) -> dict[str, object]:
    """Reference values: the median of each number, the most common value of each category."""
    reference: dict[str, object] = {}
    for column in columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values):
            reference[column] = float(values.median()) if values.notna().any() else np.nan
        else:
            modes = values.dropna().mode()
            reference[column] = modes.iloc[0] if len(modes) else None
    return reference


def contributions(
    predict: Callable[[pd.DataFrame], np.ndarray],
    frame: pd.DataFrame,
    reference: dict[str, object],
    columns: list[str],
) -> tuple[np.ndarray, pd.DataFrame]:
    """Scores and, per reason group, score minus the score with that group made typical."""
    base = predict(frame)
    result = {}
    for group in GROUPS:
        replaced = [column for column in group.features if column in columns]
        if not replaced:
            continue
        altered = frame.copy()
        for column in replaced:
            altered[column] = reference[column]
        result[group.code] = base - predict(altered)
    return base, pd.DataFrame(result, index=frame.index)


def describe(
    frame: pd.DataFrame, contribution: pd.DataFrame, locale: str
) -> tuple[list[str], list[str]]:
    """Per member: the reasons as text (locale) and as ``code:+pp`` codes."""
    by_code = {group.code: group for group in GROUPS}
    chinese = locale.lower().startswith("zh")
    separator = "；" if chinese else "; "
    values = contribution.to_numpy()
    codes = np.array(contribution.columns)
    order = np.argsort(-values, axis=1)[:, :MAX_REASONS]
    texts, code_lists = [], []
    needed = sorted({c for g in GROUPS for c in g.features if c in frame.columns})
    records = frame[needed].to_dict("records")
    for row_index, (position, record) in enumerate(zip(order, records, strict=True)):
        parts, part_codes = [], []
        for column_index in position:
            amount = values[row_index, column_index]
            if amount < MIN_CONTRIBUTION:
                break
            group = by_code[codes[column_index]]
            phrase = group.chinese(record) if chinese else group.english(record)
            parts.append(phrase)
            part_codes.append(f"{group.code}:+{amount * 100:.1f}")
        texts.append(separator.join(parts))
        code_lists.append(";".join(part_codes))
    return texts, code_lists
