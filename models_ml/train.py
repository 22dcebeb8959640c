"""Training with temporal validation, baselines, the registry and the promotion rule.

For each task the labelled rows are split by snapshot date: the latest snapshot whose label
window has closed validates (the rows of a fixed share of the members), the older snapshots
train the model, without the validation members' rows whose label windows overlap the
validation window. That is how the model will be used (trained on the past, applied to a
later date and to what it has not seen), so the validation figures are honest. A candidate
is promoted only when, on the validation rows, it beats every baseline on ROC-AUC and PR-AUC
and beats the current model (see :func:`promotion_verdict`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from models_ml import features as F
from models_ml.baselines import baseline_scores
from models_ml.estimator import MemberModel, UpliftModel
from models_ml.metrics import (
    classification_metrics,
    qini_coefficient,
    uplift_by_decile,
)
from models_ml.reasons import typical_member
from models_ml.registry import ModelVersion, Registry

# Above this many training rows a fixed random sample is used (1,000,000 members × several
# snapshots would otherwise dominate the run time for little gain in accuracy).
MAX_TRAINING_ROWS = 2_000_000
# The candidate may lose this much PR-AUC to the current model when its ROC-AUC is higher.
PR_AUC_TOLERANCE = 0.005
MIN_VALIDATION_POSITIVES = 5


class NotEnoughHistory(RuntimeError):
    """Too little labelled history to train and validate a task's model."""


@dataclass
class TrainingOutcome:
    task: str
    version: str | None
    promoted: bool
    reason: str
    metrics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.version is None:
            return f"{self.task}: not trained ({self.reason})"
        auc = self.metrics.get("model", {}).get("roc_auc")
        verdict = "promoted" if self.promoted else "kept the current model"
        return f"{self.task}: version {self.version}, ROC-AUC {auc:.3f}, {verdict} ({self.reason})"


@dataclass
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    train_snapshots: list[str]
    validation_snapshot: str
    purged_rows: int = 0
    """Training rows left out: validation members' rows whose label window overlaps."""


#: Share of members (a fixed hash of the member number) whose rows on the validation snapshot
#: validate; the other members' rows on that snapshot are used by nobody.
VALIDATION_MEMBER_SHARE = 0.3


def validation_members(member_no: pd.Series) -> np.ndarray:
    """True for the members who validate: the same members at every training run."""
    hashed = pd.util.hash_pandas_object(member_no.astype(str), index=False).to_numpy()
    return (hashed % np.uint64(1000)) < np.uint64(round(VALIDATION_MEMBER_SHARE * 1000))


def label_window_end(frame: pd.DataFrame, horizon_days: int) -> pd.Series:
    """When each row's label is settled: the snapshot (care: the contact) + the horizon."""
    days = pd.Series(float(horizon_days), index=frame.index)
    if "days_after_snapshot" in frame:
        days = days + pd.to_numeric(frame["days_after_snapshot"]).fillna(0.0)
    return frame["snapshot_date"] + pd.to_timedelta(days, unit="D")


def temporal_split(frame: pd.DataFrame, label: str, horizon_days: int | None = None) -> Split:
    """Validate on the latest labelled snapshot, train on the older ones, purged by member.

    The validation rows are the latest snapshot's rows of a fixed share of the members
    (:func:`validation_members`). Training takes the older snapshots, but not a validation
    member's rows whose label window reaches past the validation snapshot: one purchase in
    that overlap would make both labels positive, and a booster that recognises the member
    would be scored on what it has already seen (the optimism described in
    docs/prediction.md). Without ``horizon_days`` every row of a validation member is left
    out. Other members' older rows all train.
    """
    snapshots = sorted(frame["snapshot_date"].dropna().unique())
    if len(snapshots) < 2:
        raise NotEnoughHistory(
            f"{len(snapshots)} snapshot(s) with an observed label; at least 2 are needed "
            "(one to train on, a later one to validate on)"
        )
    latest = snapshots[-1]
    held = validation_members(frame["member_no"])
    older = (frame["snapshot_date"] < latest).to_numpy()
    if horizon_days is None:
        overlapping = np.ones(len(frame), dtype=bool)
    else:
        overlapping = (label_window_end(frame, horizon_days) > latest).to_numpy()
    purged = older & held & overlapping
    train = frame[older & ~purged].reset_index(drop=True)
    validation = frame[(frame["snapshot_date"] == latest).to_numpy() & held].reset_index(drop=True)
    for name, part in (("training", train), ("validation", validation)):
        positives = int(part[label].sum())
        if positives < MIN_VALIDATION_POSITIVES or positives > len(part) - MIN_VALIDATION_POSITIVES:
            raise NotEnoughHistory(
                f"the {name} rows hold {positives} of {len(part)} positive labels: "
                "too few of one class to learn or to measure"
            )
    return Split(
        train,
        validation,
        sorted({pd.Timestamp(s).date().isoformat() for s in train["snapshot_date"]}),
        pd.Timestamp(latest).date().isoformat(),
        int(purged.sum()),
    )


def _sample(frame: pd.DataFrame, limit: int = MAX_TRAINING_ROWS) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    return frame.sample(n=limit, random_state=7).reset_index(drop=True)


def training_rows(connection: duckdb.DuckDBPyConnection, task: F.Task) -> pd.DataFrame:
    if task.name == "care":
        return F.care_training_rows(connection)
    return F.member_training_rows(connection, task)


def fit_candidate(task: F.Task, train: pd.DataFrame) -> MemberModel | UpliftModel:
    train = _sample(train)
    labels = train[task.label].to_numpy(dtype=int)
    if task.name == "care":
        treated = train["is_treated"].to_numpy(dtype=int)
        if (treated == 0).sum() < 20 or (treated == 1).sum() < 20:
            raise NotEnoughHistory("fewer than 20 care or 20 control contacts to learn uplift from")
        return UpliftModel.fit(train, labels, treated)
    return MemberModel.fit(train, labels)


def evaluate(task: F.Task, model: Any, validation: pd.DataFrame) -> dict[str, Any]:
    """Validation metrics of the model and of every baseline on the same rows.

    Care: the response model and baselines are measured on care-group contacts (P(answer |
    contacted)); the uplift model's Qini coefficient and uplift by decile use both groups.
    """
    rows = validation
    if task.name == "care":
        rows = validation[validation["is_treated"] == 1].reset_index(drop=True)
    labels = rows[task.label].to_numpy(dtype=int)
    result: dict[str, Any] = {
        "model": classification_metrics(labels, model.predict(rows)),
        "baselines": {
            name: classification_metrics(labels, scores, probabilities=False)
            for name, scores in baseline_scores(rows, task.name).items()
        },
    }
    if task.name == "care" and isinstance(model, UpliftModel):
        treated = validation["is_treated"].to_numpy(dtype=int)
        responded = validation[task.label].to_numpy(dtype=int)
        uplift = model.predict_uplift(validation)
        response = model.predict(validation)
        result["uplift"] = {
            "qini_uplift_model": qini_coefficient(uplift, treated, responded),
            "qini_response_model": qini_coefficient(response, treated, responded),
            "control_contacts": int((treated == 0).sum()),
            "treated_contacts": int((treated == 1).sum()),
            "by_decile_uplift_model": uplift_by_decile(uplift, treated, responded).to_dict(
                "records"
            ),
            "by_decile_response_model": uplift_by_decile(response, treated, responded).to_dict(
                "records"
            ),
        }
    return result


def promotion_verdict(
    candidate: dict[str, Any],
    baselines: dict[str, dict[str, Any]],
    current: dict[str, Any] | None,
) -> tuple[bool, str]:
    """Promote only a model that beats every baseline and the current model on validation.

    Beating a baseline: a higher ROC-AUC *and* a higher PR-AUC. Beating the current model
    (measured on the same validation rows): a higher ROC-AUC and a PR-AUC at most
    PR_AUC_TOLERANCE lower.
    """
    roc, pr = candidate["roc_auc"], candidate["pr_auc"]
    if not (np.isfinite(roc) and np.isfinite(pr)):
        return False, "validation metrics could not be computed"
    for name, metrics in baselines.items():
        if not (roc > metrics["roc_auc"] and pr > metrics["pr_auc"]):
            return False, (
                f"does not beat baseline {name} (ROC-AUC {roc:.4f} vs {metrics['roc_auc']:.4f}, "
                f"PR-AUC {pr:.4f} vs {metrics['pr_auc']:.4f})"
            )
    if current is None:
        return True, "beats every baseline; no comparable current model"
    if not (roc > current["roc_auc"] and pr >= current["pr_auc"] - PR_AUC_TOLERANCE):
        return False, (
            f"does not beat the current model (ROC-AUC {roc:.4f} vs {current['roc_auc']:.4f}, "
            f"PR-AUC {pr:.4f} vs {current['pr_auc']:.4f})"
        )
    return True, "beats every baseline and the current model"


def _current_on(
    registry: Registry, task: F.Task, validation: pd.DataFrame, horizon: int
) -> tuple[ModelVersion | None, dict[str, Any] | None, str]:
    current = registry.current(task.name)
    if current is None:
        return None, None, "none"
    if int(current.card.get("horizon_days", -1)) != horizon:
        return current, None, "different horizon"
    try:
        metrics = evaluate(task, current.load(), validation)["model"]
    except (KeyError, ValueError, AttributeError, ModuleNotFoundError) as exc:
        return current, None, f"cannot score the validation rows ({exc})"
    return current, metrics, "compared"


def register_candidate(
    registry: Registry,
    task: F.Task,
    model: Any,
    split: Split,
    horizon: int,
    reference_date: str,
    trained_on: str = "features",
) -> TrainingOutcome:
    """Evaluate a fitted candidate, store it as a new version, promote it if it earns it."""
    metrics = evaluate(task, model, split.validation)
    current, current_metrics, comparison = _current_on(registry, task, split.validation, horizon)
    promoted, reason = promotion_verdict(metrics["model"], metrics["baselines"], current_metrics)
    now = datetime.now(UTC)
    version = f"{now:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:6]}"
    columns = ["member_no", "snapshot_date", task.label, *model.feature_columns]
    both = pd.concat([split.train, split.validation], ignore_index=True)
    card = {
        "task": task.name,
        "version": version,
        "created_at": now.isoformat(),
        "model_class": type(model).__name__,
        "estimator": "HistGradientBoostingClassifier + calibration (3-fold)",
        "feature_columns": model.feature_columns,
        "label": task.label,
        "horizon_setting": task.horizon_setting,
        "horizon_days": horizon,
        "reference_date": reference_date,
        "training_window": {
            "snapshots": split.train_snapshots,
            "rows": len(split.train),
            "positives": int(split.train[task.label].sum()),
            "validation_snapshot": split.validation_snapshot,
            "validation_rows": len(split.validation),
            "validation_positives": int(split.validation[task.label].sum()),
            "validation_members": f"{VALIDATION_MEMBER_SHARE:.0%} of members (hash of member_no)",
            "purged_rows": split.purged_rows,
        },
        "data_fingerprint": F.fingerprint(both, columns),
        # Reason attribution replaces a feature group by these typical values (reasons.py).
        "typical_member": typical_member(split.train, model.feature_columns),
        "trained_on": trained_on,
        "metrics": metrics,
        "current_at_training": {
            "version": current.version if current else None,
            "comparison": comparison,
            "metrics": current_metrics,
        },
        "promoted": promoted,
        "promotion_reason": reason,
    }
    registry.save(task.name, version, model, card)
    if promoted:
        registry.promote(task.name, version)
    return TrainingOutcome(task.name, version, promoted, reason, metrics)


def train_task(
    connection: duckdb.DuckDBPyConnection, registry: Registry, task: F.Task
) -> TrainingOutcome:
    """Train, validate and (maybe) promote one task's model from the features schema."""
    horizon = F.horizons(connection)[task.horizon_setting]
    reference = F.spine(connection)["reference_date"].iloc[0]
    try:
        split = temporal_split(training_rows(connection, task), task.label, horizon)
        model = fit_candidate(task, split.train)
    except NotEnoughHistory as exc:
        return TrainingOutcome(task.name, None, False, str(exc))
    return register_candidate(
        registry, task, model, split, horizon, pd.Timestamp(reference).date().isoformat()
    )


def needs_training(
    connection: duckdb.DuckDBPyConnection, registry: Registry, task: F.Task
) -> str | None:
    """Why a task must be trained before scoring (None: its current model fits the build)."""
    current = registry.current(task.name)
    if current is None:
        return "no current model"
    horizon = F.horizons(connection)[task.horizon_setting]
    if int(current.card.get("horizon_days", -1)) != horizon:
        return (
            f"current model predicts {current.card.get('horizon_days')} days, setting is {horizon}"
        )
    return None


def train_all(
    connection: duckdb.DuckDBPyConnection,
    registry: Registry,
    only_if_needed: bool = False,
    tasks: list[str] | None = None,
) -> list[TrainingOutcome]:
    """Train every task (or only those without a usable current model)."""
    outcomes = []
    for name in tasks or list(F.TASKS):
        task = F.TASKS[name]
        if only_if_needed and needs_training(connection, registry, task) is None:
            current = registry.require_current(name)
            outcomes.append(TrainingOutcome(name, None, False, f"current {current.version} kept"))
            continue
        outcomes.append(train_task(connection, registry, task))
    return outcomes
