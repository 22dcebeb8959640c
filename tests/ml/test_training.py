"""Training: temporal validation, baselines, the registry and the promotion rule."""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from models_ml import features as F
from models_ml.estimator import member_folds
from models_ml.registry import Registry
from models_ml.train import (
    fit_candidate,
    promotion_verdict,
    register_candidate,
    temporal_split,
    training_rows,
)


def test_churn_and_buyer_models_beat_their_baselines_and_are_promoted(
    trained_registry: Registry,
) -> None:
    for task in ("churn", "buyer"):
        current = trained_registry.require_current(task)
        card = current.card
        model = card["metrics"]["model"]
        assert card["promoted"] is True
        for name, baseline in card["metrics"]["baselines"].items():
            assert model["roc_auc"] > baseline["roc_auc"], (task, name)
            assert model["pr_auc"] > baseline["pr_auc"], (task, name)
        assert 0 <= model["brier"] < model["positive_rate"] * (1 - model["positive_rate"])


def test_every_version_records_what_it_was_trained_on(trained_registry: Registry) -> None:
    current = trained_registry.require_current("churn")
    card = json.loads((current.path / "card.json").read_text(encoding="utf-8"))
    window = card["training_window"]
    assert (current.path / "model.joblib").stat().st_size > 0
    assert card["feature_columns"] == current.load().feature_columns
    assert "days_since_last_activity" in card["feature_columns"]
    assert card["horizon_days"] == 180 and card["horizon_setting"] == "churn_horizon_days"
    # temporal validation: every training snapshot is older than the validation snapshot
    assert window["snapshots"] and max(window["snapshots"]) < window["validation_snapshot"]
    assert window["rows"] > window["validation_rows"] > 0
    assert card["data_fingerprint"] and card["reference_date"] == "2026-03-31"
    assert set(card["metrics"]["baselines"]) == {"rfm_rule", "recency_frequency"}


def test_care_records_uplift_quality_beside_the_response_model(
    trained_registry: Registry,
) -> None:
    (version,) = trained_registry.versions("care")
    uplift = version.card["metrics"]["uplift"]
    assert uplift["control_contacts"] > 0 and uplift["treated_contacts"] > 0
    assert np.isfinite(uplift["qini_uplift_model"])
    assert np.isfinite(uplift["qini_response_model"])
    assert len(uplift["by_decile_uplift_model"]) == 10


def test_a_model_trained_on_shuffled_labels_is_not_promoted(
    features_build, trained_registry: Registry, tmp_path
) -> None:
    registry = Registry(tmp_path / "models")
    for version in trained_registry.versions("buyer"):  # start from the trained registry
        registry.save("buyer", version.version, version.load(), version.card)
    good = trained_registry.require_current("buyer").version
    registry.promote("buyer", good)

    with duckdb.connect(str(features_build), read_only=True) as connection:
        split = temporal_split(training_rows(connection, F.BUYER), F.BUYER.label)
    rng = np.random.default_rng(3)
    split.train[F.BUYER.label] = rng.permutation(split.train[F.BUYER.label].to_numpy())
    worse = fit_candidate(F.BUYER, split.train)

    outcome = register_candidate(registry, F.BUYER, worse, split, 90, "2026-03-31")

    assert outcome.promoted is False
    assert "baseline" in outcome.reason
    assert registry.require_current("buyer").version == good
    rejected = next(v for v in registry.versions("buyer") if v.version == outcome.version)
    assert rejected.card["promoted"] is False and rejected.card["promotion_reason"]


def _metrics(roc: float, pr: float) -> dict[str, float]:
    return {"roc_auc": roc, "pr_auc": pr}


@pytest.mark.parametrize(
    ("candidate", "current", "promoted"),
    [
        (_metrics(0.80, 0.40), None, True),
        (_metrics(0.80, 0.40), _metrics(0.79, 0.40), True),
        (_metrics(0.80, 0.40), _metrics(0.81, 0.38), False),  # the current one is better
        (_metrics(0.80, 0.30), _metrics(0.79, 0.40), False),  # much worse precision
        (_metrics(0.69, 0.40), None, False),  # loses to a baseline on ROC-AUC
        (_metrics(0.80, 0.20), None, False),  # loses to a baseline on PR-AUC
    ],
)
def test_promotion_needs_to_beat_every_baseline_and_the_current_model(
    candidate, current, promoted
) -> None:
    baselines = {"rfm_rule": _metrics(0.70, 0.25), "recency_frequency": _metrics(0.65, 0.30)}
    verdict, reason = promotion_verdict(candidate, baselines, current)
    assert verdict is promoted, reason


def test_validation_is_the_latest_labelled_snapshot(features_build) -> None:
    with duckdb.connect(str(features_build), read_only=True) as connection:
        rows = training_rows(connection, F.CHURN)
        spine = F.spine(connection)
    split = temporal_split(rows, F.CHURN.label)
    closed = spine[spine["is_churn_label_observed"]]["snapshot_date"]
    assert split.validation_snapshot == closed.max().date().isoformat()
    assert split.train["snapshot_date"].max() < closed.max()
    # the churn window (180 days) of every labelled snapshot ends by the as-of date
    assert (closed + np.timedelta64(180, "D")).max().date().isoformat() <= "2026-03-31"


def test_no_validation_member_trains_on_a_label_window_that_overlaps_validation(
    features_build,
) -> None:
    with duckdb.connect(str(features_build), read_only=True) as connection:
        rows = training_rows(connection, F.BUYER)
        horizon = F.horizons(connection)["buyer_horizon_days"]
    split = temporal_split(rows, F.BUYER.label, horizon)
    latest = pd.Timestamp(split.validation_snapshot)
    held = set(split.validation["member_no"])
    assert 0 < len(held) < rows.loc[rows["snapshot_date"] == latest, "member_no"].nunique()
    overlapping = split.train[split.train["snapshot_date"] + pd.Timedelta(days=horizon) > latest]
    assert len(overlapping) > 0  # other members' recent rows still train
    assert not set(overlapping["member_no"]) & held
    assert split.purged_rows > 0
    # a validation member's older rows, whose window closed before validation, still train
    closed = split.train[split.train["snapshot_date"] + pd.Timedelta(days=horizon) <= latest]
    assert set(closed["member_no"]) & held
    # the same members validate at every run, whatever the order of the rows
    again = temporal_split(rows.sample(frac=1.0, random_state=1), F.BUYER.label, horizon)
    assert set(again.validation["member_no"]) == held


def test_calibration_folds_keep_a_members_rows_together() -> None:
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(400), 5)
    labels = rng.integers(0, 2, size=len(groups))
    for _, test in member_folds(labels, groups, 3):
        inside = set(groups[test])
        assert not inside & set(groups[np.setdiff1d(np.arange(len(groups)), test)])
