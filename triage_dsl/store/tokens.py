"""Bearer tokens: shown once when made, stored only as a SHA-256 hash, each with a role."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import insert, select

from triage_dsl.store.database import Database, StoreError
from triage_dsl.store.tables import tokens

Role = Literal["call", "review", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
PREFIX = "trg_"


@dataclass(frozen=True)
class TokenHolder:
    """Who a token belongs to (never the token itself)."""

    id: int
    name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db: Database, role: str, name: str, now: datetime) -> str:
    """A new token for ``role``; its text is returned once and never stored."""
    if role not in ROLES:
        raise StoreError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    with db.engine.begin() as conn:
        conn.execute(
            insert(tokens).values(name=name, role=role, token_sha256=token_hash(token), created_at=now)
        )
    return token


def find_token(db: Database, token: str) -> TokenHolder | None:
    """The holder of ``token`` (None when unknown or revoked)."""
    with db.engine.connect() as conn:
        row = conn.execute(
            select(tokens.c.id, tokens.c.name, tokens.c.role).where(
                tokens.c.token_sha256 == token_hash(token), tokens.c.revoked_at.is_(None)
            )
        ).first()
    return None if row is None else TokenHolder(int(row.id), row.name, row.role)
