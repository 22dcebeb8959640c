"""Quality measures reported with every model version (and beside every baseline)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def top_decile_lift(labels: np.ndarray, scores: np.ndarray) -> float:
    """Positive rate among the 10% highest scores divided by the overall positive rate."""
    labels = np.asarray(labels, dtype=float)
    base = labels.mean()
    if base == 0 or len(labels) < 10:
        return float("nan")
    top = max(1, int(np.ceil(0.1 * len(labels))))
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:top]
    return float(labels[order].mean() / base)


def classification_metrics(
    labels: np.ndarray, scores: np.ndarray, probabilities: bool = True
) -> dict[str, float | None]:
    """ROC-AUC, PR-AUC (average precision), Brier score (probabilities only), top-decile lift.

    Baselines are rankings, not probabilities: their Brier score is reported as None.
    """
    labels = np.asarray(labels, dtype=int)
    scores = np.asarray(scores, dtype=float)
    both_classes = 0 < labels.sum() < len(labels)
    return {
        "rows": int(len(labels)),
        "positive_rate": float(labels.mean()) if len(labels) else float("nan"),
        "roc_auc": float(roc_auc_score(labels, scores)) if both_classes else float("nan"),
        "pr_auc": float(average_precision_score(labels, scores)) if both_classes else float("nan"),
        "brier": float(brier_score_loss(labels, np.clip(scores, 0, 1))) if probabilities else None,
        "top_decile_lift": top_decile_lift(labels, scores),
    }


def uplift_by_decile(
    uplift_scores: np.ndarray, treated: np.ndarray, responded: np.ndarray, bins: int = 10
) -> pd.DataFrame:
    """Observed uplift (treated minus control answer rate) in each score decile, best first."""
    frame = pd.DataFrame(
        {
            "score": np.asarray(uplift_scores, dtype=float),
            "treated": np.asarray(treated, dtype=int),
            "responded": np.asarray(responded, dtype=int),
        }
    )
    ranks = frame["score"].rank(method="first", ascending=False)
    frame["decile"] = np.ceil(ranks / len(frame) * bins).clip(1, bins).astype(int)
    rows = []
    for decile, group in frame.groupby("decile"):
        treated_rows = group[group["treated"] == 1]
        control_rows = group[group["treated"] == 0]
        rate_t = treated_rows["responded"].mean() if len(treated_rows) else float("nan")
        rate_c = control_rows["responded"].mean() if len(control_rows) else float("nan")
        rows.append(
            {
                "decile": int(decile),
                "treated": len(treated_rows),
                "control": len(control_rows),
                "response_treated": float(rate_t),
                "response_control": float(rate_c),
                "observed_uplift": float(rate_t - rate_c),
            }
        )
    return pd.DataFrame(rows)


def qini_coefficient(
    uplift_scores: np.ndarray, treated: np.ndarray, responded: np.ndarray
) -> float:
    """Area between the Qini curve and the random-targeting line, per contact.

    Q(k) = answers among the top-k treated minus answers among the top-k controls scaled to
    the treated count. Positive: the ranking finds members whom care moves; 0: no better than
    random; negative: worse. Comparable between rankings of the same contacts.
    """
    scores = np.asarray(uplift_scores, dtype=float)
    treated = np.asarray(treated, dtype=int)
    responded = np.asarray(responded, dtype=int)
    order = np.argsort(-scores, kind="stable")
    t, y = treated[order], responded[order]
    n_t = np.cumsum(t)
    n_c = np.cumsum(1 - t)
    r_t = np.cumsum(y * t)
    r_c = np.cumsum(y * (1 - t))
    with np.errstate(divide="ignore", invalid="ignore"):
        qini = r_t - np.where(n_c > 0, r_c * n_t / np.maximum(n_c, 1), 0.0)
    n = len(scores)
    if n == 0 or n_c[-1] == 0 or n_t[-1] == 0:
        return float("nan")
    random_line = qini[-1] * np.arange(1, n + 1) / n
    return float(np.mean(qini - random_line) / n_t[-1])
