"""Shared fixtures: paths, a compiler for inline protocol text, and a tiny protocol."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
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


# The user's cache folder as it was before the run (None: not configured by anyone).
REAL_CACHE_ENV = {name: os.environ.get(name) for name in ("TRIAGE_CACHE_DIR", "XDG_CACHE_HOME")}
_SESSION_CACHE: list[Path] = []


def _real_cache_folder() -> Path:
    """The folder ``triage_dsl.io.cache.cache_dir`` would use outside the tests."""
    if REAL_CACHE_ENV["TRIAGE_CACHE_DIR"]:
        return Path(REAL_CACHE_ENV["TRIAGE_CACHE_DIR"])
    base = REAL_CACHE_ENV["XDG_CACHE_HOME"] or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triage-dsl"


@pytest.fixture
def real_cache_folder() -> Path:
    """The user's own cache folder (which no test may write to)."""
    return _real_cache_folder()


@pytest.fixture
def session_cache_root() -> Path:
    """The temporary folder this run's caches go to (parser, compile and findings caches)."""
    return _SESSION_CACHE[0]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A fresh hypothesis seed for each run unless one is given (printed in the header),
    and a temporary cache folder for the whole run: nothing a test builds lands in the
    user's own cache (``~/.cache/triage-dsl``), and no test reads what an earlier run (or
    the user) left there. Set in the environment, so the commands tests start inherit it;
    ``XDG_CACHE_HOME`` too, for tests that unset ``TRIAGE_CACHE_DIR``."""
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(SEED)
    if not _SESSION_CACHE:
        root = Path(tempfile.mkdtemp(prefix="triage-test-cache-"))
        _SESSION_CACHE.append(root)
        os.environ["TRIAGE_CACHE_DIR"] = str(root / "triage-dsl")
        os.environ["XDG_CACHE_HOME"] = str(root / "xdg")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's cache folder is removed, and the environment put back."""
    if _SESSION_CACHE:
        shutil.rmtree(_SESSION_CACHE.pop(), ignore_errors=True)
        for name, value in REAL_CACHE_ENV.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def pytest_report_header(config: pytest.Config) -> str:
    seed = config.getoption("hypothesis_seed", None)
    return f"hypothesis seed: {seed} (repeat with --hypothesis-seed={seed})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The seed again at the end, where a failing run's reader looks (also under -q)."""
    seed = config.getoption("hypothesis_seed", None)
    terminalreporter.write_line(f"hypothesis seed: {seed} (repeat with --hypothesis-seed={seed})")
