"""tools/mutants.py takes the glob docs/testing.md gives, libraries included."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from tests.conftest import PROTOCOLS

TOOL = Path(__file__).resolve().parents[2] / "tools" / "mutants.py"


def test_a_library_in_the_glob_is_skipped_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    main = runpy.run_path(str(TOOL))["main"]
    library = PROTOCOLS / "rules" / "rules.triage"
    assert main([str(library)]) == 0
    assert f"{library}: skipped, a library" in capsys.readouterr().out
