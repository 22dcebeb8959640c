"""What every service shares: who is acting, the errors a page can show, dictionary checks and
the business-number sequences.

Errors carry a stable ``code`` (pages translate it; see ``dashboards/i18n.py``), the ``field`` it
concerns when there is one, keyword ``params`` for the message, and an English ``message`` for
logs, the command line and import reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from operational.models import DictionaryItem, NumberSequence
from operational.models.reference import ROLES


# -- who is acting ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    """The signed-in user (or a named system job) a service acts for."""

    username: str
    role: str  # one of ROLES; jobs act as "admin"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")


#: Scheduled jobs and importers act under this name, so the history says who did it.
SYSTEM = Actor("system", "admin")

# Who may do what (DOMAIN.md "Who uses it"; issue 3 "Roles": staff enter, reviewers decide).
ENTER_ROLES = frozenset({"staff", "reviewer", "admin"})
DECIDE_ROLES = frozenset({"reviewer", "admin"})
# Roles that need to see a member's full ID number and mobile (identity checks at the desk).
PII_REVEAL_ROLES = frozenset({"staff", "reviewer", "admin"})


# -- errors -------------------------------------------------------------------------------------
@dataclass
class Problem:
    """One thing wrong with one field, in words a clerk can act on."""

    field: str
    code: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ServiceError(Exception):
    """A refused request. Nothing was changed."""

    code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, **params: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.params = params


class ValidationFailed(ServiceError):
    """One or more fields are wrong; ``problems`` lists each with its own message."""

    code = "invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid input")


class NotAllowed(ServiceError):
    code = "not_allowed"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    """Someone else changed the record first (e.g. another reviewer decided it)."""

    code = "conflict"


def require_role(actor: Actor, allowed: Iterable[str], action: str) -> None:
    allowed = frozenset(allowed)
    if actor.role not in allowed:
        raise NotAllowed(
            f"{actor.username} ({actor.role}) may not {action}; "
            f"this needs one of: {', '.join(sorted(allowed))}",
            code="not_allowed",
            action=action,
            role=actor.role,
        )


# -- dictionary ---------------------------------------------------------------------------------
def dictionary_codes(
    session: Session, category: str, *, parent: str | None = None, active_only: bool = True
) -> list[str]:
    """The codes of one dictionary category, in the admin's sort order.

    ``parent`` keeps only the items under that parent code (the sources of one application
    channel; the ``main`` or ``sub`` card types).
    """
    statement = select(DictionaryItem.code).where(DictionaryItem.category == category)
    if parent is not None:
        statement = statement.where(DictionaryItem.parent_code == parent)
    if active_only:
        statement = statement.where(DictionaryItem.active.is_(True))
    return list(session.scalars(statement.order_by(DictionaryItem.sort_order, DictionaryItem.code)))


def check_code(
    session: Session, category: str, code: str | None, field_name: str
) -> Problem | None:
    """None when ``code`` is an active item of ``category``; otherwise the problem to report."""
    codes = dictionary_codes(session, category)
    if code in codes:
        return None
    shown = ", ".join(codes)
    if not code:
        return Problem(field_name, "required", f"choose one of: {shown}", {"choices": shown})
    return Problem(
        field_name,
        "unknown_code",
        f"{code!r} is not a {category.replace('_', ' ')}; choose one of: {shown}",
        {"value": code, "choices": shown},
    )


# -- business numbers ---------------------------------------------------------------------------
def next_number(
    session: Session, name: str, column: InstrumentedAttribute, *, prefix: str = "", width: int = 8
) -> str:
    """Take the next number of sequence ``name`` (e.g. member ``M00012346``).

    The sequence row is locked (``FOR UPDATE`` on PostgreSQL; SQLite serialises writers) until
    the caller's transaction ends, so concurrent approvals never get the same number. On first
    use the sequence starts after the largest number already in ``column``.
    """
    row = session.scalar(
        select(NumberSequence).where(NumberSequence.name == name).with_for_update()
    )
    if row is None:
        start = _largest_existing(session, column, prefix) + 1
        try:
            with session.begin_nested():  # another transaction may create it at the same time
                session.add(NumberSequence(name=name, next_value=start))
        except IntegrityError:
            pass
        row = session.scalar(
            select(NumberSequence).where(NumberSequence.name == name).with_for_update()
        )
        assert row is not None
    value = row.next_value
    row.next_value = value + 1
    session.flush()
    return f"{prefix}{value:0{width}d}"


def _largest_existing(session: Session, column: InstrumentedAttribute, prefix: str) -> int:
    candidates = session.scalars(
        select(column)
        .where(column.startswith(prefix) if prefix else column.isnot(None))
        .order_by(func.length(column).desc(), column.desc())
        .limit(50)
    )
    best = 0
    for value in candidates:
        digits = value[len(prefix) :]
        if digits.isdigit():
            best = max(best, int(digits))
    return best
