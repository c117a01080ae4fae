"""A notifier that keeps what it is given: for tests and dry runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from triage_dsl.model.result import DeliveryAttempt
from triage_dsl.notify.base import Notification

log = logging.getLogger("triage_dsl.notify")


@dataclass
class LogNotifier:
    """Appends each notification to ``sent``; the first ``fail`` deliveries fail (to test
    what a run does when nobody is reached)."""

    fail: int = 0
    name: str = "log"
    sent: list[Notification] = field(default_factory=list)

    def send(self, notification: Notification) -> DeliveryAttempt:
        self.sent.append(notification)
        log.info(
            "notify %s by %s (plan %s step %d)",
            notification.role,
            notification.channel,
            notification.plan,
            notification.step,
        )
        if len(self.sent) <= self.fail:
            return DeliveryAttempt(
                notifier=self.name, ok=False, detail="failed on purpose (LogNotifier.fail)"
            )
        return DeliveryAttempt(notifier=self.name, ok=True)
