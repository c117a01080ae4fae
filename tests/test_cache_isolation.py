"""The test run keeps its caches in a temporary folder (tests/conftest.py), never in the
user's own ``~/.cache/triage-dsl``: a test must not depend on what an earlier run left
there, nor leave anything behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from triage_dsl import load
from triage_dsl.analysis.cache import findings_key
from triage_dsl.io.cache import cache_dir

PROTOCOL = """protocol isolated title "Isolated" version "1" end
question fever: yes/no ask "Fever?" red flag end
disposition see label "See a doctor" tier same_day end
disposition home label "Home care" tier home_care end
triage section see if any of when fever end default home end
"""


def test_the_cache_folder_is_the_runs_own(session_cache_root: Path, real_cache_folder: Path) -> None:
    folder = cache_dir()
    assert folder is not None
    assert folder.is_relative_to(session_cache_root)
    assert not folder.resolve().is_relative_to(real_cache_folder.resolve())


def test_a_command_run_by_a_test_writes_its_findings_to_the_runs_cache(
    tmp_path: Path, session_cache_root: Path, real_cache_folder: Path
) -> None:
    path = tmp_path / "isolated.triage"
    path.write_text(PROTOCOL, encoding="utf-8")
    # a command started by a test inherits the environment, so the same folder
    done = subprocess.run(
        [sys.executable, "-m", "triage_dsl", "check", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    name = f"findings-{findings_key(load(str(path)))}.json"
    assert list(session_cache_root.rglob(name))
    assert not (real_cache_folder / name).exists()
