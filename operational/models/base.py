"""Declarative base and column types shared by every operational table.

Conventions (see docs/decisions.md):
- surrogate integer ``id`` primary keys; business keys staff see (``member_no``, ``card_no``…) are
  unique columns beside them;
- every timestamp is stored in UTC, naive in the database, and returned timezone-aware by
  :class:`UTCDateTime`; calendar facts (birthdays, join dates) are plain dates;
- money is ``Numeric(14, 2)`` in yuan, points are whole numbers;
- "type" lists are codes of dictionary items (``dictionary_items.category``/``code``), checked by
  the services, so an admin can add a channel without a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, Numeric
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL, INTEGER on SQLite (so that it is SQLite's rowid and autoincrements).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(14, 2, asdecimal=True)


class UTCDateTime(TypeDecorator):
    """Stores UTC as a naive timestamp; accepts aware datetimes and returns aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):  # noqa: ARG002
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect):  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
