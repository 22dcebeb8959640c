"""Clerks posting, spending and redeeming at once (issue 4 acceptance): no lost update, no
negative balance, no double redemption, stock never negative, every key posted once, the only
refusals "insufficient points" and "out of stock".

PostgreSQL: 8 threads x 200 mixed postings and plan redemptions on 3 members, each thread with its own engine and
session. SQLite serialises writers (one database write lock), so it runs the same test with
4 threads x 30 operations to keep the suite fast.
"""

from __future__ import annotations

import random
import threading
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from operational.db import make_engine
from operational.models import Member, MemberPointBalance, PointEntry, Redemption, RedemptionPlan
from operational.services.common import Actor, ServiceError
from operational.services.points import post_entry
from operational.services.redemption import create_plan, redeem

PLAN_STOCK = 25


def _check_invariants(session: Session, member_id: int) -> int:
    posted = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member_id, PointEntry.status == "posted"
        )
    )
    remaining = session.scalar(
        select(func.coalesce(func.sum(PointEntry.remaining), 0)).where(
            PointEntry.member_id == member_id,
            PointEntry.status == "posted",
            PointEntry.points > 0,
        )
    )
    balance = session.get(MemberPointBalance, member_id).balance
    assert balance == posted == remaining >= 0, (member_id, balance, posted, remaining)
    return balance


def test_clerks_posting_and_spending_at_once_keep_the_ledger_exact(op_db_url: str) -> None:
    sqlite = make_url(op_db_url).get_backend_name() == "sqlite"
    threads, per_thread = (4, 30) if sqlite else (8, 200)
    setup = make_engine(op_db_url)
    with sessionmaker(setup).begin() as session:
        members = [
            Member(member_no=f"M0000000{n}", name="王小明", joined_at=date(2024, 5, 1))
            for n in (1, 2, 3)
        ]
        session.add_all(members)
        session.flush()
        member_ids = [m.id for m in members]
        for member_id in member_ids:
            session.add(MemberPointBalance(member_id=member_id, balance=0, earned_total=0))
        create_plan(
            session,
            Actor("rev", "reviewer"),
            code="MUG",
            item="Club mug",
            points_cost=40,
            stock=PLAN_STOCK,
            starts_on=date(2020, 1, 1),
        )
        member_nos = {m.id: m.member_no for m in members}

    barrier = threading.Barrier(threads)
    created_keys: list[set[str]] = [set() for _ in range(threads)]
    refusals: list[list[str]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []

    def clerk(number: int) -> None:
        rng = random.Random(number)
        engine = make_engine(op_db_url)
        factory = sessionmaker(engine, expire_on_commit=False)
        actor = Actor(f"clerk{number}", "staff")
        sent: list[dict] = []
        try:
            barrier.wait()
            for i in range(per_thread):
                if sent and rng.random() < 0.1:  # a retried request
                    call = rng.choice(sent)
                else:
                    earn = rng.random() < 0.5
                    call = dict(
                        member_id=rng.choice(member_ids),
                        points=rng.randint(1, 60) if earn else -rng.randint(1, 90),
                        event_type="activity" if earn else "redemption",
                        idempotency_key=f"t{number}:{i}",
                    )
                    sent.append(call)
                if rng.random() < 0.2:  # a plan redemption: balance and stock checked together
                    try:
                        with factory.begin() as session:
                            redeem(
                                session,
                                actor,
                                member_no=member_nos[rng.choice(member_ids)],
                                plan_code="MUG",
                                idempotency_key=f"r{number}:{i}",
                            )
                    except ServiceError as error:
                        refusals[number].append(error.code)
                    continue
                try:
                    with factory.begin() as session:
                        _, created = post_entry(session, actor=actor, **call)
                except ServiceError as error:
                    refusals[number].append(error.code)
                    continue
                if created:
                    assert call["idempotency_key"] not in created_keys[number]
                    created_keys[number].add(call["idempotency_key"])
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
        finally:
            engine.dispose()

    workers = [threading.Thread(target=clerk, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(worker.is_alive() for worker in workers)
    assert failures == []
    assert {code for codes in refusals for code in codes} <= {"insufficient_points", "out_of_stock"}

    all_created = set().union(*created_keys)
    with Session(setup) as session:
        redemptions = session.scalars(select(Redemption)).all()
        stock = session.scalar(select(RedemptionPlan.stock).where(RedemptionPlan.code == "MUG"))
        assert redemptions and stock >= 0
        assert stock + sum(r.quantity for r in redemptions) == PLAN_STOCK
        redeemed_keys = {f"redemption:{r.idempotency_key}" for r in redemptions} | {
            r.idempotency_key for r in redemptions
        }
        keys = [
            k for k in session.scalars(select(PointEntry.idempotency_key)) if k not in redeemed_keys
        ]
        assert len(keys) == len(set(keys)) == len(all_created)
        assert set(keys) == all_created
        # one spending entry per redemption, for exactly its points
        spendings = session.scalars(
            select(PointEntry).where(PointEntry.id.in_([r.point_entry_id for r in redemptions]))
        ).all()
        assert len(spendings) == len(redemptions)
        assert sum(-e.points for e in spendings) == sum(r.points for r in redemptions)
        total = sum(_check_invariants(session, member_id) for member_id in member_ids)
        spent = session.scalar(select(func.count()).where(PointEntry.points < 0))
        assert total >= 0 and spent > 0
    setup.dispose()
