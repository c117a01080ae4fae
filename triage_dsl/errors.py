"""Diagnostics and the error tree.

Every stage reports problems as :class:`Diagnostic` values (a span, a code, a severity, a
message and an optional hint). Stages collect them and raise once, so one run reports
every error of a file. The text form is ``path:line:col: error[T012]: message`` followed
by the source line, a caret and ``hint:`` when a fix is known; ``to_dict`` gives the same
data for ``--format json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Literal

from triage_dsl.source import Source, Span, visible

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a source file."""

    span: Span
    code: str
    severity: Severity
    message: str
    hint: str | None = None
    witness: tuple[tuple[str, object], ...] | None = None
    """Answers that demonstrate a behavioural finding (analyses), as (question, answer)."""
    suppressed: str | None = None
    """The reason an ``allow`` in the protocol gives for accepting this finding."""

    def render(self, source: Source | None = None) -> str:
        """The text form, for a terminal: control characters of the file (in the excerpt,
        the message or the path) are shown escaped (see :func:`~triage_dsl.source.visible`);
        :meth:`to_dict` keeps them exact."""
        # Each part is one line: a line feed in it (a file named so) is escaped too, so a
        # path or a message cannot start a line that reads as another diagnostic.
        head = visible(f"{self.span.where}: {self.severity}[{self.code}]: {self.message}", lines=False)
        parts = [head]
        if source is not None:
            excerpt = source.excerpt(self.span)
            if excerpt:
                parts.append("\n".join("    " + visible(line) for line in excerpt.splitlines()))
        if self.witness is not None:
            parts.append(visible(f"    witness: {witness_text(self.witness)}", lines=False))
        if self.hint:
            parts.append(visible(f"    hint: {self.hint}", lines=False))
        if self.suppressed is not None:
            parts.append(visible(f"    suppressed: {self.suppressed}", lines=False))
        return "\n".join(parts)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.span.path,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "witness": dict(self.witness) if self.witness is not None else None,
            "suppressed": self.suppressed,
        }


def finding_json(d: Diagnostic) -> list[object]:
    """A diagnostic as a compact JSON list (the caches' form; ``suppressed`` not included)."""
    s = d.span
    witness = [list(pair) for pair in d.witness] if d.witness is not None else None
    return [
        *(s.path, s.line, s.column, s.end_line, s.end_column),
        *(d.code, d.severity, d.message, d.hint, witness),
    ]


def finding_from_json(item: object) -> Diagnostic:
    """The diagnostic :func:`finding_json` wrote; ValueError (or TypeError) for anything else."""
    if not isinstance(item, list) or len(item) != 10:
        raise ValueError("not a finding")
    path, line, column, end_line, end_column, code, severity, message, hint, witness = item
    if not (
        isinstance(path, str)
        and all(type(n) is int for n in (line, column, end_line, end_column))
        and isinstance(code, str)
        and severity in ("error", "warning", "info")
        and isinstance(message, str)
        and (hint is None or isinstance(hint, str))
        and (
            witness is None
            or (isinstance(witness, list) and all(isinstance(w, list) and len(w) == 2 for w in witness))
        )
    ):
        raise ValueError("not a finding")
    pairs = tuple((str(q), v) for q, v in witness) if witness is not None else None
    return Diagnostic(Span(path, line, column, end_line, end_column), code, severity, message, hint, pairs)


def witness_text(witness: tuple[tuple[str, object], ...]) -> str:
    """``{"a": true, "b": 38.5}`` in JSON form, the way answers are written."""
    import json

    return json.dumps(dict(witness)) if witness else "{} (any answers)"


SIMILARITY = 0.6
"""The least :class:`difflib.SequenceMatcher` ratio of a suggestion."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean 'x'?`` hint for a misspelled ``name``, or None.

    The candidates are first narrowed by the bound difflib itself applies first (its
    ``quick_ratio``: the characters two names share), computed here without building a
    matcher for ``name``: the answer is the same, and a protocol with thousands of unknown
    names is checked without thousands of matchers.
    """
    pool = sorted(c for c in set(candidates) if _could_match(name, c))
    matches = get_close_matches(name, pool, n=1, cutoff=SIMILARITY) if pool else []
    return f"did you mean '{matches[0]}'?" if matches else None


def _could_match(a: str, b: str) -> bool:
    """``SequenceMatcher(None, a, b).quick_ratio() >= SIMILARITY``, an upper bound of the
    ratio difflib compares with the cutoff."""
    total = len(a) + len(b)
    if not total:
        return True  # two empty names: difflib's ratio is 1
    if 2.0 * min(len(a), len(b)) / total < SIMILARITY:
        return False
    shared = sum(min(a.count(ch), b.count(ch)) for ch in set(a) & set(b))
    return 2.0 * shared / total >= SIMILARITY


class TriageError(Exception):
    """Root of every error the toolkit raises on purpose."""


class CompileError(TriageError):
    """A protocol (or one of its imports) has errors; ``diagnostics`` lists every one."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, Source]):
        self.diagnostics = list(diagnostics)
        self.sources = dict(sources)
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        summary = f"{len(errors)} error(s)"
        if first is not None:
            summary += f"; first: {first.span.where}: {first.message}"
        super().__init__(summary)

    def render(self) -> str:
        return "\n".join(d.render(self.sources.get(d.span.path)) for d in self.diagnostics)


class ProtocolFileError(TriageError):
    """A protocol or scenario file could not be read (missing, not UTF-8, too large)."""


class AnswerError(TriageError):
    """An answer given to a protocol is invalid; raised only by APIs that ask for it.

    Besides its message it carries, for programs, the ``question`` id, a ``code`` (the
    same codes as a result's ``errors``: ``unknown_question``, ``wrong_type``,
    ``out_of_range``...) and the ``value`` refused.

    >>> e = AnswerError("question 'x': expected yes/no", question="x", code="wrong_type", value=3)
    >>> e.question, e.code, e.value, str(e)
    ('x', 'wrong_type', 3, "question 'x': expected yes/no")
    """

    def __init__(
        self, message: str, *, question: str | None = None, code: str | None = None, value: object = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.question = question
        self.code = code
        self.value = value


class SessionError(TriageError):
    """A session was used wrongly (answering after completion, answering twice...)."""


class RecordError(TriageError):
    """A liability-record operation refused (an override the policy forbids, an
    escalation event out of order, a record that is not sealed)."""


class AnalysisLimit(TriageError):
    """The analyses cannot be exact for this protocol (and say why)."""


class Terminated(Exception):
    """SIGTERM or SIGHUP arrived; the command stops the way Ctrl-C stops it."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum
