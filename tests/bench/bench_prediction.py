"""Benchmark: the prediction models against baselines and the generator's latent truth.

    .venv/bin/python tests/bench/bench_prediction.py [--members 50000] [--seed 11]
        [--months 24] [--end-date 2026-06-30] [--home DIR]

1. ``clubcrm init`` + ``clubcrm demo-data`` (latent truth kept in CLUBCRM_HOME/truth);
2. ``clubcrm pipeline run --as-of A`` with A = end date − churn horizon, so both label windows
   after A lie inside the generated history: the run sees nothing after A, trains (empty
   registry) and scores every member as of A;
3. ``clubcrm pipeline run`` (all data: a routine run that scores without training);
4. real outcomes after A from the full build (features.feat_member_days: the same event
   definitions as the labels) and care contacts after A (core.fct_care_contacts);
5. ROC-AUC and PR-AUC of each model, each baseline (from the as-of-A features) and the
   generator's latent probabilities (demodata.truth) on those outcomes; the model's share of
   the latent ROC-AUC (target ≥ 95%); training and scoring time and peak memory, measured
   in this process on the as-of-A features; a markdown table on stdout and a JSON file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

# Spinning OpenMP threads crawl when the cores are shared (dbt, other jobs); wait passively.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
BIN = Path(sys.executable).parent
# The clubcrm on PATH (e.g. a wrapper around another checkout), else the one of this venv.
CLI = shutil.which("clubcrm") or str(BIN / "clubcrm")
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from clubcrm import published  # noqa: E402
from clubcrm.settings import get_settings  # noqa: E402
from demodata.truth import true_probabilities, truth_members  # noqa: E402
from models_ml.baselines import baseline_scores  # noqa: E402
from models_ml.metrics import qini_coefficient  # noqa: E402


def clubcrm(*args: str, env: dict[str, str]) -> tuple[float, float]:
    """Run the CLI; (seconds, peak RSS in MiB of the command and its children, e.g. dbt)."""
    started = time.monotonic()
    code = (
        "import resource, subprocess, sys;"
        "r = subprocess.run(sys.argv[1:]);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr);"
        "sys.exit(r.returncode)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"clubcrm {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    peak_kib = int(completed.stderr.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def auc_pair(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def published_frame(settings, sql: str) -> pd.DataFrame:
    with published.connect(settings) as connection:
        return connection.execute(sql).df()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="reuse generated data in --home")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-prediction-"))
    env = {**os.environ, "CLUBCRM_HOME": str(home)}
    for name in ("CLUBCRM_DATABASE_URL", "CLUBCRM_WAREHOUSE_PATH", "DAGSTER_HOME"):
        env.pop(name, None)
    os.environ.update({"CLUBCRM_HOME": str(home)})
    for name in ("CLUBCRM_DATABASE_URL", "CLUBCRM_WAREHOUSE_PATH"):
        os.environ.pop(name, None)
    settings = get_settings()
    buyer_h, churn_h = settings.buyer_horizon_days, settings.churn_horizon_days
    as_of = args.end_date - timedelta(days=max(buyer_h, churn_h))
    timings: dict[str, tuple[float, float]] = {}

    if not (args.keep and (home / "truth" / "members.parquet").exists()):
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        clubcrm("init", env=env)
        timings["demo data"] = clubcrm(
            "demo-data",
            "--members", str(args.members),
            "--seed", str(args.seed),
            "--months", str(args.months),
            "--end-date", args.end_date.isoformat(),
            env=env,
        )  # fmt: skip
    shutil.rmtree(home / "models", ignore_errors=True)
    timings[f"pipeline run --as-of {as_of} (trains, scores)"] = clubcrm(
        "pipeline", "run", "--as-of", as_of.isoformat(), "--full", env=env
    )
    predictions = {
        mart: published_frame(settings, f"select * from prediction.{mart}")
        for mart in ("churn_risk", "likely_buyers", "care_responsiveness")
    }
    features = published_frame(
        settings, "select * from features.feat_member_snapshots where is_scoring"
    )
    for column in features.columns:
        if column not in {"member_no", "snapshot_date", "is_scoring", "tier", "region",
                          "join_channel"}:  # fmt: skip
            features[column] = pd.to_numeric(features[column]).astype("float64")
    cards = {
        task: json.loads(
            (
                Path(home)
                / "models"
                / task
                / ((Path(home) / "models" / task / "current").read_text().strip())
                / "card.json"
            ).read_text()
        )
        for task in ("churn", "buyer", "care")
        if (Path(home) / "models" / task / "current").exists()
    }

    # The pipeline's care model and the as-of-A channel history, to score each later contact
    # on the channel and trigger the club actually used (the mart's p_respond is for the
    # member's best channel and the most common trigger; the latent is for the contact's).
    from models_ml import features as F
    from models_ml.registry import Registry

    current_care = Registry(home / "models").current("care")
    care_model = current_care.load() if current_care is not None else None
    with published.connect(settings) as connection:
        channels_at_a = F.member_channels(connection)

    # Training and scoring alone, in this process, on a copy of the as-of-A warehouse.
    from models_ml.score import score_all
    from models_ml.train import train_all

    scratch = Path(tempfile.mkdtemp(prefix="bench-ml-"))
    shutil.copy(published.published_path(settings), scratch / "w.duckdb")
    before = rss_mib()
    with duckdb.connect(str(scratch / "w.duckdb")) as connection:
        started = time.monotonic()
        train_all(connection, Registry(scratch / "models"))
        timings["training, 3 tasks (in process)"] = (time.monotonic() - started, rss_mib())
        started = time.monotonic()
        score_all(connection, Registry(scratch / "models"), settings.locale)
        timings["scoring, 3 marts (in process)"] = (time.monotonic() - started, rss_mib())
    shutil.rmtree(scratch, ignore_errors=True)

    timings["pipeline run (all data: scores only)"] = clubcrm("pipeline", "run", env=env)
    days = published_frame(settings, "select * from features.feat_member_days")
    days["activity_on"] = pd.to_datetime(days["activity_on"])
    start = pd.Timestamp(as_of)
    after = days[days["activity_on"] > start]
    delta = (after["activity_on"] - start).dt.days
    bought = set(after.loc[(delta <= buyer_h) & (after["purchases"] > 0), "member_no"])
    active = set(after.loc[(delta <= churn_h) & after["is_active_day"], "member_no"])

    truth = true_probabilities(settings, as_of, buyer_h, churn_h).set_index("member_no")
    rows = []
    for task, mart, column, outcome in (
        ("churn", "churn_risk", "p_churn", lambda m: ~m.isin(active)),
        ("buyer", "likely_buyers", "p_buy", lambda m: m.isin(bought)),
    ):
        frame = (
            predictions[mart]
            .merge(features, on="member_no")
            .join(truth.add_suffix("_true"), on="member_no")
        )
        labels = outcome(frame["member_no"]).to_numpy(dtype=int)
        model_auc, model_pr = auc_pair(labels, frame[column].to_numpy())
        latent_auc, latent_pr = auc_pair(labels, frame[f"{column}_true"].to_numpy())
        baselines = {
            name: auc_pair(labels, scores) for name, scores in baseline_scores(frame, task).items()
        }
        rows.append((task, len(frame), labels.mean(), model_auc, model_pr, baselines,
                     latent_auc, latent_pr))  # fmt: skip

    # Care: contacts sent after A (answer window inside the history), scored by p_respond at A.
    contacts = published_frame(
        settings,
        f"""
        select member_no, status, is_control, contact_channel, care_trigger,
               case when responded_at is not null
                     and responded_at < contacted_at + interval 30 day then 1 else 0 end
                   as responded
        from core.fct_care_contacts
        where contacted_at >= timestamp '{as_of + timedelta(days=1)}' - interval 8 hour
          and contacted_at < timestamp '{args.end_date - timedelta(days=30)}'
          and status in ('sent', 'control')
        """,
    )
    latent = truth_members(settings).set_index("member_no")
    care = contacts.merge(predictions["care_responsiveness"], on="member_no").merge(
        features, on="member_no"
    ).join(latent[["p_respond_treated", "p_respond_control", "preferred_channel"]],
           on="member_no")  # fmt: skip
    care_row = None
    if len(care):
        sent = care[care["status"] == "sent"]
        same = sent["contact_channel"] == sent["preferred_channel"]
        effect = sent["p_respond_treated"] - sent["p_respond_control"]
        latent_p = np.where(same, sent["p_respond_treated"],
                            sent["p_respond_control"] + 0.6 * effect)  # fmt: skip
        labels = sent["responded"].to_numpy(dtype=int)
        if care_model is not None:
            on_channel = F.care_history_for(sent, channels_at_a)
            # as feat_care_contacts does for a contact without a trigger
            on_channel["care_trigger"] = on_channel["care_trigger"].fillna("unknown")
            sent = sent.assign(p_respond_on_channel=care_model.predict(on_channel))
            model_auc, model_pr = auc_pair(labels, sent["p_respond_on_channel"].to_numpy())
        else:
            model_auc, model_pr = auc_pair(labels, sent["p_respond"].to_numpy())
        best_channel_auc = auc_pair(labels, sent["p_respond"].to_numpy())
        latent_auc, latent_pr = auc_pair(labels, latent_p)
        baselines = {
            name: auc_pair(labels, scores) for name, scores in baseline_scores(sent, "care").items()
        }
        care_row = ("care (response | contacted)", len(sent), labels.mean(), model_auc, model_pr,
                    baselines, latent_auc, latent_pr)  # fmt: skip
        treated = (~care["is_control"]).to_numpy(dtype=int)
        qini = {
            "uplift model": qini_coefficient(care["uplift"], treated, care["responded"]),
            "response model": qini_coefficient(care["p_respond"], treated, care["responded"]),
            "latent uplift": qini_coefficient(
                care["p_respond_treated"] - care["p_respond_control"], treated, care["responded"]
            ),
        }

    print(f"\n## Prediction benchmark: {args.members:,} members, seed {args.seed}, "
          f"{args.months} months to {args.end_date}, as of {as_of}\n")  # fmt: skip
    print(
        "| task | members | positive rate | model ROC-AUC | model PR-AUC | baselines ROC-AUC / "
        "PR-AUC | latent ROC-AUC | latent PR-AUC | model / latent ROC-AUC | beats baselines |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---|")
    for task, n, rate, auc, pr, baselines, lauc, lpr in [*rows, *([care_row] if care_row else [])]:
        base_text = "; ".join(f"{name} {a:.3f} / {p:.3f}" for name, (a, p) in baselines.items())
        beats = all(auc > a and pr > p for a, p in baselines.values())
        print(f"| {task} | {n:,} | {rate:.3f} | {auc:.3f} | {pr:.3f} | {base_text} | {lauc:.3f} "
              f"| {lpr:.3f} | {auc / lauc:.1%} | {'yes' if beats else 'no'} |")  # fmt: skip
    if care_row:
        print(
            "\nCare: the model row scores each contact on the channel and trigger it used "
            "(as the latent does); the mart's p_respond (the member's best channel, the most "
            f"common trigger) on the same contacts: ROC-AUC {best_channel_auc[0]:.3f}, "
            f"PR-AUC {best_channel_auc[1]:.3f}."
        )
        print("\nCare uplift, Qini coefficient on contacts after the as-of date (sent and control): "
              + ", ".join(f"{name} {value:.4f}" for name, value in qini.items()))  # fmt: skip
    print("\n| step | seconds | peak memory (MiB) |")
    print("|---|---:|---:|")
    for step, (seconds, peak) in timings.items():
        print(f"| {step} | {seconds:.1f} | {peak:,.0f} |")
    print(f"\n(in-process peak before training: {before:,.0f} MiB)")
    print("\nRegistry cards (validation on the latest labelled snapshot before the as-of date):")
    for task, card in cards.items():
        m = card["metrics"]["model"]
        print(f"- {task} {card['version']}: ROC-AUC {m['roc_auc']:.3f}, PR-AUC {m['pr_auc']:.3f}, "
              f"Brier {m['brier']:.3f}, top-decile lift {m['top_decile_lift']:.2f}; "
              f"promoted: {card['promoted']} ({card['promotion_reason']})")  # fmt: skip
    out = home / "bench_prediction.json"
    out.write_text(json.dumps({"rows": [list(map(str, r)) for r in rows],
                               "timings": timings}, indent=2))  # fmt: skip
    print(f"\nresults: {out}")


if __name__ == "__main__":
    main()
