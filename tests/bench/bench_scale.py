"""Scale benchmark: generation, ingestion beside a bare DuckDB copy, full, complete and routine
pipeline runs, training, scoring and publishing, with wall time and peak memory of each.

    nice -n 10 .venv/bin/python tests/bench/bench_scale.py --members 100000 --activity 7

In a fresh temporary ``CLUBCRM_HOME`` (SQLite), each step as its own process, as a user runs it:

1. ``clubcrm init`` and ``clubcrm demo-data --members N --activity A`` (generation);
2. ingestion: ``ingest_operational_tables(full=True)`` into a new DuckDB file, and in the same
   run a *bare copy* of the same tables into another new file (DuckDB loads the sqlite scanner
   from the ``duckdb-extension-sqlite-scanner`` package by file path, ``ATTACH``es the
   operational SQLite file read-only and runs ``CREATE TABLE AS SELECT *`` per table in one
   transaction): the ratio of the two (issue 10 wants ingestion within 1.5x of the bare copy);
3. ``clubcrm pipeline run --full`` (ingest, dbt build with tests, train, score, publish);
4. about ``--share`` new events (``bench_incremental.add_events``), then ``clubcrm pipeline
   run`` (the complete run); a second batch, then ``clubcrm pipeline run --routine``; each
   against the full build (issue 10 wants an incremental run within 10 % of the full run).

Per process: wall time and peak RSS (``os.wait4``: the largest process of its tree). Per
Dagster step (ingestion, dbt, training, scoring, publishing): seconds (``step_seconds``) and the
peak RSS of the whole process tree sampled every ``--sample`` seconds during the step. The
slowest dbt nodes of the full build come from dbt's ``run_results.json``. Prints markdown;
public tools only (the repository's CLI, duckdb, sqlite3).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_incremental import add_events, fact_seconds, step_seconds  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
TRAINING_STEP = "ml__trained_models"

INGEST = """
import json, sys, time
from pathlib import Path
from ingestion.operational import ingest_operational_tables
from ingestion.warehouse import connect_warehouse
warehouse, url, scratch = sys.argv[1:4]
connection = connect_warehouse(warehouse)
started = time.perf_counter()
result = ingest_operational_tables(connection, url, scratch_dir=Path(scratch), full=True)
seconds = time.perf_counter() - started
connection.close()
print(json.dumps({"seconds": seconds, "counts": result.counts}))
"""

# The bare copy needs only duckdb and the scanner's package: nothing of ClubCRM but the names.
BARE_COPY = """
import importlib, json, sys, time
from pathlib import Path
import duckdb
warehouse, database = sys.argv[1:3]
tables = json.loads(sys.argv[3])
package = importlib.import_module("duckdb_extension_sqlite_scanner")
extension = sorted(Path(package.__file__).parent.rglob("sqlite_scanner.duckdb_extension"))[-1]
connection = duckdb.connect(warehouse, config={"autoinstall_known_extensions": False,
                                               "autoload_known_extensions": False})
started = time.perf_counter()
connection.execute("load '" + str(extension).replace("'", "''") + "'")
connection.execute("attach '" + database.replace("'", "''") + "' as src (type sqlite, read_only)")
connection.execute("create schema raw")
connection.execute("begin transaction")
counts = {}
for table in tables:
    connection.execute(f'create table raw."{table}" as select * from src."{table}"')
    counts[table] = connection.execute(f'select count(*) from raw."{table}"').fetchone()[0]
connection.execute("commit")
seconds = time.perf_counter() - started
connection.close()
print(json.dumps({"seconds": seconds, "counts": counts}))
"""


@dataclass
class Measured:
    """One process: wall seconds, peak RSS of its tree's largest process, tree RSS samples."""

    label: str
    seconds: float
    peak_mib: float
    stdout: str
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at start and end
    samples: list[tuple[float, int]] = field(default_factory=list)  # (epoch s, tree RSS bytes)

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [rss for t, rss in self.samples if start - 0.5 <= t <= end + 0.5]
        return max(inside) / MIB if inside else None


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (via /proc/<pid>/task/<tid>/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                    todo.extend(int(child) for child in f.read().split())
        except OSError:
            continue
    return out


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def run(label: str, command: list[str], env: dict[str, str], interval: float) -> Measured:
    """Run ``command``, sampling its process tree's RSS; fail loudly when it fails."""
    load_start = os.getloadavg()[0]
    started = time.monotonic()
    process = subprocess.Popen(  # noqa: S603 - our own commands
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((time.time(), sum(_rss(p) for p in _tree(process.pid))))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    readers = [
        threading.Thread(target=lambda: out_chunks.append(process.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err_chunks.append(process.stderr.read()), daemon=True),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    for reader in readers:
        reader.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = "".join(out_chunks), "".join(err_chunks)
    if process.returncode != 0:
        sys.exit(f"{label} failed ({process.returncode}):\n{stdout[-4000:]}\n{stderr[-4000:]}")
    print(f"{label}: {seconds:.1f} s, peak RSS {usage.ru_maxrss / 1024:,.0f} MiB", file=sys.stderr)
    return Measured(
        label, seconds, usage.ru_maxrss / 1024, stdout, (load_start, os.getloadavg()[0]), samples
    )


def add_batch(settings, share: float, seed: int) -> dict:
    """``add_events`` of bench_incremental (each batch writes spool files of its own)."""
    return add_events(
        settings.operational_sqlite_path,
        settings.build_warehouse_path,
        settings.spool_dir,
        share,
        seed,
    )


def step_windows(dagster_home: Path) -> dict[str, tuple[float, float]]:
    """(start, end) epoch seconds of each step of the latest Dagster run."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run_ = instance.get_runs(limit=1)[0]
        return {
            s.step_key: (s.start_time or 0.0, s.end_time or 0.0)
            for s in instance.get_run_step_stats(run_.run_id)
        }


def slowest_nodes(run_results: Path, top: int) -> list[tuple[str, float]]:
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    times = [(r["unique_id"], float(r["execution_time"])) for r in results]
    return sorted(times, key=lambda item: -item[1])[:top]


def _generated_counts(database: Path, spool_dir: Path) -> dict[str, int]:
    """Rows per operational table and spool lines of an existing data folder."""
    from ingestion.operational import OPERATIONAL_TABLES

    with sqlite3.connect(database) as connection:
        counts = {
            table: connection.execute(f'select count(*) from "{table}"').fetchone()[0]
            for table in OPERATIONAL_TABLES
        }
    counts["swipes"] = 0
    for path in spool_dir.rglob("*.jsonl"):
        with path.open("rb") as f:
            counts["swipes"] += sum(1 for _ in f)
    return counts


def machine() -> list[str]:
    meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
    total = int(next(line.split()[1] for line in meminfo.splitlines() if "MemTotal" in line))
    return [
        f"`{' '.join(platform.uname())}`",
        f"{os.cpu_count()} cores, {total / 1024**2:.1f} GiB RAM, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--activity", type=float, default=1.0, help="demo-data --activity")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.01, help="new events, share of history")
    parser.add_argument("--sample", type=float, default=0.5, help="RSS sampling interval (s)")
    parser.add_argument("--home", type=Path, help="data folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument(
        "--skip-pipeline", action="store_true", help="stop after generation and ingestion"
    )
    parser.add_argument(
        "--skip-complete",
        action="store_true",
        help="no complete run between the full build and the routine run (at 1,000,000 members "
        "it costs most of another full build)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="--home already holds generated demo data (e.g. from --skip-pipeline --keep): "
        "skip init and generation",
    )
    args = parser.parse_args()
    if args.reuse and args.home is None:
        parser.error("--reuse needs --home")

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUBCRM_")}
    env["CLUBCRM_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    os.environ.update(env)
    os.environ.pop("CLUBCRM_DATABASE_URL", None)
    from clubcrm.settings import get_settings
    from ingestion.operational import OPERATIONAL_TABLES

    settings = get_settings()
    database = settings.operational_sqlite_path
    run_results = settings.dbt_target_dir / "run_results.json"
    clubcrm = [str(BIN / "clubcrm")]
    python = [sys.executable, "-c"]
    print(f"data folder: {home}", file=sys.stderr)
    rows: list[tuple[str, Measured, str]] = []
    try:
        if args.reuse:
            generated = _generated_counts(database, settings.spool_dir)
        else:
            run("init", [*clubcrm, "init", "--admin-password", "bench-password-1"], env, 5.0)
            generation = run(
                "generation",
                [
                    *clubcrm,
                    "demo-data",
                    "--members",
                    str(args.members),
                    "--seed",
                    str(args.seed),
                    "--months",
                    str(args.months),
                    "--activity",
                    str(args.activity),
                ],
                env,
                args.sample,
            )
            rows.append(("generation (`clubcrm demo-data`)", generation, ""))
            generated = {}
            for line in generation.stdout.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1].replace(",", "").isdigit():
                    generated[parts[0]] = int(parts[1].replace(",", ""))

        scratch = Path(tempfile.mkdtemp(prefix="bench-scale-ingest-", dir=home))
        bare = run(
            "bare DuckDB copy",
            [
                *python,
                BARE_COPY,
                str(scratch / "bare.duckdb"),
                str(database),
                json.dumps(OPERATIONAL_TABLES),
            ],
            env,
            args.sample,
        )
        ingest = run(
            "ingestion",
            [
                *python,
                INGEST,
                str(scratch / "ingested.duckdb"),
                settings.database_url,
                str(scratch),
            ],
            env,
            args.sample,
        )
        # The JSON summary is each script's last line (a library may print before it).
        bare_result = json.loads(bare.stdout.strip().splitlines()[-1])
        ingest_result = json.loads(ingest.stdout.strip().splitlines()[-1])
        if bare_result["counts"] != ingest_result["counts"]:
            sys.exit(f"row counts differ: {bare_result['counts']} {ingest_result['counts']}")
        copied = sum(bare_result["counts"].values())
        sizes = {
            "operational.sqlite": database.stat().st_size,
            "spool": sum(p.stat().st_size for p in settings.spool_dir.rglob("*") if p.is_file()),
            "bare copy (DuckDB)": (scratch / "bare.duckdb").stat().st_size,
        }
        shutil.rmtree(scratch, ignore_errors=True)
        rows.append(
            (
                "bare DuckDB ATTACH + CREATE TABLE AS (same tables)",
                bare,
                f"copy {bare_result['seconds']:.1f} s in-process",
            )
        )
        rows.append(
            (
                "ingestion (`ingest_operational_tables(full=True)`)",
                ingest,
                f"copy {ingest_result['seconds']:.1f} s in-process; "
                f"ratio {ingest.seconds / bare.seconds:.2f} (wall), "
                f"{ingest_result['seconds'] / bare_result['seconds']:.2f} (in-process)",
            )
        )

        runs: dict[str, tuple[Measured, dict, dict, dict]] = {}
        slow: list[tuple[str, float]] = []
        added: dict = {}
        history: dict[str, int] = {}
        if not args.skip_pipeline:
            full = run("full build", [*clubcrm, "pipeline", "run", "--full"], env, args.sample)
            slow = slowest_nodes(run_results, 12)
            runs["full"] = (
                full,
                step_seconds(settings.dagster_home),
                step_windows(settings.dagster_home),
                fact_seconds(run_results),
            )
            import duckdb

            with duckdb.connect(str(settings.build_warehouse_path), read_only=True) as warehouse:
                for table in ("point_entries", "purchases", "care_contacts", "swipes"):
                    history[table] = warehouse.execute(
                        f"select count(*) from raw.{table}"
                    ).fetchone()[0]
            added = add_batch(settings, args.share, args.seed)
            if not args.skip_complete:
                complete = run("complete run", [*clubcrm, "pipeline", "run"], env, args.sample)
                runs["complete"] = (
                    complete,
                    step_seconds(settings.dagster_home),
                    step_windows(settings.dagster_home),
                    fact_seconds(run_results),
                )
                add_batch(settings, args.share, args.seed + 1)
            routine = run(
                "routine run", [*clubcrm, "pipeline", "run", "--routine"], env, args.sample
            )
            runs["routine"] = (
                routine,
                step_seconds(settings.dagster_home),
                step_windows(settings.dagster_home),
                fact_seconds(run_results),
            )
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)

    # -- report ------------------------------------------------------------------------------
    meta_path = settings.truth_dir / "meta.json"
    if args.reuse and meta_path.exists():
        args.activity = json.loads(meta_path.read_text(encoding="utf-8")).get("activity", 1.0)
        args.months = json.loads(meta_path.read_text(encoding="utf-8"))["months"]
    args.members = generated.get("members", args.members)
    entries = generated.get("point_entries", 0)
    purchases = generated.get("purchases", 0)
    print(
        f"\n## {args.members:,} members, activity {args.activity:g}, {args.months} months "
        f"(seed {args.seed})\n"
    )
    for line in machine():
        print(f"- {line}")
    print(
        f"- point entries {entries:,} + purchases {purchases:,} = {entries + purchases:,}; "
        f"swipes {generated.get('swipes', 0):,}; all DB rows "
        f"{sum(v for k, v in generated.items() if k != 'swipes'):,}; rows copied by "
        f"ingestion {copied:,} ({len(OPERATIONAL_TABLES)} tables)"
    )
    print("- sizes: " + ", ".join(f"{k} {v / MIB:,.0f} MiB" for k, v in sizes.items()))
    print()
    print("| step | seconds | peak RSS (MiB) | load (start → end) | notes |")
    print("|---|---:|---:|---|---|")
    for label, m, note in rows:
        print(
            f"| {label} | {m.seconds:.1f} | {m.peak_mib:,.0f} | "
            f"{m.load[0]:.1f} → {m.load[1]:.1f} | {note} |"
        )
    if not runs:
        return
    full_s = runs["full"][0].seconds
    # The nightly full build does not train (training is weekly, or when no model fits): the
    # first full build of a new folder does, so its training step is also taken out.
    trained = runs["full"][1].get(TRAINING_STEP, 0.0)
    for name in ("full", "complete", "routine"):
        if name not in runs:
            continue
        m = runs[name][0]
        ratio = "" if name == "full" else f"ratio to full {m.seconds / full_s:.2f}"
        if name != "full" and trained:
            ratio += f"; to full without training {m.seconds / (full_s - trained):.2f}"
        if name == "full" and trained:
            ratio = f"training {trained:.1f} s of it: without training {full_s - trained:.1f} s"
        print(
            f"| `clubcrm pipeline run` {name} | {m.seconds:.1f} | {m.peak_mib:,.0f} | "
            f"{m.load[0]:.1f} → {m.load[1]:.1f} | {ratio} |"
        )

    print(
        "\nPer Dagster step: seconds, and peak RSS of the whole process tree (Dagster + dbt) "
        "while the step ran (sampled):\n"
    )
    print(
        "| step | full (s) | peak MiB | complete (s) | ratio | peak MiB "
        "| routine (s) | ratio | peak MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    steps = sorted(set().union(*(set(r[1]) for r in runs.values())))

    def cell(name: str, step: str) -> str:
        if name not in runs:
            return "— | — | —"
        measured, seconds, windows, _ = runs[name]
        if step not in seconds:
            return "— | " + ("— | —" if name != "full" else "—")
        peak = measured.peak_between(*windows[step])
        peak_text = f"{peak:,.0f}" if peak is not None else "—"
        if name == "full":
            return f"{seconds[step]:.1f} | {peak_text}"
        base = runs["full"][1].get(step)
        ratio = f"{seconds[step] / base:.2f}" if base else "—"
        return f"{seconds[step]:.1f} | {ratio} | {peak_text}"

    for step in steps:
        print(
            f"| `{step}` | {cell('full', step)} | {cell('complete', step)} "
            f"| {cell('routine', step)} |"
        )
    facts = {name: sum(r[3].values()) for name, r in runs.items()}
    if facts["full"]:
        cells = [f"{facts['full']:.2f} | —"]
        for name in ("complete", "routine"):
            if name in facts:
                cells.append(f"{facts[name]:.2f} | {facts[name] / facts['full']:.2f} | —")
            else:
                cells.append("— | — | —")
        print(f"| the four incremental facts (dbt time) | {' | '.join(cells)} |")
    print(
        "\nHistory at the full build: "
        + ", ".join(f"{k} {v:,}" for k, v in history.items())
        + f"; added per batch: {json.dumps(added)}"
    )
    print("\nSlowest dbt nodes of the full build (run_results.json):\n")
    print("| node | seconds |")
    print("|---|---:|")
    for node, seconds in slow:
        print(f"| `{node}` | {seconds:.1f} |")


if __name__ == "__main__":
    main()
