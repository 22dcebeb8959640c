"""The admin's work on staff accounts (operational.services.accounts), on both databases:
listing, roles, disabling, password resets and unlocking, and the rules that keep the club
from locking itself out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.models import StaffAccount
from operational.services.accounts import (
    MAX_FAILED_LOGINS,
    AccountInactive,
    AccountLocked,
    BadCredentials,
    LastAdmin,
    OwnAccount,
    authenticate,
    change_role,
    create_account,
    list_accounts,
    reset_password,
    set_active,
    unlock,
)
from operational.services.common import Actor, NotAllowed, NotFound, ServiceError, ValidationFailed

T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
ADMIN = Actor("admin", "admin")


@pytest.fixture
def db(op_db_url: str) -> Iterator[Session]:
    """The initialised DB (one admin, ``admin``) with a clerk and an analyst."""
    engine = make_engine(op_db_url)
    with Session(engine) as session:
        create_account(session, ADMIN, "clerk", "Li Clerk", "clerk-password-1", "staff", "desk")
        create_account(session, ADMIN, "ana", "Wu Analyst", "analyst-password-1", "analyst")
        session.commit()
        yield session
    engine.dispose()


def _sign_in(session: Session, username: str, password: str, now: datetime = T0):
    try:
        outcome = authenticate(session, username, password, now=now)
    except ServiceError as refusal:
        outcome = refusal
    session.commit()
    return outcome


def _account(session: Session, username: str) -> StaffAccount:
    session.expire_all()
    return session.scalars(select(StaffAccount).where(StaffAccount.username == username)).one()


def test_the_list_shows_every_account_with_role_status_and_sign_in(db: Session) -> None:
    _sign_in(db, "clerk", "clerk-password-1")
    rows = {row.username: row for row in list_accounts(db, ADMIN)}
    assert set(rows) == {"admin", "ana", "clerk"}
    assert rows["clerk"].role == "staff" and rows["clerk"].active
    assert rows["clerk"].last_login_at == T0
    assert rows["ana"].last_login_at is None
    assert rows["clerk"].department == "desk"
    assert not hasattr(rows["clerk"], "password_hash")


def test_only_admins_manage_accounts(db: Session) -> None:
    analyst = Actor("ana", "analyst")
    for call in (
        lambda: list_accounts(db, analyst),
        lambda: change_role(db, analyst, "clerk", "reviewer"),
        lambda: set_active(db, analyst, "clerk", False),
        lambda: reset_password(db, analyst, "clerk"),
        lambda: unlock(db, analyst, "clerk"),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert _account(db, "clerk").role == "staff"


def test_a_role_change_takes_effect_at_the_next_sign_in(db: Session) -> None:
    change_role(db, ADMIN, "clerk", "reviewer")
    db.commit()
    assert _sign_in(db, "clerk", "clerk-password-1") == Actor("clerk", "reviewer")
    with pytest.raises(ValidationFailed) as refused:
        change_role(db, ADMIN, "clerk", "boss")
    assert refused.value.problems[0].code == "unknown_code"
    with pytest.raises(NotFound):
        change_role(db, ADMIN, "nobody", "staff")


def test_a_disabled_account_cannot_sign_in_until_enabled_again(db: Session) -> None:
    set_active(db, ADMIN, "clerk", False)
    db.commit()
    assert isinstance(_sign_in(db, "clerk", "clerk-password-1"), AccountInactive)
    set_active(db, ADMIN, "clerk", True)
    db.commit()
    assert _sign_in(db, "clerk", "clerk-password-1") == Actor("clerk", "staff")


def test_the_last_active_admin_cannot_be_disabled_or_demoted(db: Session) -> None:
    create_account(db, ADMIN, "boss", "Boss", "boss-password-1", "admin")
    db.commit()
    boss = Actor("boss", "admin")
    set_active(db, boss, "admin", False)  # two admins: one may go
    db.commit()
    with pytest.raises(LastAdmin) as disabled:
        set_active(db, ADMIN, "boss", False)
    assert "last active admin" in str(disabled.value)
    with pytest.raises(LastAdmin):
        change_role(db, ADMIN, "boss", "manager")
    assert _account(db, "boss").active and _account(db, "boss").role == "admin"
    # Once the first admin is back, the second may be demoted.
    set_active(db, boss, "admin", True)
    change_role(db, ADMIN, "boss", "manager")
    db.commit()
    assert _account(db, "boss").role == "manager"


def test_an_admin_cannot_disable_or_demote_themselves(db: Session) -> None:
    create_account(db, ADMIN, "boss", "Boss", "boss-password-1", "admin")
    db.commit()
    with pytest.raises(OwnAccount):
        set_active(db, ADMIN, "admin", False)
    with pytest.raises(OwnAccount):
        change_role(db, ADMIN, "admin", "staff")
    assert _account(db, "admin").active and _account(db, "admin").role == "admin"


def test_a_reset_password_replaces_the_old_one_and_lifts_the_lock(db: Session) -> None:
    for n in range(MAX_FAILED_LOGINS):
        _sign_in(db, "clerk", "wrong-password", T0 + timedelta(seconds=n))
    assert isinstance(_sign_in(db, "clerk", "clerk-password-1", T0), AccountLocked)
    new_password = reset_password(db, ADMIN, "clerk")
    db.commit()
    assert len(new_password) >= 8 and new_password != "clerk-password-1"
    assert isinstance(_sign_in(db, "clerk", "clerk-password-1", T0), BadCredentials)
    assert _sign_in(db, "clerk", new_password, T0) == Actor("clerk", "staff")


def test_a_password_set_by_the_admin_follows_the_password_rule(db: Session) -> None:
    with pytest.raises(ValidationFailed) as refused:
        reset_password(db, ADMIN, "clerk", "short")
    assert refused.value.problems[0].code == "too_short"
    assert reset_password(db, ADMIN, "clerk", "chosen-password-9") == "chosen-password-9"
    db.commit()
    assert _sign_in(db, "clerk", "chosen-password-9") == Actor("clerk", "staff")


def test_unlocking_lets_the_owner_sign_in_with_their_password_at_once(db: Session) -> None:
    for n in range(MAX_FAILED_LOGINS):
        _sign_in(db, "ana", "wrong-password", T0 + timedelta(seconds=n))
    row = next(r for r in list_accounts(db, ADMIN) if r.username == "ana")
    assert row.locked(T0 + timedelta(minutes=1))
    unlock(db, ADMIN, "ana")
    db.commit()
    assert _account(db, "ana").failed_logins == 0
    assert _sign_in(db, "ana", "analyst-password-1", T0 + timedelta(minutes=1)) == Actor(
        "ana", "analyst"
    )
