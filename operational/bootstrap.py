"""``clubcrm init``: migrate the schema, seed the dictionary, create the first admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from operational.db import make_engine
from operational.dictionary_defaults import (
    DEFAULT_ITEMS,
    DEFAULT_POINT_RULES,
    DEFAULT_SERVICE_LEVELS,
)
from operational.migrate import current_revision, upgrade
from operational.models import ComplaintServiceLevel, DictionaryItem, PointRule, StaffAccount
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


def seed_rules(session: Session) -> None:
    """Add the default complaint service levels and points rules that are missing.

    Like the dictionary, never overwrites what an admin changed.
    """
    levels = set(session.scalars(select(ComplaintServiceLevel.importance)))
    for importance, hours in DEFAULT_SERVICE_LEVELS.items():
        if importance not in levels:
            session.add(ComplaintServiceLevel(importance=importance, due_hours=hours))
    rules = set(session.execute(select(PointRule.event_type, PointRule.match_code)).all())
    for event_type, points, needs_approval, active, description in DEFAULT_POINT_RULES:
        if (event_type, "") not in rules:
            session.add(
                PointRule(
                    event_type=event_type,
                    match_code="",
                    points=points,
                    needs_approval=needs_approval,
                    active=active,
                    description=description,
                )
            )


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
            seed_rules(session)
            created_password = ensure_admin(session, admin_username, admin_password)
    finally:
        engine.dispose()
    return InitReport(
        revision=current_revision(url),
        dictionary_items_added=added,
        admin_username=admin_username,
        admin_password=created_password,
    )
