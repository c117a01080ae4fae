"""Benchmark of the paths hostile input used to make slow (figures in docs/performance.md).

- ``check`` of one section with an N-way ``any of`` (was cubic in N: 1,000 ran past
  120 s); printed for N = 250, 500, 1,000 with the ratio to the previous N (about 2 when
  linear, 4 when quadratic, 8 when cubic).
- ``check`` of a protocol with N errors (de-duplication was a list scan: 20,000 took
  141 s); N = 25,000, 50,000, 100,000, beside lark's bare parse of the same file (the
  floor of any check of it; the ratio moves less with the machine's load than the time).
- the strict JSON reader against ``json.loads`` on an answers line and a record.

Times are CPU seconds of this process. Not a test: timings depend on the machine. Run:

    .venv/bin/python tools/bench_inputs.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage_dsl.analysis import findings_for  # noqa: E402
from triage_dsl.compiler import check_file  # noqa: E402
from triage_dsl.io.strict_json import loads  # noqa: E402
from triage_dsl.syntax.grammar import lark_parser  # noqa: E402


def wide(n: int) -> str:
    lines = ['protocol wide title "Wide" version "1" end']
    lines += [f'question q{i}: yes/no ask "q{i}?" end' for i in range(n)]
    lines += [
        'disposition see label "See" tier same_day end',
        'disposition home label "Home" tier home_care end',
    ]
    lines += ["triage", "  section see if any of", *[f"    when q{i}" for i in range(n)], "  end"]
    lines += ["  default home", "end"]
    return "\n".join(lines) + "\n"


def many_errors(n: int) -> str:
    lines = ['protocol broken title "Broken" version "1" end']
    lines += ['disposition home label "Home" tier home_care end', "triage", "  section home if any of"]
    lines += [f"    when m{i}" for i in range(n)]
    lines += ["  end", "  default home", "end"]
    return "\n".join(lines) + "\n"


def timed(action: object) -> float:
    """CPU seconds of the process (steadier than the wall clock on a shared machine)."""
    start = time.process_time()
    action()  # type: ignore[operator]
    return time.process_time() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        print("check (with the analyses) of one N-way 'any of':")
        previous = None
        for n in (250, 500, 1000):
            path = Path(folder) / f"wide{n}.triage"
            path.write_text(wide(n))
            seconds = timed(lambda path=path: (check_file(path), findings_for(path)))
            ratio = f"  x{seconds / previous:.1f}" if previous else ""
            print(f"  N = {n:>6,}: {seconds:7.2f} s{ratio}")
            previous = seconds
        print("check of a protocol with N errors:")
        previous = None
        for n in (25_000, 50_000, 100_000):
            path = Path(folder) / f"errors{n}.triage"
            path.write_text(many_errors(n))
            count = 0

            def run(path: Path = path) -> None:
                nonlocal count
                count = len(check_file(path)[0])

            seconds = timed(run)
            text = path.read_text()
            bare = timed(lambda text=text: lark_parser().parse(text, start="protocol_file"))
            ratio = f"  x{seconds / previous:.1f}" if previous else ""
            print(
                f"  N = {n:>7,}: {seconds:7.2f} s ({count:,} diagnostics){ratio}"
                f"  [lark's bare parse of the file, same run: {bare:.2f} s, x{seconds / bare:.1f}]"
            )
            previous = seconds
    answers = json.dumps({"id": "c1", "answers": {f"q{i}": i % 2 == 0 for i in range(20)}})
    record = (ROOT / "tests" / "data").rglob("*.json")
    sample = next((p.read_text() for p in record if p.stat().st_size > 5000), answers)
    for name, text in (("an answers line", answers), ("a record", sample)):
        reps = 2000 if len(text) < 5000 else 200
        strict = timed(lambda text=text, reps=reps: [loads(text) for _ in range(reps)])
        plain = timed(lambda text=text, reps=reps: [json.loads(text) for _ in range(reps)])
        print(f"strict reader, {name} ({len(text):,} chars): x{strict / plain:.1f} json.loads")


if __name__ == "__main__":
    main()
