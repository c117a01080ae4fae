"""Protocol versions: every version a call ran on, with the text of every file compiled,
so a call started on one version is rebuilt on it after the files changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from triage_dsl.store.database import Database
from triage_dsl.store.tables import protocol_versions


@dataclass(frozen=True)
class StoredVersion:
    id: int
    protocol_id: str
    content_sha256: str
    path: str
    sources: dict[str, str]


def save_version(
    db: Database,
    *,
    protocol_id: str,
    version: str,
    title: str,
    status: str | None,
    content_sha256: str,
    path: str,
    sources: dict[str, str],
    now: datetime,
) -> int:
    """The id of this protocol version, stored now when new (idempotent across processes)."""
    where = (protocol_versions.c.protocol_id == protocol_id) & (
        protocol_versions.c.content_sha256 == content_sha256
    )
    with db.engine.connect() as conn:
        found = conn.execute(select(protocol_versions.c.id).where(where)).scalar()
    if found is not None:
        return int(found)
    try:
        with db.engine.begin() as conn:
            result = conn.execute(
                insert(protocol_versions).values(
                    protocol_id=protocol_id,
                    version=version,
                    title=title,
                    status=status,
                    content_sha256=content_sha256,
                    path=path,
                    sources=sources,
                    loaded_at=now,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])
    except IntegrityError:  # another process stored it first
        with db.engine.connect() as conn:
            return int(conn.execute(select(protocol_versions.c.id).where(where)).scalar_one())


def load_version(db: Database, version_id: int) -> StoredVersion | None:
    with db.engine.connect() as conn:
        row = conn.execute(select(protocol_versions).where(protocol_versions.c.id == version_id)).first()
    if row is None:
        return None
    return StoredVersion(int(row.id), row.protocol_id, row.content_sha256, row.path, dict(row.sources))
