"""The ``clubcrm`` command line (contract: ARCHITECTURE.md).

Each command parses and checks its arguments, then calls the part that owns the work; heavy
imports happen inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from datetime import date

import click

from clubcrm import __version__
from clubcrm.settings import get_settings


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
            f"'{report.admin_password}' (change it on the Accounts page)."
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
def demo_data(members: int, seed: int, months: int, end_date: date | None) -> None:
    """Fill the operational DB (and the swipe spool) with a realistic synthetic history.

    Deterministic for a seed and end date. Latent truths (true churn and purchase probabilities)
    go to CLUBCRM_HOME/truth, never into the operational DB. Replaces any earlier demo data.
    """
    from demodata.generate import generate

    settings = get_settings()
    settings.ensure_dirs()
    summary = generate(settings, members=members, seed=seed, months=months, end_date=end_date)
    for table, count in summary.row_counts.items():
        click.echo(f"{table:<28} {count:>12,}")
    click.echo(f"generated {members:,} members in {summary.seconds:.1f} s")


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
def pipeline_run(as_of: date | None, full: bool) -> None:
    """Ingest the operational DB and spool, build the warehouse with dbt, publish it."""
    from orchestration.pipeline import run_pipeline

    settings = get_settings()
    settings.ensure_dirs()
    result = run_pipeline(settings, as_of=as_of, full=full)
    for line in result.summary_lines():
        click.echo(line)
    if not result.success:
        raise click.ClickException("pipeline run failed; the published warehouse is unchanged")


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
