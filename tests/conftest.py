"""Shared fixtures: paths, a compiler for inline protocol text, and a tiny protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage_dsl import Protocol, compile_text

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS = ROOT / "protocols"

HEADER = 'protocol demo title "Demo" version "1.0" end\n'


def protocol(body: str, header: str = HEADER) -> Protocol:
    """Compile a protocol from its body (a header is added)."""
    return compile_text(header + body, path="demo.triage")


@pytest.fixture
def root() -> Path:
    return ROOT
