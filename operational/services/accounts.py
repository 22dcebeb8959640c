"""Staff accounts: signing in (with lockout) and creating accounts.

Signing in checks the password with argon2 (:mod:`operational.passwords`). After
:data:`MAX_FAILED_LOGINS` consecutive failures the account is locked for :data:`LOCKOUT`; a
success resets the count and records ``last_login_at``. An unknown username and a wrong password
get the same refusal (``bad_credentials``), so the form does not tell which usernames exist.

**Commit refusals too.** :func:`authenticate` records a failed attempt (the count, the lock) in
the caller's session and then raises. The caller must commit that session even when it raises,
or the lockout never happens::

    with session_scope(url) as session:
        try:
            actor = authenticate(session, username, password)
        except ServiceError as refusal:
            ...  # show it; leaving the block normally commits the failed attempt
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.models import StaffAccount
from operational.models.reference import ROLES
from operational.passwords import hash_password, needs_rehash, verify_password
from operational.services.common import (
    Actor,
    Problem,
    ServiceError,
    ValidationFailed,
    require_role,
)

#: Consecutive failed sign-ins that lock an account ...
MAX_FAILED_LOGINS = 5
#: ... and for how long.
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 8
ADMIN_ROLES = frozenset({"admin"})

# Checked against when the username is unknown, so that an unknown user takes as long to refuse
# as a wrong password (no timing hint about which usernames exist).
_DUMMY_HASH = hash_password("clubcrm-no-such-user")


class BadCredentials(ServiceError):
    """Unknown username or wrong password (deliberately not told apart)."""

    code = "bad_credentials"


class AccountLocked(ServiceError):
    """Too many failed sign-ins; ``params``: ``until`` (aware UTC), ``minutes`` left."""

    code = "locked"


class AccountInactive(ServiceError):
    """The account is deactivated or deleted."""

    code = "inactive"


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError(f"naive datetime {now!r}: pass a timezone-aware datetime")
    return now


def _find(session: Session, username: str) -> StaffAccount | None:
    """The account with this username, the exact spelling first, else ignoring case."""
    name = username.strip()
    if not name:
        return None
    account = session.scalar(select(StaffAccount).where(StaffAccount.username == name))
    if account is None:
        account = session.scalar(
            select(StaffAccount)
            .where(func.lower(StaffAccount.username) == name.lower())
            .order_by(StaffAccount.id)
            .limit(1)
        )
    return account


def _locked(until: datetime, now: datetime) -> AccountLocked:
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return AccountLocked(
        f"account locked after {MAX_FAILED_LOGINS} failed sign-ins; "
        f"try again in {minutes} minutes (at {until:%Y-%m-%d %H:%M} UTC)",
        until=until,
        minutes=minutes,
    )


def authenticate(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> Actor:
    """The :class:`Actor` for a correct username and password; else a :class:`ServiceError`.

    Refusals: :class:`BadCredentials` (unknown user or wrong password, same message),
    :class:`AccountLocked` (locked now, or by this failure; says for how many minutes),
    :class:`AccountInactive` (right password, but the account is deactivated or deleted).
    Failed attempts are flushed to ``session`` before raising: commit it (see the module doc).
    """
    now = _now(now)
    account = _find(session, username or "")
    if account is None:
        verify_password(_DUMMY_HASH, password or "")
        raise BadCredentials("wrong username or password")

    if account.locked_until is not None:
        if account.locked_until > now:
            raise _locked(account.locked_until, now)
        # The lock has run out: a fresh start.
        account.locked_until = None
        account.failed_logins = 0

    if not verify_password(account.password_hash, password or ""):
        account.failed_logins = (account.failed_logins or 0) + 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            session.flush()
            raise _locked(account.locked_until, now)
        session.flush()
        raise BadCredentials("wrong username or password")

    if not account.active or account.deleted_at is not None:
        session.flush()
        raise AccountInactive(f"account {account.username} is deactivated")

    account.failed_logins = 0
    account.locked_until = None
    account.last_login_at = now
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    session.flush()
    return Actor(account.username, account.role)


def create_account(
    session: Session,
    actor: Actor,
    username: str,
    display_name: str,
    password: str,
    role: str,
    department: str | None = None,
) -> StaffAccount:
    """Add a staff account (admins only). Refusals: :class:`NotAllowed`, :class:`ValidationFailed`
    (username missing or taken, display name missing, password shorter than
    :data:`MIN_PASSWORD_LENGTH`, unknown role)."""
    require_role(actor, ADMIN_ROLES, "create staff accounts")
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    problems: list[Problem] = []
    if not username:
        problems.append(Problem("username", "required", "enter a username"))
    elif len(username) > 60 or any(ch.isspace() for ch in username):
        problems.append(Problem("username", "invalid", "use at most 60 characters and no spaces"))
    elif session.scalar(
        select(StaffAccount.id).where(func.lower(StaffAccount.username) == username.lower())
    ):
        problems.append(
            Problem("username", "taken", f"username {username!r} is taken", {"value": username})
        )
    if not display_name:
        problems.append(Problem("display_name", "required", "enter the person's name"))
    if len(password or "") < MIN_PASSWORD_LENGTH:
        problems.append(
            Problem(
                "password",
                "too_short",
                f"use at least {MIN_PASSWORD_LENGTH} characters",
                {"min": MIN_PASSWORD_LENGTH},
            )
        )
    if role not in ROLES:
        shown = ", ".join(ROLES)
        problems.append(
            Problem(
                "role",
                "unknown_code",
                f"{role!r} is not a role; choose one of: {shown}",
                {"value": role, "choices": shown},
            )
        )
    if problems:
        raise ValidationFailed(problems)
    account = StaffAccount(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        department=(department or "").strip() or None,
        active=True,
        failed_logins=0,
    )
    session.add(account)
    session.flush()
    return account


def account_display_name(session: Session, username: str) -> str | None:
    """The display name of an account, for the sidebar; None when there is no such account."""
    return session.scalar(
        select(StaffAccount.display_name).where(StaffAccount.username == username)
    )
