"""The ``clubcrm`` command line: help everywhere, init, and clear errors for bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from clubcrm.cli import main

COMMANDS = [
    [],
    ["init"],
    ["demo-data"],
    ["pipeline"],
    ["pipeline", "run"],
    ["import"],
    ["import", "members"],
    ["import", "purchases"],
    ["daily"],
    ["reader"],
    ["reader-sim"],
    ["post-swipes"],
    ["sql"],
    ["serve"],
    ["backup"],
    ["restore"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "clubcrm")
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    # a sentence of explanation, not just the usage line
    assert len(result.output.splitlines()) > 4


def test_init_creates_the_database_and_says_how_to_sign_in(clubcrm_home) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert clubcrm_home.operational_sqlite_path.exists()
    assert "sign in as 'admin' with password '" in first.output

    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert "already exists" in second.output
    assert "dictionary items added: 0" in second.output


def test_init_with_a_chosen_admin_password(clubcrm_home) -> None:
    result = CliRunner().invoke(main, ["init", "--admin-password", "Correct-Horse-9"])
    assert result.exit_code == 0, result.output
    assert "'Correct-Horse-9'" in result.output


def test_a_malformed_as_of_date_is_explained() -> None:
    result = CliRunner().invoke(main, ["pipeline", "run", "--as-of", "30/06/2025"])
    assert result.exit_code == 2
    assert "write it as YYYY-MM-DD" in result.output


def test_demo_data_needs_a_positive_member_count() -> None:
    result = CliRunner().invoke(main, ["demo-data", "--members", "0"])
    assert result.exit_code == 2
    assert "--members" in result.output


def test_sql_without_a_published_warehouse_says_what_to_do(clubcrm_home) -> None:
    result = CliRunner().invoke(main, ["sql", "select 1"])
    assert result.exit_code == 1
    assert "clubcrm pipeline run" in result.output


def test_demo_data_gives_each_role_an_account_and_daily_runs(clubcrm_home) -> None:
    from sqlalchemy.orm import Session

    from operational.db import make_engine
    from operational.services.accounts import authenticate

    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    args = ["demo-data", "--members", "200", "--seed", "3", "--end-date", "2026-06-30"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "reviewer (reviewer)" in result.output
    engine = make_engine(clubcrm_home.database_url)
    with Session(engine) as session, session.begin():
        assert authenticate(session, "reviewer", "clubcrm-demo").role == "reviewer"
        assert authenticate(session, "clerk", "clubcrm-demo").role == "staff"
    engine.dispose()
    again = runner.invoke(main, args)  # regenerating keeps the accounts, creates none twice
    assert again.exit_code == 0, again.output
    assert "demo accounts" not in again.output

    daily = runner.invoke(main, ["daily", "--date", "2026-07-01"])
    assert daily.exit_code == 0, daily.output
    assert daily.output.splitlines()[0] == "day: 2026-07-01"
    assert "sub-cards expired: " in daily.output
    # last, the service desk's list: every open complaint past its due time, counted
    from operational.services.complaints import overdue_complaints

    engine = make_engine(clubcrm_home.database_url)
    with Session(engine) as session:
        overdue = overdue_complaints(session, limit=100_000)
    engine.dispose()
    assert overdue, "the seeded history has an open complaint past its due time"
    assert f"overdue complaints: {len(overdue)}" in daily.output.splitlines()
    for row in overdue[:3]:
        assert f"overdue complaint {row.complaint_no} (" in daily.output


def test_post_swipes_posts_each_spooled_swipe_once(clubcrm_home) -> None:
    from datetime import UTC, datetime

    from devices.spool import SpoolWriter

    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    clubcrm_home.ensure_dirs()
    with SpoolWriter(clubcrm_home.spool_dir, "DESK-1") as writer:
        writer.append("4242424242", "4242424242", datetime(2026, 4, 10, tzinfo=UTC), None)
        writer.append("4242424242", "4242424242", datetime(2026, 4, 10, tzinfo=UTC), "points_award")
    first = runner.invoke(main, ["post-swipes"])
    assert first.exit_code == 0, first.output
    assert "swipes posted: 2 from 1 readers (recorded 1, refused 1)" in first.output
    again = runner.invoke(main, ["post-swipes"])
    assert "swipes posted: 0 from 1 readers (none)" in again.output
