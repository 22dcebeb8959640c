"""The fitted models: a calibrated gradient-boosting classifier over the features contract.

HistGradientBoosting handles missing recency ("never bought") natively and scales to millions
of rows on two cores; probabilities are calibrated (3-fold; isotonic, sigmoid for care) so that a p_churn of
0.3 means about 30% of such members leave. Categories are encoded with the vocabulary seen
in training (unseen values become missing), stored with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold, StratifiedKFold

from models_ml.features import (
    CARE_CATEGORICAL_FEATURES,
    CARE_NUMERIC_FEATURES,
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
)

RANDOM_STATE = 20240701


# Care answers are mostly a trait of the member that a few features carry: small trees and a
# sigmoid (Platt) calibration generalise better there than big trees and an isotonic step
# function (measured on the 2,000-member demo: ROC-AUC 0.81 vs 0.78, PR-AUC 0.68 vs 0.54).


# Churn and buyer: the earlier setting (63 leaves, at least 100 rows a leaf, learning rate 0.1)
# looked best only while early stopping and validation shared members with training: a member
# appears in up to eight snapshots, and 551 rounds of big trees learned to recognise members.
# With every split by member (below, and train.temporal_split), small, well-filled trees win:
# on 50,000 generated members, scored as of 2026-01-01 against the real outcomes after it, the
# buyer ROC-AUC went from 0.701 (63 leaves, row splits) to 0.734 (the same trees, member
# splits, 65 rounds) and 0.739 (15 leaves, at least 400 rows a leaf, learning rate 0.05, 141
# rounds); churn from 0.910 to 0.915 and 0.918 (docs/prediction.md, "Measured").
MAX_LEAF_ROWS = 400


def _booster(
    small: bool, rounds: int | None = None, rows: int = 0
) -> HistGradientBoostingClassifier:
    """The booster; with ``rounds``, exactly that many (no early stopping of its own).

    A leaf holds at least ``rows`` / 150 rows (20 to 400): the trees stay as coarse on a small
    club's few thousand rows as on a large club's hundreds of thousands.
    """
    return HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=rounds or (300 if small else 1500),
        max_leaf_nodes=8 if small else 15,
        min_samples_leaf=50 if small else int(np.clip(rows // 150, 20, MAX_LEAF_ROWS)),
        l2_regularization=1.0,
        categorical_features="from_dtype",
        early_stopping=rounds is None,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=RANDOM_STATE,
    )


# Share of the training members whose rows decide when the booster stops adding trees.
STOPPING_MEMBER_SHARE = 0.1


def boosting_rounds(
    matrix: pd.DataFrame, labels: np.ndarray, groups: np.ndarray, small: bool = False
) -> int:
    """How many trees to grow: early stopping on members held out of the fit.

    A member appears in several snapshots with nearly the same features and often the same
    label. A random row split (the booster's own early stopping) puts their other rows in the
    stopping set, so the booster keeps growing trees that recognise members rather than
    behaviour; stopping on *other members* stops where the model generalises.
    """
    splitter = GroupShuffleSplit(n_splits=1, test_size=STOPPING_MEMBER_SHARE,
                                 random_state=RANDOM_STATE)  # fmt: skip
    fit_rows, stop_rows = next(splitter.split(matrix, labels, groups))
    if len(np.unique(labels[stop_rows])) < 2 or len(np.unique(labels[fit_rows])) < 2:
        booster = _booster(small, rows=len(labels)).fit(matrix, labels)  # a row split
    else:
        booster = _booster(small, rows=len(fit_rows)).fit(
            matrix.iloc[fit_rows],
            labels[fit_rows],
            X_val=matrix.iloc[stop_rows],
            y_val=labels[stop_rows],
        )
    return max(int(booster.n_iter_), 1)


def members(frame: pd.DataFrame) -> np.ndarray:
    """The member of each row (each row its own group when the frame has no member numbers)."""
    if "member_no" not in frame:
        return np.arange(len(frame))
    return frame["member_no"].astype(str).to_numpy()


@dataclass
class FeatureEncoder:
    """Turns a features frame into the model matrix (same columns, same category codes)."""

    numeric: list[str]
    categorical: list[str]
    vocabularies: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(cls, frame: pd.DataFrame, care: bool = False) -> FeatureEncoder:
        categorical = list(CATEGORICAL_FEATURES) + (list(CARE_CATEGORICAL_FEATURES) if care else [])
        vocabularies = {
            column: sorted(str(value) for value in frame[column].dropna().unique())
            for column in categorical
        }
        numeric = list(NUMERIC_FEATURES) + (list(CARE_NUMERIC_FEATURES) if care else [])
        return cls(numeric, categorical, vocabularies)

    @property
    def columns(self) -> list[str]:
        return self.numeric + self.categorical

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        missing = [column for column in self.columns if column not in frame]
        if missing:
            raise KeyError(f"features missing for this model: {', '.join(missing)}")
        matrix = frame[self.numeric].astype("float64").copy()
        for column in self.categorical:
            matrix[column] = pd.Categorical(
                frame[column].astype("object").where(frame[column].notna(), None),
                categories=self.vocabularies[column],
            )
        return matrix


def member_folds(labels: np.ndarray, groups: np.ndarray, folds: int) -> list:
    """Calibration folds that keep each member's rows together (stratified by label)."""
    if len(np.unique(groups)) < folds * 2:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
        return list(splitter.split(np.zeros(len(labels)), labels))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=RANDOM_STATE)
    return list(splitter.split(np.zeros(len(labels)), labels, groups))


def fit_calibrated(
    matrix: pd.DataFrame,
    labels: np.ndarray,
    small: bool = False,
    groups: np.ndarray | None = None,
) -> CalibratedClassifierCV:
    """A gradient-boosting model calibrated on 3-fold out-of-fold scores (isotonic; with
    ``small`` trees, sigmoid).

    ``groups`` (the member of each row) keeps a member's rows on one side of every split:
    the early-stopping split (:func:`boosting_rounds`) and the calibration folds, whose
    out-of-fold scores would otherwise come from boosters that saw the same member.
    """
    labels = np.asarray(labels, dtype=int)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    folds = 3 if min(labels.sum(), len(labels) - labels.sum()) >= 3 else 2
    method = "sigmoid" if small else "isotonic"
    rounds = boosting_rounds(matrix, labels, groups, small)
    model = CalibratedClassifierCV(
        _booster(small, rounds, rows=len(labels)),
        method=method,
        cv=member_folds(labels, groups, folds),
        ensemble=False,
    )
    model.fit(matrix, labels)
    return model


@dataclass
class MemberModel:
    """P(label = 1 | features) for the churn and buyer tasks."""

    encoder: FeatureEncoder
    classifier: CalibratedClassifierCV

    @classmethod
    def fit(cls, frame: pd.DataFrame, labels: np.ndarray) -> MemberModel:
        encoder = FeatureEncoder.fit(frame)
        return cls(encoder, fit_calibrated(encoder.transform(frame), labels, groups=members(frame)))

    @property
    def feature_columns(self) -> list[str]:
        return self.encoder.columns

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return untied_probabilities(self.classifier, self.encoder.transform(frame))


# Share of the probability given to the booster's own score, to order members within a step.
TIE_BREAK = 1e-6


def untied_probabilities(classifier: CalibratedClassifierCV, matrix: pd.DataFrame) -> np.ndarray:
    """Calibrated probabilities whose order is the booster's.

    Isotonic calibration is a step function: thousands of members share each step, and a tie
    ranks them at random (it cost the buyer model 0.005 of ROC-AUC on 50,000 members). The
    booster's own score, squeezed into the last millionth, orders members within a step while
    the probability moves by less than 0.000001.
    """
    calibrated = classifier.calibrated_classifiers_
    if len(calibrated) != 1 or classifier.method != "isotonic":
        return classifier.predict_proba(matrix)[:, 1]
    raw = calibrated[0].estimator.decision_function(matrix)
    probability = np.clip(calibrated[0].calibrators[0].predict(raw), 0.0, 1.0)
    return probability * (1.0 - TIE_BREAK) + TIE_BREAK * (1.0 / (1.0 + np.exp(-raw)))


@dataclass
class UpliftModel:
    """Care responsiveness as a two-model (T-learner) uplift estimate.

    One calibrated model learns P(answer | contacted) on care-group contacts, another
    P(answer | held out) on the control group; uplift = the difference: how much more likely
    the member answers *because* the club reached out. ``predict`` gives P(answer | contacted)
    (the plain response model, p_respond).
    """

    encoder: FeatureEncoder
    treated: CalibratedClassifierCV
    control: CalibratedClassifierCV
    scoring_trigger: str
    """The care trigger members are scored for (the most common one in training)."""

    @classmethod
    def fit(cls, frame: pd.DataFrame, labels: np.ndarray, treated: np.ndarray) -> UpliftModel:
        encoder = FeatureEncoder.fit(frame, care=True)
        matrix = encoder.transform(frame)
        treated = np.asarray(treated, dtype=bool)
        labels = np.asarray(labels, dtype=int)
        triggers = frame["care_trigger"].dropna().mode()
        groups = members(frame)
        return cls(
            encoder,
            fit_calibrated(matrix[treated], labels[treated], small=True, groups=groups[treated]),
            fit_calibrated(matrix[~treated], labels[~treated], small=True, groups=groups[~treated]),
            str(triggers.iloc[0]) if len(triggers) else "manual",
        )

    @property
    def feature_columns(self) -> list[str]:
        return self.encoder.columns

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.treated.predict_proba(self.encoder.transform(frame))[:, 1]

    def predict_control(self, frame: pd.DataFrame) -> np.ndarray:
        return self.control.predict_proba(self.encoder.transform(frame))[:, 1]

    def predict_uplift(self, frame: pd.DataFrame) -> np.ndarray:
        matrix = self.encoder.transform(frame)
        return self.treated.predict_proba(matrix)[:, 1] - self.control.predict_proba(matrix)[:, 1]
