"""Data of the dashboard tests: a small club in the operational DB, and a warehouse of it.

(A module of its own, not conftest.py: tests import these, and ``from conftest import`` finds
whichever conftest.py was imported first when tests/browser is collected too.)

``seed_small_club`` fills an operational DB with a few dozen members, cards, purchases, points
and complaints, and one staff account per role (:data:`ACCOUNTS`). ``build_small_warehouse``
makes a hand-made DuckDB warehouse with the contract's core and reporting tables computed from
those rows, and publishes it, so the pages can be tested without the demo generator and the dbt
pipeline. The fixtures ``small_club`` and ``small_warehouse`` (conftest.py) use them.

Pages need a signed-in user: ``signed_in(app, role)`` (before ``run()``) starts an AppTest as
``small_club``'s account of that role (:data:`ACCOUNTS`); the sign-in tests use the form instead.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from clubcrm.published import publish
from clubcrm.settings import Settings
from dashboards.auth import remember_sign_in
from operational.db import make_engine
from operational.models import (
    Card,
    Complaint,
    DictionaryItem,
    Member,
    MemberPointBalance,
    PointEntry,
    Purchase,
)
from operational.services.accounts import create_account
from operational.services.common import SYSTEM, Actor

T0 = datetime(2025, 1, 5, 2, 0, tzinfo=UTC)
ADMIN_PASSWORD = "admin-password-1"
#: role -> (username, password) of the staff accounts in ``small_club`` (admin from init).
ACCOUNTS = {
    "admin": ("admin", ADMIN_PASSWORD),
    "staff": ("clerk", "clerk-password-1"),
    "reviewer": ("reviewer", "reviewer-password-1"),
    "manager": ("manager", "manager-password-1"),
    "analyst": ("analyst", "analyst-password-1"),
}
REGIONS = ("11", "31", "44")
STATUSES = ("active", "active", "active", "exit_pending", "archived")


def signed_in(app: AppTest, role: str = "staff") -> AppTest:
    """``app`` with ``small_club``'s account of ``role`` signed in (call before ``run()``)."""
    remember_sign_in(app.session_state, Actor(ACCOUNTS[role][0], role), ACCOUNTS[role][0].title())
    return app


def seed_small_club(url: str) -> None:
    """37 members over 14 months; every table the Overview and Members pages read; accounts."""
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        for role, (username, password) in ACCOUNTS.items():
            if role != "admin":
                create_account(session, SYSTEM, username, username.title(), password, role)
        for n in range(37):
            member = Member(
                member_no=f"M{n + 1:06d}",
                name="王小明" if n == 0 else f"会员{n + 1:02d}",
                id_number="11010519491231002X" if n == 0 else None,
                mobile=f"138{n:04d}{8000 + n}",
                tier="vip" if n % 4 == 0 else "ordinary",
                region=None if n == 35 else REGIONS[n % 3],
                status=STATUSES[n % 5],
                joined_at=date(2025, 1 + n % 12, 1 + n % 27) if n < 30 else date(2026, 1, 10),
            )
            session.add(member)
            session.flush()
            session.add(
                Card(
                    card_no=f"C{n + 1:07d}",
                    member_id=member.id,
                    kind="main",
                    card_type=member.tier,
                    issued_at=T0,
                )
            )
            earned = 0
            for k in range(n % 3):
                amount = Decimal("150000.00") + n * 1000 + k
                paid = amount if k == 0 else Decimal("50000.00")
                session.add(
                    Purchase(
                        purchase_no=f"P{n:03d}{k}",
                        member_id=member.id,
                        product="Villa" if k else "Apartment",
                        amount=amount,
                        paid_amount=paid,
                        purchased_at=T0 + timedelta(days=n + k),
                    )
                )
                if paid == amount:
                    points = int(amount // 100)
                    earned += points
                    session.add(
                        PointEntry(
                            member_id=member.id,
                            points=points,
                            event_type="purchase",
                            status="posted",
                            idempotency_key=f"purchase:{n}:{k}",
                            created_at=T0 + timedelta(days=n + k),
                            posted_at=T0 + timedelta(days=n + k),
                        )
                    )
            if earned:
                session.add(
                    MemberPointBalance(member_id=member.id, balance=earned, earned_total=earned)
                )
            if n % 6 == 0:
                session.add(
                    Complaint(
                        complaint_no=f"TS{n:03d}",
                        member_id=member.id,
                        channel="phone",
                        complaint_type="sales_service",
                        content="…",
                        receiver="clerk1",
                        received_at=T0 + timedelta(days=n),
                        due_at=T0 + timedelta(days=n + 3),
                        status=("pending", "in_progress", "done")[n % 3],
                    )
                )
        # A non-member's purchase: counted in the club's purchases and revenue too.
        session.add(
            Purchase(
                purchase_no="P-GUEST",
                customer_name="访客",
                product="Apartment",
                amount=Decimal("99000.50"),
                paid_amount=Decimal("0"),
                purchased_at=T0,
            )
        )
    engine.dispose()


def build_small_warehouse(settings: Settings) -> Path:
    """Build a DuckDB warehouse with the contract's tables from the operational rows; publish it.

    Returns the published file. Stands in for ``clubcrm pipeline run`` (same table and column
    names as transforms/models) so the page tests stay fast and independent of dbt.
    """
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        region_names = {
            item.code: (item.label_zh, item.label_en)
            for item in session.scalars(
                select(DictionaryItem).where(DictionaryItem.category == "region")
            )
        }
        card = dict(session.execute(select(Card.member_id, Card.card_no)).all())
        balance = dict(
            session.execute(select(MemberPointBalance.member_id, MemberPointBalance.balance)).all()
        )
        members = session.scalars(select(Member)).all()
        member_no = {m.id: m.member_no for m in members}
        dim_members = pd.DataFrame(
            {
                "member_no": [m.member_no for m in members],
                "status": [m.status for m in members],
                "tier": [m.tier for m in members],
                "region": [m.region for m in members],
                "region_name_zh": [region_names.get(m.region, (None, None))[0] for m in members],
                "region_name_en": [region_names.get(m.region, (None, None))[1] for m in members],
                "joined_at": [m.joined_at for m in members],
                "points_balance": [balance.get(m.id, 0) for m in members],
                "main_card_no": [card.get(m.id) for m in members],
            }
        )
        purchases = pd.DataFrame(
            [
                {
                    "purchase_id": p.id,
                    "member_no": member_no.get(p.member_id),
                    "purchased_at": p.purchased_at,
                    "amount": str(p.amount),
                    "paid_amount": str(p.paid_amount),
                }
                for p in session.scalars(select(Purchase))
            ]
        )
        complaints = pd.DataFrame(
            [
                {
                    "complaint_no": c.complaint_no,
                    "member_no": member_no.get(c.member_id),
                    "status": c.status,
                }
                for c in session.scalars(select(Complaint))
            ]
        )
    engine.dispose()
    path = settings.build_warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a fresh build each time, like `pipeline run --full`
    with duckdb.connect(str(path)) as con:
        con.execute("create schema core; create schema reporting")
        con.register("dim_members_df", dim_members)
        con.register("purchases_df", purchases)
        con.register("complaints_df", complaints)
        con.execute("create table core.dim_members as select * from dim_members_df")
        con.execute(
            """
            create table core.fct_purchases as
            select purchase_id, member_no, purchased_at,
                   amount::decimal(14, 2) as amount, paid_amount::decimal(14, 2) as paid_amount
            from purchases_df
            """
        )
        con.execute("create table core.fct_complaints as select * from complaints_df")
        con.execute(
            """
            create table reporting.member_overview as
            select tier, coalesce(region, 'unknown') as region,
                   date_trunc('month', joined_at)::date as join_month,
                   count(*) as members, count(*) filter (where status = 'active') as active_members
            from core.dim_members
            group by all
            """
        )
    return publish(settings, path, run_id="handmade")


# -- page tests that act (issue 3) ---------------------------------------------------------------
VIEWS = Path(__file__).resolve().parents[2] / "dashboards" / "views"


def open_page(name: str, role: str = "staff", locale: str | None = None) -> AppTest:
    """Run ``dashboards/views/<name>.py`` signed in as ``role`` (in ``locale`` if given)."""
    page = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=30)
    signed_in(page, role)
    if locale:
        page.session_state["locale"] = locale
    return page.run()


def click(page: AppTest, label: str) -> AppTest:
    """Click the (form submit) button labelled ``label`` and rerun; fails when there is none."""
    matches = [button for button in page.button if button.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in page.button]}"
    matches[0].click()
    return page.run()


def button_labels(page: AppTest) -> list[str]:
    return [button.label for button in page.button]
