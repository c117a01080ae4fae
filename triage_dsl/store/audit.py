"""The audit trail: who read which call's record, note or export, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from triage_dsl.store.database import Database
from triage_dsl.store.tables import audit
from triage_dsl.store.tokens import TokenHolder


def audit_row(
    at: datetime, token_id: int | None, token_name: str | None, action: str, call_id: str | None
) -> dict[str, Any]:
    """One row of the audit table (written alone here, or with a request's events by
    :func:`triage_dsl.store.calls.insert_many`)."""
    return {"at": at, "token_id": token_id, "token_name": token_name, "action": action, "call_id": call_id}


def write_audit(
    db: Database, at: datetime, who: TokenHolder | None, action: str, call_id: str | None
) -> None:
    row = audit_row(at, who.id if who else None, who.name if who else None, action, call_id)
    with db.engine.begin() as conn:
        conn.execute(insert(audit).values(**row))


def audit_rows(db: Database, call_id: str | None = None) -> list[dict[str, Any]]:
    query = select(audit).order_by(audit.c.id)
    if call_id is not None:
        query = query.where(audit.c.call_id == call_id)
    with db.engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
