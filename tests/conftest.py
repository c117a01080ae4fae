"""Shared fixtures: paths, a compiler for inline protocol text, and a tiny protocol."""

from __future__ import annotations

import os
import random
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


SEED = int(os.environ.get("TRIAGE_FUZZ_SEED") or random.SystemRandom().randrange(2**32))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A fresh hypothesis seed for each run unless one is given (printed in the header)."""
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(SEED)


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    return f"hypothesis seed: {seed} (repeat with --hypothesis-seed={seed})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The seed again at the end, where a failing run's reader looks (also under -q)."""
    seed = config.getoption("hypothesis_seed", None)
    terminalreporter.write_line(f"hypothesis seed: {seed} (repeat with --hypothesis-seed={seed})")
