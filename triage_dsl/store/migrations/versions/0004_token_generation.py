"""The tokens' generation: one row the database itself moves on whenever a token is
revoked, deleted or changed (triggers, so a revocation by hand in SQL counts too). A
process keeps the tokens it has seen in memory and reads this row on each request,
forgetting them all when it moved: a revoked token is still refused at once, by every
process, without looking the token up on every request.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# what a process keeps of a token: its holder (id, name, role) while it is not revoked
WATCHED = "revoked_at, role, name, token_sha256"
BUMP = "UPDATE token_generation SET generation = generation + 1 WHERE id = 1"

POSTGRESQL = [
    f"""
CREATE FUNCTION triage_token_generation() RETURNS trigger AS $$
BEGIN
    {BUMP};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
""",
    f"""
CREATE TRIGGER tokens_generation AFTER UPDATE OF {WATCHED} OR DELETE ON tokens
FOR EACH ROW EXECUTE FUNCTION triage_token_generation()
""",
]
SQLITE = [
    f"CREATE TRIGGER tokens_generation_update AFTER UPDATE OF {WATCHED} ON tokens BEGIN {BUMP}; END",
    f"CREATE TRIGGER tokens_generation_delete AFTER DELETE ON tokens BEGIN {BUMP}; END",
]


def upgrade() -> None:
    table = op.create_table(
        "token_generation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "generation": 0}])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL if dialect == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tokens_generation ON tokens")
        op.execute("DROP FUNCTION triage_token_generation()")
    else:
        op.execute("DROP TRIGGER tokens_generation_update")
        op.execute("DROP TRIGGER tokens_generation_delete")
    op.drop_table("token_generation")
