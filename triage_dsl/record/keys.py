"""The record key: a secret the host keeps, for the keyed seal and keyed pseudonyms.

One secret, two derived keys (HMAC-SHA-256 of fixed labels), so a pseudonym never
reveals anything about a seal's MAC or the other way round; the key's id (an HMAC of a
third label) names it in a record without revealing it. The key comes from a file
(``--key-file``), or the environment: ``TRIAGE_RECORD_KEY_FILE`` (a path) or
``TRIAGE_RECORD_KEY`` (the key itself), in that order; never from the command line,
where other users of the machine could read it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage_dsl.errors import RecordError

MIN_KEY_BYTES = 32
ENV_KEY_FILE = "TRIAGE_RECORD_KEY_FILE"
ENV_KEY = "TRIAGE_RECORD_KEY"
HOW = "make one with: head -c 32 /dev/urandom | base64 > record.key"


class RecordKeyError(RecordError):
    """The key cannot be read, or is too short."""


def _mac(key: bytes, label: str) -> bytes:
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class RecordKey:
    """A record key (its text never appears in a repr, a record or a log).

    >>> key = RecordKey(b"k" * 32)
    >>> len(key.pseudonym("call-0001")), key.pseudonym("a") == key.pseudonym("a")
    (76, True)
    """

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_KEY_BYTES:
            raise RecordKeyError(
                f"the record key is {len(self.secret)} bytes; it needs at least {MIN_KEY_BYTES} ({HOW})"
            )

    @property
    def key_id(self) -> str:
        """Names the key in a record: 16 hex digits of an HMAC of a fixed label."""
        return _mac(self.secret, "triage-dsl key id v1").hex()[:16]

    def seal_mac(self, head: str) -> str:
        """The keyed seal of a chain's head."""
        return hmac.new(
            _mac(self.secret, "triage-dsl record seal v1"), head.encode(), hashlib.sha256
        ).hexdigest()

    def pseudonym(self, identifier: str) -> str:
        """A keyed stand-in for an identifier (full-length HMAC-SHA-256): equal ids give
        equal pseudonyms under one key; without the key they cannot be guessed back."""
        digest = hmac.new(
            _mac(self.secret, "triage-dsl pseudonym v1"), identifier.encode("utf-8"), hashlib.sha256
        ).hexdigest()
        return "hmac-sha256:" + digest


def load_key(key_file: str | None = None, environ: Mapping[str, str] | None = None) -> RecordKey | None:
    """The key from ``key_file``, else the environment, else None (unkeyed).

    The file's bytes are the key, surrounding whitespace stripped; at least 32 bytes.
    """
    env = os.environ if environ is None else environ
    path = key_file or env.get(ENV_KEY_FILE)
    if path:
        try:
            secret = Path(path).read_bytes().strip()
        except OSError as exc:
            raise RecordKeyError(f"cannot read the record key file {path}: {exc.strerror}") from None
        return RecordKey(secret)
    text = env.get(ENV_KEY)
    if text:
        return RecordKey(text.strip().encode("utf-8"))
    return None
