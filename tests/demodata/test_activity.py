"""``--activity``: a busier club (scale benchmarks) keeps every rule of the calibrated one."""

from __future__ import annotations

import json
import sqlite3
from datetime import date

import pytest
from click.testing import CliRunner

from clubcrm.cli import main
from demodata.generate import generate

# Entries that follow the members' event rates (the rest: birthday gifts, opening balances,
# complaints, manual awards and the yearly expiry do not).
RATE_DRIVEN = ("purchase", "activity", "swipe", "redemption")


def _counts(settings) -> dict[str, int]:
    with sqlite3.connect(settings.operational_sqlite_path) as db:
        counts = {
            table: db.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("members", "purchases", "activity_attendance", "merchant_service_uses")
        }
        counts["rate_driven_entries"] = db.execute(
            f"select count(*) from point_entries where event_type in {RATE_DRIVEN}"
        ).fetchone()[0]
    counts["swipes"] = sum(
        len(path.read_text(encoding="utf-8").splitlines())
        for path in settings.spool_dir.rglob("*.jsonl")
    )
    return counts


def test_activity_three_gives_three_times_the_events_and_a_ledger_that_reconciles(
    history, tmp_path, make_history
) -> None:
    busy = make_history(tmp_path / "busy", activity=3.0)
    base, more = _counts(history), _counts(busy)
    assert more["members"] == base["members"]
    for what in ("rate_driven_entries", "activity_attendance", "merchant_service_uses", "swipes"):
        assert 2.6 <= more[what] / base[what] <= 3.4, (what, base[what], more[what])
    # Purchases made while applying (online applications) do not follow the rate.
    assert 2.2 <= more["purchases"] / base["purchases"] <= 3.4
    meta = json.loads((busy.truth_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["activity"] == 3.0
    assert "activity" not in json.loads((history.truth_dir / "meta.json").read_text("utf-8"))

    with sqlite3.connect(busy.operational_sqlite_path) as db:
        # Balances equal the posted ledger; oldest-first spending leaves exactly the balance.
        mismatched = db.execute(
            """
            select count(*) from member_point_balances b
            left join (
                select member_id, sum(points) as posted,
                       sum(case when points > 0 then points else 0 end) as earned,
                       sum(case when points > 0 then remaining else 0 end) as left_over
                from point_entries where status = 'posted' group by member_id
            ) l on l.member_id = b.member_id
            where b.balance != coalesce(l.posted, 0)
               or b.earned_total != coalesce(l.earned, 0)
               or b.balance != coalesce(l.left_over, 0)
               or b.balance < 0
            """
        ).fetchone()[0]
        assert mismatched == 0
        # Purchase points only for purchases paid in full, never before.
        early = db.execute(
            """
            select count(*) from point_entries e
            join purchases p on p.id = cast(substr(e.reference, instr(e.reference, ':') + 1)
                                            as integer)
            where e.event_type = 'purchase'
              and (p.fully_paid_at is null or e.created_at < p.fully_paid_at
                   or e.member_id != p.member_id)
            """
        ).fetchone()[0]
        assert early == 0
        assert db.execute("pragma foreign_key_check").fetchall() == []
        kinds = {
            row[0]
            for row in db.execute("select distinct event_type from point_entries")
            if row[0] is not None
        }
        assert {"purchase", "activity", "swipe", "redemption", "expiry"} <= kinds


def test_activity_out_of_range_is_refused(tmp_path, settings_for) -> None:
    settings = settings_for(tmp_path / "refused")
    with pytest.raises(ValueError, match="activity must be between"):
        generate(settings, members=10, seed=1, end_date=date(2026, 6, 30), activity=0.0)
    result = CliRunner().invoke(main, ["demo-data", "--members", "10", "--activity", "50"])
    assert result.exit_code == 2
    assert "--activity" in result.output
