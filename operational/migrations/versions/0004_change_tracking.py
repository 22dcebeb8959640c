"""change tracking for incremental ingestion

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:20:00

Every table the warehouse ingests gets a ``_changed_at`` column (naive UTC) that the database
itself keeps current, an index on it, and a delete trigger logging the deleted key in
``change_tracking_deletions``; ``change_tracking`` holds the epoch bulk writers bump (decision
D16). The ORM does not map ``_changed_at``: no service can forget to stamp it.

- PostgreSQL: ``DEFAULT (now() at time zone 'utc')`` stamps inserts, a BEFORE UPDATE trigger
  stamps updates, an AFTER DELETE trigger logs deletions.
- SQLite: ``ALTER TABLE … ADD COLUMN`` cannot take a non-constant default, so AFTER INSERT and
  AFTER UPDATE triggers stamp the row by its rowid (only when the statement did not set the
  column itself; triggers do not fire recursively), an AFTER DELETE trigger logs deletions.

The table list is frozen here on purpose: a later table gets its tracking in its own migration.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table -> primary-key column, every table the warehouse ingests at this revision.
TRACKED: dict[str, str] = {
    "activities": "id",
    "activity_attendance": "id",
    "activity_costs": "id",
    "applications": "id",
    "card_readers": "id",
    "cards": "id",
    "care_contacts": "id",
    "cares": "id",
    "complaint_service_levels": "importance",
    "complaint_steps": "id",
    "complaints": "id",
    "dictionary_items": "id",
    "exit_requests": "id",
    "member_changes": "id",
    "member_consents": "id",
    "member_notifications": "id",
    "member_point_balances": "member_id",
    "members": "id",
    "merchant_service_uses": "id",
    "merchant_services": "id",
    "merchants": "id",
    "pii_access_log": "id",
    "point_entries": "id",
    "point_rules": "id",
    "purchase_payments": "id",
    "purchases": "id",
    "redemption_plans": "id",
    "redemptions": "id",
    "review_decisions": "id",
    "saved_segments": "id",
    "staff_accounts": "id",
    "swipe_postings": "swipe_id",
}

SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
PG_NOW = "(now() at time zone 'utc')"


def _sqlite_statements(table: str, key: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ADD COLUMN _changed_at TIMESTAMP',
        f'UPDATE "{table}" SET _changed_at = {SQLITE_NOW}',
        f'CREATE INDEX "ix_{table}__changed_at" ON "{table}" (_changed_at)',
        f'CREATE TRIGGER "ct_{table}_insert" AFTER INSERT ON "{table}" '
        f"FOR EACH ROW WHEN NEW._changed_at IS NULL BEGIN "
        f'UPDATE "{table}" SET _changed_at = {SQLITE_NOW} WHERE rowid = NEW.rowid; END',
        f'CREATE TRIGGER "ct_{table}_update" AFTER UPDATE ON "{table}" '
        f"FOR EACH ROW WHEN NEW._changed_at IS OLD._changed_at BEGIN "
        f'UPDATE "{table}" SET _changed_at = {SQLITE_NOW} WHERE rowid = NEW.rowid; END',
        f'CREATE TRIGGER "ct_{table}_delete" AFTER DELETE ON "{table}" FOR EACH ROW BEGIN '
        f"INSERT INTO change_tracking_deletions (table_name, row_key, deleted_at) "
        f"VALUES ('{table}', CAST(OLD.\"{key}\" AS TEXT), {SQLITE_NOW}); END",
    ]


def _postgres_statements(table: str, key: str) -> list[str]:
    return [
        f'ALTER TABLE "{table}" ADD COLUMN _changed_at TIMESTAMP NOT NULL DEFAULT {PG_NOW}',
        f'CREATE INDEX "ix_{table}__changed_at" ON "{table}" (_changed_at)',
        f'CREATE TRIGGER "ct_{table}_update" BEFORE UPDATE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION clubcrm_ct_stamp()",
        f'CREATE TRIGGER "ct_{table}_delete" AFTER DELETE ON "{table}" '
        f"FOR EACH ROW EXECUTE FUNCTION clubcrm_ct_log_delete('{key}')",
    ]


PG_FUNCTIONS = [
    f"""
    CREATE OR REPLACE FUNCTION clubcrm_ct_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW._changed_at := {PG_NOW};
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION clubcrm_ct_log_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO change_tracking_deletions (table_name, row_key, deleted_at)
        VALUES (TG_TABLE_NAME, to_jsonb(OLD) ->> TG_ARGV[0], {PG_NOW});
        RETURN OLD;
    END
    $$
    """,
]


def upgrade() -> None:
    op.create_table(
        "change_tracking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.String(length=40), nullable=False),
        sa.Column("reset_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_change_tracking_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_tracking")),
    )
    op.create_table(
        "change_tracking_deletions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("table_name", sa.String(length=60), nullable=False),
        sa.Column("row_key", sa.String(length=80), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_tracking_deletions")),
    )
    op.create_index(
        "ix_change_tracking_deletions_deleted_at",
        "change_tracking_deletions",
        ["deleted_at"],
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    if dialect == "postgresql":
        for statement in PG_FUNCTIONS:
            op.execute(statement)
        statements = _postgres_statements
    else:
        statements = _sqlite_statements
    for table, key in TRACKED.items():
        for statement in statements(table, key):
            op.execute(statement)
    now = PG_NOW if dialect == "postgresql" else SQLITE_NOW
    op.execute(
        sa.text(
            f"INSERT INTO change_tracking (id, epoch, reset_at) VALUES (1, :epoch, {now})"
        ).bindparams(epoch=uuid.uuid4().hex)
    )


def downgrade() -> None:
    bind = op.get_bind()
    dialect = bind.dialect.name
    for table in TRACKED:
        for action in ("insert", "update", "delete"):
            if dialect == "postgresql":
                if action != "insert":
                    op.execute(f'DROP TRIGGER IF EXISTS "ct_{table}_{action}" ON "{table}"')
            else:
                op.execute(f'DROP TRIGGER IF EXISTS "ct_{table}_{action}"')
        op.execute(f'DROP INDEX IF EXISTS "ix_{table}__changed_at"')
        op.execute(f'ALTER TABLE "{table}" DROP COLUMN _changed_at')
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS clubcrm_ct_stamp()")
        op.execute("DROP FUNCTION IF EXISTS clubcrm_ct_log_delete()")
    op.drop_index("ix_change_tracking_deletions_deleted_at", table_name="change_tracking_deletions")
    op.drop_table("change_tracking_deletions")
    op.drop_table("change_tracking")
