"""Similar members and pending applications for a reviewer (review matching, 相似会员).

For a membership application the reviewer sees the existing members and the other pending
applications that may be the same person, best match first, each with the reasons it matched.
Clerks make slips: a digit off or two digits swapped in a mobile, a typo in the ID number, a
name heard on the phone written with a homophone (张/章, 伟/玮) or a look-alike character.

**Blocking** (which rows are looked at) uses indexed equality lookups only, never a scan:

- ``mobile IN (...)``: the mobile as given, every variant one digit off and every variant with
  two digits swapped (adjacent or not), keeping the leading ``1`` of a mainland mobile;
- ``id_number IN (...)``: the number as given, every variant with one of the first 17 digits
  changed (the check character kept, as when a clerk mistypes a digit) and every other check
  character;
- ``home_phone =`` the phone as given (and its digits-only or area-code-dashed forms);
- ``email =`` the lower-cased address, only when the ``email`` column is indexed (it is not in
  schema 0002, so e-mail is scored but does not find candidates on its own);
- ``name_key =`` the toneless pinyin of the name (:func:`operational.names.name_key`), so
  homophones are found. A common name matches hundreds of rows: at most
  :data:`NAME_ONLY_CAP` of them are read per table, those with the same birthday and the same
  written name first, so namesakes never swamp candidates found by a number.

The number lookups go in one ``UNION ALL`` query per table (each branch planned on its own
index), the name lookup in a second. Members with status ``archived``, applications that are not
``pending`` and the application under review are then left out; that is checked on the rows
read, not in SQL, where a ``status`` condition would tempt the planner to walk the status index
(every pending application) instead. PostgreSQL needs planner statistics (autovacuum, or the
``ANALYZE`` the demo loader runs) to prefer the indexes; the SQLite plans are tested.

**Scoring**: each candidate gets the weights of its evidence below (one per group: the best
mobile reason, the best ID reason, the best name reason), minus penalties for facts that
contradict (both sides know them and they differ). Reasons are listed strongest first.

=========================  ======  ============================================================
reason                     weight  when
=========================  ======  ============================================================
``id_number``                  60  the same ID number
``id_number_one_digit``        35  ID numbers one character apart
``mobile``                     40  the same mobile
``mobile_swapped``             25  mobiles equal after swapping two digits
``mobile_one_digit``           22  mobiles one digit apart
``email``                      25  the same e-mail address (case-insensitive)
``home_phone``                 20  the same home phone (digits compared)
``name``                       20  the same name
``name_homophone``             15  names that sound the same (same pinyin, or the same pinyin
                                   once the southern near-homophones zh/z, ch/c, sh/s, -ng/-n
                                   are folded)
``name_similar``                8  names one character apart (a look-alike or mistyped one)
``birthday``                   10  the same birthday (given, or read from the ID number)
*ID conflict*                 -25  both have ID numbers, more than one character apart
*birthday conflict*           -10  both have birthdays, and they differ
=========================  ======  ============================================================

A true duplicate with one slip thus scores 50-75 (e.g. mobile one digit off 22 + name 20 +
birthday 10), a namesake 20-30 and a stranger whose mobile happens to be one digit off 22.
Ties are broken by kind (members before applications) and then by id (oldest first).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from rapidfuzz.distance import Hamming, Levenshtein
from sqlalchemy import case, select, union_all
from sqlalchemy.orm import Session

from operational.models import Application, Member
from operational.models.membership import MEMBER_STATUSES
from operational.names import clean_name, name_key
from operational.services.common import NotFound
from operational.services.members import mask_mobile

WEIGHTS: dict[str, float] = {
    "id_number": 60.0,
    "id_number_one_digit": 35.0,
    "mobile": 40.0,
    "mobile_swapped": 25.0,
    "mobile_one_digit": 22.0,
    "email": 25.0,
    "home_phone": 20.0,
    "name": 20.0,
    "name_homophone": 15.0,
    "name_similar": 8.0,
    "birthday": 10.0,
}
ID_CONFLICT = -25.0
BIRTHDAY_CONFLICT = -10.0
NAME_ONLY_CAP = 50  # rows read per table by the name_key lookup
# Who can be a candidate: members not archived, applications still waiting for review.
LIVE_STATUSES = {
    Member: tuple(s for s in MEMBER_STATUSES if s != "archived"),
    Application: ("pending",),
}

_DIGITS = re.compile(r"\d")
_NON_DIGITS = re.compile(r"\D")
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))


@dataclass(frozen=True)
class Candidate:
    kind: str  # "member" | "application"
    id: int  # members.id or applications.id
    label: str  # member_no, or "A123" for an application
    name: str
    mobile_masked: str | None
    status: str
    score: float
    reasons: tuple[str, ...]  # codes, best first (see the module docstring)


# -- variants used for blocking ---------------------------------------------------------------
def mobile_variants(mobile: str) -> list[str]:
    """The mobile, each one-digit-off variant and each two-digit swap, all starting with 1."""
    out = {mobile}
    chars = list(mobile)
    for i, ch in enumerate(chars):
        for d in "0123456789":
            if d != ch:
                out.add(mobile[:i] + d + mobile[i + 1 :])
    for i in range(len(chars)):
        for j in range(i + 1, len(chars)):
            if chars[i] != chars[j]:
                swapped = chars.copy()
                swapped[i], swapped[j] = swapped[j], swapped[i]
                out.add("".join(swapped))
    if len(mobile) == 11 and mobile.startswith("1"):
        out = {v for v in out if v.startswith("1")}
    return sorted(out)


def id_number_variants(id_number: str) -> list[str]:
    """The ID number, each with one of its first 17 digits changed, and each check character."""
    out = {id_number}
    if len(id_number) != 18:
        return sorted(out)
    for i in range(17):
        for d in "0123456789":
            if d != id_number[i]:
                out.add(id_number[:i] + d + id_number[i + 1 :])
    for c in "0123456789X":
        out.add(id_number[:17] + c)
    return sorted(out)


def home_phone_forms(phone: str) -> list[str]:
    """The forms a home phone is stored in: as given, digits only, area code dashed."""
    digits = _NON_DIGITS.sub("", phone)
    forms = {phone, digits}
    if digits.startswith("0") and len(digits) in (10, 11, 12):
        for area in (3, 4):  # 010-62345678, 0755-12345678
            if len(digits) - area in (7, 8):
                forms.add(f"{digits[:area]}-{digits[area:]}")
    return sorted(f for f in forms if f)


# -- evidence ------------------------------------------------------------------------------------
def _swapped(a: str, b: str) -> bool:
    """``b`` is ``a`` with two digits swapped (adjacent or not)."""
    if len(a) != len(b):
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    return len(diff) == 2 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]


def _mobile_reason(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return None
    if a == b:
        return "mobile"
    if len(a) == len(b):
        if Hamming.distance(a, b) == 1:
            return "mobile_one_digit"
        if _swapped(a, b):
            return "mobile_swapped"
    return None


def _id_reason(a: str | None, b: str | None) -> str | None:
    """``id_number``, ``id_number_one_digit``, ``conflict`` or None (one side unknown)."""
    if not a or not b:
        return None
    if a == b:
        return "id_number"
    if len(a) == len(b) and Hamming.distance(a, b) == 1:
        return "id_number_one_digit"
    return "conflict"


def fuzzy_key(key: str | None) -> str | None:
    """A name key with southern near-homophones folded: zh/z, ch/c, sh/s, -ng/-n."""
    if not key:
        return key
    out = []
    for syllable in key.split(" "):
        for long, short in _FUZZY_INITIALS:
            if syllable.startswith(long):
                syllable = short + syllable[len(long) :]
                break
        if syllable.endswith("ng") and len(syllable) > 2:
            syllable = syllable[:-1]
        out.append(syllable)
    return " ".join(out)


def _name_reason(a: str, a_key: str | None, b: str, b_key: str | None) -> str | None:
    a, b = clean_name(a).lower(), clean_name(b).lower()
    if a == b:
        return "name"
    if a_key and b_key and (a_key == b_key or fuzzy_key(a_key) == fuzzy_key(b_key)):
        return "name_homophone"
    if Levenshtein.distance(a, b, score_cutoff=1) <= 1:
        return "name_similar"
    return None


def birthday_from_id(id_number: str | None) -> date | None:
    """The birth date written in an 18-character ID number (check digit not required)."""
    if not id_number or len(id_number) != 18 or not id_number[6:14].isdigit():
        return None
    try:
        born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    return born if born.year >= 1900 else None


@dataclass
class _Probe:
    name: str
    key: str | None
    id_number: str | None
    mobile: str | None
    home_digits: str | None
    email: str | None
    birthday: date | None


def _score(probe: _Probe, row: Member | Application) -> tuple[float, tuple[str, ...]]:
    reasons: list[str] = []
    score = 0.0
    id_reason = _id_reason(probe.id_number, row.id_number)
    if id_reason == "conflict":
        score += ID_CONFLICT
    elif id_reason:
        reasons.append(id_reason)
    mobile_reason = _mobile_reason(probe.mobile, row.mobile)
    if mobile_reason:
        reasons.append(mobile_reason)
    if probe.email and row.email and probe.email == row.email.strip().lower():
        reasons.append("email")
    if probe.home_digits and row.home_phone:
        if probe.home_digits == _NON_DIGITS.sub("", row.home_phone):
            reasons.append("home_phone")
    name_reason = _name_reason(probe.name, probe.key, row.name, row.name_key or name_key(row.name))
    if name_reason:
        reasons.append(name_reason)
    theirs = row.birthday or birthday_from_id(row.id_number)
    if probe.birthday and theirs:
        if probe.birthday == theirs:
            reasons.append("birthday")
        else:
            score += BIRTHDAY_CONFLICT
    reasons.sort(key=lambda r: -WEIGHTS[r])
    return score + sum(WEIGHTS[r] for r in reasons), tuple(reasons)


# -- queries -------------------------------------------------------------------------------------
def _blocked_rows(session: Session, model, live, probe: _Probe, blocks) -> list:
    """Rows found by any block and kept by ``live(row)``, in the order first found.

    ``live`` is checked on the rows, not in SQL: a condition on ``status`` would tempt the
    planner to walk the status index (all pending applications) instead of the block's index.
    """
    rows: dict[int, object] = {}
    if blocks:  # one round trip; each branch of the UNION ALL is planned on its own index
        query = union_all(*(select(model).where(block) for block in blocks))
        for row in session.scalars(select(model).from_statement(query)):
            rows[row.id] = row
    if probe.key:
        # The name lookup is capped: rows that can be candidates and carry more evidence first.
        evidence = case((model.status.in_(LIVE_STATUSES[model]), 4), else_=0)
        evidence = evidence + case((model.name == probe.name, 1), else_=0)
        if probe.birthday:
            evidence = evidence + case((model.birthday == probe.birthday, 2), else_=0)
        query = (
            select(model)
            .where(model.name_key == probe.key)
            .order_by(evidence.desc(), model.id)
            .limit(NAME_ONLY_CAP)
        )
        for row in session.scalars(query):
            rows[row.id] = row
    return [row for row in rows.values() if live(row)]


def _blocks(model, probe: _Probe, home_forms: list[str], email_indexed: bool) -> list:
    blocks = []
    if probe.mobile:
        blocks.append(model.mobile.in_(mobile_variants(probe.mobile)))
    if probe.id_number:
        blocks.append(model.id_number.in_(id_number_variants(probe.id_number)))
    if home_forms:
        blocks.append(model.home_phone.in_(home_forms))
    if probe.email and email_indexed:
        blocks.append(model.email == probe.email)
    return blocks


def _indexed(model, column: str) -> bool:
    table = model.__table__
    return bool(table.c[column].index or table.c[column].unique) or any(
        idx.columns.keys()[:1] == [column] for idx in table.indexes
    )


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = unicodedata.normalize("NFKC", str(value)).strip()
    return value or None


def _clean_mobile(value: str | None) -> str | None:
    value = _clean(value)
    if value is None:
        return None
    digits = "".join(_DIGITS.findall(value))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            digits = digits[len(prefix) :]
    return digits or None


def find_similar(
    session: Session,
    *,
    name: str,
    id_number: str | None = None,
    mobile: str | None = None,
    home_phone: str | None = None,
    email: str | None = None,
    birthday: date | None = None,
    exclude_application_id: int | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Members (not archived) and pending applications that may be this person, best first."""
    id_number = _clean(id_number)
    id_number = id_number.upper() if id_number else None
    home = _clean(home_phone)
    email = _clean(email)
    probe = _Probe(
        name=clean_name(name or ""),
        key=name_key(name),
        id_number=id_number,
        mobile=_clean_mobile(mobile),
        home_digits=(_NON_DIGITS.sub("", home) or None) if home else None,
        email=email.lower() if email else None,
        birthday=birthday or birthday_from_id(id_number),
    )
    home_forms = home_phone_forms(home) if home else []
    found: list[tuple[str, object]] = []
    member_blocks = _blocks(Member, probe, home_forms, _indexed(Member, "email"))
    for row in _blocked_rows(
        session, Member, lambda m: m.status in LIVE_STATUSES[Member], probe, member_blocks
    ):
        found.append(("member", row))
    app_blocks = _blocks(Application, probe, home_forms, _indexed(Application, "email"))
    for row in _blocked_rows(
        session,
        Application,
        lambda a: a.status in LIVE_STATUSES[Application] and a.id != exclude_application_id,
        probe,
        app_blocks,
    ):
        found.append(("application", row))

    candidates = []
    for kind, row in found:
        score, reasons = _score(probe, row)
        if not reasons:
            continue
        candidates.append(
            Candidate(
                kind=kind,
                id=row.id,
                label=row.member_no if kind == "member" else f"A{row.id}",
                name=row.name,
                mobile_masked=mask_mobile(row.mobile),
                status=row.status,
                score=score,
                reasons=reasons,
            )
        )
    candidates.sort(key=lambda c: (-c.score, c.kind != "member", c.id))
    return candidates[: max(limit, 0)]


def candidates_for_application(
    session: Session, application_id: int, limit: int = 10
) -> list[Candidate]:
    """The candidates of one application (its own fields; itself left out)."""
    app = session.get(Application, application_id)
    if app is None:
        raise NotFound(
            f"application {application_id} does not exist — check the number in the queue",
            code="not_found",
            field="application_id",
        )
    return find_similar(
        session,
        name=app.name,
        id_number=app.id_number,
        mobile=app.mobile,
        home_phone=app.home_phone,
        email=app.email,
        birthday=app.birthday,
        exclude_application_id=app.id,
        limit=limit,
    )
