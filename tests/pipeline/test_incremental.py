"""Incremental core facts: a routine run after new events equals a full build, row for row.

On a private copy of the demo environment (already built in full by ``demo_env``) the test adds
the kinds of change a club makes between two runs — a new purchase and a payment on an old one,
an approval and a rejection of pending point entries, a spending that consumes an older award,
a response to an old care contact, new swipes in the spool and a chip number registered for
a card that was read before — then runs the pipeline without ``--full`` (incremental facts),
rebuilds the same facts with ``--full-refresh`` in a copy of the warehouse, and compares both
ways with ``except``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clubcrm.settings import Settings
from operational.db import make_engine
from operational.models import (
    Card,
    CareContact,
    MemberPointBalance,
    PointEntry,
    Purchase,
    PurchasePayment,
)
from orchestration.pipeline import run_pipeline

pytestmark = pytest.mark.e2e

TRANSFORMS = Path(__file__).resolve().parents[2] / "transforms"

#: The incremental facts and their keys.
FACTS = {
    "fct_point_entries": "entry_id",
    "fct_purchases": "purchase_id",
    "fct_swipes": "swipe_id",
    "fct_care_contacts": "care_contact_id",
}


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def add_new_events(settings: Settings) -> dict[str, object]:
    """Change the operational DB and the spool as the services would; what was changed."""
    now = _now()
    changed: dict[str, object] = {}
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            # A new purchase of an existing member, recorded now.
            template = session.scalars(
                select(Purchase).where(Purchase.member_id.is_not(None)).order_by(Purchase.id)
            ).first()
            new_purchase = Purchase(
                purchase_no="PINCR0001",
                member_id=template.member_id,
                product=template.product,
                quantity=1,
                amount=Decimal("1234.00"),
                paid_amount=Decimal("0"),
                region=template.region,
                channel=template.channel,
                salesperson=template.salesperson,
                purchase_type="new",
                purchased_at=now - timedelta(days=30),  # entered late: still new
                created_at=now,
            )
            session.add(new_purchase)
            # The rest of an old purchase's arrears paid now.
            unpaid = session.scalars(
                select(Purchase)
                .where(
                    Purchase.fully_paid_at.is_(None),
                    Purchase.purchase_type != "return",
                    Purchase.amount > Purchase.paid_amount,
                )
                .order_by(Purchase.id)
            ).first()
            due = unpaid.amount - unpaid.paid_amount
            session.add(
                PurchasePayment(
                    purchase_id=unpaid.id,
                    amount=due,
                    paid_at=now,
                    method="cash",
                    idempotency_key="test-incremental-payment",
                    created_at=now,
                )
            )
            unpaid.paid_amount = unpaid.amount
            unpaid.fully_paid_at = now
            changed["paid_purchase_id"] = unpaid.id

            # Two pending entries: one approved, one rejected (a rejection has no timestamp).
            pending = session.scalars(
                select(PointEntry)
                .where(PointEntry.status == "pending", PointEntry.points > 0)
                .order_by(PointEntry.id)
                .limit(2)
            ).all()
            approved, rejected = pending
            approved.status = "posted"
            approved.posted_at = now
            approved.approved_by = "reviewer"
            approved.remaining = approved.points
            _move_balance(session, approved.member_id, approved.points)
            rejected.status = "rejected"
            rejected.approved_by = "reviewer"
            changed["approved_entry_id"] = approved.id
            changed["rejected_entry_id"] = rejected.id

            # A spending posted now consumes part of an older award of the same member.
            award = session.scalars(
                select(PointEntry)
                .where(
                    PointEntry.status == "posted",
                    PointEntry.remaining > 1,
                    PointEntry.created_at < now - timedelta(days=30),
                )
                .order_by(PointEntry.id)
            ).first()
            award.remaining -= 1
            _move_balance(session, award.member_id, -1)
            session.add(
                PointEntry(
                    member_id=award.member_id,
                    card_id=award.card_id,
                    points=-1,
                    event_type="redemption",
                    status="posted",
                    reference="test:incremental",
                    idempotency_key="test-incremental-spending",
                    created_at=now,
                    posted_at=now,
                )
            )
            changed["consumed_award_id"] = award.id

            # A response, now, to an old contact.
            contact = session.scalars(
                select(CareContact)
                .where(CareContact.responded_at.is_(None), CareContact.status == "sent")
                .order_by(CareContact.id)
            ).first()
            contact.responded_at = now
            contact.response = "visited the club"
            changed["responded_contact_id"] = contact.id

            # A chip number registered for a card, equal to a value a reader read before.
            unknown = _unknown_value_read(settings)
            if unknown is not None:
                card = session.scalars(
                    select(Card).where(Card.chip_uid.is_(None)).order_by(Card.id)
                ).first()
                card.chip_uid = unknown
                changed["registered_chip_uid"] = unknown
                changed["registered_card_no"] = card.card_no
            known_card_no = session.scalars(select(Card.card_no).order_by(Card.id)).first()
    finally:
        engine.dispose()

    # New swipes in the spool: a finished file of a reader that already has files.
    reader_dir = sorted(p for p in settings.spool_dir.iterdir() if p.is_dir())[0]
    lines = [
        {
            "swipe_id": f"{reader_dir.name}-INCR{n:04d}",
            "reader_id": reader_dir.name,
            "seq": 900000 + n,
            "card_no": known_card_no if n % 2 else "9999999999",
            "raw": None,
            "swiped_at": (datetime.now(UTC) - timedelta(minutes=n)).isoformat(),
            "purpose": None,
            "target": None,
        }
        for n in range(1, 7)
    ]
    spool_file = reader_dir / f"{reader_dir.name}-INCR.jsonl"
    spool_file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    changed["new_swipe_ids"] = [line["swipe_id"] for line in lines]
    return changed


def _move_balance(session: Session, member_id: int, points: int) -> None:
    """Keep the running balance in step with the ledger (the warehouse reconciles the two)."""
    balance = session.get(MemberPointBalance, member_id)
    if balance is None:
        balance = MemberPointBalance(member_id=member_id, balance=0, earned_total=0)
        session.add(balance)
    balance.balance += points
    session.flush()


def _unknown_value_read(settings: Settings) -> str | None:
    with duckdb.connect(str(settings.build_warehouse_path), read_only=True) as connection:
        row = connection.execute(
            "select card_value_read from core.fct_swipes where not is_known_card "
            "and card_value_read is not null order by swipe_id limit 1"
        ).fetchone()
    return row[0] if row else None


def full_refresh_facts(warehouse: Path, target_dir: Path) -> None:
    """Rebuild the incremental facts from scratch (dbt --full-refresh) in ``warehouse``."""
    dbt = Path(sys.executable).with_name("dbt")
    completed = subprocess.run(
        [
            str(dbt),
            "run",
            "--profiles-dir",
            ".",
            "--target-path",
            str(target_dir),
            "--full-refresh",
            "--select",
            *FACTS,
        ],
        cwd=TRANSFORMS,
        env={**os.environ, "CLUBCRM_WAREHOUSE_PATH": str(warehouse)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


def test_an_incremental_run_equals_a_full_build(demo_copy: Settings, tmp_path: Path) -> None:
    build = demo_copy.build_warehouse_path
    with duckdb.connect(str(build), read_only=True) as connection:
        watermarks_before = {
            fact: connection.execute(f"select max(_loaded_at) from core.{fact}").fetchone()[0]
            for fact in FACTS
        }
    assert all(watermarks_before.values()), "the copied warehouse was built without _loaded_at"
    changed = add_new_events(demo_copy)

    result = run_pipeline(demo_copy)  # routine run: no --full

    assert result.success, "\n".join(result.summary_lines())
    reference = tmp_path / "reference.duckdb"
    shutil.copyfile(build, reference)
    full_refresh_facts(reference, tmp_path / "dbt-target")

    with duckdb.connect(str(build), read_only=True) as connection:
        connection.execute(f"attach '{reference}' as reference (read_only)")
        for fact, key in FACTS.items():
            columns = [
                row[0]
                for row in connection.execute(
                    "select column_name from information_schema.columns "
                    "where table_catalog = 'build' and table_schema = 'core' "
                    "and table_name = ? and column_name <> '_loaded_at' order by ordinal_position",
                    [fact],
                ).fetchall()
            ]
            listing = ", ".join(f'"{c}"' for c in columns)
            incremental = f"select {listing} from build.core.{fact}"
            full = f"select {listing} from reference.core.{fact}"
            only_incremental = connection.execute(
                f"select count(*) from ({incremental} except all {full})"
            ).fetchone()[0]
            only_full = connection.execute(
                f"select count(*) from ({full} except all {incremental})"
            ).fetchone()[0]
            assert (only_incremental, only_full) == (0, 0), fact
            duplicates = connection.execute(
                f"select count(*) - count(distinct {key}) from build.core.{fact}"
            ).fetchone()[0]
            assert duplicates == 0, fact
            # Incremental indeed: most rows kept the previous build's stamp.
            total, rebuilt = connection.execute(
                f"select count(*), count(*) filter (where _loaded_at > ?) from build.core.{fact}",
                [watermarks_before[fact]],
            ).fetchone()
            assert 0 < rebuilt < total / 2, (fact, rebuilt, total)

        def value(sql: str, *params):
            return connection.execute(sql, list(params)).fetchone()[0]

        # The changes reached the facts (so the comparison above is not vacuous).
        assert value("select count(*) from core.fct_purchases where purchase_no = 'PINCR0001'") == 1
        assert value(
            "select is_fully_paid from core.fct_purchases where purchase_id = ?",
            changed["paid_purchase_id"],
        )
        assert (
            value(
                "select status from core.fct_point_entries where entry_id = ?",
                changed["approved_entry_id"],
            )
            == "posted"
        )
        assert (
            value(
                "select status from core.fct_point_entries where entry_id = ?",
                changed["rejected_entry_id"],
            )
            == "rejected"
        )
        assert value(
            "select has_responded from core.fct_care_contacts where care_contact_id = ?",
            changed["responded_contact_id"],
        )
        new_swipes = changed["new_swipe_ids"]
        assert value(
            "select count(*) from core.fct_swipes where list_contains(?, swipe_id)", new_swipes
        ) == len(new_swipes)
        if "registered_chip_uid" in changed:
            assert (
                value(
                    "select count(*) from core.fct_swipes "
                    "where card_value_read = ? and (not is_known_card or card_no <> ?)",
                    changed["registered_chip_uid"],
                    changed["registered_card_no"],
                )
                == 0
            )
