"""Parsing pauses Python's cycle collector and always resumes it (speed of large files)."""

from __future__ import annotations

import gc

import pytest

from triage_dsl.source import Source
from triage_dsl.syntax.parser import parse_protocol_recovering

GOOD = 'protocol p title "P" version "1" end\n'


@pytest.mark.parametrize("text", [GOOD, "protocol (((\n", "\ud800"])
def test_the_collector_is_running_after_a_parse(text: str) -> None:
    assert gc.isenabled()
    parse_protocol_recovering(Source("p.triage", text))
    assert gc.isenabled()


def test_a_collector_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        parse_protocol_recovering(Source("p.triage", GOOD))
        assert not gc.isenabled()
    finally:
        gc.enable()
