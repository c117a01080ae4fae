"""A JSON value read from a file, checked against a model, or a message naming the fix.

Every command that reads a record, a result or a caller block from a file reports a
value that does not fit its model the same way: the file, what it is not, the first
field that is wrong (its path, e.g. ``trace.3.kind``) with pydantic's reason, and where
to look. Never a traceback.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from triage_dsl.errors import ProtocolFileError

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], raw: object, *, source: str, what: str, hint: str) -> M:
    """``model.model_validate(raw)``, or :class:`ProtocolFileError` of the form
    ``SOURCE: WHAT: FIELD: REASON (HINT)``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ProtocolFileError(f"{source}: {what}: {where}: {first['msg']} ({hint})") from None
