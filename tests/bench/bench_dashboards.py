"""Benchmark: each manager dashboard page's server-side render time on a large published
warehouse, beside the time of the same queries run directly in DuckDB (the ratio).

    .venv/bin/python tests/bench/bench_dashboards.py --members 1000000 [--home DIR] [--runs 5]

Not collected by pytest. Public tools only: the repository's CLI, DuckDB and Streamlit's
``AppTest``. Prints a Markdown table to copy into docs/benchmarks.md.

**The warehouse.** Generating a real 1,000,000-member club takes minutes and building it with
the pipeline far longer on a small machine, so the script builds a real club ``--scale`` (50)
times smaller and replicates it (all skipped when ``<home>/club`` already publishes a warehouse
of ``--members`` members):

1. ``clubcrm init``, ``clubcrm demo-data --members <members / scale> --seed 1 --end-date
   2026-10-31`` and ``clubcrm pipeline run`` in ``<home>/club``; its published warehouse is kept
   as ``<home>/base-<n>.duckdb`` (and reused when present);
2. a copy of that published warehouse becomes the build file and every *member-level* table of
   the ``core``, ``intermediate`` (its tables; its views read the scaled core), ``analysis``,
   ``reporting`` and ``prediction`` schemas (those with a member, card, purchase, complaint,
   point-entry, care-contact … key) is replaced by ``scale`` copies of itself: copy ``k`` > 0 gets ``-k`` appended to every text key (``member_no``, ``card_no``,
   ``purchase_no`` …) and ``k × 10⁹`` added to every numeric member-level id, so joins and
   group-bys keep their shape, every fact grows ``scale`` times and a member's history stays
   whole. Club-level tables (activities, cares, merchants, dates, monthly aggregates) are kept
   as they are: a bigger club has more members, not more months or regions; ``raw``, ``staging``
   and ``features`` are not read by any dashboard and are left at the base size;
3. the result is published with :func:`clubcrm.published.publish` (masking, pointer switch),
   exactly what the pages read in production.

**What is measured**, for each page, signed in as a manager (an admin for pages only admins open),
default filters, Chinese labels:

- *render*: wall-clock time of ``AppTest.from_file(page).run()`` — the whole script: Streamlit
  widgets, the data functions on the published warehouse, pandas, Plotly figures and the
  protobuf messages, i.e. the server side of one page view. Streamlit's data cache is cleared
  before every run (each run is a first view after a publish); one untimed warm-up render per
  page first, so Python's module imports are not counted, and the scan of installed packages
  for Streamlit components that a server does once at start-up (AppTest repeats it for every
  new app, 0.6 s) is done once and shared. The member 360° page is timed on a
  search for the member with the longest point history (its first view only shows a search box).
- *bare*: the statements the page's data functions sent to DuckDB during a render — captured by
  wrapping :func:`clubcrm.published.connect` — replayed on plain read-only connections (one per
  connection the page opened, same parameters, same fetch method: ``df()``, ``fetchone()`` …).
- *ratio*: render / bare, the cost of everything around the queries.
- *CPU*: the same two, in CPU seconds of the process (every thread, DuckDB's included): on a
  shared machine wall-clock times swing with the load, CPU seconds much less.

Timings depend on the machine's load; the table header records it (``os.getloadavg``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

BIN = Path(sys.executable).parent
VIEWS = ROOT / "dashboards" / "views"
END_DATE = "2026-10-31"
SEED = "1"
#: The pages timed, in the navigation's order (overview and status read the warehouse too).
PAGES = (
    "overview",
    "dash_members",
    "dash_purchases",
    "dash_points",
    "dash_activities",
    "dash_care",
    "dash_complaints",
    "dash_segments",
    "dash_member360",
    "dash_predictions",
    "status",
)
SCALED_SCHEMAS = ("core", "intermediate", "analysis", "reporting", "prediction")
#: Text keys of member-level rows: copy k > 0 gets "-k" appended.
TEXT_KEYS = frozenset(
    {
        "member_no",
        "card_no",
        "parent_card_no",
        "replaced_by_card_no",
        "main_card_no",
        "purchase_no",
        "complaint_no",
        "swipe_id",
    }
)
#: Numeric ids of member-level rows: copy k gets k × 10⁹ added (club-level ids such as
#: activity_id, care_id or merchant_id are left alone, so the copies share activities and cares).
ID_KEYS = frozenset(
    {
        "member_id",
        "main_card_id",
        "entry_id",
        "reverses_entry_id",
        "purchase_id",
        "care_contact_id",
        "complaint_id",
        "complaint_step_id",
        "attendance_id",
        "application_id",
        "redemption_id",
        "merchant_service_use_id",
    }
)
ID_STRIDE = 1_000_000_000


# -- the warehouse ------------------------------------------------------------------------------------
def clubcrm(home: Path, *args: str) -> None:
    # The operational database is the SQLite file of that data folder, whatever the shell says.
    env = {key: value for key, value in os.environ.items() if key != "CLUBCRM_DATABASE_URL"}
    env["CLUBCRM_HOME"] = str(home)
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "clubcrm"), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"clubcrm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    print(f"  clubcrm {' '.join(args)}: {time.monotonic() - started:.0f} s", file=sys.stderr)


def settings_for(home: Path):
    previous = os.environ.get("CLUBCRM_HOME")
    os.environ["CLUBCRM_HOME"] = str(home)
    from clubcrm.settings import get_settings

    settings = get_settings()
    if previous is not None:  # pragma: no cover - the benchmark keeps CLUBCRM_HOME set
        os.environ["CLUBCRM_HOME"] = previous
    return settings


def members_in(path: Path) -> int:
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        return con.execute("select count(*) from core.dim_members").fetchone()[0]


def published_members(settings) -> int | None:
    from clubcrm.published import NoPublishedWarehouse, published_path

    try:
        return members_in(published_path(settings))
    except (NoPublishedWarehouse, duckdb.Error):
        return None


def base_warehouse(home: Path, base_members: int) -> Path:
    """A published warehouse of a real ``base_members`` demo club (built once, then kept)."""
    base = home / f"base-{base_members}.duckdb"
    if base.exists():
        return base
    club = home / "club"
    print(f"building a {base_members:,}-member demo club in {club}", file=sys.stderr)
    clubcrm(club, "init", "--admin-password", "bench-admin-password")
    clubcrm(club, "demo-data", "--members", str(base_members), "--seed", SEED,
            "--end-date", END_DATE)  # fmt: skip
    clubcrm(club, "pipeline", "run")
    from clubcrm.published import published_path

    shutil.copyfile(published_path(settings_for(club)), base)
    return base


def scale_tables(con: duckdb.DuckDBPyConnection, scale: int) -> list[tuple[str, int]]:
    """Replace every member-level table by ``scale`` copies of itself (see the docstring)."""
    tables = con.execute(
        f"""
        select table_schema, table_name, list(column_name order by ordinal_position)
        from information_schema.columns
        where table_schema in {SCALED_SCHEMAS!r}
          and (table_schema, table_name) in (
              select (table_schema, table_name) from information_schema.tables
              where table_type = 'BASE TABLE')
        group by all order by all
        """
    ).fetchall()
    grown = []
    for schema, table, columns in tables:
        if not (set(columns) & (TEXT_KEYS | ID_KEYS)):
            continue
        select = ", ".join(
            f"if(copy.k = 0, t.{c}, t.{c} || '-' || copy.k) as {c}"
            if c in TEXT_KEYS
            else f"t.{c} + copy.k * {ID_STRIDE} as {c}"
            if c in ID_KEYS
            else f"t.{c}"
            for c in columns
        )
        con.execute(
            f"""create table {schema}.{table}__scaled as
                select {select} from range({scale}) as copy(k), {schema}.{table} as t
                order by copy.k"""
        )
        con.execute(f"drop table {schema}.{table}")
        con.execute(f"alter table {schema}.{table}__scaled rename to {table}")
        grown.append((f"{schema}.{table}", con.execute(
            f"select count(*) from {schema}.{table}").fetchone()[0]))  # fmt: skip
    return grown


def prepare(home: Path, members: int, scale: int) -> Any:
    """Settings of a data folder whose published warehouse has ``members`` members."""
    club = home / "club"
    settings = settings_for(club)
    if published_members(settings) == members:
        print(f"reusing the published {members:,}-member warehouse in {club}", file=sys.stderr)
        return settings
    if members % scale:
        sys.exit(f"--members {members} is not a multiple of --scale {scale}")
    base = base_warehouse(home, members // scale)
    from clubcrm.published import publish

    build = settings.build_warehouse_path
    build.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    shutil.copyfile(base, build)
    with closing(duckdb.connect(str(build))) as con:
        grown = scale_tables(con, scale)
        con.execute("checkpoint")
    publish(settings, build, run_id=f"bench-x{scale}", mode="complete")
    print(f"scaled {scale}x and published in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for name, rows in grown:
        print(f"  {name}: {rows:,}", file=sys.stderr)
    found = published_members(settings)
    if found != members:
        sys.exit(f"the scaled warehouse has {found} members, not {members}")
    return settings


# -- capturing the statements ---------------------------------------------------------------------------
@dataclass
class Statement:
    sql: str
    params: Any
    fetch: str | None = None
    seconds: float = 0.0


@dataclass
class Recorder:
    """Every connection a render opened, with the statements sent on it."""

    connections: list[list[Statement]] = field(default_factory=list)
    on: bool = False


RECORDER = Recorder()


class _Result:
    """What ``execute`` returned, remembering how the page fetched it."""

    def __init__(self, inner: Any, statement: Statement, started: float) -> None:
        self._inner, self._statement, self._started = inner, statement, started

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not name.startswith(("fetch", "df", "pl", "arrow")) or not callable(attribute):
            return attribute

        def fetch(*args: Any, **kwargs: Any) -> Any:
            value = attribute(*args, **kwargs)
            self._statement.fetch = name
            self._statement.seconds = time.perf_counter() - self._started
            return value

        return fetch


class _Connection:
    def __init__(self, inner: duckdb.DuckDBPyConnection) -> None:
        self._inner = inner
        self._statements: list[Statement] = []
        if RECORDER.on:
            RECORDER.connections.append(self._statements)

    def execute(self, sql: str, parameters: Any = None) -> Any:
        statement = Statement(sql, parameters)
        self._statements.append(statement)
        started = time.perf_counter()
        inner = self._inner.execute(sql, parameters) if parameters is not None else (
            self._inner.execute(sql))  # fmt: skip
        return _Result(inner, statement, started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def install_recorder() -> None:
    """Route every ``connect`` of the published warehouse through :class:`_Connection`."""
    import clubcrm.published as published

    original = published.connect

    def recording_connect(settings):
        return _Connection(original(settings))

    published.connect = recording_connect
    for name in ("dashboards.data.status", "dashboards.data.overview", "dashboards.data.filtering"):
        try:
            module = __import__(name, fromlist=["_"])
        except Exception:  # noqa: BLE001 - a broken page module is reported by its row
            continue
        if getattr(module, "connect", None) is original:
            module.connect = recording_connect


def replay(path: Path, connections: list[list[Statement]]) -> tuple[float, float, float]:
    """Seconds to run the captured statements on plain read-only connections, the part of them
    spent opening the connections, and the CPU seconds of the process (all threads)."""
    from clubcrm.published import READER_CONFIG

    opening = 0.0
    cpu = time.process_time()
    started = time.perf_counter()
    for statements in connections:
        opened = time.perf_counter()
        con = duckdb.connect(str(path), read_only=True, config=dict(READER_CONFIG))
        opening += time.perf_counter() - opened
        with closing(con):
            for statement in statements:
                args = () if statement.params is None else (statement.params,)
                result = con.execute(statement.sql, *args)
                getattr(result, statement.fetch or "fetchall")()
    return time.perf_counter() - started, opening, time.process_time() - cpu


# -- rendering ------------------------------------------------------------------------------------------
@dataclass
class Row:
    page: str
    renders: list[float] = field(default_factory=list)
    bares: list[float] = field(default_factory=list)
    render_cpu: list[float] = field(default_factory=list)
    bare_cpu: list[float] = field(default_factory=list)
    openings: list[float] = field(default_factory=list)
    queries: int = 0
    connections: int = 0
    slowest: tuple[float, str] = (0.0, "")
    statements: list[Statement] = field(default_factory=list)
    error: str | None = None


#: The component registry of the first render, shared by the later ones.
COMPONENTS: list[Any] = []


def role_for(page: str) -> str:
    from dashboards.auth import may_open

    return "manager" if may_open("manager", page) else "admin"


def longest_history_member(path: Path) -> str:
    with closing(duckdb.connect(str(path), read_only=True)) as con:
        return con.execute(
            "select member_no from core.fct_point_entries group by all "
            "order by count(*) desc, member_no desc limit 1"
        ).fetchone()[0]


def render(page: str, member_no: str) -> tuple[float, float, Any]:
    """One timed server-side render of ``page`` with empty caches: wall-clock and CPU seconds
    (of the whole process, every thread: DuckDB's and the script's), and the app."""
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    from dashboards.auth import remember_sign_in
    from operational.services.common import Actor

    set_log_level("error")  # no "missing ScriptRunContext" from clearing the cache here
    role = role_for(page)
    app = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=600)
    # A Streamlit server scans the installed packages for components once, at start-up; a new
    # AppTest does it on its first run (0.6 s here), so the runs share one scan.
    if COMPONENTS:
        app._bidi_component_manager = COMPONENTS[0]
    remember_sign_in(app.session_state, Actor(role, role), role.title())
    app.session_state["locale"] = "zh_CN"
    if page == "dash_member360":  # the first view is a search box: time the search
        app.run()
        app.text_input(key=f"{page}.number").input(member_no)
        submit = app.button[0]
        st.cache_data.clear()
        cpu, started = time.process_time(), time.perf_counter()
        submit.click().run()
    else:
        st.cache_data.clear()
        cpu, started = time.process_time(), time.perf_counter()
        app.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not COMPONENTS and getattr(app, "_bidi_component_manager", None) is not None:
        COMPONENTS.append(app._bidi_component_manager)
    if app.exception:
        raise RuntimeError(app.exception[0].message)
    return seconds, cpu, app


def measure(page: str, path: Path, member_no: str, runs: int) -> Row:
    row = Row(page)
    try:
        render(page, member_no)  # warm-up: imports, Plotly templates
        for run in range(runs):
            RECORDER.connections.clear()
            RECORDER.on = True
            try:
                seconds, cpu, app = render(page, member_no)
            finally:
                RECORDER.on = False
            row.renders.append(seconds)
            row.render_cpu.append(cpu)
            if run == 0:
                captured = [list(statements) for statements in RECORDER.connections]
                if page != "dash_member360" and not app.get("plotly_chart") and page not in (
                    "status", "overview"):  # fmt: skip
                    raise RuntimeError("the page rendered without a chart")
        row.statements = [statement for statements in captured for statement in statements]
        row.queries = len(row.statements)
        row.connections = len(captured)
        slowest = max((s for c in captured for s in c), key=lambda s: s.seconds, default=None)
        if slowest is not None:
            row.slowest = (slowest.seconds, " ".join(slowest.sql.split())[:160])
        for _ in range(runs):
            bare, opening, cpu = replay(path, captured)
            row.bares.append(bare)
            row.bare_cpu.append(cpu)
            row.openings.append(opening)
    except Exception as exc:  # noqa: BLE001 - one broken page is a row, not a crash
        row.error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
        traceback.print_exc(file=sys.stderr)
    return row


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--scale", type=int, default=50, help="copies of the generated club")
    parser.add_argument("--runs", type=int, default=5, help="timed renders per page")
    parser.add_argument("--home", type=Path, help="working folder (kept; default: a temp dir)")
    parser.add_argument("--pages", nargs="*", default=list(PAGES))
    parser.add_argument(
        "--detail", action="store_true", help="list every statement of each page with its time"
    )
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="bench-dashboards-"))
    home.mkdir(parents=True, exist_ok=True)
    settings = prepare(home.resolve(), args.members, args.scale)
    os.environ["CLUBCRM_HOME"] = str(settings.home)
    os.environ.setdefault("CLUBCRM_LOCALE", "zh_CN")
    from clubcrm.published import published_path

    path = published_path(settings)
    member_no = longest_history_member(path)
    install_recorder()
    loads = [os.getloadavg()]
    rows = []
    for page in args.pages:
        print(f"rendering {page} …", file=sys.stderr)
        rows.append(measure(page, path, member_no, args.runs))
        loads.append(os.getloadavg())
    print(f"\n{args.members:,} members ({args.scale} copies of a generated "
          f"{args.members // args.scale:,}-member club), {args.runs} renders a page, "
          f"cold data cache; {machine()}; load average (1 min) "
          f"{min(load[0] for load in loads):.1f}–{max(load[0] for load in loads):.1f}\n")  # fmt: skip
    print("| page | render s (median) | render s (max) | bare queries s (median) | ratio "
          "| render CPU s | bare CPU s | CPU ratio "
          "| queries (connections) | bare: opening connections s | slowest query s |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        if row.error:
            print(f"| {row.page} | failed: {row.error} | | | | | | | | | |")
            continue
        render_s, bare_s = statistics.median(row.renders), statistics.median(row.bares)
        render_cpu, bare_cpu = statistics.median(row.render_cpu), statistics.median(row.bare_cpu)
        print(
            f"| {row.page} | {render_s:.2f} | {max(row.renders):.2f} | {bare_s:.2f} "
            f"| {render_s / bare_s if bare_s else float('nan'):.1f} "
            f"| {render_cpu:.2f} | {bare_cpu:.2f} "
            f"| {render_cpu / bare_cpu if bare_cpu else float('nan'):.1f} "
            f"| {row.queries} ({row.connections}) | {statistics.median(row.openings):.2f} "
            f"| {row.slowest[0]:.2f} |"
        )
    print("\nSlowest statement of each page (during the first timed render):\n")
    for row in rows:
        if not row.error and row.slowest[1]:
            print(f"- {row.page} ({row.slowest[0]:.2f} s): `{row.slowest[1]}`")
    if args.detail:
        for row in rows:
            print(f"\n{row.page}:")
            for statement in sorted(row.statements, key=lambda s: -s.seconds):
                print(f"  {statement.seconds:6.3f} {' '.join(statement.sql.split())[:150]}")


if __name__ == "__main__":
    main()
