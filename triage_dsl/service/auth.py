"""Bearer tokens on every endpoint but /healthz: 401 without a valid token, 403 when the
token's role may not do what is asked.

Roles: ``call`` (run calls: start, answer, retract, override, escalate, close, read),
``review`` (read calls, records and notes; override), ``admin`` (everything, and /metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from triage_dsl.errors import TriageError
from triage_dsl.store.tokens import LAST_USED_SECONDS, TokenHolder, find_token, touch_token

bearer = HTTPBearer(auto_error=False, description="a token from `triage token create`")

RUN: tuple[str, ...] = ("call", "admin")
READ: tuple[str, ...] = ("call", "review", "admin")
OVERRIDE: tuple[str, ...] = ("call", "review", "admin")
OPERATE: tuple[str, ...] = ("admin",)


class AuthError(TriageError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def require(roles: tuple[str, ...]) -> Callable[..., TokenHolder]:
    """A dependency: the token's holder, when its role is one of ``roles``."""

    def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> TokenHolder:
        if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
            raise AuthError(401, "missing bearer token: send 'Authorization: Bearer TOKEN'")
        holder = find_token(request.app.state.db, credentials.credentials)  # every request: a revoked
        if holder is None:  # token is refused at once by every process
            raise AuthError(401, "unknown or revoked token")
        _note_use(request, holder)
        if holder.role not in roles:
            raise AuthError(403, f"a '{holder.role}' token may not do this (needs: {', '.join(roles)})")
        request.state.holder = holder
        return holder

    return check


def _note_use(request: Request, holder: TokenHolder) -> None:
    """Store the token's last use, at most once a minute per token in this process."""
    state = request.app.state
    now = state.calls.now()
    touched: dict[int, datetime] = state.token_touched
    last = touched.get(holder.id)
    if last is None or (now - last).total_seconds() >= LAST_USED_SECONDS:
        touched[holder.id] = now
        touch_token(state.db, holder.id, now)


Runner = Annotated[TokenHolder, Depends(require(RUN))]
Reader = Annotated[TokenHolder, Depends(require(READ))]
Overrider = Annotated[TokenHolder, Depends(require(OVERRIDE))]
Operator = Annotated[TokenHolder, Depends(require(OPERATE))]
