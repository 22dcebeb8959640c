"""The dictionary as an admin edits it (operational.services.dictionary), on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from operational.services.common import (
    Actor,
    NotAllowed,
    NotFound,
    ValidationFailed,
    check_code,
    dictionary_codes,
)
from operational.services.dictionary import (
    CATEGORIES,
    add_item,
    all_labels,
    deactivate_item,
    list_categories,
    list_items,
    update_item,
)

ADMIN = Actor("admin", "admin")
REVIEWER = Actor("rev1", "reviewer")


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_categories_have_names_in_both_languages_and_counts(session: Session) -> None:
    categories = {c.code: c for c in list_categories(session)}
    assert list(categories)[: len(CATEGORIES)] == list(CATEGORIES)
    region = categories["region"]
    assert (region.name_zh, region.name_en) == ("地区", "Regions")
    assert region.items == region.active_items == 12
    assert categories["merchant_type"].items == 6
    items = list_items(session, "complaint_channel")
    assert [i.code for i in items][:2] == ["written", "phone"]  # the admin's sort order
    assert items[0].label_zh == "书面" and items[0].label_en == "Written"


def test_an_admin_adds_an_item_last_in_its_category(session: Session) -> None:
    item = add_item(
        session,
        ADMIN,
        category="merchant_type",
        code=" pet_care ",
        label_zh="宠物",
        label_en="Pets",
    )
    session.commit()
    assert (item.code, item.active, item.sort_order) == ("pet_care", True, 70)
    assert dictionary_codes(session, "merchant_type")[-1] == "pet_care"
    assert check_code(session, "merchant_type", "pet_care", "merchant_type") is None
    new_category = add_item(
        session, ADMIN, category="vip_lounge", code="a1", label_zh="甲", label_en="A",
        sort_order=5, parent_code="vip",
    )  # fmt: skip
    session.commit()
    assert (new_category.sort_order, new_category.parent_code) == (5, "vip")
    assert "vip_lounge" in [c.code for c in list_categories(session)]


def test_bad_items_are_refused_with_every_problem(session: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        add_item(session, ADMIN, category="region", code="11", label_zh="", label_en=" ")
    assert {(p.field, p.code) for p in refused.value.problems} == {
        ("dictionary_code", "dictionary_code_taken"),
        ("dictionary_label_zh", "required"),
        ("dictionary_label_en", "required"),
    }
    session.rollback()
    for bad in ("Pet Care", "pet-care", "宠物", "x" * 41):
        with pytest.raises(ValidationFailed) as refused:
            add_item(
                session, ADMIN, category="merchant_type", code=bad, label_zh="宠", label_en="P"
            )
        assert refused.value.problems[0].code == "dictionary_code_format", bad
        session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        add_item(
            session, ADMIN, category="region", code="99", label_zh="很" * 101, label_en="x",
            sort_order=-1,
        )  # fmt: skip
    assert {p.code for p in refused.value.problems} == {"too_long", "invalid_number"}
    session.rollback()
    assert len(list_items(session, "region")) == 12


def test_labels_order_and_parent_are_edited_but_codes_never_change(session: Session) -> None:
    item = update_item(
        session, ADMIN, category="region", code="11", label_zh="北京市", label_en="Beijing City",
        sort_order=500,
    )  # fmt: skip
    session.commit()
    assert (item.code, item.label_zh, item.label_en, item.sort_order) == (
        "11", "北京市", "Beijing City", 500,
    )  # fmt: skip
    assert dictionary_codes(session, "region")[-1] == "11"
    assert all_labels(session)[("region", "11")] == ("北京市", "Beijing City")
    source = update_item(session, ADMIN, category="application_source", code="sp", parent_code="")
    assert source.parent_code is None
    with pytest.raises(ValidationFailed):
        update_item(session, ADMIN, category="region", code="11", label_en="")
    session.rollback()
    with pytest.raises(NotFound):
        update_item(session, ADMIN, category="region", code="98", label_zh="x")


def test_a_deactivated_item_keeps_its_label_but_new_entries_refuse_it(session: Session) -> None:
    deactivate_item(session, ADMIN, category="exit_type", code="expired")
    session.commit()
    assert "expired" not in dictionary_codes(session, "exit_type")
    problem = check_code(session, "exit_type", "expired", "exit_type")
    assert problem is not None and problem.code == "unknown_code"
    assert all_labels(session)[("exit_type", "expired")] == ("过期", "Expired")
    assert [i.code for i in list_items(session, "exit_type", include_inactive=False)] == [
        "normal", "contact_invalid", "data_error",
    ]  # fmt: skip
    update_item(session, ADMIN, category="exit_type", code="expired", active=True)
    session.commit()
    assert "expired" in dictionary_codes(session, "exit_type")


def test_only_admins_change_the_dictionary(session: Session) -> None:
    with pytest.raises(NotAllowed):
        add_item(session, REVIEWER, category="region", code="99", label_zh="x", label_en="x")
    with pytest.raises(NotAllowed):
        update_item(session, REVIEWER, category="region", code="11", label_zh="x")
    assert list_categories(session)  # reading needs no role
