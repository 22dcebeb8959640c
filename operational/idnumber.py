"""Chinese resident ID numbers (居民身份证号码, GB 11643-1999): check digit and parsing.

Layout of the 18 characters: 6-digit administrative region code (its first two digits are the
province, the ``region`` dictionary code), 8-digit birth date ``YYYYMMDD``, 3-digit sequence
(its last digit is odd for men, even for women) and an ISO 7064 MOD 11-2 check character
(``0``-``9`` or ``X``). Review matches applications on this number, so it must be checked before
it is trusted; the demo generator and the validation of imports both use this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (sum of digit * weight) mod 11 = index.
CHECK_CHARACTERS = "10X98765432"

_FORMAT = re.compile(r"^\d{17}[\dX]$")


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character resident ID number; the message says why."""


@dataclass(frozen=True)
class IdNumberInfo:
    region_code: str  # 6 digits, e.g. "110105"
    province_code: str  # 2 digits, e.g. "11" (the region dictionary code)
    birth_date: date
    gender: str  # "M" (odd 17th digit) or "F"
    sequence: str  # digits 15-17


def normalise(id_number: str) -> str:
    """Strip blanks and upper-case a trailing ``x`` (clerks type both)."""
    return id_number.strip().upper()


def compute_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise InvalidIdNumber(f"need exactly 17 digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11]


def parse(id_number: str) -> IdNumberInfo:
    """Check format, birth date and check digit; return the facts inside the number."""
    value = normalise(id_number)
    if not _FORMAT.match(value) or not value.isascii():
        raise InvalidIdNumber("an ID number has 17 digits followed by a digit or X")
    if value[:2] == "00":
        raise InvalidIdNumber(f"{value[:6]} is not a region code")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(f"{value[6:14]} is not a birth date") from exc
    if born.year < 1900:
        raise InvalidIdNumber(f"birth year {born.year} is before 1900")
    expected = compute_check_digit(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(f"check digit is {value[17]}, expected {expected}")
    return IdNumberInfo(
        region_code=value[:6],
        province_code=value[:2],
        birth_date=born,
        gender="M" if int(value[16]) % 2 == 1 else "F",
        sequence=value[14:17],
    )


def is_valid(id_number: str | None) -> bool:
    """True when ``id_number`` is a well-formed number with a correct check digit."""
    if not id_number:
        return False
    try:
        parse(id_number)
    except InvalidIdNumber:
        return False
    return True


def birth_date(id_number: str) -> date:
    return parse(id_number).birth_date


def gender(id_number: str) -> str:
    return parse(id_number).gender


def region_code(id_number: str) -> str:
    return parse(id_number).region_code
