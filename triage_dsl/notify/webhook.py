"""A notifier that POSTs each notification as JSON to the practice's URL, signed.

The body is the notification's canonical JSON (keys sorted, no whitespace, UTF-8). The
header ``X-Triage-Signature: sha256=<hex>`` is the HMAC-SHA-256 of the exact body bytes
under the shared secret, so the receiver can check who sent it and that nothing changed;
``sent_at`` inside the body lets it refuse replays. A 2xx answer is a delivery; any other
answer, a timeout or a refused connection is a failed one (``ok`` false, with why).
Transport failures are tried again up to ``tries`` times at once (one attempt of the
plan); the plan's own retries are later attempts, each in the record.

>>> signature(b'{"a":1}', b"k" * 32)
'sha256=1d3154043cab846e480d276b293ac8d8443514ce52ccd43a7c118d42f9bc5b5b'
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import dataclass

from triage_dsl.model.result import DeliveryAttempt
from triage_dsl.notify.base import Notification
from triage_dsl.record.canonical import canonical_json

SIGNATURE_HEADER = "X-Triage-Signature"
MIN_SECRET_BYTES = 32


def signature(body: bytes, secret: bytes) -> str:
    """The value of the signature header for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass
class WebhookNotifier:
    url: str
    secret: bytes
    timeout: float = 10.0
    tries: int = 2
    name: str = "webhook"

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")):
            raise ValueError("the webhook URL must start with https:// (or http:// on a private network)")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the webhook secret must be at least {MIN_SECRET_BYTES} bytes")
        if self.tries < 1:
            raise ValueError("tries must be at least 1")

    def send(self, notification: Notification) -> DeliveryAttempt:
        body = canonical_json(notification.model_dump(mode="json")).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(body, self.secret)}
        problem = "not tried"
        for tried in range(1, self.tries + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                    status = int(answer.status)
                return DeliveryAttempt(
                    notifier=self.name,
                    ok=200 <= status < 300,
                    status=status,
                    tries=tried,
                    detail=None if 200 <= status < 300 else f"HTTP {status}",
                )
            except urllib.error.HTTPError as exc:  # the receiver answered: no transport retry
                return DeliveryAttempt(
                    notifier=self.name, ok=False, status=exc.code, tries=tried, detail=f"HTTP {exc.code}"
                )
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", exc)
                problem = f"not delivered: {reason}"
        return DeliveryAttempt(notifier=self.name, ok=False, tries=self.tries, detail=problem)
