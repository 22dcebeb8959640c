"""Posting points (operational.services.points.post_entry): once per event, never below zero."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from operational.db import make_engine
from operational.models import Member, MemberPointBalance, PointEntry
from operational.services.common import SYSTEM, Actor, Conflict, ServiceError
from operational.services.points import post_entry

CLERK = Actor("clerk1", "staff")


@pytest.fixture
def factory(op_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(op_db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def _member(factory: sessionmaker[Session], member_no: str, *, balance: int | None = 0) -> int:
    with factory.begin() as session:
        member = Member(member_no=member_no, name="王小明", joined_at=date(2024, 5, 1))
        session.add(member)
        session.flush()
        if balance is not None:
            session.add(
                MemberPointBalance(member_id=member.id, balance=balance, earned_total=balance)
            )
        return member.id


def _ledger(factory: sessionmaker[Session], member_id: int) -> tuple[int, int, int, int]:
    """(entries, sum of posted points, balance, earned_total)."""
    with factory() as session:
        entries = session.scalar(
            select(func.count()).select_from(PointEntry).where(PointEntry.member_id == member_id)
        )
        total = session.scalar(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == member_id, PointEntry.status == "posted"
            )
        )
        row = session.get(MemberPointBalance, member_id)
        assert row is not None
        return entries, total, row.balance, row.earned_total


def test_an_award_is_posted_once_however_often_it_is_sent(factory) -> None:
    member_id = _member(factory, "M00000001")
    for attempt in range(3):
        with factory.begin() as session:
            entry, created = post_entry(
                session,
                member_id=member_id,
                points=500,
                event_type="opening",
                idempotency_key="opening:M00000001",
                actor=CLERK,
                reason="opening balance",
            )
            assert created is (attempt == 0)
            assert entry.points == 500
            assert entry.remaining == 500
            assert entry.posted_at is not None
            assert entry.created_by == "clerk1"
    assert _ledger(factory, member_id) == (1, 500, 500, 500)


def test_the_same_key_for_another_amount_is_refused(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        post_entry(
            session,
            member_id=member_id,
            points=100,
            event_type="manual",
            idempotency_key="manual:1",
            actor=CLERK,
        )
    with factory.begin() as session, pytest.raises(Conflict) as refused:
        post_entry(
            session,
            member_id=member_id,
            points=200,
            event_type="manual",
            idempotency_key="manual:1",
            actor=CLERK,
        )
    assert refused.value.code == "idempotency_key_reused"
    assert _ledger(factory, member_id) == (1, 100, 100, 100)


def test_the_balance_never_goes_below_zero(factory) -> None:
    member_id = _member(factory, "M00000001", balance=None)  # no balance row yet
    with factory.begin() as session:
        _, created = post_entry(
            session,
            member_id=member_id,
            points=300,
            event_type="activity",
            idempotency_key="activity:7:M00000001",
            actor=SYSTEM,
        )
        assert created
    with factory.begin() as session, pytest.raises(ServiceError) as refused:
        post_entry(
            session,
            member_id=member_id,
            points=-301,
            event_type="redemption",
            idempotency_key="redemption:1",
            actor=CLERK,
        )
    assert refused.value.code == "insufficient_points"
    assert "300" in refused.value.message
    assert _ledger(factory, member_id) == (1, 300, 300, 300)

    with factory.begin() as session:
        spent, created = post_entry(
            session,
            member_id=member_id,
            points=-300,
            event_type="redemption",
            idempotency_key="redemption:2",
            actor=CLERK,
        )
        assert created and spent.remaining is None
    # spending does not lower what was earned
    assert _ledger(factory, member_id) == (2, 0, 0, 300)


def test_a_pending_entry_waits_and_moves_nothing(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        entry, created = post_entry(
            session,
            member_id=member_id,
            points=80,
            event_type="purchase",
            idempotency_key="purchase:42",
            actor=SYSTEM,
            status="pending",
        )
        assert created and entry.status == "pending"
        assert entry.posted_at is None and entry.remaining is None
    assert _ledger(factory, member_id) == (1, 0, 0, 0)


def test_a_refused_posting_leaves_the_callers_other_work_intact(factory) -> None:
    first = _member(factory, "M00000001")
    second = _member(factory, "M00000002")
    with factory.begin() as session:
        post_entry(
            session,
            member_id=first,
            points=50,
            event_type="care",
            idempotency_key="care:1",
            actor=SYSTEM,
        )
        with pytest.raises(ServiceError):
            post_entry(
                session,
                member_id=second,
                points=-10,
                event_type="redemption",
                idempotency_key="redemption:9",
                actor=SYSTEM,
            )
    assert _ledger(factory, first) == (1, 50, 50, 50)
    assert _ledger(factory, second) == (0, 0, 0, 0)


def test_a_rolled_back_transaction_takes_its_entry_with_it(factory) -> None:
    member_id = _member(factory, "M00000001")
    session = factory()
    post_entry(
        session,
        member_id=member_id,
        points=70,
        event_type="manual",
        idempotency_key="manual:rollback",
        actor=CLERK,
    )
    session.rollback()
    session.close()
    assert _ledger(factory, member_id) == (0, 0, 0, 0)


def test_unknown_event_and_zero_points_are_refused(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        for points, event_type in ((0, "manual"), (10, "gift")):
            with pytest.raises(ServiceError):
                post_entry(
                    session,
                    member_id=member_id,
                    points=points,
                    event_type=event_type,
                    idempotency_key=f"x:{points}:{event_type}",
                    actor=CLERK,
                )
    assert _ledger(factory, member_id) == (0, 0, 0, 0)


def _race(factory: sessionmaker[Session], jobs: list[dict]) -> list[object]:
    """Run each job's post_entry in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def work(index: int, job: dict) -> None:
        barrier.wait()
        try:
            with factory.begin() as session:
                entry, created = post_entry(session, actor=SYSTEM, **job)
                results[index] = created
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer saw
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_workers_posting_the_same_event_post_it_once(factory) -> None:
    member_id = _member(factory, "M00000001")
    job = dict(member_id=member_id, points=40, event_type="swipe", idempotency_key="swipe:r1:99")
    results = _race(factory, [job] * 4)
    assert sorted(results, key=str) == [False, False, False, True], results
    assert _ledger(factory, member_id) == (1, 40, 40, 40)


def test_two_spendings_at_once_cannot_overdraw(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        post_entry(
            session,
            member_id=member_id,
            points=100,
            event_type="manual",
            idempotency_key="manual:seed",
            actor=SYSTEM,
        )
    jobs = [
        dict(
            member_id=member_id,
            points=-60,
            event_type="redemption",
            idempotency_key=f"redemption:{n}",
        )
        for n in range(2)
    ]
    results = _race(factory, jobs)
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert results.count(True) == 1, results
    assert len(refused) == 1 and refused[0].code == "insufficient_points"
    assert _ledger(factory, member_id) == (2, 40, 40, 100)
