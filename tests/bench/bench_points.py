"""Benchmark the points ledger: postings per second with 1 and 8 concurrent clerks, on SQLite and
PostgreSQL, beside pgbench's built-in TPC-B-like rate on the same PostgreSQL server in the same
run (the ratio says how close a posting — lock the balance, consume the oldest awards, write the
entry — gets to the server's plain transaction rate).

Each posting is one transaction through ``operational.services.points.post_entry``: 70 % awards
(10-100 points), 30 % spendings (5-50 points; a spending the balance cannot cover is refused
and counted). Clerks are threads, each with its own engine, spread over ``--members`` members.
Not collected by pytest; run it as

    .venv/bin/python tests/bench/bench_points.py --postings 1500

(PostgreSQL from ``--database-url``, default the local test server; pgbench must be on PATH)
and copy the Markdown it prints into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from operational.bootstrap import initialise  # noqa: E402
from operational.db import make_engine  # noqa: E402
from operational.models import Member, MemberPointBalance  # noqa: E402
from operational.services.common import Actor, ServiceError  # noqa: E402
from operational.services.points import post_entry  # noqa: E402

CLERK = Actor("bench", "staff")


def _seed(url: str, members: int) -> list[int]:
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        rows = [
            Member(member_no=f"M{n:08d}", name=f"会员{n}", joined_at=date(2025, 1, 1))
            for n in range(1, members + 1)
        ]
        session.add_all(rows)
        session.flush()
        session.add_all(MemberPointBalance(member_id=m.id) for m in rows)
        ids = [m.id for m in rows]
    engine.dispose()
    return ids


def _run(url: str, member_ids: list[int], clerks: int, postings: int) -> tuple[float, int, int]:
    """(postings per second, posted, refused) for ``clerks`` threads × ``postings`` each."""
    barrier = threading.Barrier(clerks + 1)
    counts = {"posted": 0, "refused": 0}
    lock = threading.Lock()
    run_id = uuid.uuid4().hex[:8]

    def clerk(k: int) -> None:
        rng = random.Random(k)
        engine = make_engine(url)
        posted = refused = 0
        barrier.wait()
        for i in range(postings):
            spend = rng.random() < 0.3
            points = -rng.randint(5, 50) if spend else rng.randint(10, 100)
            try:
                with Session(engine) as session, session.begin():
                    post_entry(
                        session,
                        member_id=rng.choice(member_ids),
                        points=points,
                        event_type="redemption" if spend else "manual",
                        idempotency_key=f"bench:{run_id}:{k}:{i}",
                        actor=CLERK,
                        reason="benchmark",
                    )
                posted += 1
            except ServiceError as error:
                if error.code != "insufficient_points":
                    raise
                refused += 1
        engine.dispose()
        with lock:
            counts["posted"] += posted
            counts["refused"] += refused

    threads = [threading.Thread(target=clerk, args=(k,)) for k in range(clerks)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    total = counts["posted"] + counts["refused"]
    return total / seconds, counts["posted"], counts["refused"]


def _pg_schema(base_url: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in base_url else "?"
    return schema, f"{base_url}{separator}options=-csearch_path%3D{schema}"


def _drop_schema(base_url: str, schema: str) -> None:
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _pgbench(base_url: str, clients: int, seconds: int) -> float:
    """pgbench's TPC-B-like tps in a scratch database on the same server."""
    url = make_url(base_url)
    conn = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or ""]
    database = f"pgbench_{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    subprocess.run(["createdb", *conn, database], check=True, env=env)
    try:
        subprocess.run(
            ["pgbench", *conn, "-i", "-q", "-s", "1", database],
            check=True,
            env=env,
            capture_output=True,
        )
        out = subprocess.run(
            [
                "pgbench",
                *conn,
                "-c",
                str(clients),
                "-j",
                str(min(clients, 2)),
                "-T",
                str(seconds),
                database,
            ],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        subprocess.run(["dropdb", *conn, database], check=True, env=env)
    match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    if not match:
        raise RuntimeError(f"cannot read pgbench's tps from:\n{out}")
    return float(match[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postings", type=int, default=1500, help="postings per clerk")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "CLUBCRM_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="clubcrm-bench-points-") as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'operational.sqlite'}"
        initialise(sqlite_url, admin_password="bench-password-1")
        ids = _seed(sqlite_url, args.members)
        for clerks in (1, 8):
            rate, posted, refused = _run(sqlite_url, ids, clerks, args.postings // clerks)
            rows.append(("SQLite", clerks, rate, posted, refused, None))

    schema, pg_url = _pg_schema(args.database_url)
    try:
        initialise(pg_url, admin_password="bench-password-1")
        ids = _seed(pg_url, args.members)
        for clerks in (1, 8):
            rate, posted, refused = _run(pg_url, ids, clerks, args.postings // clerks)
            tps = _pgbench(args.database_url, clerks, args.pgbench_seconds)
            rows.append(("PostgreSQL", clerks, rate, posted, refused, tps))
    finally:
        _drop_schema(args.database_url, schema)

    print(f"postings: {args.postings} per run, {args.members} members, {os.cpu_count()} cores")
    print()
    print(
        "| database | clerks | postings/s | posted | refused (insufficient) | pgbench tps | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for database, clerks, rate, posted, refused, tps in rows:
        ratio = f"{rate / tps:.2f}" if tps else "–"
        shown_tps = f"{tps:,.0f}" if tps else "–"
        print(
            f"| {database} | {clerks} | {rate:,.0f} | {posted:,} | {refused:,} | {shown_tps} "
            f"| {ratio} |"
        )


if __name__ == "__main__":
    main()
