"""The schema, one table per kind of fact (the migrations in ``migrations/`` create it)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BIGINT in PostgreSQL, INTEGER (the rowid) in SQLite, so autoincrement works in both.
Id = BigInteger().with_variant(Integer(), "sqlite")

protocol_versions = Table(
    "protocol_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("protocol_id", String(200), nullable=False),
    Column("version", String(200), nullable=False),
    Column("title", Text, nullable=False),
    Column("status", String(50), nullable=True),
    Column("content_sha256", String(64), nullable=False),
    Column("path", Text, nullable=False, comment="the protocol file, relative to the stored files' root"),
    Column("sources", JSON, nullable=False, comment="relative path -> text of every file compiled"),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("protocol_id", "content_sha256", name="uq_protocol_versions_content"),
)

calls = Table(
    "calls",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("protocol_version_ids", JSON, nullable=False, comment="protocol_versions.id, in call order"),
    Column("caller", JSON, nullable=True, comment="the caller block (CallInfo), if given"),
    Column("created_by", Id, ForeignKey("tokens.id"), nullable=True),
)

answer_events = Table(
    "answer_events",
    metadata,
    Column("call_id", String(36), ForeignKey("calls.id"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(20), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("token_id", Id, ForeignKey("tokens.id"), nullable=True),
)

records = Table(
    "records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("call_id", String(36), ForeignKey("calls.id"), nullable=False, index=True),
    Column("event_seq", Integer, nullable=False, comment="the last answer event the record covers"),
    Column("head", String(64), nullable=False, comment="the chain head (the call hash for a call record)"),
    Column("body", Text, nullable=False, comment="the record's JSON, as served"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("call_id", "event_seq", name="uq_records_call_event"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True, comment="to the minute (0002)"),
)

token_generation = Table(
    "token_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, comment="1: the one row"),
    Column(
        "generation",
        BigInteger,
        nullable=False,
        comment="moved on by triggers whenever a token is revoked, deleted or changed (0004)",
    ),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("token_id", Id, ForeignKey("tokens.id"), nullable=True),
    Column("token_name", String(200), nullable=True),
    Column("action", String(50), nullable=False),
    Column("call_id", String(36), nullable=True, index=True),
    Column("detail", Text, nullable=True, comment="what the action was about, e.g. the token revoked (0002)"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True, comment="the call's id, or 'start:TOKEN' for a start"),
    Column("key", String(200), primary_key=True, comment="the client's Idempotency-Key header"),
    Column("call_id", String(36), ForeignKey("calls.id"), nullable=False, index=True),
    Column("request_sha256", String(64), nullable=False, comment="method, path and body of the request"),
    Column("first_seq", Integer, nullable=True, comment="the first event it stored (none for a start)"),
    Column("last_seq", Integer, nullable=True, comment="the last event it stored (none for a start)"),
    Column("token_id", Id, ForeignKey("tokens.id"), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
