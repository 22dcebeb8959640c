"""``clubcrm init``: migrate the schema, seed the dictionary, create the first admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.dictionary_defaults import DEFAULT_ITEMS
from operational.migrate import current_revision, upgrade
from operational.models import DictionaryItem, StaffAccount
from operational.passwords import generate_password, hash_password


@dataclass(frozen=True)
class InitReport:
    revision: str | None
    dictionary_items_added: int
    admin_username: str
    admin_password: str | None  # set only when the account was created now


def seed_dictionary(session: Session) -> int:
    """Add the default dictionary items that are missing; return how many were added."""
    existing = set(session.execute(select(DictionaryItem.category, DictionaryItem.code)).all())
    added = 0
    order: dict[str, int] = {}
    for item in DEFAULT_ITEMS:
        category, code, label_zh, label_en = item[:4]
        parent = item[4] if len(item) > 4 else None
        order[category] = order.get(category, 0) + 10
        if (category, code) in existing:
            continue
        session.add(
            DictionaryItem(
                category=category,
                code=code,
                label_zh=label_zh,
                label_en=label_en,
                parent_code=parent,
                sort_order=order[category],
                active=True,
            )
        )
        added += 1
    return added


def ensure_admin(session: Session, username: str, password: str | None) -> str | None:
    """Create the admin account unless it exists; return the password only when created."""
    if session.scalar(select(StaffAccount).where(StaffAccount.username == username)):
        return None
    password = password or generate_password()
    session.add(
        StaffAccount(
            username=username,
            display_name="Administrator",
            password_hash=hash_password(password),
            role="admin",
        )
    )
    return password


def initialise(
    url: str, admin_username: str = "admin", admin_password: str | None = None
) -> InitReport:
    upgrade(url)
    engine = make_engine(url)
    try:
        with Session(engine) as session, session.begin():
            added = seed_dictionary(session)
            created_password = ensure_admin(session, admin_username, admin_password)
    finally:
        engine.dispose()
    return InitReport(
        revision=current_revision(url),
        dictionary_items_added=added,
        admin_username=admin_username,
        admin_password=created_password,
    )
