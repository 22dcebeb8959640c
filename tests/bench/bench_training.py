"""Training and scoring alone, in one process, on a copy of an existing warehouse.

    .venv/bin/python tests/bench/bench_training.py WAREHOUSE.duckdb [--tasks churn,buyer,care]

Copies ``WAREHOUSE`` (a published or build warehouse with the ``features`` schema, e.g. the
one ``bench_scale.py --keep`` leaves) to a temporary folder, trains every task into a new,
empty registry there (``models_ml.train.train_all``; ``--registry DIR``: a registry folder to
keep instead, e.g. to install the models in a data folder), then scores every member
(``models_ml.score.score_all``). Prints, per task, the training rows, boosting rounds,
validation ROC-AUC and seconds; the seconds of scoring; and the peak RSS of this process
after each step (``getrusage``). Nothing of the original warehouse or registry changes.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# Spinning OpenMP threads crawl when the cores are shared; wait passively.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import duckdb  # noqa: E402

from models_ml.registry import Registry  # noqa: E402
from models_ml.score import score_all  # noqa: E402
from models_ml.train import train_all  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--tasks", default="churn,buyer,care")
    parser.add_argument("--locale", default="zh_CN")
    parser.add_argument("--registry", type=Path, help="keep the trained models in this folder")
    args = parser.parse_args()
    tasks = [task for task in args.tasks.split(",") if task]

    scratch = Path(tempfile.mkdtemp(prefix="bench-training-"))
    try:
        copy = scratch / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        registry = Registry(args.registry or scratch / "models")
        print("| step | rows | rounds | validation ROC-AUC | seconds | peak RSS (MiB) |")
        print("|---|---:|---:|---:|---:|---:|")
        with duckdb.connect(str(copy)) as connection:
            members = connection.execute(
                "select count(*) from features.feat_member_snapshots where is_scoring"
            ).fetchone()[0]
            for task in tasks:
                started = time.monotonic()
                (outcome,) = train_all(connection, registry, tasks=[task])
                seconds = time.monotonic() - started
                if outcome.version is None:
                    print(f"| training {task} | — | — | {outcome.reason} | {seconds:.1f} | "
                          f"{peak_mib():,.0f} |")  # fmt: skip
                    continue
                version = next(v for v in registry.versions(task) if v.version == outcome.version)
                window = version.card["training_window"]
                model = version.load()
                boosters = [
                    c.estimator
                    for part in (
                        getattr(model, "classifier", None),
                        getattr(model, "treated", None),
                    )
                    if part is not None
                    for c in part.calibrated_classifiers_
                ]
                rounds = "/".join(str(b.n_iter_) for b in boosters)
                print(
                    f"| training {task} | {window['rows']:,} | {rounds} | "
                    f"{outcome.metrics['model']['roc_auc']:.3f} | {seconds:.1f} | "
                    f"{peak_mib():,.0f} |"
                )
            started = time.monotonic()
            score_all(connection, registry, args.locale)
            print(
                f"| scoring ({members:,} members, 3 marts) | {members:,} | — | — | "
                f"{time.monotonic() - started:.1f} | {peak_mib():,.0f} |"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
