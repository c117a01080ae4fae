"""Where the CPU time of ``triage eval`` of one case goes, phase by phase, in one process.

    .venv/bin/python tools/profile_startup.py            # news2, one case
    .venv/bin/python tools/profile_startup.py --runs 5   # the median of 5 fresh processes

Each phase imports (or does) one more part of what the command needs, in the order the
command needs it, and is timed with the process's CPU clock, so the figures move less
with the machine's load than wall-clock times. Run it without PYTHONDONTWRITEBYTECODE
(an installed package has its bytecode): with it set, every phase includes compiling the
package's sources. The totals are those of tools/bench_startup.py's "eval" row, less the
interpreter's own start-up. The last phase is not on the command's path: it imports
pydantic and the result models after the command has run, what the command no longer
pays (its result and record are plain objects, ``triage_dsl/eval_plain.py``); it is left
out of the total.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHASES = (
    ("standard library (argparse, json, pathlib)", "import argparse, json, pathlib"),
    ("triage_dsl.cli (and the argument parsers' modules)", "import triage_dsl.cli"),
    ("triage_dsl.syntax.ast (dataclasses)", "import triage_dsl.syntax.ast"),
    ("the compiler's modules: checks, graph, plan", "import triage_dsl.compiler"),
    (
        "runtime, plain results, record, note",
        "import triage_dsl.runtime.interpreter, triage_dsl.runtime.answer_log, triage_dsl.model.plain, "
        "triage_dsl.record.seal, triage_dsl.record.redact, triage_dsl.eval_plain, triage_dsl.commands",
    ),
    (
        "compile news2 (read back from the cache folder)",
        "import triage_dsl.compiler as _c; _c.compile_file('protocols/rules/news2.triage')",
    ),
    (
        "evaluate, seal, write (plain results, no pydantic)",
        "import triage_dsl.cli as _cli; _cli.main(['eval', 'protocols/rules/news2.triage', '--answers', "
        "'protocols/examples/news2_high.json', '--at', '2026-01-01T00:00:00Z', '--session-id', 's1', "
        "'-o', _out])",
    ),
    (
        "(not on the path) pydantic and the result models",
        "import triage_dsl.model.result",
    ),
)

_CHILD = """
import os, sys, time
_out = sys.argv[1]
_times = []
for _code in sys.argv[2:]:
    _t = time.process_time()
    exec(_code)
    _times.append(time.process_time() - _t)
print(" ".join(repr(t) for t in _times))
"""


def one_run(out: str, env: dict[str, str]) -> list[float]:
    argv = [sys.executable, "-c", _CHILD, out, *(code for _, code in PHASES)]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return [float(x) for x in done.stdout.split()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to take the median of")
    args = parser.parse_args(argv)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"triage-profile-{os.getpid()}.json")
    try:
        one_run(out, env)  # writes the bytecode and warms the parser cache
        runs = [one_run(out, env) for _ in range(args.runs)]
    finally:
        if os.path.exists(out):
            os.unlink(out)
    medians = [statistics.median(column) for column in zip(*runs, strict=True)]
    for (name, _), seconds in zip(PHASES, medians, strict=True):
        print(f"{name:52} {seconds * 1000:7.1f} ms")
    on_path = sum(m for (name, _), m in zip(PHASES, medians, strict=True) if not name.startswith("(not"))
    print(f"{'total (CPU, after the interpreter started)':52} {on_path * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
