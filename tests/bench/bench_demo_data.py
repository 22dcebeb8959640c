"""Benchmark ``clubcrm demo-data``: wall time, peak memory and rows written.

Runs ``clubcrm init`` and ``clubcrm demo-data`` as separate processes in a fresh, temporary
CLUBCRM_HOME (SQLite), exactly as a user would, and reports the peak resident memory of the
demo-data process (``getrusage(RUSAGE_CHILDREN)``). Not collected by pytest; run it as

    .venv/bin/python tests/bench/bench_demo_data.py --members 1000000

and copy the Markdown it prints into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _clubcrm() -> list[str]:
    script = Path(sys.executable).with_name("clubcrm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "clubcrm.cli"]


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
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--end-date", default=None, help="YYYY-MM-DD (default: today)")
    parser.add_argument("--home", type=Path, default=None, help="use this data folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args()

    home = args.home or Path(tempfile.mkdtemp(prefix="clubcrm-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLUBCRM_")}
    env["CLUBCRM_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = [*_clubcrm(), "demo-data", "--members", str(args.members), "--seed", str(args.seed)]
    command += ["--months", str(args.months)]
    if args.end_date:
        command += ["--end-date", args.end_date]
    try:
        subprocess.run(
            [*_clubcrm(), "init", "--admin-password", "bench-password-1"],
            env=env,
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        result = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        sizes = {
            "operational.sqlite": (home / "operational.sqlite").stat().st_size,
            "spool": sum(p.stat().st_size for p in (home / "spool").rglob("*") if p.is_file()),
        }
    finally:
        if not args.keep and args.home is None:
            shutil.rmtree(home, ignore_errors=True)

    counts = {}
    for line in result.stdout.splitlines():
        match = re.fullmatch(r"(\w+)\s+([\d,]+)", line.strip())
        if match:
            counts[match[1]] = int(match[2].replace(",", ""))
    print(f"members: {args.members:,}  seed: {args.seed}  months: {args.months}")
    print(f"wall time: {seconds:.1f} s  peak RSS: {peak_mib:,.0f} MiB")
    print(f"machine: {_machine()}")
    print(
        f"operational.sqlite: {sizes['operational.sqlite'] / 1024**2:,.0f} MiB, "
        f"spool: {sizes['spool'] / 1024**2:,.0f} MiB"
    )
    print()
    print("| table | rows |")
    print("|---|---:|")
    for table, count in counts.items():
        print(f"| {table} | {count:,} |")
    print(f"| **total (DB rows)** | {sum(v for k, v in counts.items() if k != 'swipes'):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
