"""Property test of the points ledger (issue 4 acceptance).

Random sequences of postings (posted or pending), spendings, plan redemptions, approvals,
rejections, reversals, retries and expiries on two members. After every step, for each member::

    balance row == sum(points of posted entries) == sum(remaining of posted positive entries) >= 0

(a reversal of an award is a posted negative entry that consumed ``remaining``; a reversal with
nothing to take is a never-posted ``rejected`` entry, so it is in neither sum), every entry is
reversed at most once, every idempotency key names one entry, and the only refusals are the
expected ones (insufficient points, out of stock, an entry no longer pending or not
reversible). The plan's stock never goes negative and stock + units redeemed == the stock it
started with.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from operational.db import make_engine
from operational.models import Member, MemberPointBalance, PointEntry, Redemption, RedemptionPlan
from operational.services.common import SYSTEM, Actor, ServiceError
from operational.services.points import (
    approve_entry,
    expire_points,
    post_entry,
    reject_entry,
    reverse_entry,
)
from operational.services.redemption import create_plan, redeem

CLERK = Actor("clerk1", "staff")
REVIEWER = Actor("boss", "reviewer")
BASE_DAY = date(2031, 1, 1)
EXPECTED_REFUSALS = {
    "insufficient_points",
    "not_pending",
    "not_posted",
    "not_reversible",
    "out_of_stock",
}
PLAN_STOCK = 4

member_index = st.integers(0, 1)
earn = st.tuples(
    st.just("earn"),
    member_index,
    st.integers(1, 400),
    st.one_of(st.none(), st.integers(0, 40)),  # expiry: days after BASE_DAY, or the policy
    st.sampled_from(["posted", "posted", "pending"]),
)
spend = st.tuples(
    st.just("spend"), member_index, st.integers(1, 400), st.sampled_from(["posted", "pending"])
)
_weighted = [
    earn,
    earn,
    earn,
    spend,
    spend,
    st.tuples(st.just("redeem"), member_index, st.integers(1, 3)),
    st.tuples(st.just("approve"), st.integers(0, 50)),
    st.tuples(st.just("reject"), st.integers(0, 50)),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
    st.tuples(st.just("retry"), st.integers(0, 50)),
    st.tuples(st.just("expire"), st.integers(1, 10)),
]
operations = st.integers(0, len(_weighted) - 1).flatmap(lambda i: _weighted[i])


def _reset(factory: sessionmaker[Session], member_ids: list[int]) -> None:
    with factory.begin() as session:
        session.execute(delete(Redemption))
        session.execute(update(RedemptionPlan).values(stock=PLAN_STOCK))
        session.execute(update(PointEntry).values(reverses_entry_id=None))
        session.execute(delete(PointEntry))
        session.execute(update(MemberPointBalance).values(balance=0, earned_total=0))


def check_invariants(session: Session, member_ids: list[int]) -> None:
    for member_id in member_ids:
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
        negative_remaining = session.scalar(select(func.count()).where(PointEntry.remaining < 0))
        row = session.get(MemberPointBalance, member_id, populate_existing=True)
        balance = row.balance if row else 0
        assert balance == posted == remaining >= 0, (member_id, balance, posted, remaining)
        assert negative_remaining == 0
    reversed_twice = session.execute(
        select(PointEntry.reverses_entry_id)
        .where(PointEntry.reverses_entry_id.is_not(None))
        .group_by(PointEntry.reverses_entry_id)
        .having(func.count() > 1)
    ).all()
    assert reversed_twice == []
    stock = session.scalar(select(RedemptionPlan.stock))
    redeemed = session.scalar(select(func.coalesce(func.sum(Redemption.quantity), 0)))
    assert stock >= 0 and stock + redeemed == PLAN_STOCK, (stock, redeemed)


def _run(factory: sessionmaker[Session], member_ids: list[int], ops: list[tuple]) -> None:
    _reset(factory, member_ids)
    sent: list[dict] = []  # every post_entry call made, for retries
    day = BASE_DAY
    for step, op in enumerate(ops):
        kind = op[0]
        try:
            with factory.begin() as session:
                if kind in ("earn", "spend"):
                    member_id = member_ids[op[1]]
                    pts = op[2] if kind == "earn" else -op[2]
                    status = op[4] if kind == "earn" else op[3]
                    expires_on = (
                        BASE_DAY + timedelta(days=op[3])
                        if kind == "earn" and op[3] is not None
                        else None
                    )
                    call = dict(
                        member_id=member_id,
                        points=pts,
                        event_type="activity" if pts > 0 else "redemption",
                        idempotency_key=f"k:{step}",
                        actor=CLERK,
                        expires_on=expires_on,
                        status=status,
                    )
                    sent.append(call)
                    post_entry(session, **call)
                elif kind == "redeem":
                    redeem(
                        session,
                        CLERK,
                        member_no=f"M0000000{op[1] + 1}",
                        plan_code="MUG",
                        quantity=op[2],
                        idempotency_key=f"r:{step}",
                    )
                elif kind == "retry":
                    if sent:
                        call = sent[op[1] % len(sent)]
                        before = session.scalar(select(func.count()).select_from(PointEntry))
                        try:
                            _, created = post_entry(session, **call)
                            assert (
                                not created
                                or before
                                == session.scalar(select(func.count()).select_from(PointEntry)) - 1
                            )
                        except (
                            ServiceError
                        ) as error:  # a first attempt refused may be refused again
                            assert error.code == "insufficient_points"
                            raise
                else:
                    ids = list(session.scalars(select(PointEntry.id).order_by(PointEntry.id)))
                    if kind == "expire":
                        day = day + timedelta(days=op[1])
                        expire_points(session, today=day, actor=SYSTEM)
                    elif ids:
                        entry_id = ids[op[1] % len(ids)]
                        if kind == "approve":
                            approve_entry(session, REVIEWER, entry_id)
                        elif kind == "reject":
                            reject_entry(session, REVIEWER, entry_id, reason="no")
                        else:
                            reverse_entry(session, CLERK, entry_id, reason="correction")
        except ServiceError as error:
            assert error.code in EXPECTED_REFUSALS, (op, error.code, error.message)
        with factory() as session:
            check_invariants(session, member_ids)
    with factory.begin() as session:  # expiring everything leaves nothing, and runs once
        far = date(2100, 1, 1)
        expire_points(session, today=far)
        assert expire_points(session, today=far) == 0
    with factory() as session:
        check_invariants(session, member_ids)


def test_random_sequences_keep_the_ledger_exact(op_db_url: str) -> None:
    engine = make_engine(op_db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory.begin() as session:
        members = [
            Member(member_no=f"M0000000{n}", name="王小明", joined_at=date(2024, 5, 1))
            for n in (1, 2)
        ]
        session.add_all(members)
        session.flush()
        member_ids = [m.id for m in members]
        create_plan(
            session,
            REVIEWER,
            code="MUG",
            item="Club mug",
            points_cost=50,
            stock=PLAN_STOCK,
            starts_on=date(2020, 1, 1),
        )
    sqlite = make_url(op_db_url).get_backend_name() == "sqlite"

    @settings(
        max_examples=40 if sqlite else 20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(st.lists(operations, min_size=8, max_size=30))
    def run(ops: list[tuple]) -> None:
        _run(factory, member_ids, ops)

    try:
        run()
    finally:
        engine.dispose()
