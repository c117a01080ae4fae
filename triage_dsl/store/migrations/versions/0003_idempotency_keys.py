"""Idempotency keys: a request sent with an ``Idempotency-Key`` header is remembered in
the transaction that stores its events, so sending it again applies nothing twice.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("call_id", sa.String(36), sa.ForeignKey("calls.id"), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=True),
        sa.Column("last_seq", sa.Integer, nullable=True),
        sa.Column("token_id", Id, sa.ForeignKey("tokens.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_call_id", "idempotency_keys", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_call_id", "idempotency_keys")
    op.drop_table("idempotency_keys")
