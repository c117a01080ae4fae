"""Bearer tokens on every endpoint but /healthz: 401 without a valid token, 403 when the
token's role may not do what is asked.

Roles: ``call`` (run calls: start, answer, retract, override, escalate, close, read),
``review`` (read calls, records and notes; override), ``admin`` (everything, and /metrics).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from triage_dsl.errors import TriageError
from triage_dsl.store.tokens import (
    LAST_USED_SECONDS,
    TokenCache,
    TokenHolder,
    find_token,
    touch_token,
)

bearer = HTTPBearer(auto_error=False, description="a token from `triage token create`")

RUN: tuple[str, ...] = ("call", "admin")
READ: tuple[str, ...] = ("call", "review", "admin")
OVERRIDE: tuple[str, ...] = ("call", "review", "admin")
OPERATE: tuple[str, ...] = ("admin",)


class AuthError(TriageError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def require(roles: tuple[str, ...]) -> Callable[..., Awaitable[TokenHolder]]:
    """A dependency: the token's holder, when its role is one of ``roles``."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> TokenHolder:
        # a token this process knows costs its share of one read of the tokens' generation
        # (a revoked token is refused at once by every process); the rest, rarer, goes to
        # a worker thread
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise AuthError(401, "missing bearer token: send 'Authorization: Bearer TOKEN'")
        cache: TokenCache = request.app.state.tokens
        token = credentials.credentials
        # one read for every request that asked before it started (SharedRead): on the
        # loop for SQLite's local file, in a worker thread for PostgreSQL's round trip
        generation = await request.app.state.token_generation()
        holder = cache.kept(token, generation)
        if holder is None:
            holder = await run_in_threadpool(find_token, cache.db, token)
            if holder is None:
                raise AuthError(401, "unknown or revoked token")
            cache.keep(token, holder, generation)
        if _use_to_note(request, holder) is not None:
            await run_in_threadpool(_note_use, request, holder)
        if holder.role not in roles:
            raise AuthError(403, f"a '{holder.role}' token may not do this (needs: {', '.join(roles)})")
        request.state.holder = holder
        return holder

    return check


def _use_to_note(request: Request, holder: TokenHolder) -> datetime | None:
    """Now, when the token's last use is to be stored (at most once a minute per token in
    this process); None otherwise."""
    now: datetime = request.app.state.calls.now()
    last = request.app.state.token_touched.get(holder.id)
    return now if last is None or (now - last).total_seconds() >= LAST_USED_SECONDS else None


def _note_use(request: Request, holder: TokenHolder) -> None:
    """Store the token's last use (in a worker thread: it writes to the database)."""
    now = _use_to_note(request, holder)
    if now is not None:
        request.app.state.token_touched[holder.id] = now
        touch_token(request.app.state.db, holder.id, now)


Runner = Annotated[TokenHolder, Depends(require(RUN))]
Reader = Annotated[TokenHolder, Depends(require(READ))]
Overrider = Annotated[TokenHolder, Depends(require(OVERRIDE))]
Operator = Annotated[TokenHolder, Depends(require(OPERATE))]
