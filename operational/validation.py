"""Cleaning and checking a person's data before it is stored (applications, imports, edits).

Clerks type on Chinese keyboards and legacy files carry whatever was typed: full-width digits
(１３８…), an ideographic space, a lower-case ``x`` at the end of an ID number, ``+86`` and dashes
in a mobile. Everything is folded first (NFKC) and then checked; each problem names the field,
carries a stable ``code`` with the ``params`` a page needs to say it in Chinese, and an English
message that says what is wrong and what to do. :func:`validate_applicant` reports every problem
of a record at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from operational import idnumber
from operational.models import DictionaryItem
from operational.names import clean_name
from operational.services.common import Problem, ValidationFailed, check_code

#: Channels a member can agree (or refuse) to be contacted on.
CONSENT_CHANNELS = ("sms", "email", "letter", "phone")

_CONSENT_ALIASES = {
    "sms": "sms",
    "短信": "sms",
    "text": "sms",
    "email": "email",
    "e-mail": "email",
    "mail": "email",
    "电子邮件": "email",
    "邮件": "email",
    "邮箱": "email",
    "letter": "letter",
    "post": "letter",
    "信函": "letter",
    "信件": "letter",
    "phone": "phone",
    "电话": "phone",
}
_GENDER_ALIASES = {"m": "M", "male": "M", "男": "M", "f": "F", "female": "F", "女": "F"}

# Field sizes of the members/applications tables.
MAX_LENGTHS = {"name": 100, "email": 200, "address": 300, "industry": 60}

_BLANKS = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―().]")
_MAINLAND_MOBILE = re.compile(r"1\d{10}")
_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


@dataclass
class Applicant:
    """Cleaned, validated person data, ready to be stored."""

    name: str
    id_number: str | None
    gender: str | None  # "M"/"F"; derived from id_number when present
    birthday: date | None  # derived from id_number when present
    mobile: str | None  # 11 digits
    home_phone: str | None  # digits with optional area-code dash, e.g. "010-62345678"
    email: str | None
    address: str | None
    region: str | None  # dictionary region code; from the ID's province when absent and known
    consent_channels: tuple[str, ...] = ()  # subset of CONSENT_CHANNELS


# -- normalising --------------------------------------------------------------------------------
def normalise_text(value: object) -> str | None:
    """Full-width forms folded (NFKC), blanks collapsed and stripped; blank -> None.

    Whole floats (a mobile read from a spreadsheet as 13800138000.0) lose their ``.0``.
    """
    if value is None:
        return None
    if isinstance(value, float):
        if value != value:  # NaN: an empty spreadsheet cell
            return None
        if value.is_integer():
            value = int(value)
    text = _BLANKS.sub(" ", unicodedata.normalize("NFKC", str(value))).strip()
    return text or None


def clean_id_number(value: object) -> str | None:
    """An ID number as stored: folded, without blanks or dashes, a trailing ``x`` upper-cased.

    Raises nothing; :func:`id_number_problem` says whether the result is a valid number.
    """
    text = normalise_text(value)
    if text is None:
        return None
    return re.sub(r"[\s\-]", "", text).upper() or None


def mobile_digits(value: object) -> str | None:
    """The 11 digits of a mainland mobile written as '+86 138-0013-8000', '0086…' or plain.

    None when ``value`` is not a mobile number.
    """
    text = normalise_text(value)
    if text is None:
        return None
    digits = _PHONE_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
            break
    return digits if _MAINLAND_MOBILE.fullmatch(digits) else None


def clean_mobile(value: object) -> str:
    """'+86 138 0013 8000' -> '13800138000'.

    Raises ``ValidationFailed([Problem])`` when the value is not 11 digits starting with 1.
    """
    mobile, problem = clean_mobile_field(value, "mobile")
    if problem is not None:
        raise ValidationFailed([problem])
    if mobile is None:
        raise ValidationFailed([_required("mobile", "a mobile number")])
    return mobile


# -- single fields ------------------------------------------------------------------------------
def id_number_problem(value: str, *, today: date | None = None) -> Problem | None:
    """What is wrong with an ID number (length, characters, region, birth date, check digit).

    None when it is a valid 18-character resident ID number.
    """
    cleaned = clean_id_number(value) or ""
    try:
        idnumber.parse(cleaned, today=today)
    except idnumber.InvalidIdNumber as exc:
        return Problem(
            "id_number",
            exc.code,
            f"ID number {cleaned or '(blank)'}: {exc}",
            {"value": cleaned, **exc.params},
        )
    return None


def _required(field: str, what: str) -> Problem:
    return Problem(field, "required", f"{what} is required — fill it in", {})


def _too_long(field: str, text: str) -> Problem | None:
    limit = MAX_LENGTHS.get(field)
    if limit is None or len(text) <= limit:
        return None
    return Problem(
        field,
        "too_long",
        f"{len(text)} characters is too long, at most {limit} fit — shorten it",
        {"length": len(text), "max": limit},
    )


def clean_name_field(value: object) -> tuple[str | None, Problem | None]:
    """A name as stored (see ``names.clean_name``) or the problem with it (blank: required)."""
    text = normalise_text(value)
    if text is None:
        return None, _required("name", "the name")
    name = clean_name(text)
    return name, _too_long("name", name)


def clean_mobile_field(value: object, field: str = "mobile") -> tuple[str | None, Problem | None]:
    """A mobile as stored (11 digits) or the problem with it; blank is (None, None)."""
    text = normalise_text(value)
    if text is None:
        return None, None
    mobile = mobile_digits(text)
    if mobile is not None:
        return mobile, None
    digits = re.sub(r"\D", "", text)
    return None, Problem(
        field,
        "mobile_format",
        f"{text!r} is not a mobile number: a mainland mobile has 11 digits starting with 1 "
        f"(+86 and spaces allowed), this has {len(digits)} digit(s) — re-check the number",
        {"value": text, "digits": len(digits)},
    )


def clean_home_phone(value: object) -> tuple[str | None, Problem | None]:
    """'(010) 6234 5678' -> '010-62345678'; a number without area code keeps its 7-8 digits."""
    text = normalise_text(value)
    if text is None:
        return None, None
    compact = _PHONE_SEPARATORS.sub("", text)
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact = "0" + compact.removeprefix(prefix).removeprefix("0")
    if compact.isdigit():
        # Area codes are 3 characters for 010 and 02x, 4 for the rest; the dash goes after it.
        split = (3 if compact[1:2] in ("1", "2") else 4) if compact.startswith("0") else 0
        area, local = compact[:split], compact[split:]
        if 7 <= len(local) <= 8:
            return (f"{area}-{local}" if area else local), None
    if mobile_digits(text) is not None:
        return None, Problem(
            "home_phone",
            "phone_format",
            f"{text!r} is a mobile number — enter it as the mobile, not the home phone",
            {"value": text, "reason": "is_mobile"},
        )
    return None, Problem(
        "home_phone",
        "phone_format",
        f"{text!r} is not a phone number: write an optional area code, a dash and the 7-8 digit "
        "local number, e.g. 010-62345678 — re-check it",
        {"value": text, "reason": "format"},
    )


def clean_email(value: object) -> tuple[str | None, Problem | None]:
    """A syntactically valid address (no network look-up); the domain lower-cased."""
    text = normalise_text(value)
    if text is None:
        return None, None
    text = text.replace(" ", "")
    try:
        email = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        return None, Problem(
            "email",
            "email_format",
            f"{text!r} is not an e-mail address ({exc}) — re-check it or leave it blank",
            {"value": text, "reason": str(exc)},
        )
    return email, _too_long("email", email)


def clean_region(session: Session, value: object) -> tuple[str | None, Problem | None]:
    """A region code of the dictionary; its Chinese or English label (北京, 北京市) is accepted."""
    text = normalise_text(value)
    if text is None:
        return None, None
    items = session.execute(
        select(DictionaryItem.code, DictionaryItem.label_zh, DictionaryItem.label_en).where(
            DictionaryItem.category == "region", DictionaryItem.active.is_(True)
        )
    ).all()
    wanted = text.casefold()
    for code, label_zh, label_en in items:
        names = {code.casefold(), label_zh.casefold(), label_en.casefold()}
        names |= {f"{label_zh}{suffix}" for suffix in ("省", "市")}
        if wanted in names:
            return code, None
    return None, check_code(session, "region", text, "region")


def clean_gender(value: object) -> tuple[str | None, Problem | None]:
    text = normalise_text(value)
    if text is None:
        return None, None
    gender = _GENDER_ALIASES.get(text.casefold())
    if gender is None:
        return None, Problem(
            "gender",
            "gender_format",
            f"{text!r} is not a gender — use M or F (男/女)",
            {"value": text},
        )
    return gender, None


def clean_birthday(
    value: object, *, today: date | None = None
) -> tuple[date | None, Problem | None]:
    """A date, or text such as 1985-11-20, 1985/11/20, 19851120, 1985年11月20日."""
    if value is None:
        return None, None
    if isinstance(value, datetime):
        born: date | None = value.date()
        text = value.isoformat()
    elif isinstance(value, date):
        born = value
        text = value.isoformat()
    else:
        text = normalise_text(value) or ""
        if not text:
            return None, None
        born = _parse_date(text.replace(" ", ""))
        if born is None:
            return None, Problem(
                "birthday",
                "birthday_format",
                f"{text!r} is not a date — write it as YYYY-MM-DD, e.g. 1985-11-20",
                {"value": text, "reason": "format"},
            )
    if born > (today or date.today()) or born.year < 1900:
        reason = "future" if born.year >= 1900 else "before_1900"
        return None, Problem(
            "birthday",
            "birthday_format",
            f"birthday {born.isoformat()} is "
            f"{'in the future' if reason == 'future' else 'before 1900'} — re-check it",
            {"value": text, "reason": reason},
        )
    return born, None


def _parse_date(text: str) -> date | None:
    for pattern in _DATE_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                return None
    return None


def clean_consent_channels(value: object) -> tuple[tuple[str, ...], Problem | None]:
    """'sms, email' / ['短信', '电话'] -> ('sms', 'phone') in the order of CONSENT_CHANNELS."""
    if value is None:
        return (), None
    if isinstance(value, str):
        parts: Iterable[object] = re.split(r"[,;，；、/|\s]+", normalise_text(value) or "")
    elif isinstance(value, Iterable):
        parts = value
    else:
        parts = [value]
    chosen: set[str] = set()
    unknown: list[str] = []
    for part in parts:
        text = normalise_text(part)
        if text is None:
            continue
        channel = _CONSENT_ALIASES.get(text.casefold())
        if channel is None:
            unknown.append(text)
        else:
            chosen.add(channel)
    channels = tuple(c for c in CONSENT_CHANNELS if c in chosen)
    if unknown:
        shown = ", ".join(CONSENT_CHANNELS)
        return channels, Problem(
            "consent_channels",
            "unknown_code",
            f"{', '.join(unknown)} is not a contact channel; choose from: {shown}",
            {"value": ", ".join(unknown), "choices": shown},
        )
    return channels, None


def clean_plain(field: str, value: object) -> tuple[str | None, Problem | None]:
    """Free text (address, industry): folded and trimmed, within the column's size."""
    text = normalise_text(value)
    if text is None:
        return None, None
    return text, _too_long(field, text)


# -- a whole record -----------------------------------------------------------------------------
def validate_applicant(
    session: Session,
    data: Mapping[str, object],
    *,
    require_id_number: bool = False,
    require_mobile: bool = False,
    today: date | None = None,
) -> Applicant:
    """Clean and check one person's data; raise ``ValidationFailed`` with every problem found.

    Keys read: name, id_number, gender, birthday, mobile, home_phone, email, address, region,
    consent_channels (others are ignored). The name and at least one of ID number and mobile are
    required. Gender and birthday come from a valid ID number; when they are given as well they
    must agree with it. The region comes from the ID's province when not given and the
    dictionary knows it.
    """
    problems: list[Problem] = []

    def keep(value, problem):
        if problem is not None:
            problems.append(problem)
        return value

    name = keep(*clean_name_field(data.get("name")))

    id_number = clean_id_number(data.get("id_number"))
    info: idnumber.IdNumberInfo | None = None
    if id_number is not None:
        problem = id_number_problem(id_number, today=today)
        if problem is None:
            info = idnumber.parse(id_number, today=today)
        else:
            problems.append(problem)
    elif require_id_number:
        problems.append(_required("id_number", "the ID number"))

    mobile = keep(*clean_mobile_field(data.get("mobile"), "mobile"))
    if mobile is None and require_mobile and normalise_text(data.get("mobile")) is None:
        problems.append(_required("mobile", "the mobile number"))
    if (
        not require_id_number
        and not require_mobile
        and normalise_text(data.get("id_number")) is None
        and normalise_text(data.get("mobile")) is None
    ):
        problems.append(
            Problem(
                "id_number",
                "id_or_mobile_required",
                "neither an ID number nor a mobile was given — fill in at least one of them",
                {},
            )
        )

    home_phone = keep(*clean_home_phone(data.get("home_phone")))
    email = keep(*clean_email(data.get("email")))
    address = keep(*clean_plain("address", data.get("address")))
    consent_channels = keep(*clean_consent_channels(data.get("consent_channels")))

    gender = keep(*clean_gender(data.get("gender")))
    birthday = keep(*clean_birthday(data.get("birthday"), today=today))
    if info is not None:
        if gender is not None and gender != info.gender:
            problems.append(_mismatch("gender", gender, info.gender, id_number))
        if birthday is not None and birthday != info.birth_date:
            problems.append(
                _mismatch("birthday", birthday.isoformat(), info.birth_date.isoformat(), id_number)
            )
        gender, birthday = info.gender, info.birth_date

    region = keep(*clean_region(session, data.get("region")))
    if region is None and normalise_text(data.get("region")) is None:
        region = region_from_id(session, info)

    if problems:
        raise ValidationFailed(problems)
    assert name is not None
    return Applicant(
        name=name,
        id_number=id_number,
        gender=gender,
        birthday=birthday,
        mobile=mobile,
        home_phone=home_phone,
        email=email,
        address=address,
        region=region,
        consent_channels=consent_channels,
    )


def region_from_id(session: Session, info: idnumber.IdNumberInfo | None) -> str | None:
    """The dictionary region of the ID's province, or None when the dictionary lacks it."""
    if info is None:
        return None
    codes = session.scalars(
        select(DictionaryItem.code).where(
            DictionaryItem.category == "region",
            DictionaryItem.code == info.province_code,
            DictionaryItem.active.is_(True),
        )
    ).all()
    return info.province_code if codes else None


def _mismatch(field: str, given: str, from_id: str, id_number: str | None) -> Problem:
    what = "gender" if field == "gender" else "birthday"
    return Problem(
        field,
        f"{field}_mismatch",
        f"{what} {given} does not match the ID number {id_number}, which says {from_id} — "
        f"correct the {what} or the ID number (or leave the {what} blank)",
        {"given": given, "from_id": from_id},
    )
