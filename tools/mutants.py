"""Mutation testing of scenario files: do a protocol's scenarios notice a moved threshold?

Every number that follows a comparison in a protocol (criteria, values, points rows; not
ranges or comments) is moved by +0.5 and -0.5 in a copy; the copy's scenarios run, and a
mutant the scenarios do not fail is checked with ``triage diff``: either it behaves
exactly like the original (an *equivalent* mutant, e.g. an integer score compared with
6.5 instead of 7) or it is a hole in the scenarios, printed with the line to cover.

    .venv/bin/python tools/mutants.py protocols/rules/*.triage
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage_dsl import compiler, load  # noqa: E402
from triage_dsl.analysis.diff import diff  # noqa: E402
from triage_dsl.testing.runner import _is_library, run_protocol  # noqa: E402

THRESHOLD = re.compile(r"(?P<op><=|>=|<|>|=)\s*(?P<num>\d+(\.\d+)?)")


def mutants(text: str) -> list[tuple[int, int, str, str]]:
    """(offset, line, old number, new number) for every threshold, moved both ways."""
    out = []
    for m in THRESHOLD.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if "#" in text[line_start : m.start()] or text[: m.start()].rstrip().endswith(("range", "to")):
            continue
        number = m.group("num")
        for delta in (0.5, -0.5):
            moved = float(number) + delta
            if moved >= 0:
                out.append((m.start("num"), text.count("\n", 0, m.start()) + 1, number, f"{moved:g}"))
    return out


def main(paths: list[str]) -> int:
    holes = 0
    for raw in paths:
        path = Path(raw)
        if _is_library(path):  # a library has no scenarios of its own (as in `triage test`)
            print(f"{path}: skipped, a library")
            continue
        text = path.read_text(encoding="utf-8")
        original = load(path)
        killed = equivalent = 0
        for offset, line, old, new in mutants(text):
            with tempfile.TemporaryDirectory() as folder:
                for sibling in path.parent.glob("*.triage"):
                    shutil.copy(sibling, folder)
                copy = Path(folder) / path.name
                copy.write_text(text[:offset] + new + text[offset + len(old) :], encoding="utf-8")
                scenarios = path.with_suffix(".scenarios")
                if scenarios.exists():
                    shutil.copy(scenarios, folder)
                compiler._CACHE.clear()
                if not run_protocol(copy).ok:
                    killed += 1
                    continue
                if not diff(original, load(copy)):
                    equivalent += 1
                    continue
                holes += 1
                print(f"{path}:{line}: moving {old} to {new} changes behaviour but no scenario fails")
        print(f"{path}: {killed} killed, {equivalent} equivalent (no behaviour change)")
    print(f"{holes} hole(s) in the scenarios")
    return 1 if holes else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
