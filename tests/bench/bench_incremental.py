"""Benchmark: a routine (incremental) pipeline run after ~1% new events vs a full build.

    .venv/bin/python tests/bench/bench_incremental.py [--members 20000] [--share 0.01] [--home DIR]

Generates a demo data folder (``clubcrm init`` + ``clubcrm demo-data``), times
``clubcrm pipeline run --full``, adds about ``--share`` new events straight into the operational
SQLite database and the swipe spool (new point entries and approvals of pending ones, new paid
purchases, responses to care contacts, new swipes: all stamped now, as the services would),
times ``clubcrm pipeline run`` (a complete run: changed rows, incremental facts, every mart),
adds a second batch and times ``clubcrm pipeline run --routine`` (the hourly run: changed rows,
core layer only), and prints a markdown table: wall-clock time of each run, each Dagster step,
dbt's own execution time of the four incremental facts, the ratios to the full build, and the
rows added. Public tools only: the repository's CLI,
sqlite3 and duckdb.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

FACTS = ("fct_point_entries", "fct_purchases", "fct_swipes", "fct_care_contacts")
BIN = Path(sys.executable).parent


def clubcrm(*args: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    completed = subprocess.run(
        [str(BIN / "clubcrm"), *args], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"clubcrm {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return seconds


def fact_seconds(run_results: Path) -> dict[str, float]:
    """dbt's execution time of each incremental fact in the last run."""
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    return {
        r["unique_id"].rsplit(".", 1)[-1]: float(r["execution_time"])
        for r in results
        if r["unique_id"].startswith("model.") and r["unique_id"].rsplit(".", 1)[-1] in FACTS
    }


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per step of the latest Dagster run (ingestion, dbt, scoring, publishing)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(limit=1)[0]
        return {
            stats.step_key: (stats.end_time or 0) - (stats.start_time or 0)
            for stats in instance.get_run_step_stats(run.run_id)
        }


def add_events(database: Path, warehouse: Path, spool_dir: Path, share: float, seed: int) -> dict:
    """About ``share`` new events per fact, stamped now; the rows added (or changed) per table."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    added: dict[str, int] = {}
    connection = sqlite3.connect(database)
    try:
        with connection:
            # Point entries: copies of posted awards, posted now; balances moved in step.
            total = connection.execute("select count(*) from point_entries").fetchone()[0]
            count = max(1, int(total * share))
            first_id = connection.execute("select max(id) from point_entries").fetchone()[0] + 1
            connection.execute(
                """
                create temp table new_entries as
                select row_number() over () - 1 + ? as id, member_id, card_id, points,
                       event_type, reference
                from (select * from point_entries
                      where status = 'posted' and points > 0 and event_type = 'purchase'
                      order by random() limit ?)
                """,
                [first_id, count],
            )
            connection.execute(
                """
                insert into point_entries (id, member_id, card_id, points, event_type, status,
                    reference, reason, idempotency_key, remaining, created_at, created_by,
                    posted_at)
                select id, member_id, card_id, points, event_type, 'posted', reference,
                       'benchmark', 'bench:' || id, points, ?, 'bench', ?
                from new_entries
                """,
                [now, now],
            )
            # A tenth as many approvals of pending awards.
            connection.execute(
                """
                create temp table approved as
                select id, member_id, points from point_entries
                where status = 'pending' and points > 0 order by id limit ?
                """,
                [max(1, count // 10)],
            )
            connection.execute(
                """
                update point_entries
                set status = 'posted', posted_at = ?, approved_by = 'bench', remaining = points
                where id in (select id from approved)
                """,
                [now],
            )
            connection.execute(
                """
                update member_point_balances
                set balance = balance + moved.points,
                    earned_total = earned_total + moved.points, updated_at = ?
                from (select member_id, sum(points) as points
                      from (select member_id, points from new_entries
                            union all select member_id, points from approved)
                      group by member_id) as moved
                where member_point_balances.member_id = moved.member_id
                """,
                [now],
            )
            added["point_entries"] = count
            added["point_entries_approved"] = connection.execute(
                "select count(*) from approved"
            ).fetchone()[0]

            # Purchases: copies of members' purchases, bought and paid in full now.
            total = connection.execute("select count(*) from purchases").fetchone()[0]
            count = max(1, int(total * share))
            first_id = connection.execute("select max(id) from purchases").fetchone()[0] + 1
            connection.execute(
                """
                create temp table new_purchases as
                select row_number() over () - 1 + ? as id, *
                from (select member_id, product, quantity, amount, discount, region, channel,
                             salesperson, regional_manager, dealer
                      from purchases
                      where member_id is not null and purchase_type = 'new' and amount > 0
                      order by random() limit ?)
                """,
                [first_id, count],
            )
            connection.execute(
                """
                insert into purchases (id, purchase_no, member_id, product, quantity, amount,
                    discount, paid_amount, region, channel, salesperson, regional_manager,
                    dealer, purchase_type, purchased_at, cross_group, fully_paid_at,
                    created_at, created_by)
                select id, 'BENCH' || id, member_id, product, quantity, amount, discount,
                       amount, region, channel, salesperson, regional_manager, dealer, 'new',
                       ?, 0, ?, ?, 'bench'
                from new_purchases
                """,
                [now, now, now],
            )
            connection.execute(
                """
                insert into purchase_payments (purchase_id, amount, paid_at, method,
                    idempotency_key, created_at)
                select id, amount, ?, 'cash', 'bench-pay:' || id, ? from new_purchases
                """,
                [now, now],
            )
            added["purchases"] = count

            # Care contacts: responses, now, to contacts sent before.
            total = connection.execute("select count(*) from care_contacts").fetchone()[0]
            count = max(1, int(total * share))
            connection.execute(
                """
                update care_contacts set responded_at = ?, response = 'benchmark'
                where id in (select id from care_contacts
                             where status = 'sent' and responded_at is null
                             order by random() limit ?)
                """,
                [now, count],
            )
            added["care_contacts_responded"] = count
    finally:
        connection.close()

    # Swipes: copies of loaded swipes with new ids, swiped now, in one new file per reader.
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as warehouse_connection:
        total = warehouse_connection.execute("select count(*) from raw.swipes").fetchone()[0]
        count = max(1, int(total * share))
        rows = warehouse_connection.execute(
            "select reader_id, card_no, raw, purpose, target from raw.swipes "
            f"using sample reservoir({int(count)} rows) repeatable ({int(seed)})"
        ).fetchall()
    swiped_at = datetime.now(UTC).isoformat()
    by_reader: dict[str, list[str]] = {}
    for n, (reader_id, card_no, raw, purpose, target) in enumerate(rows):
        line = {
            "swipe_id": f"{reader_id}-BENCH{n:08d}-{rng.randrange(10**6):06d}",
            "reader_id": reader_id,
            "seq": 10**9 + n,
            "card_no": card_no,
            "raw": raw,
            "swiped_at": swiped_at,
            "purpose": purpose,
            "target": target,
        }
        by_reader.setdefault(reader_id, []).append(json.dumps(line))
    for reader_id, lines in by_reader.items():
        folder = spool_dir / reader_id
        folder.mkdir(parents=True, exist_ok=True)
        # A file of its own per batch: a real reader never rewrites a finished file, and the
        # swipe loader answers a rewritten one by re-reading the whole spool.
        (folder / f"{reader_id}-BENCH{seed}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    added["swipes"] = len(rows)
    return added


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=20000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.01, help="new events, share of history")
    parser.add_argument("--home", type=Path, help="data folder (default: a new temporary one)")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="bench-incremental-"))
    env = {**os.environ, "CLUBCRM_HOME": str(home)}
    env.pop("CLUBCRM_DATABASE_URL", None)
    os.environ.update(env)
    from clubcrm.settings import get_settings

    settings = get_settings()
    run_results = settings.dbt_target_dir / "run_results.json"

    print(f"data folder: {home}", file=sys.stderr)
    clubcrm("init", env=env)
    seconds = clubcrm(
        "demo-data",
        "--members",
        str(args.members),
        "--seed",
        str(args.seed),
        "--months",
        str(args.months),
        env=env,
    )
    print(f"demo data: {seconds:.1f} s", file=sys.stderr)

    full_s = clubcrm("pipeline", "run", "--full", env=env)
    full_facts = fact_seconds(run_results)
    full_steps = step_seconds(settings.dagster_home)
    print(f"full build: {full_s:.1f} s", file=sys.stderr)
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(database) as connection:
        history = {
            table: connection.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("point_entries", "purchases", "care_contacts")
        }
    import duckdb

    with duckdb.connect(str(settings.build_warehouse_path), read_only=True) as connection:
        history["swipes"] = connection.execute("select count(*) from raw.swipes").fetchone()[0]

    added = add_events(
        database, settings.build_warehouse_path, settings.spool_dir, args.share, args.seed
    )
    incremental_s = clubcrm("pipeline", "run", env=env)
    incremental_facts = fact_seconds(run_results)
    incremental_steps = step_seconds(settings.dagster_home)
    # A second batch of the same size, then the routine (hourly) run: core layer only.
    add_events(
        database, settings.build_warehouse_path, settings.spool_dir, args.share, args.seed + 1
    )
    routine_s = clubcrm("pipeline", "run", "--routine", env=env)
    routine_facts = fact_seconds(run_results)
    routine_steps = step_seconds(settings.dagster_home)

    print(
        f"\n{args.members:,} members, {args.months} months; history: "
        + ", ".join(f"{name} {rows:,}" for name, rows in history.items())
        + "; added per batch: "
        + ", ".join(f"{name} {rows:,}" for name, rows in added.items())
        + "\n"
    )
    print("| what | full build (s) | complete run (s) | ratio | routine run (s) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")

    def row(label: str, f: float, c: float, r: float, digits: int = 1) -> None:
        print(
            f"| {label} | {f:.{digits}f} | {c:.{digits}f} | {c / f if f else 0:.2f} "
            f"| {r:.{digits}f} | {r / f if f else 0:.2f} |"
        )

    row("`clubcrm pipeline run` (wall clock)", full_s, incremental_s, routine_s)
    for step in sorted(set(full_steps) | set(incremental_steps) | set(routine_steps)):
        row(
            f"step `{step}`",
            full_steps.get(step, 0.0),
            incremental_steps.get(step, 0.0),
            routine_steps.get(step, 0.0),
        )
    for fact in FACTS:
        row(
            f"dbt model `{fact}`",
            full_facts.get(fact, 0.0),
            incremental_facts.get(fact, 0.0),
            routine_facts.get(fact, 0.0),
            digits=2,
        )
    row(
        "the four facts together",
        sum(full_facts.values()),
        sum(incremental_facts.values()),
        sum(routine_facts.values()),
        digits=2,
    )
    print(f"\nrows added: {sum(added.values()):,} ({json.dumps(added)})")


if __name__ == "__main__":
    main()
