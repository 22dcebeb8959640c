"""Chinese resident ID numbers (居民身份证号码, GB 11643-1999): check digit and parsing.

Layout of the 18 characters: 6-digit administrative region code (its first two digits are the
province, the ``region`` dictionary code), 8-digit birth date ``YYYYMMDD``, 3-digit sequence
(its last digit is odd for men, even for women) and an ISO 7064 MOD 11-2 check character
(``0``-``9`` or ``X``). Review matches applications on this number, so it must be checked before
it is trusted; the demo generator and the validation of imports both use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (sum of digit * weight) mod 11 = index.
CHECK_CHARACTERS = "10X98765432"


class InvalidIdNumber(ValueError):
    """The text is not a valid 18-character resident ID number; the message says why.

    ``code`` names the rule that failed (``id_length``, ``id_format``, ``id_region``,
    ``id_birth_date``, ``id_check_digit``) and ``params`` holds what a page needs to say it in
    another language (e.g. the expected check digit).
    """

    def __init__(self, message: str, *, code: str = "id_invalid", **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


#: Province-level codes (the first two digits of the region code) that exist: GB/T 2260.
PROVINCE_CODES = frozenset(
    [str(n) for n in range(11, 16)]
    + [str(n) for n in range(21, 24)]
    + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)]
    + [str(n) for n in range(50, 55)]
    + [str(n) for n in range(61, 66)]
    + ["71", "81", "82"]
)


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


def parse(id_number: str, *, today: date | None = None) -> IdNumberInfo:
    """Check length, characters, province, birth date and check digit; return the facts inside.

    The birth date may not be after ``today`` (default: the local date) nor before 1900.
    """
    value = normalise(id_number)
    if len(value) != 18:
        hint = (
            "old 15-digit numbers are no longer in use; ask for the 18-character number"
            if len(value) == 15 and value.isdigit()
            else "re-check the number on the ID card"
        )
        raise InvalidIdNumber(
            f"an ID number has 18 characters, this one has {len(value)} — {hint}",
            code="id_length",
            length=len(value),
            expected_length=18,
        )
    for position, character in enumerate(value, start=1):
        allowed = "0123456789X" if position == 18 else "0123456789"
        if character not in allowed:
            what = "a digit or X" if position == 18 else "a digit"
            raise InvalidIdNumber(
                f"character {position} is {character!r}, it must be {what} — "
                "re-check the number on the ID card",
                code="id_format",
                position=position,
                character=character,
            )
    if value[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber(
            f"region code {value[:6]} starts with {value[:2]}, which is not a province — "
            "re-check the first two digits",
            code="id_region",
            region_code=value[:6],
            province_code=value[:2],
        )
    digits = value[6:14]
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(
            f"{digits} (characters 7-14) is not a birth date — re-check the birth date digits",
            code="id_birth_date",
            birth_date=digits,
            reason="impossible",
        ) from exc
    if born.year < 1900:
        raise InvalidIdNumber(
            f"birth date {born.isoformat()} is before 1900 — re-check the birth date digits",
            code="id_birth_date",
            birth_date=digits,
            reason="before_1900",
        )
    if born > (today or date.today()):
        raise InvalidIdNumber(
            f"birth date {born.isoformat()} is in the future — re-check the birth date digits",
            code="id_birth_date",
            birth_date=digits,
            reason="future",
        )
    expected = compute_check_digit(value[:17])
    if value[17] != expected:
        raise InvalidIdNumber(
            f"check digit is {value[17]}, expected {expected} — re-check the last character and "
            "the digits before it",
            code="id_check_digit",
            actual=value[17],
            expected=expected,
        )
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
