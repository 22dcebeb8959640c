"""Member cards: issue, batch, replacement, loss, tier changes, expiry, lookup, numbering."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from operational.models import Card, Member, MemberChange, MemberPointBalance, PointEntry
from operational.services.cards import (
    TIER_THRESHOLDS,
    apply_tier_upgrades,
    batch_issue,
    cancel_expired_sub_cards,
    change_tier,
    find_card,
    issue_main_card,
    issue_sub_card,
    replace_card,
    report_loss,
)
from operational.services.common import (
    Actor,
    Conflict,
    NotAllowed,
    NotFound,
    ServiceError,
    ValidationFailed,
)

CLERK = Actor("clerk1", "staff")
ANALYST = Actor("ana", "analyst")
TODAY = date(2026, 3, 1)
NEXT_YEAR = date(2027, 2, 28)


def _member(
    session: Session,
    member_no: str,
    name: str,
    *,
    tier: str = "ordinary",
    status: str = "active",
    earned: int = 0,
) -> Member:
    member = Member(
        member_no=member_no, name=name, joined_at=date(2025, 1, 1), tier=tier, status=status
    )
    if status == "archived":
        member.archived_at = datetime(2025, 6, 1, tzinfo=UTC)
    session.add(member)
    session.flush()
    session.add(MemberPointBalance(member_id=member.id, balance=earned, earned_total=earned))
    if earned:  # tiers qualify on posted earnings of the last 365 days, not on the balance row
        now = datetime.now(UTC)
        session.add(
            PointEntry(
                member_id=member.id,
                points=earned,
                event_type="activity",
                status="posted",
                idempotency_key=f"seed:{member_no}",
                remaining=earned,
                created_at=now,
                posted_at=now,
            )
        )
    session.flush()
    return member


@pytest.fixture
def engine(op_db_url: str):
    engine = create_engine(op_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine) as seeding, seeding.begin():
        _member(seeding, "M00000001", "王小明")
        _member(seeding, "M00000002", "李小红")
        _member(seeding, "M00000003", "张大伟", status="archived")
        _member(seeding, "M00000004", "赵四", tier="vip")
    with Session(engine) as session:
        yield session


def _get(session: Session, member_no: str) -> Member:
    return session.scalars(select(Member).where(Member.member_no == member_no)).one()


def _cards(session: Session, member_no: str) -> list[Card]:
    member = _get(session, member_no)
    return list(session.scalars(select(Card).where(Card.member_id == member.id).order_by(Card.id)))


# -- issue -------------------------------------------------------------------------------------
def test_issue_main_card_of_the_members_tier(session: Session) -> None:
    card = issue_main_card(session, CLERK, _get(session, "M00000001"))
    vip = issue_main_card(session, CLERK, "M00000004")  # by member number too
    session.commit()

    assert (card.kind, card.card_type, card.status) == ("main", "ordinary", "active")
    assert len(card.card_no) == 10 and card.card_no.isdigit()
    assert card.chip_uid == card.card_no
    assert vip.card_type == "vip" and vip.card_no != card.card_no
    assert [c.card_no for c in _cards(session, "M00000001")] == [card.card_no]


def test_second_active_main_card_is_refused(session: Session) -> None:
    first = issue_main_card(session, CLERK, "M00000001")
    with pytest.raises(Conflict) as refused:
        issue_main_card(session, CLERK, "M00000001")
    assert refused.value.code == "main_card_exists"
    assert first.card_no in refused.value.message and "replace" in refused.value.message
    assert len(_cards(session, "M00000001")) == 1


def test_main_card_refusals(session: Session) -> None:
    with pytest.raises(Conflict) as archived:
        issue_main_card(session, CLERK, "M00000003")
    assert archived.value.code == "member_archived"
    assert "restore" in archived.value.message
    with pytest.raises(NotAllowed):
        issue_main_card(session, ANALYST, "M00000001")
    with pytest.raises(NotFound) as unknown:
        issue_main_card(session, CLERK, "M99999999")
    assert unknown.value.code == "member_not_found"
    with pytest.raises(Conflict) as mismatch:  # tier == main card type
        issue_main_card(session, CLERK, "M00000001", card_type="vip")
    assert mismatch.value.code == "card_type_not_tier"
    with pytest.raises(ValidationFailed) as sub_type:
        issue_main_card(session, CLERK, "M00000001", card_type="discount")
    assert sub_type.value.problems[0].code == "unknown_card_type"
    assert session.scalar(select(func.count()).select_from(Card)) == 0


def test_sub_card_needs_a_main_card_and_a_future_expiry(session: Session) -> None:
    with pytest.raises(Conflict) as no_main:
        issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    assert no_main.value.code == "no_main_card"
    assert "issue the main card first" in no_main.value.message

    main = issue_main_card(session, CLERK, "M00000001")
    with pytest.raises(ValidationFailed) as past:
        issue_sub_card(session, CLERK, "M00000001", "discount", date(2026, 2, 1), today=TODAY)
    assert [p.code for p in past.value.problems] == ["expiry_not_in_future"]
    with pytest.raises(ValidationFailed) as both:  # all problems at once
        issue_sub_card(session, CLERK, "M00000001", "ordinary", TODAY, today=TODAY)
    assert {p.field for p in both.value.problems} == {"card_type", "expires_on"}

    sub = issue_sub_card(session, CLERK, "M00000001", "cobrand", NEXT_YEAR, today=TODAY)
    assert (sub.kind, sub.card_type, sub.parent_card_id, sub.expires_on) == (
        "sub",
        "cobrand",
        main.id,
        NEXT_YEAR,
    )
    with pytest.raises(Conflict) as twice:
        issue_sub_card(session, CLERK, "M00000001", "cobrand", NEXT_YEAR, today=TODAY)
    assert twice.value.code == "sub_card_exists"
    assert len(_cards(session, "M00000001")) == 2


def test_batch_issues_the_good_and_reports_each_bad_member(session: Session) -> None:
    result = batch_issue(
        session,
        CLERK,
        ["M00000001", " m00000002 ", "M00000003", "M404", "", "M00000001"],
        kind="main",
    )
    session.commit()
    assert [(i.member_no, i.card_type) for i in result.issued] == [
        ("M00000001", "ordinary"),
        ("M00000002", "ordinary"),
    ]
    assert [(p.member_no, p.code) for p in result.problems] == [
        ("M00000003", "member_archived"),
        ("M404", "member_not_found"),
        ("M00000001", "listed_twice"),
    ]
    assert not result.ok and result.summary() == "issued: 2, refused: 3"
    assert all(_cards(session, no) for no in ("M00000001", "M00000002"))
    assert _cards(session, "M00000003") == []

    subs = batch_issue(
        session,
        CLERK,
        ["M00000001", "M00000002", "M00000004"],
        kind="sub",
        card_type="discount",
        expires_on=NEXT_YEAR,
        today=TODAY,
    )
    assert [i.member_no for i in subs.issued] == ["M00000001", "M00000002"]
    assert [(p.member_no, p.code) for p in subs.problems] == [("M00000004", "no_main_card")]
    assert "main card" in subs.problems[0].message


def test_batch_with_a_bad_expiry_issues_nothing(session: Session) -> None:
    issue_main_card(session, CLERK, "M00000001")
    with pytest.raises(ValidationFailed) as refused:
        batch_issue(session, CLERK, ["M00000001"], kind="sub", card_type="discount", today=TODAY)
    assert refused.value.problems[0].field == "expires_on"
    assert len(_cards(session, "M00000001")) == 1


# -- replacement and loss ----------------------------------------------------------------------
def test_card_replacement_ends_sub_cards(session: Session) -> None:
    """Acceptance: replacing a main card ends its sub-cards."""
    old = issue_main_card(session, CLERK, "M00000001")
    discount = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    cobrand = issue_sub_card(session, CLERK, "M00000001", "cobrand", NEXT_YEAR, today=TODAY)
    other = issue_main_card(session, CLERK, "M00000002")
    others_sub = issue_sub_card(session, CLERK, "M00000002", "discount", NEXT_YEAR, today=TODAY)
    session.commit()

    new = replace_card(session, CLERK, old.card_no)
    session.commit()
    session.expire_all()

    assert (new.status, new.kind, new.card_type) == ("active", "main", "ordinary")
    assert new.card_no != old.card_no and new.chip_uid == new.card_no
    assert (old.status, old.end_reason, old.replaced_by_card_id) == ("replaced", "request", new.id)
    assert old.ended_at is not None
    for sub in (discount, cobrand):
        assert (sub.status, sub.end_reason) == ("cancelled", "main_replaced")
        assert sub.ended_at is not None
    assert (other.status, others_sub.status) == ("active", "active")  # other members untouched

    with pytest.raises(Conflict) as again:
        replace_card(session, CLERK, old.card_no)
    assert again.value.code == "card_not_active"
    with pytest.raises(Conflict) as sub_replace:
        replace_card(session, CLERK, others_sub.card_no)
    assert sub_replace.value.code == "sub_card_not_replaceable"
    # A new sub-card can be issued under the new main card.
    fresh = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    assert fresh.parent_card_id == new.id


def test_loss_of_a_main_card_and_of_a_sub_card(session: Session) -> None:
    old = issue_main_card(session, CLERK, "M00000001")
    sub = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    new = report_loss(session, CLERK, old.card_no)
    assert new is not None and new.status == "active" and new.card_type == "ordinary"
    assert (old.status, old.end_reason, old.replaced_by_card_id) == ("lost", "lost", new.id)
    assert (sub.status, sub.end_reason) == ("cancelled", "main_replaced")

    sub2 = issue_sub_card(session, CLERK, "M00000001", "cobrand", NEXT_YEAR, today=TODAY)
    assert report_loss(session, CLERK, sub2.card_no) is None
    assert (sub2.status, sub2.end_reason) == ("cancelled", "lost")
    assert new.status == "active"  # losing a sub-card leaves the main card alone
    with pytest.raises(NotFound) as unknown:
        report_loss(session, CLERK, "0000000000")
    assert unknown.value.code == "card_not_found"
    with pytest.raises(NotAllowed):
        report_loss(session, ANALYST, new.card_no)


# -- tiers -------------------------------------------------------------------------------------
def test_change_tier_replaces_the_main_card_and_writes_history(session: Session) -> None:
    old = issue_main_card(session, CLERK, "M00000001")
    sub = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    new = change_tier(session, CLERK, "M00000001", "vip", reason="customer request")
    session.commit()
    session.expire_all()

    member = _get(session, "M00000001")
    assert member.tier == "vip"
    assert (new.card_type, new.status) == ("vip", "active")
    assert (old.status, old.end_reason, old.replaced_by_card_id) == (
        "replaced",
        "tier_change",
        new.id,
    )
    assert sub.status == "cancelled"
    history = session.scalars(select(MemberChange).where(MemberChange.member_id == member.id)).all()
    assert [(h.field, h.old_value, h.new_value, h.changed_by) for h in history] == [
        ("tier", "ordinary", "vip", "clerk1")
    ]
    with pytest.raises(Conflict) as same:
        change_tier(session, CLERK, "M00000001", "vip", reason="again")
    assert same.value.code == "same_tier"
    with pytest.raises(ValidationFailed):
        change_tier(session, CLERK, "M00000001", "discount", reason="not a tier")


def test_apply_tier_upgrades_at_the_threshold(session: Session) -> None:
    threshold = TIER_THRESHOLDS["vip"]
    at = _member(session, "M00000010", "钱一", earned=threshold)
    below = _member(session, "M00000011", "孙二", earned=threshold - 1)
    _member(session, "M00000012", "周三", earned=threshold * 3, status="archived")
    issue_main_card(session, CLERK, at)
    session.commit()

    assert apply_tier_upgrades(session) == ["M00000010"]
    session.commit()
    assert (at.tier, below.tier) == ("vip", "ordinary")
    cards = _cards(session, "M00000010")
    assert [(c.card_type, c.status) for c in cards] == [
        ("ordinary", "replaced"),
        ("vip", "active"),
    ]
    change = session.scalars(select(MemberChange).where(MemberChange.member_id == at.id)).one()
    assert change.changed_by == "system"
    assert apply_tier_upgrades(session) == []  # already there; never twice


# -- expiry ------------------------------------------------------------------------------------
def test_cancel_expired_sub_cards_counts_and_is_idempotent(session: Session) -> None:
    issue_main_card(session, CLERK, "M00000001")
    issue_main_card(session, CLERK, "M00000002")
    early = issue_sub_card(session, CLERK, "M00000001", "discount", date(2026, 3, 10), today=TODAY)
    last_day = issue_sub_card(
        session, CLERK, "M00000002", "discount", date(2026, 3, 20), today=TODAY
    )
    later = issue_sub_card(session, CLERK, "M00000001", "cobrand", NEXT_YEAR, today=TODAY)
    session.commit()

    assert cancel_expired_sub_cards(session, today=date(2026, 3, 20)) == 1
    session.commit()
    session.expire_all()
    assert (early.status, early.end_reason) == ("expired", "expired")
    assert early.ended_at is not None
    assert last_day.status == "active"  # valid through its expiry date
    assert cancel_expired_sub_cards(session, today=date(2026, 3, 20)) == 0
    assert cancel_expired_sub_cards(session, today=date(2026, 3, 21)) == 1
    session.commit()
    session.expire_all()
    assert (last_day.status, later.status) == ("expired", "active")


# -- lookup ------------------------------------------------------------------------------------
def test_find_card_with_full_width_digits_and_blanks(session: Session) -> None:
    main = issue_main_card(session, CLERK, "M00000001")
    sub = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    session.commit()

    typed = " " + " ".join(
        sub.card_no[i : i + 4].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        for i in range(0, 10, 4)
    )
    found = find_card(session, typed)
    assert found is not None
    assert (found.card_no, found.kind, found.card_type, found.status) == (
        sub.card_no,
        "sub",
        "discount",
        "active",
    )
    assert (found.member_no, found.member_name, found.member_status) == (
        "M00000001",
        "王小明",
        "active",
    )
    assert (found.expires_on, found.main_card_no, found.card) == (NEXT_YEAR, main.card_no, sub)
    assert found.usable

    new = replace_card(session, CLERK, main.card_no)
    old = find_card(session, main.card_no.lstrip("0"))  # leading zeros left off
    assert old is not None
    assert (old.status, old.main_card_no, old.replaced_by_card_no) == (
        "replaced",
        None,
        new.card_no,
    )
    assert not old.usable
    assert find_card(session, "9999999999") is None
    assert find_card(session, "  ") is None


# -- numbering ---------------------------------------------------------------------------------
def test_numbers_are_unique_and_continue_after_existing_cards(session: Session) -> None:
    legacy_owner = _get(session, "M00000002")
    session.add_all(
        [
            Card(card_no="4000000123", member_id=legacy_owner.id, kind="main", card_type="vip"),
            Card(
                card_no="C8000001",
                member_id=legacy_owner.id,
                kind="main",
                card_type="vip",
                status="replaced",
            ),
        ]
    )
    session.commit()

    first = issue_main_card(session, CLERK, "M00000001")
    sub = issue_sub_card(session, CLERK, "M00000001", "discount", NEXT_YEAR, today=TODAY)
    third = issue_main_card(session, CLERK, "M00000004")
    session.commit()
    assert [first.card_no, sub.card_no, third.card_no] == [
        "4000000124",
        "4000000125",
        "4000000126",
    ]
    assert sub.chip_uid is None  # only main cards carry the chip number


def test_concurrent_sessions_get_different_numbers(engine, op_db_url: str) -> None:
    if make_url(op_db_url).get_backend_name() != "postgresql":
        pytest.skip("row locks across connections are a PostgreSQL concern; SQLite has one writer")
    with Session(engine) as seeding, seeding.begin():
        for n in range(1, 7):
            _member(seeding, f"M0000010{n}", f"会员{n}")

    # The first session holds the card-number sequence until it commits; the second waits.
    issued: dict[str, list[str]] = {}
    errors: list[BaseException] = []
    second_started = threading.Event()

    def issue(label: str, numbers: list[str], hold: threading.Event | None) -> None:
        try:
            with Session(engine) as own, own.begin():
                if hold is None:
                    second_started.set()
                cards = [issue_main_card(own, CLERK, no) for no in numbers]
                issued[label] = [c.card_no for c in cards]
                if hold is not None:
                    assert hold.wait(10)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    release = threading.Event()
    first = threading.Thread(target=issue, args=("a", ["M00000101", "M00000102"], release))
    first.start()
    while "a" not in issued and first.is_alive():
        first.join(0.05)
    second = threading.Thread(
        target=issue, args=("b", ["M00000103", "M00000104", "M00000105"], None)
    )
    second.start()
    assert second_started.wait(5)
    second.join(0.5)
    assert second.is_alive(), "the second session should wait for the first one's numbers"
    release.set()
    first.join(10)
    second.join(10)
    assert not errors, errors

    numbers = issued["a"] + issued["b"]
    assert len(set(numbers)) == 5
    assert sorted(numbers) == [f"{n:010d}" for n in range(1, 6)]
    with Session(engine) as check:
        stored = check.scalars(select(Card.card_no)).all()
    assert sorted(stored) == sorted(numbers)


def test_every_refusal_is_a_service_error_with_a_code(session: Session) -> None:
    attempts = [
        lambda: issue_main_card(session, CLERK, "M00000003"),
        lambda: issue_sub_card(session, CLERK, "M00000002", "discount", NEXT_YEAR, today=TODAY),
        lambda: replace_card(session, CLERK, "nope"),
        lambda: replace_card(session, CLERK, "x", reason="bored"),
        lambda: batch_issue(session, CLERK, ["M00000001"], kind="spare"),
        lambda: change_tier(session, CLERK, "M00000001", "vip", reason=" "),
    ]
    codes = []
    for attempt in attempts:
        with pytest.raises(ServiceError) as refused:
            attempt()
        assert refused.value.message
        codes.append(refused.value.code)
    assert codes == [
        "member_archived",
        "no_main_card",
        "card_not_found",
        "invalid",
        "invalid",
        "invalid",
    ]
