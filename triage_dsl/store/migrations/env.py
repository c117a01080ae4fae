"""Alembic's environment: migrations run on the connection the store hands over.

Run programmatically (:func:`triage_dsl.store.database.upgrade`). A new migration is a new
file in ``versions/`` (one schema change each, ``down_revision`` naming the one before).
"""

from __future__ import annotations

from alembic import context

from triage_dsl.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
