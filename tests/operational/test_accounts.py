"""Signing in and creating staff accounts (operational.services.accounts), on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.models import StaffAccount
from operational.passwords import verify_password
from operational.services.accounts import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    AccountInactive,
    AccountLocked,
    BadCredentials,
    authenticate,
    create_account,
)
from operational.services.common import (
    DECIDE_ROLES,
    ENTER_ROLES,
    SYSTEM,
    Actor,
    NotAllowed,
    ServiceError,
    ValidationFailed,
)

T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
ADMIN = Actor("admin", "admin")


@pytest.fixture
def db(op_db_url: str) -> Iterator[Session]:
    """A session on the initialised DB, with a clerk (staff) and a reviewer."""
    engine = make_engine(op_db_url)
    with Session(engine) as session:
        create_account(session, ADMIN, "clerk", "Li Clerk", "clerk-password-1", "staff", "desk")
        create_account(session, ADMIN, "reviewer", "Zhao Review", "reviewer-password-1", "reviewer")
        session.commit()
        yield session
    engine.dispose()


def _attempt(session: Session, username: str, password: str, now: datetime) -> ServiceError | Actor:
    """One sign-in attempt as the app makes it: the outcome is committed, refused or not."""
    try:
        outcome: ServiceError | Actor = authenticate(session, username, password, now=now)
    except ServiceError as refusal:
        outcome = refusal
    session.commit()
    return outcome


def _account(session: Session, username: str) -> StaffAccount:
    session.expire_all()
    return session.scalars(select(StaffAccount).where(StaffAccount.username == username)).one()


def test_the_right_password_signs_in_with_the_accounts_role(db: Session) -> None:
    actor = _attempt(db, "clerk", "clerk-password-1", T0)
    assert actor == Actor("clerk", "staff")
    assert _attempt(db, "reviewer", "reviewer-password-1", T0) == Actor("reviewer", "reviewer")
    assert _attempt(db, "admin", "admin-password-1", T0) == Actor("admin", "admin")
    clerk = _account(db, "clerk")
    assert clerk.last_login_at == T0
    assert clerk.failed_logins == 0
    assert clerk.department == "desk"
    # What the roles may do (issue 3): staff enter, reviewers decide.
    assert "staff" in ENTER_ROLES and "staff" not in DECIDE_ROLES
    assert "reviewer" in DECIDE_ROLES


def test_the_username_is_found_whatever_its_case_and_surrounding_spaces(db: Session) -> None:
    assert _attempt(db, "  Clerk ", "clerk-password-1", T0) == Actor("clerk", "staff")


def test_a_wrong_password_and_an_unknown_user_get_the_same_refusal(db: Session) -> None:
    wrong = _attempt(db, "clerk", "not-the-password", T0)
    unknown = _attempt(db, "nobody", "clerk-password-1", T0)
    empty = _attempt(db, "", "", T0)
    for refusal in (wrong, unknown, empty):
        assert isinstance(refusal, BadCredentials)
        assert refusal.code == "bad_credentials"
    assert str(wrong) == str(unknown) == str(empty)
    clerk = _account(db, "clerk")
    assert clerk.failed_logins == 1
    assert clerk.last_login_at is None


def test_a_success_resets_the_count_of_failures(db: Session) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert isinstance(_attempt(db, "clerk", "wrong-password", T0), BadCredentials)
    assert _account(db, "clerk").failed_logins == MAX_FAILED_LOGINS - 1
    assert _attempt(db, "clerk", "clerk-password-1", T0) == Actor("clerk", "staff")
    assert _account(db, "clerk").failed_logins == 0
    # the count starts again: four more failures do not lock
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert isinstance(_attempt(db, "clerk", "wrong-password", T0), BadCredentials)
    assert _account(db, "clerk").locked_until is None


def test_five_failures_lock_the_account_for_fifteen_minutes(db: Session) -> None:
    outcomes = [
        _attempt(db, "clerk", "wrong-password", T0 + timedelta(seconds=n))
        for n in range(MAX_FAILED_LOGINS)
    ]
    assert all(isinstance(o, BadCredentials) for o in outcomes[:-1])
    locked = outcomes[-1]
    assert isinstance(locked, AccountLocked) and locked.code == "locked"
    last_failure = T0 + timedelta(seconds=MAX_FAILED_LOGINS - 1)
    assert locked.params["until"] == last_failure + LOCKOUT
    assert locked.params["minutes"] == 15
    assert "15 minutes" in str(locked)
    assert _account(db, "clerk").locked_until == last_failure + LOCKOUT

    # Locked: even the right password is refused, saying how long is left.
    later = last_failure + timedelta(minutes=10, seconds=30)
    still = _attempt(db, "clerk", "clerk-password-1", later)
    assert isinstance(still, AccountLocked)
    assert still.params["minutes"] == 5
    assert "5 minutes" in str(still)
    # Other accounts are not affected.
    assert _attempt(db, "reviewer", "reviewer-password-1", later) == Actor("reviewer", "reviewer")

    # After the window the right password works again, and the slate is clean.
    after = last_failure + LOCKOUT
    assert _attempt(db, "clerk", "clerk-password-1", after) == Actor("clerk", "staff")
    clerk = _account(db, "clerk")
    assert clerk.locked_until is None and clerk.failed_logins == 0
    assert clerk.last_login_at == after


def test_a_failure_after_the_lock_ran_out_counts_from_one_again(db: Session) -> None:
    for n in range(MAX_FAILED_LOGINS):
        _attempt(db, "clerk", "wrong-password", T0 + timedelta(seconds=n))
    after = T0 + LOCKOUT + timedelta(minutes=1)
    assert isinstance(_attempt(db, "clerk", "wrong-password", after), BadCredentials)
    clerk = _account(db, "clerk")
    assert clerk.failed_logins == 1 and clerk.locked_until is None


def test_deactivated_and_deleted_accounts_are_refused(db: Session) -> None:
    _account(db, "clerk").active = False
    db.commit()
    _account(db, "reviewer").deleted_at = T0
    db.commit()
    for username, password in (("clerk", "clerk-password-1"), ("reviewer", "reviewer-password-1")):
        refusal = _attempt(db, username, password, T0)
        assert isinstance(refusal, AccountInactive) and refusal.code == "inactive"
    # A wrong password on an inactive account says only "wrong username or password".
    assert isinstance(_attempt(db, "clerk", "wrong-password", T0), BadCredentials)
    assert _account(db, "clerk").last_login_at is None


def test_a_hash_made_with_old_parameters_is_upgraded_at_sign_in(db: Session) -> None:
    clerk = _account(db, "clerk")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("clerk-password-1")
    clerk.password_hash = weak
    db.commit()
    assert _attempt(db, "clerk", "clerk-password-1", T0) == Actor("clerk", "staff")
    upgraded = _account(db, "clerk").password_hash
    assert upgraded != weak
    assert verify_password(upgraded, "clerk-password-1")
    assert _attempt(db, "clerk", "clerk-password-1", T0) == Actor("clerk", "staff")


def test_only_an_admin_creates_accounts(db: Session) -> None:
    for role in ("staff", "reviewer", "manager", "analyst"):
        with pytest.raises(NotAllowed):
            create_account(db, Actor("someone", role), "new1", "New", "long-enough-1", "staff")
    account = create_account(db, SYSTEM, "analyst1", "An Alyst", "long-enough-1", "analyst")
    assert account.id is not None and account.role == "analyst" and account.active
    assert account.password_hash != "long-enough-1"
    db.commit()
    assert _attempt(db, "analyst1", "long-enough-1", T0) == Actor("analyst1", "analyst")


def test_account_fields_are_checked(db: Session) -> None:
    with pytest.raises(ValidationFailed) as failed:
        create_account(db, ADMIN, "CLERK", "", "short", "boss")
    problems = {(p.field, p.code) for p in failed.value.problems}
    assert problems == {
        ("username", "taken"),
        ("display_name", "required"),
        ("password", "too_short"),
        ("role", "unknown_code"),
    }
    with pytest.raises(ValidationFailed) as failed:
        create_account(db, ADMIN, "two words", "Name", "long-enough-1", "staff")
    assert [(p.field, p.code) for p in failed.value.problems] == [("username", "invalid")]
    # exactly eight characters is enough
    create_account(db, ADMIN, "eight", "Eight", "12345678", "staff")
