"""Notifiers and role resolution in escalation runs: a real HTTP server in a thread, the
example roster, and records that stay verifiable."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.record.helpers import CHEST, example
from triage_dsl import evaluate, load
from triage_dsl.model.result import TriageResult
from triage_dsl.notify import LogNotifier, WebhookNotifier, deliver_next
from triage_dsl.record import FixedClock, escalate, override, redact, seal, verify
from triage_dsl.record.escalation import EscalationError, escalation_next
from triage_dsl.record.keys import RecordKey
from triage_dsl.roster.directory import Directory

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = Directory.load(str(ROOT / "docs/examples/roster.ics"), str(ROOT / "docs/examples/contacts.json"))
SECRET = b"s" * 32
# Saturday 2026-02-28, 21:14 in New York: Dr Patel holds the nights, Dr Lee backs her up.
T0 = "2026-03-01T02:14:00Z"


def at(text: str) -> FixedClock:
    return FixedClock(text)


def ed_now_record(start: str = T0) -> TriageResult:
    """A sealed chest-pain record overridden to 'ed_now': its plan pages the on-call
    physician (wait 10, retry 1 every 5), then phones the backup (the same)."""
    protocol = load(CHEST)
    record = seal(
        evaluate(protocol, example("chest_pain_emergency")),
        protocol=protocol,
        session_id="call-0001",
        clock=at(start),
    )
    return override(record, protocol, "ed_now", by="rn_jones", reason="already at the ED door", at=start)


class Receiver(BaseHTTPRequestHandler):
    """Answers each POST with the next status of ``answers`` (then 200), keeping what came."""

    answers: ClassVar[list[int]]
    received: ClassVar[list[tuple[bytes, dict[str, str]]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((body, dict(self.headers)))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"answers": [], "received": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/page", handler
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_a_failed_webhook_is_retried_per_the_plan_and_every_attempt_is_recorded(
    server: tuple[str, type[Receiver]],
) -> None:
    url, receiver = server
    receiver.answers[:] = [503, 200]
    notifier = WebhookNotifier(url, SECRET, timeout=5)
    record = deliver_next(ed_now_record(), notifier, resolver=DIRECTORY, clock=at(T0))
    first = record.escalation_run[-1]
    assert first.event.delivery is not None and (first.event.delivery.ok, first.event.delivery.status) == (
        False,
        503,
    )
    # nobody was reached: the retry is due after the plan's 5 minutes, not after the 10 minute wait
    nxt = escalation_next(record)
    assert nxt is not None and (nxt.kind, nxt.attempt) == ("notify", 1)
    assert nxt.due_at == datetime.fromisoformat("2026-03-01T02:19:00+00:00")
    with pytest.raises(EscalationError, match="not before"):
        deliver_next(record, notifier, resolver=DIRECTORY, clock=at("2026-03-01T02:18:00Z"))
    record = deliver_next(record, notifier, resolver=DIRECTORY, clock=at("2026-03-01T02:19:00Z"))
    second = record.escalation_run[-1]
    assert second.event.delivery is not None and second.event.delivery.ok and second.attempt == 1
    assert [s.resolved.person if s.resolved else None for s in record.escalation_run] == ["patel", "patel"]
    assert second.resolved is not None and second.resolved.contact == "pager 4402"
    assert second.resolved.channel == "secure_page" and second.resolved.shift == "oncall-nights@example.org"
    nxt = escalation_next(record)
    assert nxt is not None and nxt.kind == "wait"
    record = escalate(record, "callback", at="2026-03-01T02:25:00Z")
    assert escalation_next(record).kind == "done"  # type: ignore[union-attr]
    # the receiver got two signed copies of the notification
    assert len(receiver.received) == 2
    body, headers = receiver.received[1]
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert headers["X-Triage-Signature"] == expected and headers["Content-Type"] == "application/json"
    sent = json.loads(body)
    assert (sent["role"], sent["person"], sent["contact"], sent["attempt"]) == (
        "on_call_physician", "patel", "pager 4402", 1,
    )  # fmt: skip
    assert verify(record.model_dump(mode="json"), load(CHEST)).ok


def test_a_refused_connection_is_a_failed_delivery_after_the_transport_tries() -> None:
    notifier = WebhookNotifier("http://127.0.0.1:9/", SECRET, timeout=2, tries=2)
    record = deliver_next(ed_now_record(), notifier, clock=at(T0))
    delivery = record.escalation_run[-1].event.delivery
    assert delivery is not None and not delivery.ok and delivery.tries == 2
    assert delivery.status is None and (delivery.detail or "").startswith("not delivered")


def test_an_uncovered_role_sends_nothing_and_moves_on_at_once() -> None:
    # Sunday 2026-03-01 22:00 in New York: nobody holds backup_physician (the roster's gap)
    start = "2026-03-02T03:00:00Z"
    record = ed_now_record(start)
    notifier = LogNotifier()
    record = deliver_next(record, notifier, resolver=DIRECTORY, clock=at(start))
    record = escalate(record, "no_answer", at="2026-03-02T03:10:00Z")
    record = deliver_next(record, notifier, resolver=DIRECTORY, clock=at("2026-03-02T03:15:00Z"))
    record = escalate(record, "no_answer", at="2026-03-02T03:25:00Z")
    record = deliver_next(record, notifier, resolver=DIRECTORY, clock=at("2026-03-02T03:25:00Z"))
    gap = record.escalation_run[-1]
    assert gap.role == "backup_physician" and gap.resolved is not None and gap.resolved.person is None
    assert "nobody holds backup_physician" in gap.resolved.explanation
    assert gap.event.delivery is not None and (gap.event.delivery.ok, gap.event.delivery.tries) == (False, 0)
    assert len(notifier.sent) == 2  # only the two pages to Dr Patel went out
    retry = escalation_next(record)
    assert (
        retry is not None
        and retry.attempt == 1
        and retry.due_at == datetime.fromisoformat("2026-03-02T03:30:00+00:00")
    )
    record = deliver_next(record, notifier, resolver=DIRECTORY, clock=at("2026-03-02T03:30:00Z"))
    fallback = escalation_next(record)
    assert fallback is not None and fallback.kind == "fallback"
    assert fallback.due_at == datetime.fromisoformat("2026-03-02T03:30:00+00:00")


def test_a_holder_without_the_channel_is_passed_over_for_a_backup_who_has_it() -> None:
    from triage_dsl.roster.contacts import parse_contacts

    contacts = parse_contacts(
        {"people": {"patel": {"phone": "+1 555 0102"}, "lee": {"secure_page": "pager 4401"}}}, "c.json"
    )
    directory = Directory(DIRECTORY.roster, contacts, "0" * 64)
    resolved = directory.resolve("on_call_physician", "secure_page", FixedClock(T0).now())
    assert (resolved.person, resolved.rank, resolved.contact) == ("lee", 1, "pager 4401")
    assert "skipped patel: no secure_page contact" in resolved.explanation


def test_redacted_copies_pseudonymise_who_was_paged_and_how() -> None:
    record = deliver_next(ed_now_record(), LogNotifier(fail=1), resolver=DIRECTORY, clock=at(T0))
    key = RecordKey(b"k" * 32)
    copy = redact(record, key).escalation_run[-1]
    assert copy.resolved is not None and copy.resolved.contact == key.pseudonym("pager 4402")
    assert copy.resolved.person == key.pseudonym("patel") and copy.resolved.explanation == "[redacted]"
    assert copy.event.delivery is not None and copy.event.delivery.detail == "[redacted]"
    unkeyed = redact(record).escalation_run[-1].resolved
    assert unkeyed is not None and unkeyed.contact == "[redacted]" and unkeyed.role == "on_call_physician"


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda s: s["resolved"].update(contact="+1 555 9999"), "escalation 2"),
        (lambda s: s["event"]["delivery"].update(ok=True), "escalation 2"),
        (lambda s: s.update(resolved=None), "escalation 2"),
    ],
)
def test_edits_to_who_was_paged_break_the_chain(edit: Any, named: str) -> None:
    record = deliver_next(ed_now_record(), LogNotifier(fail=1), resolver=DIRECTORY, clock=at(T0))
    raw = record.model_dump(mode="json")
    edit(raw["escalation_run"][-1])
    result = verify(raw, load(CHEST))
    assert not result.ok and any(named in p.where for p in result.problems)


def test_a_record_without_resolutions_hashes_as_before() -> None:
    """Steps appended without a roster carry null 1.3 fields, which are not hashed: a record
    written before 1.3 and read back by this version keeps every hash."""
    record = escalate(ed_now_record(), "paged", at="2026-03-01T02:15:00Z")
    raw = record.model_dump(mode="json")
    for step in raw["escalation_run"]:
        del step["resolved"], step["event"]["delivery"]
    assert verify(raw, load(CHEST)).ok
    assert verify(TriageResult.model_validate(raw).model_dump(mode="json"), load(CHEST)).ok


def test_a_resolution_for_another_step_is_refused() -> None:
    wrong = DIRECTORY.resolve("backup_physician", "phone", FixedClock(T0).now())
    with pytest.raises(EscalationError, match="the step notifies on_call_physician"):
        escalate(ed_now_record(), "paged", at=T0, resolved=wrong)


def test_webhook_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        WebhookNotifier("https://example.org/page", b"short")
    with pytest.raises(ValueError, match="https://"):
        WebhookNotifier("ftp://example.org/page", SECRET)


def test_timing_of_retry_uses_the_plan() -> None:
    record = deliver_next(ed_now_record(), LogNotifier(fail=2), clock=at(T0))
    nxt = escalation_next(record)
    assert nxt is not None and nxt.due_at is not None
    assert nxt.due_at - datetime.fromisoformat(T0.replace("Z", "+00:00")) == timedelta(minutes=5)
