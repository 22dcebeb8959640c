"""The quality measures reported with each model version."""

from __future__ import annotations

import numpy as np

from models_ml.metrics import qini_coefficient, top_decile_lift, uplift_by_decile


def test_top_decile_lift_is_the_precision_of_the_top_tenth_over_the_base_rate() -> None:
    labels = np.array([1] * 10 + [0] * 90)
    perfect = np.arange(100, 0, -1)
    assert top_decile_lift(labels, perfect) == 10.0
    assert top_decile_lift(labels, -perfect) == 0.0


def test_qini_rewards_finding_the_persuadable_members() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    persuadable = rng.random(n) < 0.3
    treated = rng.random(n) < 0.5
    responded = (treated & persuadable & (rng.random(n) < 0.8)) | (rng.random(n) < 0.1)
    right = qini_coefficient(persuadable.astype(float), treated, responded)
    wrong = qini_coefficient(-persuadable.astype(float), treated, responded)
    random = qini_coefficient(rng.random(n), treated, responded)
    assert right > abs(random) and wrong < -abs(random)
    deciles = uplift_by_decile(persuadable + rng.random(n) * 0.1, treated, responded)
    assert deciles["observed_uplift"].iloc[0] > deciles["observed_uplift"].iloc[-1]
