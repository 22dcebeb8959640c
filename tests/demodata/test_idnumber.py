"""Resident ID numbers (operational/idnumber.py)."""

from __future__ import annotations

from datetime import date

import pytest

from operational.idnumber import (
    InvalidIdNumber,
    compute_check_digit,
    is_valid,
    parse,
)


def test_the_standard_examples() -> None:
    # The worked example of GB 11643-1999, and one with a numeric check digit.
    assert compute_check_digit("11010519491231002") == "X"
    assert is_valid("11010519491231002X")
    assert is_valid("11010519491231002x")  # typed in lower case
    info = parse("11010519491231002X")
    assert info.region_code == "110105" and info.province_code == "11"
    assert info.birth_date == date(1949, 12, 31)
    assert info.gender == "F"  # 17th digit 2 is even
    other = parse("440305198511204563")
    assert other.gender == "F" and other.birth_date == date(1985, 11, 20)
    assert parse("31010419900307123X").gender == "M"  # 17th digit 3 is odd
    assert not is_valid("440524188001010014")  # the standard's 1880 example: not a member


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "11010519491331002X",  # month 13
        "1101051949123100",  # too short
        "11010519491231002Y",
        "00010519491231002X",
        None,
        "",
    ],
)
def test_invalid_numbers(value) -> None:
    assert not is_valid(value)


def test_parse_says_why() -> None:
    with pytest.raises(InvalidIdNumber, match="check digit"):
        parse("110105194912310021")
    with pytest.raises(InvalidIdNumber, match="birth date"):
        parse("110105194913310020")
