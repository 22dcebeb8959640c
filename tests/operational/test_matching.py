"""Review matching: similar members and pending applications (operational.matching)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from operational import matching
from operational.idnumber import compute_check_digit
from operational.matching import Candidate, candidates_for_application, find_similar
from operational.models import Application, Member
from operational.names import name_key
from operational.services.common import NotFound

T0 = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)
WANG_ID = "11010519491231002X"
LI_ID = "310101198001010012"


def _member(no: str, name: str, **fields) -> Member:
    fields.setdefault("joined_at", date(2024, 5, 1))
    return Member(member_no=no, name=name, name_key=name_key(name), **fields)


def _application(name: str, **fields) -> Application:
    fields.setdefault("channel", "service_centre")
    fields.setdefault("status", "pending")
    fields.setdefault("submitted_at", T0)
    return Application(name=name, name_key=name_key(name), **fields)


def _seed(session: Session) -> dict[str, int]:
    rows = {
        "wang": _member(
            "M00000001",
            "王小明",
            id_number=WANG_ID,
            birthday=date(1949, 12, 31),
            mobile="13800138000",
            home_phone="010-62345678",
            email="xiaoming.wang@example.com",
        ),
        "li": _member(
            "M00000002",
            "李红",
            id_number=LI_ID,
            birthday=date(1980, 1, 1),
            mobile="13912345678",
        ),
        "gone": _member(  # archived: never a candidate
            "M00000003",
            "赵大海",
            mobile="13700001111",
            status="archived",
            archived_at=T0,
        ),
        "chen": _member("M00000004", "陈静", mobile="13655556666", birthday=date(1990, 5, 5)),
        # A pending application of somebody else, and an approved one (never a candidate).
        "pending": _application("刘洋", mobile="15011112222", birthday=date(1985, 3, 3)),
        "approved": _application("王小明", mobile="13800138000", status="approved"),
    }
    session.add_all(rows.values())
    session.flush()
    return {key: row.id for key, row in rows.items()}


@pytest.fixture
def db(op_db_url: str) -> Iterator[tuple[Session, dict[str, int]]]:
    engine = create_engine(op_db_url)
    with Session(engine) as seeding, seeding.begin():
        ids = _seed(seeding)
    with Session(engine) as session:
        yield session, ids
    engine.dispose()


def _first(found: list[Candidate]) -> Candidate:
    assert found, "no candidate found"
    return found[0]


def _swap(text: str, i: int, j: int) -> str:
    chars = list(text)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


# -- one slip at a time ---------------------------------------------------------------------------
def test_a_mobile_one_digit_off_finds_the_member(db) -> None:
    session, ids = db
    top = _first(find_similar(session, name="王小明", mobile="13800138009"))
    assert (top.kind, top.id, top.label) == ("member", ids["wang"], "M00000001")
    assert top.reasons == ("mobile_one_digit", "name")
    assert top.mobile_masked == "138****8000"
    assert top.status == "active"


@pytest.mark.parametrize(("i", "j"), [(5, 6), (3, 7)])
def test_two_swapped_digits_find_the_member(db, i, j) -> None:
    session, ids = db
    typed = _swap("13800138000", i, j)
    assert typed != "13800138000"
    top = _first(find_similar(session, name="王小明", mobile=typed))
    assert top.id == ids["wang"]
    assert top.reasons == ("mobile_swapped", "name")


def test_a_homophone_surname_is_found_by_its_sound_alone(db) -> None:
    session, ids = db
    # 汪 sounds like 王: no number at all, the pinyin key and the birthday find him.
    top = _first(find_similar(session, name="汪小明", birthday=date(1949, 12, 31)))
    assert top.id == ids["wang"]
    assert top.reasons == ("name_homophone", "birthday")


def test_a_homophone_given_name_with_the_same_mobile(db) -> None:
    session, ids = db
    top = _first(find_similar(session, name="王小铭", mobile="13800138000"))  # 铭 / 明
    assert top.id == ids["wang"]
    assert top.reasons == ("mobile", "name_homophone")


def test_a_near_homophone_surname_counts_as_homophone(db) -> None:
    session, ids = db
    # 程 (cheng) for 陈 (chen): not the same pinyin, the same to a southern ear.
    top = _first(find_similar(session, name="程静", mobile="13655556666"))
    assert top.id == ids["chen"]
    assert top.reasons == ("mobile", "name_homophone")


def test_a_look_alike_name_with_the_same_mobile(db) -> None:
    session, ids = db
    top = _first(find_similar(session, name="玉小明", mobile="13800138000"))  # 玉 looks like 王
    assert top.id == ids["wang"]
    assert top.reasons == ("mobile", "name_similar")


def test_an_id_number_with_one_digit_off_finds_the_member(db) -> None:
    session, ids = db
    typo = WANG_ID[:9] + "5" + WANG_ID[10:]  # birth year 1945: the check digit no longer fits
    assert compute_check_digit(typo[:17]) != typo[17]
    top = _first(find_similar(session, name="张三", id_number=typo))
    assert top.id == ids["wang"]
    assert top.reasons == ("id_number_one_digit",)
    # A mistyped check character only.
    top = _first(find_similar(session, name="李红", id_number=LI_ID[:17] + "X"))
    assert top.id == ids["li"]
    assert top.reasons == ("id_number_one_digit", "name", "birthday")


def test_every_kind_of_evidence_is_listed_strongest_first(db) -> None:
    session, ids = db
    top = _first(
        find_similar(
            session,
            name="王小明",
            id_number=WANG_ID.lower(),
            mobile="+86 138-0013-8000",
            home_phone="01062345678",
            email="XiaoMing.Wang@Example.com",
        )
    )
    assert top.id == ids["wang"]
    assert top.reasons == ("id_number", "mobile", "email", "home_phone", "name", "birthday")
    assert top.score == sum(matching.WEIGHTS[r] for r in top.reasons)


def test_the_home_phone_alone_finds_the_member(db) -> None:
    session, ids = db
    top = _first(find_similar(session, name="周杰", home_phone="010-62345678"))
    assert top.id == ids["wang"]
    assert top.reasons == ("home_phone",)


# -- ordering, exclusions -------------------------------------------------------------------------
def test_more_evidence_ranks_first_and_namesakes_do_not_swamp_a_phone_match(db) -> None:
    session, ids = db
    # 60 namesakes of 王小明 (more than are read by name); the one born the same day is last.
    for n in range(60):
        session.add(_member(f"M1{n:07d}", "王小明", mobile=f"1590000{n:04d}"))
    twin = _member("M19999999", "王小明", mobile="15999999999", birthday=date(1949, 12, 31))
    session.add(twin)
    session.flush()
    assert matching.NAME_ONLY_CAP < 61

    found = find_similar(
        session, name="王小明", mobile="13800138001", birthday=date(1949, 12, 31), limit=5
    )
    assert len(found) == 5
    assert [c.id for c in found[:2]] == [ids["wang"], twin.id]
    assert found[0].reasons == ("mobile_one_digit", "name", "birthday")
    assert found[1].reasons == ("name", "birthday")
    assert found[0].score > found[1].score > found[2].score
    assert all(c.reasons == ("name",) for c in found[2:])
    # Equal evidence: oldest first, every time.
    assert [c.id for c in found[2:]] == sorted(c.id for c in found[2:])


def test_a_contradicting_birthday_or_id_number_lowers_the_score(db) -> None:
    session, ids = db
    same = _first(find_similar(session, name="李红", mobile="13912345678"))
    other_day = _first(
        find_similar(session, name="李红", mobile="13912345678", birthday=date(1981, 2, 2))
    )
    other_id = _first(
        find_similar(session, name="李红", mobile="13912345678", id_number="110105199001010012")
    )
    assert same.id == other_day.id == other_id.id == ids["li"]
    assert same.score > other_day.score > other_id.score


def test_archived_members_are_left_out(db) -> None:
    session, ids = db
    found = find_similar(session, name="赵大海", mobile="13700001111")
    assert ids["gone"] not in {c.id for c in found if c.kind == "member"}
    session.get(Member, ids["gone"]).status = "active"  # restored: found again
    session.flush()
    top = _first(find_similar(session, name="赵大海", mobile="13700001111"))
    assert (top.id, top.reasons) == (ids["gone"], ("mobile", "name"))


def test_pending_applications_are_candidates_and_the_application_itself_is_not(db) -> None:
    session, ids = db
    found = find_similar(session, name="刘洋", mobile="15011112223")
    top = _first(found)
    assert (top.kind, top.id, top.label, top.status) == (
        "application",
        ids["pending"],
        f"A{ids['pending']}",
        "pending",
    )
    assert top.reasons == ("mobile_one_digit", "name")
    found = find_similar(
        session, name="刘洋", mobile="15011112222", exclude_application_id=ids["pending"]
    )
    assert ids["pending"] not in {c.id for c in found if c.kind == "application"}
    # The approved application of 王小明 is decided: only the member shows.
    found = find_similar(session, name="王小明", mobile="13800138000")
    assert [(c.kind, c.id) for c in found] == [("member", ids["wang"])]


def test_candidates_for_an_application(db) -> None:
    session, ids = db
    app = _application(
        "王大明", mobile="13800183000", birthday=date(1949, 12, 31), email="a@example.com"
    )
    session.add(app)
    session.flush()
    found = candidates_for_application(session, app.id)
    assert [c.id for c in found if c.kind == "application"] == []  # not itself
    top = _first(found)
    assert top.id == ids["wang"]
    assert top.reasons == ("mobile_swapped", "birthday", "name_similar")
    # 王大明 (one character off) is itself a candidate of another look-alike.
    found = find_similar(session, name="王大明", mobile="13800183000")
    assert ("application", app.id) in {(c.kind, c.id) for c in found}
    with pytest.raises(NotFound):
        candidates_for_application(session, 999_999)


def test_nothing_similar_gives_no_candidates(db) -> None:
    session, _ = db
    assert find_similar(session, name="欧阳修", mobile="18600000000") == []


def test_variants_keep_the_mobile_shape() -> None:
    variants = matching.mobile_variants("13800138000")
    assert "13800138000" in variants
    assert "13800138001" in variants  # one digit off
    assert "13800183000" in variants  # adjacent swap
    assert _swap("13800138000", 2, 9) in variants  # any pair
    assert all(len(v) == 11 and v.startswith("1") for v in variants)
    ids = matching.id_number_variants(WANG_ID)
    assert WANG_ID[:3] + "9" + WANG_ID[4:] in ids and WANG_ID[:17] + "0" in ids
    assert len(ids) == 1 + 17 * 9 + 10


def test_only_index_lookups_are_used_on_sqlite(tmp_path) -> None:
    from operational.bootstrap import initialise

    url = f"sqlite:///{tmp_path / 'plans.sqlite'}"
    initialise(url, admin_password="admin-password-1")
    engine = create_engine(url)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    with Session(engine) as session:
        find_similar(
            session,
            name="王小明",
            id_number=WANG_ID,
            mobile="13800138000",
            home_phone="010-62345678",
            email="a@example.com",
            birthday=date(1949, 12, 31),
            exclude_application_id=1,
        )
    event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 4  # blocks and the capped name lookup, per table
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        for statement, parameters in statements:
            plan = [r[-1] for r in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters)]
            assert not [step for step in plan if step.startswith("SCAN")], plan
            assert any("USING INDEX" in step for step in plan), plan
    engine.dispose()
