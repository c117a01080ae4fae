"""Safe retries: the ``Idempotency-Key`` request header (draft-ietf-httpapi-idempotency-key-header).

A client that sends a POST and gets no response cannot know whether it was stored. With
a key on the request it sends the same request again with the same key: the first one
that was stored is remembered with its key (in the transaction of its events), so the
service applies nothing twice and answers with the call as it is now, marked
``Idempotent-Replayed: true``. The same key with another request is refused (422,
``idempotency_key_reused``). A request without the header is served as before.

Keys are scoped: on a call's endpoints to that call, on ``POST /v1/calls`` to the token
that starts the call (two integrators never meet each other's keys).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from pydantic import BaseModel

from triage_dsl.errors import TriageError
from triage_dsl.store.idempotency import RequestKey
from triage_dsl.store.tokens import TokenHolder

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
MAX_LENGTH = 200
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
PATTERN = r"^[!-~]([ -~]{0,198}[!-~])?$"  # the document's: HTTP trims spaces at either end


class InvalidKey(TriageError):
    """The header is there but is not a key (400)."""


class KeyReused(TriageError):
    """The key was stored with another request (422)."""


def _document(schema: dict[str, Any]) -> None:
    """The header's schema: a string of the key's form (optional, never null)."""
    description = schema.get("description")
    schema.clear()
    schema.update(type="string", minLength=1, maxLength=MAX_LENGTH, pattern=PATTERN, title=HEADER)
    if description:
        schema["description"] = description


async def header_key(  # async: no I/O, so it runs on the event loop, not in a worker thread
    value: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=(
                "any unique string (a UUID is best; 1-200 printable ASCII characters): "
                "send the same request again with the same key to retry it safely; "
                f"a retry that was already stored is answered with `{REPLAYED}: true`"
            ),
            json_schema_extra=_document,
        ),
    ] = None,
) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_LENGTH or not _PRINTABLE.fullmatch(value):
        raise InvalidKey(
            f"{HEADER}: not a key ({len(value)} characters{_what_is_wrong(value)}): "
            f"use 1 to {MAX_LENGTH} printable ASCII characters, e.g. a UUID"
        )
    return value


def _what_is_wrong(value: str) -> str:
    """The first bytes that are not printable ASCII (a header is read as Latin-1: one
    character a byte)."""
    bad = list(dict.fromkeys(c for c in value if not 0x20 <= ord(c) <= 0x7E))
    return (
        ", bytes that are not printable ASCII: " + ", ".join(f"0x{ord(c):02X}" for c in bad[:3])
        if bad
        else ""
    )


IdempotencyKey = Annotated[str | None, Depends(header_key)]


def request_key(key: str | None, request: Request, body: BaseModel | None, scope: str) -> RequestKey | None:
    """The key of this request (None without the header): its scope and the hash of the
    request (method, path and the body as validated, so spacing and key order do not count)."""
    if key is None:
        return None
    content = body.model_dump(mode="json") if body is not None else None
    text = _text([request.method, url_path(request), content])
    return RequestKey(scope, key, hashlib.sha256(text.encode()).hexdigest())


# json.dumps(..., sort_keys=True, separators=(",", ":")) without making an encoder a call
_text = json.JSONEncoder(sort_keys=True, separators=(",", ":")).encode
# what Starlette's URL changes in a path: it escapes ?, # and \, urlsplit drops tabs and
# line breaks, and a path starting // is written /%2F when the request names no host; any
# other path is its URL's path as it is
_URL_CHANGES = re.compile(r"^//|[?#\\\t\r\n]")


def url_path(request: Request) -> str:
    """``request.url.path`` without building the URL (which costs more than the hash)."""
    path: str = request.scope["path"]
    return request.url.path if _URL_CHANGES.search(path) else path


def start_scope(who: TokenHolder | None) -> str:
    """The scope of a start's key: the token that starts the call."""
    return f"start:{who.id if who is not None else '-'}"
