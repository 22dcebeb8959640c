"""Staff accounts: signing in (with lockout), and the admin's work on accounts.

Admins create accounts, change roles, disable and enable them, reset passwords and lift a
lockout (:func:`list_accounts` and the functions after it, used by the Accounts page). Two rules
keep the club from locking itself out: nobody disables or demotes their own account, and the
last active admin is never disabled or demoted.

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
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from operational.models import StaffAccount
from operational.models.reference import ROLES
from operational.passwords import hash_password, needs_rehash, verify_password
from operational.services.common import (
    Actor,
    NotFound,
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
    problems.extend(password_problems(password))
    problems.extend(_role_problems(role))
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


# -- the admin's work on accounts ---------------------------------------------------------------
#: Length of a password made by :func:`reset_password` when the admin does not type one.
GENERATED_PASSWORD_LENGTH = 14
# No look-alike characters (0/O, 1/l/I): the admin reads the password out to its owner.
_PASSWORD_ALPHABET = "".join(ch for ch in string.ascii_letters + string.digits if ch not in "0O1lI")


class LastAdmin(ServiceError):
    """The change would leave the club without an active admin."""

    code = "last_admin"


class OwnAccount(ServiceError):
    """An admin may not disable or demote their own account (another admin must)."""

    code = "own_account"


@dataclass(frozen=True)
class AccountRow:
    """One staff account as the Accounts page lists it (never the password hash)."""

    username: str
    display_name: str
    role: str
    department: str | None
    active: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime | None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


def password_problems(password: str | None) -> list[Problem]:
    """What is wrong with a new password (the one rule for creating and resetting)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        return [
            Problem(
                "password",
                "too_short",
                f"use at least {MIN_PASSWORD_LENGTH} characters",
                {"min": MIN_PASSWORD_LENGTH},
            )
        ]
    return []


def _role_problems(role: str) -> list[Problem]:
    if role in ROLES:
        return []
    shown = ", ".join(ROLES)
    return [
        Problem(
            "role",
            "unknown_code",
            f"{role!r} is not a role; choose one of: {shown}",
            {"value": role, "choices": shown},
        )
    ]


def generate_password(length: int = GENERATED_PASSWORD_LENGTH) -> str:
    """A random password that passes :func:`password_problems` (letters and digits)."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))


def list_accounts(session: Session, actor: Actor) -> list[AccountRow]:
    """Every account not deleted, by username (admins only)."""
    require_role(actor, ADMIN_ROLES, "list staff accounts")
    accounts = session.scalars(
        select(StaffAccount)
        .where(StaffAccount.deleted_at.is_(None))
        .order_by(func.lower(StaffAccount.username))
    )
    return [
        AccountRow(
            username=a.username,
            display_name=a.display_name,
            role=a.role,
            department=a.department,
            active=bool(a.active),
            failed_logins=a.failed_logins or 0,
            locked_until=a.locked_until,
            last_login_at=a.last_login_at,
            created_at=a.created_at,
        )
        for a in accounts
    ]


def _target(session: Session, actor: Actor, username: str, action: str) -> StaffAccount:
    require_role(actor, ADMIN_ROLES, action)
    account = session.scalar(
        select(StaffAccount).where(
            StaffAccount.username == (username or "").strip(), StaffAccount.deleted_at.is_(None)
        )
    )
    if account is None:
        raise NotFound(f"no staff account {username!r}", username=username)
    return account


def _other_active_admins(session: Session, account: StaffAccount) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(StaffAccount)
            .where(
                StaffAccount.role == "admin",
                StaffAccount.active.is_(True),
                StaffAccount.deleted_at.is_(None),
                StaffAccount.id != account.id,
            )
        )
        or 0
    )


def _guard_admin_loss(session: Session, actor: Actor, account: StaffAccount, action: str) -> None:
    """Refuse ``action`` when it takes ``account``'s admin rights away from the club or the
    actor themselves."""
    if account.username == actor.username:
        raise OwnAccount(
            f"you may not {action} your own account; ask another admin",
            action=action,
            username=account.username,
        )
    if account.role == "admin" and account.active and not _other_active_admins(session, account):
        raise LastAdmin(
            f"{account.username} is the last active admin: make another account admin first",
            action=action,
            username=account.username,
        )


def change_role(session: Session, actor: Actor, username: str, role: str) -> StaffAccount:
    """Give ``username`` another role. Refusals: :class:`NotAllowed`, :class:`NotFound`,
    :class:`ValidationFailed` (unknown role), :class:`OwnAccount` and :class:`LastAdmin` when an
    admin would be demoted."""
    account = _target(session, actor, username, "change roles")
    problems = _role_problems(role)
    if problems:
        raise ValidationFailed(problems)
    if account.role == role:
        return account
    if account.role == "admin":
        _guard_admin_loss(session, actor, account, "demote")
    account.role = role
    session.flush()
    return account


def set_active(session: Session, actor: Actor, username: str, active: bool) -> StaffAccount:
    """Disable (``active=False``) or enable an account. A disabled account cannot sign in but
    keeps its history. Refusals: :class:`NotAllowed`, :class:`NotFound`, :class:`OwnAccount`,
    :class:`LastAdmin`."""
    account = _target(session, actor, username, "disable or enable accounts")
    if bool(account.active) == active:
        return account
    if not active:
        _guard_admin_loss(session, actor, account, "disable")
    account.active = active
    session.flush()
    return account


def reset_password(
    session: Session, actor: Actor, username: str, password: str | None = None
) -> str:
    """Set a new password for ``username`` and return it (generated when ``password`` is None,
    to be shown once to the admin). The lockout is lifted too: the owner signs in with the new
    password at once. Refusals: :class:`NotAllowed`, :class:`NotFound`, :class:`ValidationFailed`
    (the password rule of :func:`password_problems`)."""
    account = _target(session, actor, username, "reset passwords")
    new_password = generate_password() if password is None else password
    problems = password_problems(new_password)
    if problems:
        raise ValidationFailed(problems)
    account.password_hash = hash_password(new_password)
    account.failed_logins = 0
    account.locked_until = None
    session.flush()
    return new_password


def unlock(session: Session, actor: Actor, username: str) -> StaffAccount:
    """Lift a lockout after failed sign-ins (the password stays). Refusals: :class:`NotAllowed`,
    :class:`NotFound`."""
    account = _target(session, actor, username, "unlock accounts")
    account.failed_logins = 0
    account.locked_until = None
    session.flush()
    return account
