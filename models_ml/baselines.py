"""Baselines every model must beat: an RFM rule and a recency-frequency heuristic.

Both are rankings computed from the same point-in-time features (no training), the way a
marketing team would pick members without a model. Higher score = more likely (to churn, to
buy, to answer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEVER_DAYS = 10_000.0  # recency of "never": longer ago than any real gap


def _quintile(values: pd.Series) -> np.ndarray:
    """1 (lowest fifth) to 5 (highest fifth), ties broken by position."""
    ranks = values.rank(method="first")
    return np.ceil(ranks / max(len(values), 1) * 5).clip(1, 5).to_numpy()


def rfm_score(frame: pd.DataFrame, target: str) -> np.ndarray:
    """Classic RFM: a 1–5 quintile for recency, frequency and money, summed.

    churn: stale, infrequent, low-spending members first; buyer: the opposite.
    """
    recency_column = "days_since_last_activity" if target == "churn" else "days_since_last_purchase"
    frequency_column = "active_days_365d" if target == "churn" else "purchases_365d"
    recency = frame[recency_column].fillna(NEVER_DAYS)
    r = _quintile(-recency)  # 5 = most recent
    f = _quintile(frame[frequency_column])
    m = _quintile(frame["amount_365d"])
    score = r + f + m
    return (18 - score) if target == "churn" else score


def recency_frequency_score(frame: pd.DataFrame, target: str) -> np.ndarray:
    """Frequency over recency: members seen often and lately are the likely ones.

    buyer: (1 + purchases in a year) / (1 + days since the last purchase);
    churn: (1 + days since the last activity) / (1 + active days in a year).
    """
    if target == "churn":
        recency = frame["days_since_last_activity"].fillna(NEVER_DAYS)
        return ((1 + recency) / (1 + frame["active_days_365d"])).to_numpy(dtype=float)
    if target == "buyer":
        recency = frame["days_since_last_purchase"].fillna(NEVER_DAYS)
        return ((1 + frame["purchases_365d"]) / (1 + recency)).to_numpy(dtype=float)
    # care: members who answered before answer again (smoothed past answer rate)
    return past_response_rate(frame)


def past_response_rate(frame: pd.DataFrame) -> np.ndarray:
    """Answered care contacts over contacts sent, smoothed towards a 25% prior."""
    answers = frame["care_responses_total"].to_numpy(dtype=float)
    contacts = frame["care_contacts_total"].to_numpy(dtype=float)
    return (answers + 1.0) / (contacts + 4.0)


def baseline_scores(frame: pd.DataFrame, target: str) -> dict[str, np.ndarray]:
    """Every baseline of a task, by name."""
    if target == "care":
        recency = frame["days_since_last_care_response"].fillna(NEVER_DAYS)
        return {
            "past_response_rate": past_response_rate(frame),
            "response_recency": (1.0 / (1.0 + recency)).to_numpy(dtype=float),
        }
    return {
        "rfm_rule": rfm_score(frame, target),
        "recency_frequency": recency_frequency_score(frame, target),
    }
