"""Cleaning and checking a person's data (operational.validation)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from operational.idnumber import compute_check_digit
from operational.services.common import ValidationFailed
from operational.services.members import normalize_mobile
from operational.validation import (
    clean_email,
    clean_home_phone,
    clean_id_number,
    clean_mobile,
    id_number_problem,
    normalise_text,
    validate_applicant,
)

TODAY = date(2025, 6, 30)
WANG_ID = "11010519491231002X"  # GB 11643 example: Beijing, 1949-12-31, female


def _with_check_digit(first17: str) -> str:
    return first17 + compute_check_digit(first17)


@pytest.fixture
def session(op_db_url: str) -> Iterator[Session]:
    engine = create_engine(op_db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _codes(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {problem.field: problem.code for problem in excinfo.value.problems}


# -- normalising --------------------------------------------------------------------------------
def test_text_is_folded_to_half_width_and_blanks_are_collapsed() -> None:
    assert normalise_text("  王　小明  ") == "王 小明"  # ideographic space folded, then collapsed
    assert normalise_text("ＡＢＣ　１２３") == "ABC 123"
    assert normalise_text("   ") is None
    assert normalise_text(None) is None
    assert normalise_text(13800138000.0) == "13800138000"  # a spreadsheet cell read as a number


def test_id_number_full_width_digits_blanks_and_lower_case_x_are_normalised() -> None:
    assert clean_id_number(" １１０１０５ １９４９１２３１ ００２ｘ ") == WANG_ID
    assert clean_id_number("110105-19491231-002x") == WANG_ID
    assert clean_id_number("") is None
    assert id_number_problem("１１０１０５１９４９１２３１００２ｘ") is None


@pytest.mark.parametrize(
    "typed",
    [
        "+86 138 0013 8000",
        "＋８６ １３８－００１３－８０００",
        "0086-138-0013-8000",
        "(138) 0013 8000",
    ],
)
def test_mobiles_are_cleaned_to_eleven_digits(typed: str) -> None:
    assert clean_mobile(typed) == "13800138000"
    assert normalize_mobile(typed) == "13800138000"  # the desk search agrees


@pytest.mark.parametrize("typed", ["1380013800", "23800138000", "138001380001", "abc"])
def test_a_mobile_that_is_not_eleven_digits_starting_with_1_is_refused(typed: str) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        clean_mobile(typed)
    [problem] = excinfo.value.problems
    assert (problem.field, problem.code, problem.params["value"]) == (
        "mobile",
        "mobile_format",
        typed,
    )
    assert "11 digits starting with 1" in problem.message


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("010-62345678", "010-62345678"),
        ("（010）6234 5678", "010-62345678"),
        ("01062345678", "010-62345678"),
        ("0755 12345678", "0755-12345678"),
        ("075512345678", "0755-12345678"),
        ("6234567", "6234567"),
        ("+86 10 6234 5678", "010-62345678"),
    ],
)
def test_home_phones_keep_area_code_dash_and_local_number(typed: str, stored: str) -> None:
    assert clean_home_phone(typed) == (stored, None)


@pytest.mark.parametrize(
    ("typed", "reason"), [("12345", "format"), ("010-123", "format"), ("13800138000", "is_mobile")]
)
def test_bad_home_phones_are_reported(typed: str, reason: str) -> None:
    value, problem = clean_home_phone(typed)
    assert value is None and problem is not None
    assert (problem.code, problem.params["reason"]) == ("phone_format", reason)


def test_email_is_checked_without_a_network_look_up() -> None:
    assert clean_email(" Wang.Xiaoming@Example.COM ") == ("Wang.Xiaoming@example.com", None)
    assert clean_email("ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ") == ("wang@example.cn", None)
    for bad in ("wang@", "wang.example.com", "wang@@example.com"):
        value, problem = clean_email(bad)
        assert value is None and problem is not None and problem.code == "email_format"


# -- the ID number rules ------------------------------------------------------------------------
def test_check_digit_message_names_the_expected_digit() -> None:
    problem = id_number_problem("110105194912310025")
    assert problem is not None
    assert (problem.field, problem.code) == ("id_number", "id_check_digit")
    assert problem.params == {"value": "110105194912310025", "actual": "5", "expected": "X"}
    assert "check digit is 5, expected X" in problem.message


@pytest.mark.parametrize(
    ("value", "code", "params"),
    [
        ("11010519491231002", "id_length", {"length": 17, "expected_length": 18}),
        ("110105491231002", "id_length", {"length": 15, "expected_length": 18}),
        ("11010519491231O02X", "id_format", {"position": 15, "character": "O"}),
        ("11010519491231002Y", "id_format", {"position": 18, "character": "Y"}),
        (_with_check_digit("99010519491231002"), "id_region", {"province_code": "99"}),
        (_with_check_digit("00010519491231002"), "id_region", {"province_code": "00"}),
        (_with_check_digit("19010519491231002"), "id_region", {"province_code": "19"}),
        (
            _with_check_digit("11010519491331002"),
            "id_birth_date",
            {"birth_date": "19491331", "reason": "impossible"},
        ),
        (
            _with_check_digit("11010519490230002"),
            "id_birth_date",
            {"birth_date": "19490230", "reason": "impossible"},
        ),
        (
            _with_check_digit("11010520990101002"),
            "id_birth_date",
            {"birth_date": "20990101", "reason": "future"},
        ),
        (
            _with_check_digit("11010518800101002"),
            "id_birth_date",
            {"birth_date": "18800101", "reason": "before_1900"},
        ),
    ],
)
def test_id_number_problems_say_which_part_is_wrong(value: str, code: str, params: dict) -> None:
    problem = id_number_problem(value, today=TODAY)
    assert problem is not None
    assert problem.code == code
    assert params.items() <= problem.params.items()
    assert problem.message.startswith(f"ID number {value}:")
    assert "—" in problem.message  # says what to do, not only what is wrong


def test_an_old_fifteen_digit_number_asks_for_the_new_one() -> None:
    problem = id_number_problem("110105491231002")
    assert problem is not None and "18-character" in problem.message


def test_every_real_province_code_is_accepted() -> None:
    provinces = ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65"]
    provinces += ["71", "81", "82"]
    for province in provinces:
        assert id_number_problem(_with_check_digit(f"{province}010519800101002")) is None
    for province in ["10", "16", "20", "24", "30", "38", "40", "47", "55", "60", "66", "72"]:
        problem = id_number_problem(_with_check_digit(f"{province}010519800101002"))
        assert problem is not None and problem.code == "id_region", province


# -- a whole applicant ----------------------------------------------------------------------------
def test_valid_applicant_is_cleaned_and_birthday_gender_region_come_from_the_id(
    session: Session,
) -> None:
    applicant = validate_applicant(
        session,
        {
            "name": " 王 小明 ",
            "id_number": "１１０１０５１９４９１２３１００２ｘ",
            "mobile": "+86 138 0013 8000",
            "home_phone": "(010) 6234-5678",
            "email": "wang@example.com",
            "address": "北京市　朝阳区  建国路 1号",
            "consent_channels": "短信, email",
            "channel": "service_centre",  # other keys are ignored
        },
    )
    assert applicant.name == "王小明"
    assert applicant.id_number == WANG_ID
    assert (applicant.gender, applicant.birthday) == ("F", date(1949, 12, 31))
    assert applicant.region == "11"  # Beijing, from the ID's first two digits
    assert applicant.mobile == "13800138000"
    assert applicant.home_phone == "010-62345678"
    assert applicant.address == "北京市 朝阳区 建国路 1号"
    assert applicant.consent_channels == ("sms", "email")


def test_region_is_not_derived_when_the_dictionary_lacks_the_province(session: Session) -> None:
    hebei = _with_check_digit("13010219800101003")  # 13 = Hebei, not in the default dictionary
    applicant = validate_applicant(session, {"name": "赵四", "id_number": hebei})
    assert applicant.region is None
    assert (applicant.gender, applicant.birthday) == ("M", date(1980, 1, 1))


def test_region_given_as_code_or_label_and_an_unknown_one_is_reported(session: Session) -> None:
    for given in ("44", "广东", "广东省", "guangdong"):
        applicant = validate_applicant(
            session, {"name": "李雷", "mobile": "13912345678", "region": given}
        )
        assert applicant.region == "44", given
    # A given region wins over the ID's province.
    applicant = validate_applicant(
        session, {"name": "王小明", "id_number": WANG_ID, "region": "31"}
    )
    assert applicant.region == "31"
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(session, {"name": "李雷", "mobile": "13912345678", "region": "火星"})
    [problem] = excinfo.value.problems
    assert (problem.field, problem.code, problem.params["value"]) == (
        "region",
        "unknown_code",
        "火星",
    )


def test_all_problems_are_reported_at_once(session: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(
            session,
            {
                "name": "  ",
                "id_number": "110105194912310025",
                "mobile": "138 0013 800",
                "home_phone": "12-34",
                "email": "wang@",
                "region": "99",
                "consent_channels": "sms, fax",
                "birthday": "1985-13-01",
                "gender": "X",
            },
        )
    assert _codes(excinfo) == {
        "name": "required",
        "id_number": "id_check_digit",
        "mobile": "mobile_format",
        "home_phone": "phone_format",
        "email": "email_format",
        "region": "unknown_code",
        "consent_channels": "unknown_code",
        "birthday": "birthday_format",
        "gender": "gender_format",
    }
    message = str(excinfo.value)
    assert "check digit is 5, expected X" in message and "name:" in message


def test_birthday_and_gender_that_disagree_with_the_id_name_both_values(session: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(
            session,
            {"name": "王小明", "id_number": WANG_ID, "birthday": "1949/12/30", "gender": "男"},
        )
    problems = {p.code: p for p in excinfo.value.problems}
    assert set(problems) == {"birthday_mismatch", "gender_mismatch"}
    assert problems["birthday_mismatch"].params == {"given": "1949-12-30", "from_id": "1949-12-31"}
    assert problems["gender_mismatch"].params == {"given": "M", "from_id": "F"}
    assert "1949-12-30" in problems["birthday_mismatch"].message
    assert "1949-12-31" in problems["birthday_mismatch"].message
    # Agreeing values (in any accepted spelling) are fine.
    applicant = validate_applicant(
        session,
        {"name": "王小明", "id_number": WANG_ID, "birthday": "1949年12月31日", "gender": "女"},
    )
    assert (applicant.gender, applicant.birthday) == ("F", date(1949, 12, 31))


def test_birthday_and_gender_without_an_id_are_kept_as_given(session: Session) -> None:
    applicant = validate_applicant(
        session, {"name": "Li Lei", "mobile": "13912345678", "birthday": date(1990, 5, 4)}
    )
    assert (applicant.name, applicant.birthday, applicant.gender) == (
        "Li Lei",
        date(1990, 5, 4),
        None,
    )


def test_an_id_number_or_a_mobile_is_required_and_callers_may_require_both(
    session: Session,
) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(session, {"name": "王小明", "email": "wang@example.com"})
    assert _codes(excinfo) == {"id_number": "id_or_mobile_required"}

    assert (
        validate_applicant(session, {"name": "王小明", "mobile": "13800138000"}).id_number is None
    )
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(
            session,
            {"name": "王小明", "mobile": "13800138000"},
            require_id_number=True,
            require_mobile=True,
        )
    assert _codes(excinfo) == {"id_number": "required"}
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(session, {"name": "王小明"}, require_id_number=True, require_mobile=True)
    assert _codes(excinfo) == {"id_number": "required", "mobile": "required"}


def test_too_long_text_is_reported_with_the_limit(session: Session) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        validate_applicant(session, {"name": "王" * 101, "mobile": "13800138000"})
    [problem] = excinfo.value.problems
    assert (problem.code, problem.params) == ("too_long", {"length": 101, "max": 100})
