"""The points ledger (issue 4): FIFO spending, expiry, reversal, approval, manual controls."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from operational.db import make_engine
from operational.models import Card, Member, MemberPointBalance, PointEntry
from operational.services import points
from operational.services.cards import apply_tier_upgrades, issue_main_card, issue_sub_card
from operational.services.common import SYSTEM, Actor, NotAllowed, ServiceError
from operational.services.daily import run_daily_membership_jobs
from operational.services.points import (
    approve_entry,
    earned_in_period,
    expire_points,
    expiry_date,
    points_history,
    post_batch,
    post_entry,
    post_manual,
    reject_entry,
    reversal_shortfall,
    reverse_entry,
)

CLERK = Actor("clerk1", "staff")
CLERK2 = Actor("clerk2", "staff")
REVIEWER = Actor("boss", "reviewer")
REVIEWER2 = Actor("boss2", "reviewer")


@pytest.fixture
def factory(op_db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(op_db_url)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def _member(factory: sessionmaker[Session], member_no: str, *, card: bool = False) -> int:
    with factory.begin() as session:
        member = Member(member_no=member_no, name="王小明", joined_at=date(2024, 5, 1))
        session.add(member)
        session.flush()
        if card:
            issue_main_card(session, CLERK, member)
        return member.id


def _post(session: Session, member_id: int, pts: int, key: str, **kw) -> PointEntry:
    event = kw.pop("event_type", "activity" if pts > 0 else "redemption")
    entry, _ = post_entry(
        session,
        member_id=member_id,
        points=pts,
        event_type=event,
        idempotency_key=key,
        actor=kw.pop("actor", SYSTEM),
        **kw,
    )
    return entry


def check_invariant(session: Session, member_id: int) -> int:
    """balance == sum(posted points) == sum(remaining of posted awards) >= 0; the balance."""
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
    row = session.get(MemberPointBalance, member_id, populate_existing=True)
    balance = row.balance if row else 0
    assert balance == posted == remaining >= 0, (balance, posted, remaining)
    return balance


def _remaining(session: Session, *entries: PointEntry) -> list[int | None]:
    return [session.get(PointEntry, e.id, populate_existing=True).remaining for e in entries]


def test_a_retried_posting_posts_once(factory) -> None:
    member_id = _member(factory, "M00000001")
    for _ in range(3):
        with factory.begin() as session:
            _post(session, member_id, 120, "swipe:reader1:7")
            _post(session, member_id, -20, "redemption:7")
    with factory() as session:
        assert check_invariant(session, member_id) == 100
        count = session.scalar(select(func.count()).select_from(PointEntry))
        assert count == 2


def test_spending_takes_the_oldest_points_and_expiry_takes_only_what_is_left(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        old = _post(session, member_id, 100, "a:1", expires_on=date(2026, 12, 31))
        new = _post(session, member_id, 200, "a:2", expires_on=date(2027, 12, 31))
        forever = _post(session, member_id, 50, "a:3", expires_on=None, event_type="opening")
        forever.expires_on = None  # an award that never expires is spent last
        spend = _post(session, member_id, -150, "r:1")
        assert spend.remaining is None
        assert _remaining(session, old, new, forever) == [0, 150, 50]
    with factory.begin() as session:
        assert expire_points(session, today=date(2028, 1, 1)) == 1
        assert expire_points(session, today=date(2028, 1, 1)) == 0  # idempotent
        expired = session.scalars(select(PointEntry).where(PointEntry.event_type == "expiry"))
        assert [(e.points, e.idempotency_key) for e in expired] == [(-150, f"expiry:{new.id}")]
        assert _remaining(session, old, new, forever) == [0, 0, 50]
        assert check_invariant(session, member_id) == 50
    with factory.begin() as session:  # an award fully spent leaves nothing to expire
        assert expire_points(session, today=date(2030, 1, 1)) == 0
        assert check_invariant(session, member_id) == 50


def test_awards_get_the_expiry_policy_date() -> None:
    assert points.EXPIRY_YEARS == 2
    assert expiry_date(date(2026, 3, 1)) == date(2028, 12, 31)
    assert expiry_date(date(2026, 12, 31)) == date(2028, 12, 31)


def test_a_posted_award_without_expiry_gets_the_policy_date(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        award = _post(session, member_id, 10, "a:1")
        assert award.expires_on == expiry_date(points.club_today())


def test_reversing_a_partly_spent_award_follows_the_shortfall_rule(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        first = _post(session, member_id, 300, "a:1", expires_on=date(2027, 12, 31))
        purchase = _post(session, member_id, 500, "purchase:9", event_type="purchase")
        _post(session, member_id, -700, "r:1")  # takes 300 of first, 400 of purchase
        assert _remaining(session, first, purchase) == [0, 100]
    with factory.begin() as session:
        reversal, created = reverse_entry(session, CLERK, purchase.id, reason="return")
        assert created and reversal.points == -100 and reversal.status == "posted"
        assert reversal.reverses_entry_id == purchase.id
        assert "shortfall 400" in reversal.reason
        assert reversal_shortfall(session, reversal) == 400
        assert check_invariant(session, member_id) == 0
    with factory.begin() as session:  # reversed once, however often it is asked
        again, created = reverse_entry(session, CLERK, purchase.id, reason="return")
        assert not created and again.id == reversal.id
        other_key, created = reverse_entry(
            session, CLERK, purchase.id, reason="return", idempotency_key="return:9"
        )
        assert not created and other_key.id == reversal.id
        assert check_invariant(session, member_id) == 0


def test_reversal_takes_the_award_first_then_the_oldest(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        old = _post(session, member_id, 100, "a:1", expires_on=date(2027, 12, 31))
        award = _post(session, member_id, 100, "a:2", expires_on=date(2028, 12, 31))
        later = _post(session, member_id, 100, "a:3", expires_on=date(2029, 12, 31))
        _post(session, member_id, -150, "r:1")  # old 0, award 50
        reversal, _ = reverse_entry(session, CLERK, award.id, reason="mistake")
        # all 100 can be taken back: 50 left of the award, then 50 of the oldest other points
        assert reversal.points == -100 and reversal_shortfall(session, reversal) == 0
        assert _remaining(session, old, award, later) == [0, 0, 50]
        assert check_invariant(session, member_id) == 50


def test_reversing_when_nothing_is_left_records_the_whole_shortfall(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        award = _post(session, member_id, 80, "a:1")
        _post(session, member_id, -80, "r:1")
        reversal, created = reverse_entry(session, CLERK, award.id, reason="return")
        assert created and reversal.status == "rejected" and reversal.points == -80
        assert reversal_shortfall(session, reversal) == 80 and "shortfall 80" in reversal.reason
        assert check_invariant(session, member_id) == 0
        assert reverse_entry(session, CLERK, award.id, reason="return")[1] is False
        # a reversed award (a returned purchase) earned nothing towards a tier
        assert earned_in_period(session, member_id, today=points.club_today()) == 0


def test_reversing_a_spending_gives_the_points_back_not_as_earnings(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        _post(session, member_id, 100, "a:1")
        spend = _post(session, member_id, -60, "r:1")
        back, created = reverse_entry(session, CLERK, spend.id, reason="cancelled redemption")
        assert created and back.points == 60 and back.remaining == 60
        assert back.event_type == "reversal" and back.expires_on is not None
        assert check_invariant(session, member_id) == 100
        assert session.get(MemberPointBalance, member_id).earned_total == 100
        today = points.club_today()
        assert earned_in_period(session, member_id, today=today) == 100
        with pytest.raises(ServiceError) as refused:
            reverse_entry(session, CLERK, back.id, reason="again")
        assert refused.value.code == "not_reversible"


def test_pending_entries_need_a_second_person(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        entry = _post(session, member_id, 50, "care:1", status="pending", actor=REVIEWER)
        other = _post(session, member_id, 70, "care:2", status="pending", actor=CLERK)
        with pytest.raises(NotAllowed) as same:
            approve_entry(session, REVIEWER, entry.id)
        assert same.value.code == "same_person"
        with pytest.raises(NotAllowed):
            approve_entry(session, CLERK2, entry.id)  # staff may not decide
        approved = approve_entry(session, REVIEWER2, entry.id)
        assert (approved.status, approved.approved_by, approved.remaining) == (
            "posted",
            "boss2",
            50,
        )
        assert approved.expires_on is not None and approved.posted_at is not None
        assert approve_entry(session, REVIEWER2, entry.id).id == entry.id  # retry: unchanged
        rejected = reject_entry(session, REVIEWER, other.id, reason="not eligible")
        assert rejected.status == "rejected" and "not eligible" in rejected.reason
        with pytest.raises(ServiceError) as decided:
            approve_entry(session, REVIEWER2, other.id)
        assert decided.value.code == "not_pending"
        assert check_invariant(session, member_id) == 50


def test_approving_a_pending_spending_checks_the_balance(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        _post(session, member_id, 30, "a:1")
        spend = _post(session, member_id, -40, "r:1", status="pending", actor=CLERK)
        with pytest.raises(ServiceError) as short:
            approve_entry(session, REVIEWER, spend.id)
        assert short.value.code == "insufficient_points"
        assert check_invariant(session, member_id) == 30


def test_manual_adjustments_above_the_threshold_wait_for_approval(factory, monkeypatch) -> None:
    monkeypatch.setattr(points, "MANUAL_APPROVAL_THRESHOLD", 1000)
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        small = post_manual(
            session,
            CLERK,
            member_no="M00000001",
            points=1000,
            reason="goodwill",
            idempotency_key="m:1",
        )
        big = post_manual(
            session,
            CLERK,
            member_no="M00000001",
            points=1001,
            reason="goodwill",
            idempotency_key="m:2",
        )
        assert (small.status, big.status) == ("posted", "pending")
        assert small.event_type == "manual" and small.created_by == "clerk1"
        approve_entry(session, REVIEWER, big.id)
        assert check_invariant(session, member_id) == 2001
        with pytest.raises(ServiceError) as no_reason:
            post_manual(
                session, CLERK, member_no="M00000001", points=5, reason=" ", idempotency_key="m:3"
            )
        assert no_reason.value.code == "reason_required"
        with pytest.raises(NotAllowed):
            post_manual(
                session,
                Actor("ana", "analyst"),
                member_no="M00000001",
                points=5,
                reason="x",
                idempotency_key="m:4",
            )


def test_a_clerk_has_a_daily_manual_cap(factory, monkeypatch) -> None:
    monkeypatch.setattr(points, "DAILY_MANUAL_CAP", 1500)
    _member(factory, "M00000001")
    with factory.begin() as session:
        post_manual(
            session, CLERK, member_no="M00000001", points=900, reason="a", idempotency_key="m:1"
        )
        post_manual(
            session, CLERK, member_no="M00000001", points=-600, reason="b", idempotency_key="m:2"
        )
        with pytest.raises(ServiceError) as capped:
            post_manual(
                session, CLERK, member_no="M00000001", points=1, reason="c", idempotency_key="m:3"
            )
        assert capped.value.code == "daily_cap"
        # a retry of an entry already made is not counted again; another clerk has their own cap
        post_manual(
            session, CLERK, member_no="M00000001", points=900, reason="a", idempotency_key="m:1"
        )
        post_manual(
            session, CLERK2, member_no="M00000001", points=10, reason="d", idempotency_key="m:5"
        )
    with factory.begin() as session:  # yesterday's entries do not count today
        session.execute(
            update(PointEntry)
            .where(PointEntry.created_by == "clerk1")
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        post_manual(
            session, CLERK, member_no="M00000001", points=1, reason="c", idempotency_key="m:3"
        )


def test_sub_card_points_land_on_the_main_card(factory) -> None:
    member_id = _member(factory, "M00000001", card=True)
    with factory.begin() as session:
        sub = issue_sub_card(session, CLERK, "M00000001", "discount", date(2099, 12, 31))
        main_id = sub.parent_card_id
        entry = post_manual(
            session, CLERK, card_no=sub.card_no, points=25, reason="swipe", idempotency_key="m:1"
        )
        swipe = _post(session, member_id, 5, "swipe:1", card_id=sub.id, event_type="swipe")
        assert entry.card_id == main_id and swipe.card_id == main_id
        assert entry.member_id == member_id
        history = points_history(session, "M00000001")
        assert [row.points for row in history] == [5, 25]
        main_no = session.scalar(select(PointEntry.card_id).where(PointEntry.id == entry.id))
        assert main_no == main_id


def test_batch_posts_each_card_once_and_reports_bad_ones(factory) -> None:
    _member(factory, "M00000001", card=True)
    _member(factory, "M00000002", card=True)
    with factory() as session:
        card_nos = list(session.scalars(select(Card.card_no).order_by(Card.card_no)))
    for attempt in range(2):
        with factory.begin() as session:
            result = post_batch(
                session,
                CLERK,
                [*card_nos, "99999999", card_nos[0]],
                points=20,
                reason="salon 5 May",
                batch_key="activity-5",
            )
            assert len(result.posted) == 2 and result.already == 2 * attempt
            assert [(p.card_no, p.code) for p in result.problems] == [
                ("99999999", "card_not_found")
            ]
    with factory() as session:
        keys = sorted(session.scalars(select(PointEntry.idempotency_key)))
        assert keys == [f"activity-5:{no}" for no in card_nos]


def test_tiers_qualify_on_points_earned_in_the_period(factory, monkeypatch) -> None:
    from operational.services import cards

    monkeypatch.setitem(cards.TIER_THRESHOLDS, "vip", 1000)
    spender = _member(factory, "M00000001", card=True)
    old = _member(factory, "M00000002", card=True)
    today = points.club_today()
    with factory.begin() as session:
        _post(session, spender, 1000, "a:1", event_type="purchase")
        _post(session, spender, -1000, "r:1")  # spending does not hold the upgrade back
        long_ago = _post(session, old, 5000, "a:2", event_type="purchase")
        long_ago.posted_at = datetime.now(UTC) - timedelta(days=400)
    with factory.begin() as session:
        assert earned_in_period(session, spender, today=today) == 1000
        assert earned_in_period(session, old, today=today) == 0
        assert apply_tier_upgrades(session, today=today) == ["M00000001"]


def test_the_daily_job_expires_points_once(factory) -> None:
    member_id = _member(factory, "M00000001")
    with factory.begin() as session:
        _post(session, member_id, 40, "a:1", expires_on=date(2026, 1, 31))
        _post(session, member_id, 60, "a:2", expires_on=date(2026, 12, 31))
    with factory.begin() as session:
        report = run_daily_membership_jobs(session, today=date(2026, 2, 1))
        assert report.points_expired == 1
        assert "point awards expired: 1" in report.lines()
    with factory.begin() as session:
        assert run_daily_membership_jobs(session, today=date(2026, 2, 1)).points_expired == 0
        assert check_invariant(session, member_id) == 60
