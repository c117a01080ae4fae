"""Pass: a yes/no question asks about one finding.

A caller answers a yes/no question once. When its prompt joins findings with "and"
("Do they have asthma and a reliever inhaler?") a caller with only one of them answers
"no"; when ", or" starts a second question ("Did it come on suddenly, or is it severe?")
or joins two findings ("unusually tired, or confused"), the answer does not say which,
and a red flag is mixed with a common symptom. Lists of the ways one finding shows
("blue, grey or pale"), asides in parentheses and examples after "such as", "for
example" or a colon are not counted. A style warning (``W010``); when the joined
findings are one clinical sign, say so with ``allow W010 "reason"``.
"""

from __future__ import annotations

import re

from triage_dsl.check.scope import Scope
from triage_dsl.syntax import ast

_ASIDE = re.compile(r"\([^)]*\)")
_ELABORATION = re.compile(
    r"(:|\bsuch as\b|\bfor example\b|\be\.g\.|\bespecially\b|\bwhere\b|\bincluding\b).*$", re.I
)
_IDIOMS = re.compile(r"\b(comes? and go(es)?|on and off|off and on|and/or)\b", re.I)
_AND = re.compile(r"\band\b", re.I)
_OR_CLAUSE = re.compile(
    r",\s*or\s+(is|are|was|were|do|does|did|have|has|had|can|could|will|would|should|must)\b", re.I
)
_OR_TWO = re.compile(r"^[^,]*,\s*or\b[^,]*$", re.I)


def joining_word(prompt: str) -> str | None:
    """``"and"`` or ``"or"`` when the prompt joins several findings, else None.

    >>> joining_word("Do they have asthma and a reliever inhaler?")
    'and'
    >>> joining_word("Are their lips blue, grey or pale?") is None
    True
    """
    text = _IDIOMS.sub("", _ELABORATION.sub("", _ASIDE.sub("", prompt)))
    if _AND.search(text):
        return "and"
    if _OR_CLAUSE.search(text) or _OR_TWO.search(text):
        return "or"
    return None


def prompts(scope: Scope) -> None:
    for item in scope.file.items:
        if not isinstance(item, ast.Question) or item.type != "yes/no" or item.prompt is None:
            continue
        word = joining_word(item.prompt)
        if word is None:
            continue
        consequence = (
            "a caller with only one of them answers 'no'"
            if word == "and"
            else "the answer does not say which one the caller has"
        )
        scope.report(
            item.id_span,
            "W010",
            f"question '{item.id}' asks about several findings joined by '{word}': {consequence}",
            "ask one finding a question and combine them in the criteria, "
            'or write allow W010 "why they are one finding"',
            severity="warning",
        )
