"""The generator on PostgreSQL and through the command line."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from clubcrm.cli import main
from demodata.generate import generate

END = date(2026, 6, 30)


def test_generation_gives_the_same_rows_on_every_backend(
    op_db_url, tmp_path, settings_for, dump_tables
) -> None:
    """op_db_url is SQLite and, with CLUBCRM_TEST_DATABASE_URL, PostgreSQL (via COPY)."""
    from operational.bootstrap import initialise

    reference = settings_for(tmp_path / "reference")
    initialise(reference.database_url, admin_password="admin-password-1")
    generate(reference, members=400, seed=5, end_date=END)

    settings = settings_for(tmp_path / "home", database_url=op_db_url)
    generate(settings, members=150, seed=4, end_date=END)  # replaced by the next run
    summary = generate(settings, members=400, seed=5, end_date=END)
    assert summary.row_counts["members"] == 400
    assert dump_tables(op_db_url) == dump_tables(reference.database_url)

    engine = create_engine(op_db_url)
    try:
        with engine.begin() as conn:
            # Sequences / autoincrement continue after the explicit ids of the load.
            top = conn.execute(text("select max(id) from point_entries")).scalar_one()
            conn.execute(
                text(
                    "insert into point_entries (member_id, points, event_type, status, "
                    "idempotency_key, created_at) values (1, 5, 'manual', 'posted', "
                    "'test:after-demo', '2026-07-01 00:00:00')"
                )
            )
            new_id = conn.execute(
                text("select id from point_entries where idempotency_key = 'test:after-demo'")
            ).scalar_one()
            assert new_id == top + 1
    finally:
        engine.dispose()


def test_demo_data_command(clubcrm_home) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--admin-password", "admin-password-1"]).exit_code == 0
    result = runner.invoke(
        main, ["demo-data", "--members", "300", "--seed", "3", "--end-date", "2026-06-30"]
    )
    assert result.exit_code == 0, result.output
    assert "generated 300 members" in result.output
    assert "swipes" in result.output and "point_entries" in result.output
    assert (clubcrm_home.truth_dir / "members.parquet").exists()
