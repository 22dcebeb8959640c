"""What the desk pages read through the services: consents, pending exits, edit state, lists."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from operational.models import Member
from operational.services import lifecycle
from operational.services.common import Actor, NotFound, dictionary_codes

CLERK = Actor("clerk1", "staff")


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        seeding.add(
            Member(member_no="M00000001", name="王小明", joined_at=date(2025, 1, 1), industry="IT")
        )
        seeding.add(Member(member_no="M00000002", name="李小红", joined_at=date(2025, 2, 1)))
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_consent_records_show_the_latest_choice_per_channel(session: Session) -> None:
    lifecycle.set_consent(session, CLERK, "M00000001", "sms", True, source="application")
    lifecycle.set_consent(session, CLERK, "M00000001", "sms", False, source="phone call")
    records = lifecycle.consent_records(session, "M00000001")
    assert list(records) == ["sms", "email", "letter", "phone"]
    assert (records["sms"].granted, records["sms"].source, records["sms"].recorded_by) == (
        False,
        "phone call",
        "clerk1",
    )
    assert records["email"].granted is False and records["email"].recorded_at is None


def test_pending_exits_oldest_first_and_per_member(session: Session) -> None:
    lifecycle.request_exit(session, CLERK, "M00000002", "normal", "moving abroad")
    lifecycle.request_exit(session, CLERK, "M00000001", "data_error")
    everyone = lifecycle.pending_exits(session)
    assert [item.member_no for item in everyone] == ["M00000002", "M00000001"]
    assert everyone[0].reason == "moving abroad" and everyone[0].requested_by == "clerk1"
    assert [i.exit_type for i in lifecycle.pending_exits(session, member_no="M00000001")] == [
        "data_error"
    ]


def test_edit_state_carries_the_version_to_send_back(session: Session) -> None:
    state = lifecycle.edit_state(session, "M00000001")
    assert state.values["industry"] == "IT"
    lifecycle.update_profile(
        session, CLERK, "M00000001", {"industry": "Finance"}, expected_version=state.version
    )
    assert lifecycle.edit_state(session, "M00000001").version == state.version + 1
    with pytest.raises(NotFound):
        lifecycle.edit_state(session, "M09999999")


def test_dictionary_lists_by_parent(session: Session) -> None:
    assert set(dictionary_codes(session, "card_type", parent="sub")) == {"cobrand", "discount"}
    assert set(dictionary_codes(session, "card_type", parent="main")) == {"ordinary", "vip"}
    assert "magazine" in dictionary_codes(session, "application_source", parent="service_centre")
    assert dictionary_codes(session, "application_source", parent="sales_site") == []
