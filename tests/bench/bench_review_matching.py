"""Benchmark review matching (``operational.matching.find_similar``) on generated demo data.

Generates a demo history into a fresh, temporary CLUBCRM_HOME (SQLite unless
``--database-url`` names another, empty database), then matches every duplicate application
the generator made (``truth/duplicates.parquet``: pending and merged ones) with its own fields,
the application itself left out, as the review page does. Reports top-1 and top-3 accuracy
(the true member first / among the first three) by slip kind and by status, top-1 once more
with the mobile withheld (name, ID, home phone, e-mail and birthday only: the generator's
duplicates always keep a mobile close to the member's, which makes them easy), and the median
and 95th percentile time of one ``find_similar`` call (limit 10). Not collected by pytest;
run it as

    .venv/bin/python tests/bench/bench_review_matching.py --members 100000 --seed 42

and copy the Markdown it prints into docs/benchmarks.md ("Review matching").
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _machine() -> str:
    try:
        mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        memory = f"{mem_kib / 1024**2:.0f} GiB"
    except (OSError, TypeError):
        memory = "? GiB"
    return (
        f"{os.cpu_count()} cores, {memory}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-date", default="2026-06-30", help="YYYY-MM-DD")
    parser.add_argument("--database-url", default=None, help="an empty database (else SQLite)")
    parser.add_argument("--show-misses", type=int, default=0, help="print this many misses")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args()

    for name in list(os.environ):
        if name.startswith("CLUBCRM_"):
            del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix="clubcrm-bench-matching-"))
    os.environ["CLUBCRM_HOME"] = str(home)
    try:
        return _run(args, home)
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def _run(args: argparse.Namespace, home: Path) -> int:
    import pandas as pd
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from clubcrm.settings import get_settings
    from demodata.generate import generate
    from operational.bootstrap import initialise
    from operational.matching import find_similar
    from operational.models import Application, Member

    settings = get_settings()
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    settings.ensure_dirs()
    initialise(settings.database_url, admin_password="bench-password-1")
    started = time.perf_counter()
    generate(
        settings,
        members=args.members,
        seed=args.seed,
        months=args.months,
        end_date=date.fromisoformat(args.end_date),
    )
    generated = time.perf_counter() - started
    truth = pd.read_parquet(settings.truth_dir / "duplicates.parquet")

    engine = create_engine(settings.database_url)
    top1: Counter[tuple[str, str]] = Counter()
    top3: Counter[tuple[str, str]] = Counter()
    blind: Counter[tuple[str, str]] = Counter()  # top-1 with the mobile withheld
    counts: Counter[tuple[str, str]] = Counter()
    seconds: list[float] = []
    misses = []
    with Session(engine) as session:
        apps = {
            a.id: a
            for a in session.query(Application).filter(
                Application.id.in_([int(x) for x in truth["application_id"]])
            )
        }
        archived = set(
            session.scalars(
                select(Member.member_no).where(
                    Member.member_no.in_(truth["member_no"].tolist()), Member.status == "archived"
                )
            )
        )
        for row in truth.itertuples():
            app = apps[int(row.application_id)]
            fields = dict(
                name=app.name,
                id_number=app.id_number,
                mobile=app.mobile,
                home_phone=app.home_phone,
                email=app.email,
                birthday=app.birthday,
                exclude_application_id=app.id,
            )
            t0 = time.perf_counter()
            found = find_similar(session, limit=10, **fields)
            seconds.append(time.perf_counter() - t0)
            session.expunge_all()  # each call reads its rows afresh, as a page request would
            labels = [c.label for c in found if c.kind == "member"][:3]
            first = found[0].label if found and found[0].kind == "member" else None
            slips = row.slips + ("+id_typo" if row.id_number_typo else "")
            member = "archived" if row.member_no in archived else "live"
            keys = [("all", "all"), ("member", member), ("status", row.status)]
            if member == "live":
                keys += [("live status", row.status), ("slips", slips)]
            for key in keys:
                counts[key] += 1
                top1[key] += first == row.member_no
                top3[key] += row.member_no in [c.label for c in found[:3]]
            no_mobile = find_similar(session, limit=1, **{**fields, "mobile": None})
            session.expunge_all()
            blind_hit = bool(no_mobile) and no_mobile[0].label == row.member_no
            for key in keys:
                blind[key] += blind_hit
            if first != row.member_no and len(misses) < args.show_misses:
                misses.append((row, app.name, app.mobile, found[:3]))
    engine.dispose()

    seconds.sort()
    median = statistics.median(seconds) * 1000
    p95 = seconds[min(len(seconds) - 1, int(0.95 * len(seconds)))] * 1000
    backend = settings.database_url.split(":", 1)[0].split("+", 1)[0]
    print(f"members: {args.members:,}  seed: {args.seed}  months: {args.months}  DB: {backend}")
    print(f"generated in {generated:.1f} s; duplicates matched: {len(truth):,}")
    print(f"find_similar: median {median:.1f} ms, p95 {p95:.1f} ms (limit 10)")
    print(f"machine: {_machine()}")
    print()
    print("| duplicates | n | top-1 | top-3 | top-1, mobile withheld |")
    print("|---|---:|---:|---:|---:|")
    labels = {
        ("all", "all"): "**all duplicates**",
        ("member", "archived"): "of an archived member (never a candidate)",
        ("member", "live"): "**of a member not archived**",
        ("status", "pending"): "all, pending",
        ("status", "merged"): "all, merged",
        ("live status", "pending"): "not archived, pending",
        ("live status", "merged"): "not archived, merged",
    }
    order = [k for k in labels if k in counts]
    order += sorted(k for k in counts if k[0] == "slips")
    for key in order:
        label = labels.get(key) or f"not archived, {key[1].replace('+', ' + ')}"
        n = counts[key]
        shares = f"{top1[key] / n:.1%} | {top3[key] / n:.1%} | {blind[key] / n:.1%}"
        print(f"| {label} | {n:,} | {shares} |")
    for row, name, mobile, found in misses:
        print(f"\nmiss: A{row.application_id} {name} {mobile} ({row.slips}) -> {row.member_no}")
        for c in found:
            print(f"   {c.label} {c.name} {c.score:g} {','.join(c.reasons)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
