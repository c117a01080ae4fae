"""Clinical vignettes played through the terminal interview (``triage run``).

A vignette is what a caller would say: the answer typed for each question the nurse is
shown, by question id, as the nurse would type it (``yes``, ``38.4``, ``11 weeks``,
``?``). A yes/no question the vignette does not name is answered ``no`` (the caller
denies it); any other question it does not name fails the vignette, so a protocol that
starts asking something new is noticed. The interview itself chooses what to ask, so a
vignette also checks that nothing it needs is skipped.

``play`` drives :func:`triage_dsl.interview.interview` in the process (a caller that
reads the question on the screen and answers it); ``typed_lines`` gives the lines it
typed, to feed the real command (``triage run``) through a pipe.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from triage_dsl import load
from triage_dsl.interview import interview
from triage_dsl.model.caller import CallInfo
from triage_dsl.protocol import Protocol

ROOT = Path(__file__).resolve().parents[2]
AT = "2026-12-01T04:00:00Z"


@dataclass(frozen=True)
class Vignette:
    protocol: str  # path under protocols/
    name: str
    source: str  # the public page the vignette is written from
    says: dict[str, str]  # question id -> what the nurse types
    disposition: str
    tier: str
    caller: list[str] = field(default_factory=lambda: ["1", "", "N1", "the complaint"])


@dataclass
class Played:
    code: int
    disposition: str | None
    tier: str | None
    asked: list[str]
    typed: list[str]
    transcript: str
    result_json: dict[str, object] | None


def prompts(protocol: Protocol) -> dict[str, str]:
    """Question prompt -> id, over the protocol and the libraries it uses."""
    found: dict[str, str] = {}
    seen: set[int] = set()

    def walk(p: Protocol) -> None:
        if id(p) in seen:
            return
        seen.add(id(p))
        for qid, q in p.plan.questions.items():
            found.setdefault(q.prompt, qid)
        for callee in p.plan.callees.values():
            walk(callee)

    walk(protocol)
    return found


class Caller(io.TextIOBase):
    """Stdin for the interview: reads the last question on the screen and answers it."""

    def __init__(self, protocol: Protocol, says: dict[str, str], screen: io.StringIO) -> None:
        self.by_prompt = prompts(protocol)
        self.says = says
        self.screen = screen
        self.asked: list[str] = []
        self.typed: list[str] = []
        self.read_to = 0

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        shown = self.screen.getvalue()
        new, self.read_to = shown[self.read_to :], len(shown)
        if "Anything else the caller said?" in new:
            return self._type("")
        if "Does the caller agree with the advice?" in new:
            return self._type("yes")
        # the question shown last (typed answers are not echoed, so a prompt may follow
        # the previous one's "> " on the same line)
        ends = ((shown.rfind(p + "\n"), p, q) for p, q in self.by_prompt.items())
        end, _, qid = max(((at + len(p), len(p), q) if at >= 0 else (-1, 0, q)) for at, p, q in ends)
        if end < 0:
            qid = None
        if qid is None:
            raise AssertionError(f"no question on the screen:\n{shown[-400:]}")
        if "Invalid answer" in new:
            raise AssertionError(f"the answer to {qid} was refused:\n{new}")
        self.asked.append(qid)
        if qid in self.says:
            return self._type(self.says[qid])
        if "[yes/no" in new.splitlines()[-1]:
            return self._type("no")
        raise AssertionError(f"the vignette does not say what to answer to {qid}:\n{new}")

    def _type(self, text: str) -> str:
        self.typed.append(text)
        return text + "\n"


_LOADED: dict[str, Protocol] = {}


def protocol_at(path: str) -> Protocol:
    if path not in _LOADED:
        _LOADED[path] = load(ROOT / "protocols" / path)
    return _LOADED[path]


def play(v: Vignette) -> Played:
    from datetime import datetime

    protocol = protocol_at(v.protocol)
    screen = io.StringIO()
    caller = Caller(protocol, v.says, screen)
    call = CallInfo(caller="patient", agent_id="N1", chief_complaint=v.name)
    now = datetime.fromisoformat(AT.replace("Z", "+00:00"))
    code, result = interview(protocol, caller, screen, call=call, now=now)
    return Played(
        code=code,
        disposition=result.disposition.id if result and result.disposition else None,
        tier=result.urgency.tier if result and result.urgency else None,
        asked=caller.asked,
        typed=caller.typed,
        transcript=screen.getvalue(),
        result_json=result.model_dump(mode="json") if result else None,
    )
