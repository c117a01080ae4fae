"""The result of one evaluation, as pydantic models: the JSON and its published schema.

``TriageResult`` is what ``triage eval --answers`` prints and what
:func:`triage_dsl.evaluate` returns. ``SCHEMA_VERSION`` names its shape: a later version
may add fields but never changes the meaning of an existing one.

Schema 1.1 adds the optional fields of the **liability record** (``triage_dsl.record``
fills them when it seals a result): each trace entry's chained ``hash``, the interpreter
version, the session id, timestamps, overrides, the escalation steps run and the
``seal``. A 1.0 result is a valid 1.1 record without them.

Schema 1.2 adds ``raised_by`` (a minimum-urgency floor raised the outcome) and the trace
kinds ``floor`` and ``raise``; the protocol's content hash (``protocol.content_sha256``:
the protocol and every file it imports) and status, the **answer log** (every answer the
caller gave, in order, with corrections, retractions and notes), the **caller block**
(``call``) and the optional keyed seal. Paths in results are relative to the protocol's
root folder. A 1.1 record is a valid 1.2 record without them.

Schema 1.3 adds to each escalation step who it was resolved to (``resolved``: the role's
holder in the on-call roster, the channel and the contact used) and to its event how a
notifier delivered it (``event.delivery``). A 1.2 record is a valid 1.3 record without
them; both are hashed only when present, so 1.2 records keep their hashes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from triage_dsl.model.caller import CallInfo
from triage_dsl.model.plain import final_answers as final_answers  # the log's replay, here too

SCHEMA_VERSION = "1.3"

JSONValue = bool | int | float | str | None
AnswerValue = bool | int | float | str

Status = Literal["complete", "needs_answers", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProtocolRef(_Model):
    """Which protocol, exactly: id, version and the SHA-256 of its source text."""

    id: str
    title: str
    version: str
    path: str = Field(description="the protocol file, relative to its root folder (schema 1.2)")
    sha256: str = Field(description="SHA-256 of the protocol file's text (its imports not included)")
    content_sha256: str | None = Field(
        None,
        description="(1.2) SHA-256 over the protocol and every file it imports: what ran, exactly",
    )
    status: str | None = Field(None, description="(1.2) the header's status: draft, approved or retired")


class OptionInfo(_Model):
    id: str
    label: str


class QuestionInfo(_Model):
    """A question as an agent's screen shows it."""

    id: str
    prompt: str
    help: str | None = None
    type: Literal["yes/no", "number", "whole number", "choice", "age", "duration"]
    unit: str | None = None
    range: tuple[float, float] | None = Field(
        None, description="valid answers, inclusive (for an age or duration: in minutes)"
    )
    range_text: str | None = Field(
        None, description="an age's or duration's range as written: '0 days to 120 years'"
    )
    options: list[OptionInfo] = Field(default_factory=list)
    unknown_allowed: bool = False
    location: str


class EscalationStep(_Model):
    """One step of an escalation plan, as data the host executes."""

    kind: Literal["notify", "tell_caller"]
    role: str | None = None
    channel: str | None = None
    wait_minutes: float | None = Field(None, description="how long to wait for a callback")
    retries: int = 0
    retry_every_minutes: float | None = None
    text: str | None = Field(None, description="what the caller is told (tell_caller)")
    worst_case_minutes: float = Field(description="wait plus every retry, before the next step")


class EscalationPlan(_Model):
    """Who is notified, how, how long to wait, how often to retry, and the last resort."""

    id: str
    steps: list[EscalationStep]
    fallback: str = Field(description="what the caller is told when every step has failed")
    worst_case_minutes: float = Field(description="longest time before the fallback is reached")
    location: str


class Disposition(_Model):
    """What the caller should do."""

    id: str
    label: str
    care_advice: list[str] = Field(default_factory=list)
    location: str


class Urgency(_Model):
    """The urgency tier: rank 0 is the most urgent tier of the protocol's scale."""

    tier: str
    label: str
    rank: int
    time_frame: str | None
    time_frame_minutes: float | None


class DecidedBy(_Model):
    """Why the result is what it is."""

    kind: Literal["criterion", "default", "unknown_answer", "continued"]
    section: str
    criterion: str | None = None
    location: str
    text: str
    explanation: str


class RaisedBy(_Model):
    """A minimum-urgency floor (``at least ...``) raised the outcome, and why (schema 1.2)."""

    kind: Literal["criterion", "unknown_answer"] = Field(
        description="the floor's criterion held, or could not be ruled out because the caller did not know"
    )
    floor: str = Field(description="the floor's graph node")
    floor_location: str = Field(description="file:line of the floor")
    screen: str | None = Field(None, description="the screen that declares the floor, if any")
    criterion: str | None = None
    location: str = Field(description="file:line of the criterion that held")
    text: str = Field(description="the criterion that held, as written")
    from_disposition: str
    from_tier: str
    to_disposition: str
    to_tier: str
    explanation: str


class Assumption(_Model):
    """A criterion the answers could not decide, resolved toward urgency (or by the
    author's ``unknown means`` rule), and why."""

    question: str
    node: str
    location: str
    assumed: JSONValue
    reason: str


class AnswerProblem(_Model):
    """One invalid answer: which question, which rule it broke."""

    question: str
    code: Literal[
        "unknown_question",
        "wrong_type",
        "not_an_option",
        "out_of_range",
        "not_finite",
        "unknown_not_allowed",
        "not_whole",
        "no_clock",
        "outside_population",
    ]
    message: str


class TraceEntry(_Model):
    """One step of the evaluation, in order."""

    step: int
    kind: Literal[
        "answer",
        "value",
        "score",
        "points",
        "criterion",
        "section",
        "default",
        "assumption",
        "continue",
        "disposition",
        "population",
        "floor",
        "raise",
    ]
    node: str
    protocol: str
    location: str
    text: str
    reads: dict[str, JSONValue] = Field(default_factory=dict)
    value: JSONValue = None
    detail: str = ""
    row: int | None = Field(None, description="points tables: the row that matched (0-based)")
    hash: str | None = Field(
        None,
        description="record (1.1): SHA-256 of this entry without its hash, chained to the previous link",
    )


class Override(_Model):
    """A person changed the disposition: who, when, why, from what to what.

    The computed result stays in the record beside it; overrides apply in order and the
    last one is the disposition in effect.
    """

    seq: int = Field(
        description="position among the record's appended links (overrides and escalation steps)"
    )
    by: str = Field(description="who overrode (the host's staff id)")
    at: datetime
    reason: str | None = None
    disposition: Disposition
    urgency: Urgency
    escalation: EscalationPlan | None = None
    previous_disposition: str | None = Field(description="the disposition in effect before this override")
    previous_tier_rank: int | None = None
    direction: Literal["upgrade", "same_tier", "downgrade", "first_disposition"] = Field(
        description="relative to the disposition in effect before: a downgrade is to a less urgent tier"
    )
    hash: str | None = None


class DeliveryAttempt(_Model):
    """(1.3) How a notifier delivered one notification: the outcome of one attempt."""

    notifier: str = Field(description="the notifier that made the attempt: webhook, log, ...")
    ok: bool = Field(description="delivered (the receiver accepted it); false: nobody was reached")
    status: int | None = Field(None, description="the receiver's answer, e.g. the HTTP status")
    tries: int = Field(1, description="deliveries tried for this attempt (1 unless the transport failed)")
    detail: str | None = Field(None, description="why it failed (redacted in log copies)")


class EscalationEvent(_Model):
    """What happened in an escalation run, as the host reports it."""

    kind: Literal["paged", "callback", "no_answer", "told_caller"]
    at: datetime
    detail: str | None = Field(None, description="free text from the host (redacted in log copies)")
    delivery: DeliveryAttempt | None = Field(
        None,
        description="(1.3) for 'paged' sent through a notifier: the delivery; a failed one reached "
        "nobody, so the run moves on without waiting for a callback",
    )


class StepResolution(_Model):
    """(1.3) Who a notification was meant to reach: the role's holder in the roster at
    the time, the channel and the contact used."""

    role: str
    channel: str
    person: str | None = Field(
        description="the person resolved from the roster; None when nobody held the role"
    )
    rank: int = Field(0, description="0: the role's holder; 1, 2...: a backup by roster priority")
    contact: str | None = Field(
        None, description="the person's address on the channel (a keyed pseudonym in redacted copies)"
    )
    shift: str | None = Field(None, description="the UID of the roster event that gave the holder")
    roster_sha256: str | None = Field(None, description="SHA-256 of the roster file resolved against")
    explanation: str


class NextEscalationStep(_Model):
    """What the host should do next in an escalation run, and when."""

    kind: Literal["notify", "tell_caller", "wait", "fallback", "done"]
    step: int | None = Field(None, description="1-based step of the plan (None for fallback/done)")
    attempt: int = Field(0, description="0 for the first notification, 1.. for retries")
    role: str | None = None
    channel: str | None = None
    text: str | None = None
    due_at: datetime | None = Field(None, description="when: at once (the event time) or a deadline")
    explanation: str


class EscalationStepRun(_Model):
    """One event of an escalation run, appended to the record with the next step it led to."""

    seq: int
    plan: str
    event: EscalationEvent
    step: int | None = Field(None, description="the plan step the event belongs to (1-based)")
    attempt: int = 0
    role: str | None = Field(None, description="who the step notifies")
    channel: str | None = None
    resolved: StepResolution | None = Field(
        None, description="(1.3) the person, channel and contact the notification was meant for"
    )
    next: NextEscalationStep
    hash: str | None = None


class AnswerEvent(_Model):
    """One thing the caller said, in the order said (schema 1.2): an answer, a correction
    of an earlier answer, a retraction, or a note of extra information.

    The log is the caller's words as given; the result's ``answers`` are the ones the
    evaluation read. Replaying the log (:func:`final_answers`) gives the answers evaluated.
    """

    seq: int = Field(description="1, 2, 3... in the order given")
    kind: Literal["answer", "correction", "retraction", "note"]
    question: str | None = Field(None, description="the question answered (None for a note)")
    value: JsonValue = Field(None, description="the answer as given (answer, correction)")
    previous: JsonValue = Field(None, description="correction, retraction: the answer it replaces")
    at: datetime | None = Field(
        None, description="when (from the clock); a batch's answers take the call's start"
    )
    reason: str | None = Field(None, description="correction, retraction: why (free text)")
    text: str | None = Field(None, description="note: what the caller added (free text)")
    prompt: str | None = Field(None, description="the question as the protocol asks it")
    red_flag: bool = Field(False, description="the question is a red flag of the protocol")
    after_outcome: bool = Field(False, description="said after the disposition was reached (notes only)")
    problem: str | None = Field(None, description="an invalid answer: the rule it broke (evaluate only)")


class KeyedSeal(_Model):
    """An HMAC-SHA-256 over the chain's head with a key the host keeps (schema 1.2)."""

    algorithm: Literal["hmac-sha256"] = "hmac-sha256"
    key_id: str = Field(description="names the key (an HMAC of a fixed text, not the key)")
    head: str = Field(description="the head the MAC covers (the seal's head when sealed or extended)")
    mac: str


class Seal(_Model):
    """How the record is chained: every link's hash covers the previous link's hash."""

    algorithm: Literal["sha256"] = "sha256"
    encoding: Literal["json-c14n-1"] = Field(
        "json-c14n-1", description="UTF-8 JSON, keys sorted, no whitespace (docs/record.md)"
    )
    chain_version: str = Field(description="which fields each link covers (the schema version that sealed)")
    header: str = Field(description="hash of the header link (protocol, files, session, time, answers)")
    outcome: str = Field(description="hash of the outcome link, chained to the last trace entry")
    head: str = Field(description="hash of the last link: anchor it elsewhere to detect truncation")
    keyed: KeyedSeal | None = Field(None, description="(1.2) the keyed seal, when sealed with a key")


class TriageResult(_Model):
    """The whole result of evaluating a protocol against a caller's answers."""

    schema_version: str = SCHEMA_VERSION
    protocol: ProtocolRef
    status: Status
    disposition: Disposition | None = None
    urgency: Urgency | None = None
    escalation: EscalationPlan | None = None
    scores: dict[str, float | int | None] = Field(default_factory=dict)
    answers: dict[str, AnswerValue] = Field(
        default_factory=dict, description="the answers the evaluation read, in the order asked"
    )
    asked: list[str] = Field(default_factory=list, description="questions read, in order")
    missing: list[str] = Field(
        default_factory=list,
        description="unanswered questions the outcome may depend on; the first is the one to ask next",
    )
    next_question: QuestionInfo | None = None
    decided_by: DecidedBy | None = None
    raised_by: RaisedBy | None = Field(
        None, description="schema 1.2: the floor that raised the outcome above what decided_by gave"
    )
    assumptions: list[Assumption] = Field(default_factory=list)
    error: str | None = None
    errors: list[AnswerProblem] = Field(default_factory=list)
    trace: list[TraceEntry] = Field(default_factory=list)
    note: str | None = Field(None, description="the triage note for the chart (plain text)")
    # ---- record (schema 1.1): filled when triage_dsl.record seals the result
    interpreter_version: str | None = None
    session_id: str | None = None
    started_at: datetime | None = None
    sealed_at: datetime | None = None
    protocol_files: dict[str, str] | None = Field(
        None, description="every source file the protocol was compiled from (imports too) -> SHA-256"
    )
    overrides: list[Override] = Field(default_factory=list)
    escalation_run: list[EscalationStepRun] = Field(default_factory=list)
    answer_log: list[AnswerEvent] = Field(
        default_factory=list,
        description="(1.2) every answer the caller gave, in order, with corrections, retractions and notes",
    )
    call: CallInfo | None = Field(None, description="(1.2) the caller block: who called, callback, agreement")
    seal: Seal | None = None
    redacted: bool = Field(False, description="a copy for logs: answers and free text removed")

    def to_json(self, **kwargs: Any) -> str:
        return self.model_dump_json(**kwargs)
