"""The ``clubcrm`` command line (contract: ARCHITECTURE.md).

Each command parses and checks its arguments, then calls the part that owns the work; heavy
imports happen inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import click

from clubcrm import __version__
from clubcrm.settings import get_settings
from devices.frames import MAPPINGS, PROTOCOLS  # light: the choices of `clubcrm reader`
from devices.spool import PURPOSES


class _Date(click.ParamType):
    name = "DATE"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(
                f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2025-06-30", param, ctx
            )


DATE = _Date()


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="clubcrm")
def main() -> None:
    """ClubCRM: an analytics-first CRM for member clubs.

    Data lives under CLUBCRM_HOME (default ./var); the operational database is
    CLUBCRM_DATABASE_URL (default: a SQLite file under CLUBCRM_HOME).
    """


@main.command()
@click.option(
    "--admin-username", default="admin", show_default=True, help="Login of the first admin."
)
@click.option(
    "--admin-password",
    envvar="CLUBCRM_ADMIN_PASSWORD",
    default=None,
    help="Password of the first admin (or CLUBCRM_ADMIN_PASSWORD). Generated and printed if omitted.",
)
def init(admin_username: str, admin_password: str | None) -> None:
    """Create or migrate the operational DB, seed dictionaries and the first admin account.

    Safe to run again: migrations are applied once, dictionary items are added only when
    missing, and an existing admin account is left as it is.
    """
    from operational.bootstrap import initialise

    settings = get_settings()
    settings.ensure_dirs()
    report = initialise(settings.database_url, admin_username, admin_password)
    click.echo(f"operational database ready: {_display_url(settings.database_url)}")
    click.echo(f"schema revision: {report.revision}")
    click.echo(f"dictionary items added: {report.dictionary_items_added}")
    if report.admin_password:
        click.echo(
            f"admin account created: sign in as '{report.admin_username}' with password "
            f"'{report.admin_password}' (keep it safe: it is shown only this once)."
        )
    else:
        click.echo(f"admin account '{report.admin_username}' already exists (unchanged).")
    click.echo(f"data folder: {settings.home}")


@main.command("demo-data")
@click.option(
    "--members",
    "-n",
    type=click.IntRange(min=1),
    required=True,
    help="Number of members to generate.",
)
@click.option(
    "--seed",
    "-s",
    type=int,
    default=42,
    show_default=True,
    help="Random seed; the same seed gives the same data.",
)
@click.option(
    "--months",
    "-m",
    type=click.IntRange(1, 240),
    default=24,
    show_default=True,
    help="Months of history.",
)
@click.option(
    "--end-date",
    type=DATE,
    default=None,
    help="Last day of the generated history (default: today). Fix it for reproducible data.",
)
@click.option(
    "--activity",
    type=click.FloatRange(0.1, 20.0),
    default=1.0,
    show_default=True,
    help="Multiply each member's event rates (purchases, visits and swipes, service uses, "
    "activity attendance, and so the points earned and spent); above 1 for scale benchmarks.",
)
def demo_data(members: int, seed: int, months: int, end_date: date | None, activity: float) -> None:
    """Fill the operational DB (and the swipe spool) with a realistic synthetic history.

    Deterministic for a seed and end date. Latent truths (true churn and purchase probabilities)
    go to CLUBCRM_HOME/truth, never into the operational DB. Replaces any earlier demo data.
    """
    from demodata.generate import generate

    settings = get_settings()
    settings.ensure_dirs()
    summary = generate(
        settings,
        members=members,
        seed=seed,
        months=months,
        end_date=end_date,
        activity=activity,
    )
    for table, count in summary.row_counts.items():
        click.echo(f"{table:<28} {count:>12,}")
    click.echo(f"generated {members:,} members in {summary.seconds:.1f} s")
    created = _demo_accounts(settings.database_url)
    if created:
        click.echo(
            f"demo accounts (password '{DEMO_PASSWORD}'): "
            + ", ".join(f"{name} ({role})" for name, role in created)
        )


#: Accounts a demo club gets so that each role can be tried; never created outside demo-data.
DEMO_ACCOUNTS = (
    ("clerk", "Demo clerk", "staff"),
    ("reviewer", "Demo reviewer", "reviewer"),
    ("manager", "Demo manager", "manager"),
    ("analyst", "Demo analyst", "analyst"),
)
DEMO_PASSWORD = "clubcrm-demo"


def _demo_accounts(database_url: str) -> list[tuple[str, str]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from operational.db import make_engine
    from operational.models import StaffAccount
    from operational.services.accounts import create_account
    from operational.services.common import SYSTEM

    created = []
    engine = make_engine(database_url)  # not the cached engine: leave no pooled connection open
    try:
        with Session(engine) as session, session.begin():
            for username, display_name, role in DEMO_ACCOUNTS:
                exists = select(StaffAccount.id).where(StaffAccount.username == username)
                if session.scalar(exists):
                    continue
                create_account(session, SYSTEM, username, display_name, DEMO_PASSWORD, role)
                created.append((username, role))
    finally:
        engine.dispose()
    return created


@main.group()
def pipeline() -> None:
    """The warehouse pipeline: ingest, dbt build, train, score, publish."""


@pipeline.command("run")
@click.option(
    "--as-of", type=DATE, default=None, help="Ignore every event after DATE (backtesting)."
)
@click.option(
    "--full", is_flag=True, help="Rebuild everything from scratch instead of incrementally."
)
@click.option(
    "--routine",
    is_flag=True,
    help="The hourly refresh: changed rows and the core layer only; marts, features and "
    "predictions stay as the last complete run built them.",
)
def pipeline_run(as_of: date | None, full: bool, routine: bool) -> None:
    """Ingest the operational DB and spool, build the warehouse with dbt, score, publish it.

    By default only rows changed since the last run are ingested and the large facts are
    built incrementally; every other model is rebuilt and every member scored.
    """
    from orchestration.pipeline import run_pipeline

    if routine and (full or as_of):
        raise click.UsageError("--routine cannot be combined with --full or --as-of")
    settings = get_settings()
    settings.ensure_dirs()
    result = run_pipeline(settings, as_of=as_of, full=full, routine=routine)
    for line in result.summary_lines():
        click.echo(line)
    if not result.success:
        raise click.ClickException("pipeline run failed; the published warehouse is unchanged")


@main.command()
@click.option(
    "--date",
    "day",
    type=DATE,
    default=None,
    help="The day to run for (default: today in club time, Asia/Shanghai).",
)
def daily(day: date | None) -> None:
    """Run the daily membership jobs: expire points, cancel expired sub-cards, apply tier
    upgrades, flag members whose contact details keep failing for an exit review, create the
    day's automatic care contacts, then send their messages; last, list the overdue complaints.

    Idempotent: running a day twice changes nothing more. Dagster runs the same work every day
    at 02:00 (schedule membership_daily_schedule); use this command from cron instead.
    """

    from operational.db import session_scope
    from operational.services.daily import (
        deliver_care_messages,
        overdue_complaint_lines,
        run_daily_membership_jobs,
    )
    from operational.services.points import club_today

    settings = get_settings()
    _require_initialised(settings.database_url)
    today = day or club_today()
    with session_scope(settings.database_url) as session:
        report = run_daily_membership_jobs(session, today=today)
    for line in report.lines():
        click.echo(line)
    for line in deliver_care_messages(settings.database_url).lines():
        click.echo(line)
    for line in overdue_complaint_lines(settings.database_url)[1]:
        click.echo(line)


@main.command()
@click.option("--port", required=True, help="Serial device or pyserial URL, e.g. /dev/ttyUSB0.")
@click.option("--protocol", type=click.Choice(PROTOCOLS), required=True, help="Frame format.")
@click.option("--reader-id", required=True, help="This reader's id (letters, digits, _.-).")
@click.option(
    "--purpose",
    type=click.Choice(PURPOSES),
    default=None,
    help="What a swipe does; without it swipes are only recorded.",
)
@click.option(
    "--target",
    default=None,
    help="Activity code (check-in), merchant code or service:ID (counter), rule code (points).",
)
@click.option(
    "--mapping",
    type=click.Choice(MAPPINGS),
    default=None,
    help="How the number read maps to a card (default: the protocol's; RDM6300: the printed "
    "10-digit decimal of the last 4 bytes).",
)
@click.option("--baud", "baudrate", type=int, default=9600, show_default=True)
def reader(
    port: str,
    protocol: str,
    reader_id: str,
    purpose: str | None,
    target: str | None,
    mapping: str | None,
    baudrate: int,
) -> None:
    """Run a serial card reader (刷卡机), spooling every accepted swipe under CLUBCRM_HOME.

    A swipe counts once it is on disk (fsync). The reader reconnects when the device is
    unplugged; SIGTERM closes its spool file so the next pipeline run loads it. Swipes are
    posted to the operational services by `clubcrm post-swipes` (or the Dagster sensor).
    """
    from devices.reader import run_reader
    from devices.spool import SpoolBusy, check_reader_id

    settings = get_settings()
    settings.ensure_dirs()
    try:
        check_reader_id(reader_id)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--reader-id") from None
    click.echo(f"reader {reader_id} on {port} ({protocol}), spooling to {settings.spool_dir}")
    try:
        stats = run_reader(
            port, protocol, reader_id, settings.spool_dir,
            purpose=purpose, target=target, mapping=mapping, baudrate=baudrate,
        )  # fmt: skip
    except SpoolBusy as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"stopped: {stats.swipes} swipes, {stats.frames} frames, "
        f"{stats.bad_checksums} bad checksums, {stats.reconnects} reconnects"
    )


@main.command("reader-sim")
@click.option("--protocol", type=click.Choice(PROTOCOLS), default="rdm6300", show_default=True)
@click.option("--seconds", type=float, default=None, help="Stop after this long (default: never).")
@click.option("--seed", type=int, default=None, help="Random seed (repeatable runs).")
@click.option(
    "--link", type=click.Path(path_type=Path), default=None, help="Also link the device here."
)
@click.option(
    "--card",
    "cards",
    multiple=True,
    help="A card (chip) number to swipe; repeat it. Default: cards of the demo members.",
)
def reader_sim(
    protocol: str, seconds: float | None, seed: int | None, link: Path | None, cards: tuple
) -> None:
    """A simulated card reader on a pseudo-terminal: realistic frames at the wire rate, with
    held cards, noise, split frames, bad checksums and unknown cards.

    The first line printed is the device path: pass it to `clubcrm reader --port`.
    """
    from devices.simulator import reader_sim_main

    chosen = list(cards) or _demo_chip_numbers()
    raise SystemExit(
        reader_sim_main(protocol, chosen or None, seconds=seconds, seed=seed, link=link)
    )


def _demo_chip_numbers(limit: int = 12) -> list[str]:
    """Chip numbers of a few active cards of the club (empty when there is no database yet)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from operational.db import session_scope
    from operational.models import Card

    settings = get_settings()
    try:
        with session_scope(settings.database_url) as session:
            return list(
                session.scalars(
                    select(Card.chip_uid)
                    .where(Card.status == "active", Card.chip_uid.is_not(None))
                    .order_by(Card.id)
                    .limit(limit)
                )
            )
    except SQLAlchemyError:
        return []


@main.command("post-swipes")
@click.option("--watch", is_flag=True, help="Keep posting new swipes until stopped.")
@click.option(
    "--interval", type=float, default=2.0, show_default=True, help="Seconds between passes."
)
def post_swipes(watch: bool, interval: float) -> None:
    """Post spooled card-reader swipes to the operational services, each exactly once.

    Check-ins record attendance (and the activity's points), counter swipes record merchant
    service uses, points readers award the swipe rule's points. Refused swipes (unknown or
    lost cards…) are kept with their reason for the readers page. Safe to run at any time and
    after a crash: nothing is posted twice.
    """
    import signal
    import threading

    from devices.poster import post_spooled_swipes, run_poster

    settings = get_settings()
    _require_initialised(settings.database_url)
    if watch:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        report = run_poster(
            settings.database_url, settings.spool_dir, interval=interval, stop_event=stop
        )
    else:
        report = post_spooled_swipes(settings.database_url, settings.spool_dir)
    for line in report.lines():
        click.echo(line)


@main.group("import")
def import_() -> None:
    """Bulk import of CSV or Excel (.xlsx) files, UTF-8 or GBK, English or Chinese headings.

    Good rows land once (importing the same file again adds nothing); bad rows are listed with
    row, field and problem, and written to --report. The last line printed is
    "imported: N, rejected: M".
    """


@import_.command("members")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the problems here (CSV, columns row, field, problem; also .xlsx when PATH "
    "ends with .xlsx).",
)
def import_members_command(file: Path, report_path: Path | None) -> None:
    """Import members from FILE (.csv or .xlsx).

    Columns: member_no (optional; assigned when blank), name, id_number, mobile, home_phone,
    email, address, region, channel, joined_at, tier, opening_points, or their Chinese
    headings (姓名, 身份证号, 手机号, 入会日期, 开户积分, ...). Each row needs a name and an ID
    number or a mobile.
    """
    from operational.db import session_factory
    from operational.importers.members import import_members
    from operational.importers.tabular import ImportFileError

    settings = get_settings()
    settings.ensure_dirs()
    _require_initialised(settings.database_url)
    try:
        with _progress_bar() as progress:
            report = import_members(session_factory(settings.database_url), file, progress=progress)
    except ImportFileError as exc:
        raise click.ClickException(exc.message) from exc
    lines = report.summary_lines()
    for line in lines[:-1]:
        click.echo(line)
    if report_path is not None:
        for written in report.write(report_path):
            click.echo(f"report written: {written}")
    elif report.problems:
        click.echo("add --report PATH to get every problem in a file")
    click.echo(lines[-1])


@import_.command("purchases")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--create-members",
    is_flag=True,
    default=False,
    help="Create a minimal member, flagged incomplete, for an unknown member_no (legacy "
    "history); without it such a row is rejected.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the problems here (CSV, columns row, field, problem; also .xlsx when PATH "
    "ends with .xlsx).",
)
def import_purchases_command(file: Path, create_members: bool, report_path: Path | None) -> None:
    """Import purchase history from FILE (.csv or .xlsx).

    Columns: member_no, purchased_at, amount, paid_amount (default: amount), quantity, product,
    channel, region, salesperson, purchase_type, purchase_no (optional; without it a key derived
    from the row's content keeps a re-import from adding anything), or their Chinese headings
    (会员编号, 成交日期, 金额, 已付金额, 数量, 产品, 销售渠道, 地区, 置业顾问, 成交类型, 成交编号).
    Fully paid purchases earn their points once.
    """
    from operational.db import session_factory
    from operational.importers.purchases import import_purchases
    from operational.importers.tabular import ImportFileError

    settings = get_settings()
    settings.ensure_dirs()
    _require_initialised(settings.database_url)
    try:
        with _progress_bar() as progress:
            report = import_purchases(
                session_factory(settings.database_url),
                file,
                create_members=create_members,
                progress=progress,
            )
    except ImportFileError as exc:
        raise click.ClickException(exc.message) from exc
    lines = report.summary_lines()
    for line in lines[:-1]:
        click.echo(line)
    if report_path is not None:
        for written in report.write(report_path):
            click.echo(f"report written: {written}")
    elif report.problems:
        click.echo("add --report PATH to get every problem in a file")
    click.echo(lines[-1])


def _require_initialised(database_url: str) -> None:
    from sqlalchemy import inspect

    from operational.db import get_engine

    try:
        ready = inspect(get_engine(database_url)).has_table("members")
    except Exception as exc:  # unreachable server, bad URL: say so instead of a traceback
        raise click.ClickException(
            f"cannot open the operational database {_display_url(database_url)}: {exc}"
        ) from exc
    if not ready:
        raise click.ClickException(
            f"the operational database {_display_url(database_url)} is not set up — "
            "run 'clubcrm init' first"
        )


@contextmanager
def _progress_bar():
    """A progress callback drawing a bar on a terminal for big files; None elsewhere."""
    if not sys.stderr.isatty():
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with dagster; without it, no bar
        yield None
        return
    bars = []

    def progress(done: int, total: int | None) -> None:
        if not bars:
            if total is None or total < 2000:
                bars.append(None)
                return
            bars.append(tqdm(total=total, unit="row", file=sys.stderr, leave=False))
        bar = bars[0]
        if bar is not None:
            bar.update(done - bar.n)

    try:
        yield progress
    finally:
        if bars and bars[0] is not None:
            bars[0].close()


@main.command()
@click.argument("query")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Return at most this many rows."
)
def sql(query: str, fmt: str, limit: int | None) -> None:
    """Run read-only SQL against the published warehouse.

    Never blocks a pipeline run and never sees a half-built warehouse. Example:

        clubcrm sql "select tier, count(*) from core.dim_members group by 1"
    """
    from clubcrm.published import NoPublishedWarehouse, ReadOnlyViolation, run_query

    try:
        frame = run_query(get_settings(), query, limit=limit)
    except NoPublishedWarehouse as exc:
        raise click.ClickException(str(exc)) from exc
    except ReadOnlyViolation as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # SQL errors from DuckDB: show the message, not a traceback
        raise click.ClickException(f"query failed: {exc}") from exc
    if fmt == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        with _pandas_display():
            click.echo(frame.to_string(index=False) if len(frame) else "(no rows)")


@main.command()
@click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The backup folder to write (default: CLUBCRM_HOME/backups/clubcrm-<UTC time>).",
)
def backup(to: Path | None) -> None:
    """Back up the operational DB, the warehouse, the model registry and the spool.

    Safe while the app is in use: the database is copied from one consistent snapshot and the
    warehouse between pipeline runs. The backup's path is printed last.
    """
    from clubcrm.backup import BackupError
    from clubcrm.backup import backup as make_backup

    settings = get_settings()
    _require_initialised(settings.database_url)
    try:
        info = make_backup(settings, to)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    operational = info.manifest["operational"]
    click.echo(
        f"operational database ({operational['backend']}, revision {operational['revision']}): "
        f"{sum(operational['rows'].values()):,} rows in {len(operational['rows'])} tables"
    )
    warehouse = info.manifest.get("warehouse")
    click.echo(
        f"warehouse: {warehouse['bytes'] / 2**20:,.1f} MiB" if warehouse else "warehouse: none yet"
    )
    click.echo(
        f"model registry: {info.manifest['models']['files']} files; "
        f"spool: {info.manifest['spool']['files']} files"
    )
    click.echo(f"backup written in {info.manifest['seconds']} s:")
    click.echo(str(info.path))


@main.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(path: Path, yes: bool) -> None:
    """Restore a backup made by `clubcrm backup` (stop the app and readers first).

    Every file is checked against the backup's checksums before anything is replaced.
    """
    from clubcrm.backup import BackupError, read_backup
    from clubcrm.backup import restore as restore_backup

    settings = get_settings()
    try:
        info = read_backup(path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"backup of {info.manifest['created_at']} verified ({len(info.manifest['files'])} files)"
    )
    if not yes and not click.confirm(
        f"Replace the operational database ({_display_url(settings.database_url)}) and the "
        "warehouse with this backup?",
        default=False,
    ):
        raise click.ClickException("nothing restored")
    try:
        restore_backup(settings, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("restored. Next: `clubcrm pipeline run --full` to rebuild and publish the warehouse")


@main.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
def serve(port: int, host: str) -> None:
    """Serve the Streamlit app (operational pages and dashboards); prints its address."""
    from dashboards.serve import serve as serve_app

    serve_app(get_settings(), port=port, host=host)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _pandas_display():
    import pandas as pd

    return pd.option_context(
        "display.max_rows", 500, "display.max_columns", 50, "display.width", 200
    )


if __name__ == "__main__":  # pragma: no cover
    main()
