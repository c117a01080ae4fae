"""Delivering escalation steps: notifiers, and the driver that records each attempt.

A :class:`~triage_dsl.notify.base.Notifier` sends one :class:`Notification` and says how
it went (a :class:`~triage_dsl.model.result.DeliveryAttempt`); ``log`` keeps them in a
list (tests, dry runs), ``webhook`` POSTs them as JSON signed with HMAC-SHA-256.
:func:`~triage_dsl.notify.deliver.deliver_next` resolves the next notification's role
through a roster, sends it, and appends the attempt to the record.
"""

from triage_dsl.notify.base import Notification, Notifier
from triage_dsl.notify.deliver import deliver_next
from triage_dsl.notify.log import LogNotifier
from triage_dsl.notify.webhook import WebhookNotifier, signature

__all__ = ["LogNotifier", "Notification", "Notifier", "WebhookNotifier", "deliver_next", "signature"]
