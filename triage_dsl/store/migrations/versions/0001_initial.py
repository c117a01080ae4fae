"""The first schema: protocol versions, calls, answer events, records, tokens, audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

# PostgreSQL refuses any change to a sealed record: records are append-only.
APPEND_ONLY = """
CREATE FUNCTION triage_records_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'records are append-only: % refused on a sealed record', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER records_append_only BEFORE UPDATE OR DELETE ON records
  FOR EACH ROW EXECUTE FUNCTION triage_records_append_only();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
  FOR EACH STATEMENT EXECUTE FUNCTION triage_records_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "tokens",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("revoked_at", When, nullable=True),
    )
    op.create_table(
        "protocol_versions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("protocol_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(50), nullable=True),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("sources", sa.JSON, nullable=False),
        sa.Column("loaded_at", When, nullable=False),
        sa.UniqueConstraint("protocol_id", "content_sha256", name="uq_protocol_versions_content"),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("protocol_version_ids", sa.JSON, nullable=False),
        sa.Column("caller", sa.JSON, nullable=True),
        sa.Column("created_by", Id, sa.ForeignKey("tokens.id"), nullable=True),
    )
    op.create_table(
        "answer_events",
        sa.Column("call_id", sa.String(36), sa.ForeignKey("calls.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("token_id", Id, sa.ForeignKey("tokens.id"), nullable=True),
    )
    op.create_table(
        "records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("call_id", sa.String(36), sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("event_seq", sa.Integer, nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.UniqueConstraint("call_id", "event_seq", name="uq_records_call_event"),
    )
    op.create_index("ix_records_call_id", "records", ["call_id"])
    op.create_table(
        "audit",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("at", When, nullable=False),
        sa.Column("token_id", Id, sa.ForeignKey("tokens.id"), nullable=True),
        sa.Column("token_name", sa.String(200), nullable=True),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("call_id", sa.String(36), nullable=True),
    )
    op.create_index("ix_audit_call_id", "audit", ["call_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS records_no_truncate ON records")
        op.execute("DROP TRIGGER IF EXISTS records_append_only ON records")
        op.execute("DROP FUNCTION IF EXISTS triage_records_append_only()")
    for table in ("audit", "records", "answer_events", "calls", "protocol_versions", "tokens"):
        op.drop_table(table)
