"""Benchmark of the static analyses (issue: every analysis of every shipped protocol in
under 10 s; a synthetic 60-question protocol's full check in under 5 s).

Each figure is printed beside a baseline measured in the same run: compiling the same
protocols (parse + check + graph + plan) with the compile cache cleared.

    .venv/bin/python tools/bench_analysis.py
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from triage_dsl import compiler  # noqa: E402
from triage_dsl.analysis.cases import generate  # noqa: E402
from triage_dsl.analysis.diff import diff  # noqa: E402
from triage_dsl.analysis.findings import analyse  # noqa: E402
from triage_dsl.analysis.table import build_table  # noqa: E402
from triage_dsl.compiler import compile_file  # noqa: E402


def synthetic(questions: int = 60, seed: int = 7) -> str:
    """A protocol of ``questions`` questions: yes/no red flags, numbers, choices and a score."""
    rng = random.Random(seed)
    lines = ['protocol synthetic title "Synthetic" version "1" end']
    yes_no = [f"q{i}" for i in range(int(questions * 0.6))]
    numbers = [f"n{i}" for i in range(int(questions * 0.3))]
    choices = [f"c{i}" for i in range(questions - len(yes_no) - len(numbers))]
    for q in yes_no:
        lines.append(f'question {q}: yes/no ask "{q}?" red flag end')
    for q in numbers:
        lines.append(f'question {q}: number ask "{q}?" range 0 to 200 end')
    for q in choices:
        lines.append(f'question {q}: choice ask "{q}?" option a "A" option b "B" option c "C" end')
    scored = numbers[:4]
    for q in scored:
        lines.append(f"points {q}_points from {q}\n  <= 50: 2\n  <= 100: 0\n  <= 150: 1\n  else: 3\nend")
    lines.append("score total = " + " + ".join(f"{q}_points" for q in scored))
    tiers = ["emergency", "urgent", "same_day", "within_24h", "routine"]
    for t in [*tiers, "home_care"]:
        lines.append(f'disposition d_{t} label "{t}" tier {t} end')
    lines.append("triage")
    pool_yes, pool_num, pool_choice = list(yes_no), list(numbers[4:]), list(choices)
    for n, t in enumerate(tiers):
        lines.append(f"  section d_{t} if any of")
        if n == 1:
            lines.append("    when total >= 9")
        for _ in range(len(yes_no) // len(tiers)):
            if not pool_yes:
                break
            a = pool_yes.pop(0)
            if pool_yes and rng.random() < 0.3:
                lines.append(f"    when {a} and {pool_yes.pop(0)}")
            else:
                lines.append(f"    when {a}")
        if pool_num:
            q = pool_num.pop(0)
            lines.append(f"    when {q} >= {rng.randint(20, 180)}")
        if pool_choice:
            lines.append(f"    when {pool_choice.pop(0)} in {{a, b}}")
        if lines[-1].startswith("  section"):
            lines.append(f"    when total >= {12 - n}")
        lines.append("  end")
    leftovers = [f"    when {q} >= 100" for q in pool_num] + [f"    when {c} is c" for c in pool_choice]
    leftovers += [f"    when {q}" for q in pool_yes]
    if leftovers:
        lines.insert(len(lines) - 1, "\n".join(leftovers))
    lines.append("  default d_home_care\nend")
    return "\n".join(lines) + "\n"


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn(*args)
    return time.perf_counter() - start, value


def main() -> int:
    paths = [
        p
        for p in sorted((ROOT / "protocols").rglob("*.triage"))
        if not any(line.startswith("library ") for line in p.read_text().splitlines())
    ]
    compiler._CACHE.clear()
    baseline, protocols = timed(lambda: [compile_file(p) for p in paths])
    analyses, _ = timed(lambda: [analyse(p) for p in protocols])
    tables, _ = timed(lambda: [build_table(p) for p in protocols])
    diffs, _ = timed(lambda: [diff(p, p) for p in protocols])
    cases, _ = timed(lambda: [generate(p) for p in protocols])
    total = analyses + tables + diffs + cases
    print(f"shipped protocols: {len(paths)}; compile (baseline) {baseline:.2f} s")
    print(f"  findings (check)        {analyses:6.2f} s  {analyses / baseline:6.1f}x baseline")
    print(f"  decision tables         {tables:6.2f} s  {tables / baseline:6.1f}x baseline")
    print(f"  diff with itself        {diffs:6.2f} s  {diffs / baseline:6.1f}x baseline")
    print(f"  generated cases         {cases:6.2f} s  {cases / baseline:6.1f}x baseline")
    print(f"  every analysis together {total:6.2f} s  (target < 10 s)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic.triage"
        path.write_text(synthetic())
        compiler._CACHE.clear()
        base, protocol = timed(compile_file, path)
        check, findings = timed(analyse, protocol)
        print(
            f"synthetic 60-question protocol: compile (baseline) {base:.3f} s; "
            f"full check with analyses {base + check:.2f} s ({(base + check) / base:.0f}x baseline, "
            f"target < 5 s), {len(findings)} finding(s)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
