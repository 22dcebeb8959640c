"""The Status page without Streamlit: the pipeline's last runs (from the Dagster instance under
``CLUBCRM_HOME/dagster``), what failed in the last run, and how fresh the published warehouse is.

Everything here only reads — the Dagster instance's run and event storage, and the published
copy through :func:`clubcrm.published.connect` — except :func:`start_pipeline_run`, which starts
``clubcrm pipeline run`` as a detached process (output in ``CLUBCRM_HOME/log``) whose progress
:func:`run_progress` reads from the steps of its Dagster run. Nothing having run yet is a normal state (an
empty list, ``None``), never an error.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from clubcrm.published import NoPublishedWarehouse, connect
from clubcrm.settings import Settings

#: How many runs the page lists.
RUNS_SHOWN = 10
#: The run tag that may say what a run rebuilt (else the published copy's build_history says).
MODE_TAG = "clubcrm/mode"
#: The runs listed: the jobs that build and publish the warehouse (orchestration/jobs.py
#: JOB_NAMES) and ad-hoc materialisations of its assets (the Dagster UI's Materialize button,
#: dagster's ``materialize()``); not the swipe loads and postings the daemon runs every minute.
PIPELINE_JOBS = (
    "warehouse_pipeline",
    "warehouse_routine",
    "warehouse_full",
    "__ASSET_JOB",
    "__ephemeral_asset_job__",
)
AS_OF_TAG = "clubcrm/as_of"
#: dagster-dbt's metadata key for the number of rows a failing dbt test returned.
FAILED_ROWS_KEY = "dagster_dbt/failed_row_count"
#: The column holding when each core fact's event happened (the newest one says how far the
#: data reaches); facts not listed use their first ``*_at`` column.
EVENT_COLUMNS: dict[str, str] = {
    "fct_purchases": "purchased_at",
    "fct_point_entries": "created_at",
    "fct_swipes": "swiped_at",
    "fct_applications": "submitted_at",
    "fct_complaints": "received_at",
    "fct_complaint_steps": "handled_at",
    "fct_activity_attendance": "attended_at",
    "fct_activity_costs": "recorded_at",
    "fct_cares": "run_on",
    "fct_care_contacts": "contacted_at",
    "fct_merchant_service_uses": "used_at",
    "fct_redemptions": "redeemed_at",
}


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    status: str  # Dagster's run status: SUCCESS, FAILURE, STARTED, CANCELED...
    started_at: datetime | None
    finished_at: datetime | None
    mode: str | None
    as_of: str | None

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCESS"

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class Failure:
    """A failed asset check (a dbt test or a Python check) or a failed step of a run."""

    kind: str  # "check" or "step"
    name: str  # the check's name or the step's key
    target: str  # the asset checked ("core/fct_purchases"); empty for a step
    message: str
    blocking: bool
    failed_rows: int | None = None  # a dbt test's count of failing rows


@dataclass
class Freshness:
    run_id: str | None = None
    published_at: datetime | None = None
    as_of: object = None
    mode: str | None = None
    marts_built_at: datetime | None = None
    watermarks: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    newest_events: list[tuple[str, str, object]] = field(default_factory=list)  # fact, column, when


def _instance(settings: Settings):
    """The Dagster instance of this data folder, or None when no run has set it up."""
    home = settings.dagster_home
    if not (home / "dagster.yaml").exists():
        return None
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _when(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def last_runs(settings: Settings, limit: int = RUNS_SHOWN) -> list[PipelineRun]:
    """The newest ``limit`` pipeline runs, newest first; empty when nothing ran yet."""
    instance = _instance(settings)
    if instance is None:
        return []
    from dagster import RunsFilter

    modes = _build_modes(settings)
    with instance:
        # Only the warehouse pipeline's runs: with the daemon on, swipe loads and postings run
        # every few minutes and would crowd them out of the list.
        records = [
            record
            for job in PIPELINE_JOBS
            for record in instance.get_run_records(filters=RunsFilter(job_name=job), limit=limit)
        ]
        records.sort(key=lambda record: record.create_timestamp, reverse=True)
        records = records[:limit]
        runs = []
        for record in records:
            run = record.dagster_run
            tags = run.tags or {}
            runs.append(
                PipelineRun(
                    run_id=run.run_id,
                    status=run.status.value,
                    started_at=_when(record.start_time),
                    finished_at=_when(record.end_time),
                    mode=tags.get(MODE_TAG) or modes.get(run.run_id),
                    as_of=tags.get(AS_OF_TAG),
                )
            )
    return runs


def last_run_failures(settings: Settings, run_id: str) -> list[Failure]:
    """The failed asset checks and failed steps of run ``run_id``."""
    instance = _instance(settings)
    if instance is None:
        return []
    from dagster import DagsterEventType

    failures: list[Failure] = []
    with instance:
        checks = instance.get_records_for_run(
            run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for record in checks:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            if evaluation.passed:
                continue
            metadata = {k: getattr(v, "value", v) for k, v in (evaluation.metadata or {}).items()}
            rows = metadata.get(FAILED_ROWS_KEY)
            failures.append(
                Failure(
                    kind="check",
                    name=evaluation.check_name,
                    target="/".join(evaluation.asset_key.path),
                    message=str(
                        getattr(evaluation, "description", None) or metadata.get("message") or ""
                    )[:500],
                    failed_rows=None if rows is None else int(rows),
                    blocking=str(getattr(evaluation.severity, "value", evaluation.severity))
                    == "ERROR",
                )
            )
        steps = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
        for record in steps:
            event = record.event_log_entry.dagster_event
            error = event.step_failure_data.error if event.step_failure_data else None
            if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # a blocking check failed: listed above with its own message
            while error is not None and error.cause is not None:  # Dagster wraps the cause
                error = error.cause
            lines = (error.message if error else "step failed").strip().splitlines()
            failures.append(
                Failure(
                    kind="step",
                    name=event.step_key or "",
                    target="",
                    message=(lines[0] if lines else "step failed")[:500],
                    blocking=True,
                )
            )
    return failures


def _build_modes(settings: Settings) -> dict[str, str]:
    """run_id -> mode from the published copy's ``main.build_history`` (empty if unreadable)."""
    try:
        with closing(connect(settings)) as connection:
            return dict(
                connection.execute("select run_id, mode from main.build_history").fetchall()
            )
    except (NoPublishedWarehouse, duckdb.Error):
        return {}


def freshness(settings: Settings) -> Freshness | None:
    """How fresh the published warehouse is; None when nothing was published yet."""
    try:
        connection = connect(settings)
    except NoPublishedWarehouse:
        return None
    with closing(connection):
        fresh = Freshness()
        tables = {
            (schema, name)
            for schema, name in connection.execute(
                "select schema_name, table_name from duckdb_tables() "
                "union all select schema_name, view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        if ("main", "warehouse_info") in tables:
            row = connection.execute(
                "select run_id, published_at, as_of, mode, marts_built_at from main.warehouse_info"
            ).fetchone()
            if row:
                fresh.run_id, fresh.published_at, fresh.as_of, fresh.mode, fresh.marts_built_at = (
                    row
                )
        if ("raw", "_ingestion_state") in tables:
            try:
                fresh.watermarks = connection.execute(
                    "select source, max(watermark), max(loaded_at) from raw._ingestion_state "
                    "group by source order by source"
                ).fetchall()
            except duckdb.Error:  # a layout this page does not know: leave it out
                fresh.watermarks = []
        facts = sorted(
            name for schema, name in tables if schema == "core" and name.startswith("fct_")
        )
        for fact in facts:
            column = _event_column(connection, fact)
            if column is None:
                continue
            newest = connection.execute(f'select max("{column}") from core."{fact}"').fetchone()[0]
            fresh.newest_events.append((fact, column, newest))
    return fresh


def _event_column(connection: duckdb.DuckDBPyConnection, fact: str) -> str | None:
    columns = [
        row[0]
        for row in connection.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'core' and table_name = ? order by ordinal_position",
            [fact],
        ).fetchall()
    ]
    wanted = EVENT_COLUMNS.get(fact)
    if wanted in columns:
        return wanted
    return next((c for c in columns if c.endswith("_at") and not c.startswith("_")), None)


# -- a pipeline run started from the app ----------------------------------------------------------
#: The modes the page offers: the hourly routine refresh, or a complete run (D18).
LAUNCH_MODES = ("routine", "complete")
#: Roles that may start a run (the Status page's roles).
LAUNCH_ROLES = frozenset({"manager", "admin"})
#: What the app last started, under the data folder's log directory (kept after the run ends,
#: so the page can still show how it ended).
LAUNCH_STATE = "pipeline-app-run.json"
#: The pipeline's own lock (orchestration.pipeline): held for as long as any run goes on.
PIPELINE_LOCK = ".pipeline.lock"
#: The last summary line of ``clubcrm pipeline run`` (orchestration.pipeline.summary_lines).
_FINISHED = re.compile(r"^(finished|failed) in [0-9.]+ s$")


class PipelineAlreadyRunning(RuntimeError):
    """A pipeline run (started here, from the command line or by the schedule) is going on."""


@dataclass(frozen=True)
class LaunchedRun:
    """A ``clubcrm pipeline run`` the app started as a detached process."""

    pid: int
    mode: str
    started_at: datetime  # UTC-aware
    started_by: str
    log_path: Path
    command: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "mode": self.mode,
                "started_at": self.started_at.isoformat(),
                "started_by": self.started_by,
                "log_path": str(self.log_path),
                "command": list(self.command),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> LaunchedRun:
        raw = json.loads(text)
        return cls(
            pid=int(raw["pid"]),
            mode=str(raw["mode"]),
            started_at=datetime.fromisoformat(raw["started_at"]),
            started_by=str(raw.get("started_by", "")),
            log_path=Path(raw["log_path"]),
            command=tuple(raw.get("command", ())),
        )


@dataclass(frozen=True)
class RunProgress:
    """How far a run started from the app has got."""

    launched: LaunchedRun
    running: bool
    run_id: str | None = None
    steps_done: int = 0
    steps_total: int = 0
    current_step: str | None = None  # the step key running now
    #: within the current step: assets materialised of those it yields (dbt's models)
    step_assets_done: int = 0
    step_assets_total: int = 0
    succeeded: bool | None = None  # None while running
    summary: list[str] = field(default_factory=list)
    log_tail: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """Finished steps, plus the finished share of the current one, over all steps."""
        if not self.running:
            return 1.0
        if not self.steps_total:
            return 0.0
        partial = self.step_assets_done / self.step_assets_total if self.step_assets_total else 0.0
        return min((self.steps_done + min(partial, 1.0)) / self.steps_total, 0.99)


def log_dir(settings: Settings) -> Path:
    """The data folder's log directory (``CLUBCRM_HOME/log``)."""
    return settings.home / "log"


def pipeline_command(mode: str) -> list[str]:
    """``clubcrm pipeline run`` in ``mode``, with this interpreter (the app's virtualenv)."""
    if mode not in LAUNCH_MODES:
        raise ValueError(f"unknown pipeline mode {mode!r}; choose one of {', '.join(LAUNCH_MODES)}")
    command = [sys.executable, "-m", "clubcrm.cli", "pipeline", "run"]
    return [*command, "--routine"] if mode == "routine" else command


def spawn(command: list[str], log_path: Path, env: dict[str, str]) -> int:
    """Start ``command`` detached (its own session: it outlives the page and a restart of the
    app), output appended to ``log_path``; returns its pid. Tests replace this."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line, no shell
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
    _CHILDREN[process.pid] = process
    return process.pid


#: Processes this app started (polled, so a finished one does not linger as a zombie).
_CHILDREN: dict[int, subprocess.Popen] = {}


def process_alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a finished child of ours is reaped, not counted)."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        _CHILDREN.pop(pid, None)
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process under that pid
        return False
    try:  # a zombie (exited, not yet reaped) has ended
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def pipeline_lock_held(settings: Settings) -> bool:
    """Whether a pipeline run (from anywhere) holds the warehouse's lock right now."""
    path = settings.warehouse_dir / PIPELINE_LOCK
    if not path.exists():
        return False
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def launched_run(settings: Settings) -> LaunchedRun | None:
    """The run the app started last (running or ended), or None."""
    path = log_dir(settings) / LAUNCH_STATE
    try:
        return LaunchedRun.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # a damaged record: as if none
        return None


def start_pipeline_run(settings: Settings, actor, mode: str) -> LaunchedRun:
    """Start ``clubcrm pipeline run`` (``mode``: routine or complete) in the background.

    Refused (:class:`PermissionError`) for a role other than manager or admin, and
    (:class:`PipelineAlreadyRunning`) while a run started here still runs or any run holds the
    pipeline's lock. Two clicks at once cannot both start one: the check and the start happen
    under a lock of their own.
    """
    if getattr(actor, "role", None) not in LAUNCH_ROLES:
        raise PermissionError("only a manager or an admin may start a pipeline run")
    command = pipeline_command(mode)
    folder = log_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "pipeline-app-run.lock", "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            previous = launched_run(settings)
            if previous is not None and process_alive(previous.pid):
                raise PipelineAlreadyRunning(
                    f"the {previous.mode} run started by {previous.started_by} is still running"
                )
            if pipeline_lock_held(settings):
                raise PipelineAlreadyRunning("another pipeline run is using the warehouse")
            started = datetime.now(UTC)
            log_path = folder / f"pipeline-{started:%Y%m%d-%H%M%S}-{mode}.log"
            env = {**os.environ, "CLUBCRM_HOME": str(settings.home)}
            env.setdefault("CLUBCRM_DATABASE_URL", settings.database_url)
            pid = spawn(command, log_path, env)
            run = LaunchedRun(
                pid=pid,
                mode=mode,
                started_at=started,
                started_by=getattr(actor, "username", ""),
                log_path=log_path,
                command=tuple(command),
            )
            state = folder / LAUNCH_STATE
            temporary = state.with_suffix(".tmp")
            temporary.write_text(run.to_json(), encoding="utf-8")
            temporary.replace(state)
            return run
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def _log_lines(path: Path, limit: int = 400) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.rstrip("\n") for line in handle.readlines()[-limit:]]
    except FileNotFoundError:
        return []


#: How the lines of ``PipelineResult.summary_lines`` begin (anything else in the log is Dagster's
#: or dbt's own output).
_SUMMARY_STARTS = (
    "routine run:",
    "full rebuild:",
    "as of ",
    "raw tables (",
    "  raw.",
    "swipes loaded",
    "dbt build:",
    "dbt tests with",
    "prediction.",
    "dbt failure:",
    "error:",
    "published:",
    "not published:",
)


def _summary(lines: list[str]) -> tuple[bool | None, list[str]]:
    """(success, summary lines) from the end of a ``clubcrm pipeline run`` log."""
    end = next((i for i in range(len(lines) - 1, -1, -1) if _FINISHED.match(lines[i])), None)
    if end is None:
        return None, []
    start = end
    while start > 0 and lines[start - 1].startswith(_SUMMARY_STARTS):
        start -= 1
    return lines[end].startswith("finished"), lines[start : end + 1]


def run_progress(settings: Settings, launched: LaunchedRun | None = None) -> RunProgress | None:
    """Progress of the run the app started last: its Dagster run's steps while it runs, the
    summary it printed once it has ended. None when the app never started one."""
    launched = launched or launched_run(settings)
    if launched is None:
        return None
    running = process_alive(launched.pid)
    lines = _log_lines(launched.log_path)
    steps = _dagster_steps(settings, launched)
    if running:
        return RunProgress(launched=launched, running=True, **steps)
    succeeded, summary = _summary(lines)
    if succeeded is None:  # ended without its summary: killed, or crashed before it
        succeeded = False
    return RunProgress(
        launched=launched,
        running=False,
        succeeded=succeeded,
        summary=summary,
        log_tail=[line for line in lines[-15:] if line.strip()],
        **steps,
    )


def _dagster_steps(settings: Settings, launched: LaunchedRun) -> dict:
    """The steps of the Dagster run the launched command recorded (none before it starts)."""
    instance = _instance(settings)
    if instance is None:
        return {}
    import dagster as dg
    from dagster import DagsterEventType

    with instance:
        records = instance.get_run_records(
            filters=dg.RunsFilter(
                tags={"clubcrm/command": "pipeline run"},
                created_after=launched.started_at - timedelta(seconds=5),
            ),
            limit=1,
        )
        if not records:
            return {}
        run = records[0].dagster_run
        step_outputs: dict[str, int] = {}
        if run.execution_plan_snapshot_id:
            plan = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            wanted = set(plan.step_keys_to_execute or [step.key for step in plan.steps])
            step_outputs = {
                step.key: len(step.outputs) for step in plan.steps if step.key in wanted
            }
        kinds = {
            DagsterEventType.STEP_START,
            DagsterEventType.STEP_SUCCESS,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.STEP_SKIPPED,
            DagsterEventType.ASSET_MATERIALIZATION,
        }
        started: list[str] = []
        ended: set[str] = set()
        materialized: dict[str, int] = {}
        for entry in instance.all_logs(run.run_id, of_type=kinds):
            event = entry.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type == DagsterEventType.STEP_START:
                started.append(event.step_key)
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                materialized[event.step_key] = materialized.get(event.step_key, 0) + 1
            else:
                ended.add(event.step_key)
    current = next((key for key in reversed(started) if key not in ended), None)
    return {
        "run_id": run.run_id,
        "steps_done": len(ended),
        "steps_total": max(len(step_outputs), len(ended)),
        "current_step": current,
        "step_assets_done": materialized.get(current, 0) if current else 0,
        "step_assets_total": step_outputs.get(current, 0) if current else 0,
    }
