"""Whole-process times of the commands people wait for, beside baselines of the same run.

    .venv/bin/python tools/bench_startup.py               # start-up, one eval, check, book
    .venv/bin/python tools/bench_startup.py --only startup --runs 20
    .venv/bin/python tools/bench_startup.py --json out.json
    .venv/bin/python tools/bench_startup.py --only startup --compare /path/to/main/checkout

Each command runs as a fresh process, ``--runs`` times, the commands taking turns (round
robin) so that a change in the machine's load falls on all of them alike. Shown for each:
the fastest and the median run (wall clock), the median as a multiple of the two baselines measured in
the same run (``python -c pass``: the interpreter's own start-up; ``python -c "import
lark"``: the parser library alone), and the target. On a shared machine the ratios are
the figures to compare; the absolute times move with the load. The median CPU time
(user + system) is shown too: it moves less with the load than the wall clock.

The cache folder (``$TRIAGE_CACHE_DIR``: the parser tables, the compiled protocols) is
warmed by one run before timing: the figures are those of a user's second and later
commands. ``--cold`` points it at a fresh folder for every run instead.

The commands run without ``PYTHONDONTWRITEBYTECODE`` (the warm-up run writes the
package's bytecode, as installing it does): with it set, every run would compile the
package's sources again and the figures would be a user's first run, not the usual one.
``--as-is`` keeps the environment as it is (and says so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _triage() -> list[str]:
    script = Path(PYTHON).with_name("triage")
    return [str(script)] if script.is_file() else [PYTHON, "-m", "triage_dsl"]


def commands(
    site: str, triage: list[str] | None = None, tag: str = ""
) -> dict[str, tuple[str, list[str], float | None]]:
    """figure -> (section, argv, target seconds)."""
    triage = triage or _triage()
    rows = {
        "python -c pass": ("baseline", [PYTHON, "-c", "pass"], None),
        "python -c 'import lark'": ("baseline", [PYTHON, "-c", "import lark"], None),
        "triage --version": ("startup", [*triage, "--version"], 0.1),
        "triage eval news2 (one case)": (
            "startup",
            [
                *triage,
                "eval",
                "protocols/rules/news2.triage",
                "--answers",
                "protocols/examples/news2_high.json",
            ],
            0.25,
        ),
        "triage check protocols/": ("check", [*triage, "check", "protocols/"], 1.0),
        # the same in one process: what the workers (one per core) buy, in the same run
        "triage check protocols/ --jobs 1": ("check", [*triage, "check", "protocols/", "--jobs", "1"], 1.0),
        "triage book protocols/telephone": (
            "book",
            [*triage, "book", "protocols/telephone", "-o", site],
            4.0,
        ),
    }
    if not tag:
        return rows
    return {f"{name} ({tag})": spec for name, spec in rows.items() if spec[0] != "baseline"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """The wall-clock and the CPU seconds (user + system, children included) of one run."""
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if done.returncode not in (0, 1):  # check exits 1 when a file has errors: still timed
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed, cpu


def bytecode_note(env: dict[str, str], as_is: bool) -> str:
    """Take ``PYTHONDONTWRITEBYTECODE`` out of the commands' environment (unless
    ``as_is``); what to print about it (empty when it was not set)."""
    if not env.get("PYTHONDONTWRITEBYTECODE"):
        return ""
    if as_is:
        return (
            "(PYTHONDONTWRITEBYTECODE is set and kept (--as-is): every run compiled the package's "
            "sources again, so these figures are higher than an installed package's)"
        )
    del env["PYTHONDONTWRITEBYTECODE"]
    return (
        "(PYTHONDONTWRITEBYTECODE is set here; the commands ran without it, with the bytecode "
        "the warm-up run wrote, as an installed package has)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each fast command (default 7)")
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of check and book (default 3)")
    parser.add_argument("--only", default="", help="comma-separated sections: startup, check, book")
    parser.add_argument("--cold", action="store_true", help="an empty parser cache for every run")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE if set (every run then compiles the sources again)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument(
        "--compare",
        metavar="DIR",
        help="also time the triage_dsl package found in DIR (another checkout, e.g. main's) in the same run",
    )
    args = parser.parse_args(argv)
    only = {s for s in args.only.split(",") if s}

    with tempfile.TemporaryDirectory(prefix="triage-bench-") as scratch:
        env = {**os.environ, "TRIAGE_CACHE_DIR": os.path.join(scratch, "cache")}
        note = bytecode_note(env, args.as_is)
        # With --compare both packages start the same way (python -m), not one by the script.
        every = commands(
            os.path.join(scratch, "site"), [PYTHON, "-m", "triage_dsl"] if args.compare else None
        )
        if args.compare:
            every |= commands(os.path.join(scratch, "site-other"), [PYTHON, "-m", "triage_dsl"], "other")
        chosen = {
            name: spec for name, spec in every.items() if spec[0] == "baseline" or not only or spec[0] in only
        }
        times: dict[str, list[float]] = {name: [] for name in chosen}
        cpus: dict[str, list[float]] = {name: [] for name in chosen}
        for name, (_, argv_, _) in chosen.items():  # warm the parser cache and the file system
            other = name.endswith("(other)")
            if other:
                run_once(argv_, {**env, "PYTHONPATH": os.path.abspath(args.compare)}, Path(args.compare))
            else:
                run_once(argv_, env)
        for round_ in range(max(args.runs, args.slow_runs)):
            for name, (section, argv_, _) in chosen.items():
                slow = section in ("check", "book")
                if round_ >= (args.slow_runs if slow else args.runs):
                    continue
                run_env, cwd = env, ROOT
                if name.endswith("(other)"):  # run from that checkout, its protocols alike
                    run_env, cwd = {**env, "PYTHONPATH": os.path.abspath(args.compare)}, Path(args.compare)
                if args.cold:
                    run_env = {**run_env, "TRIAGE_CACHE_DIR": os.path.join(scratch, f"cold-{name}-{round_}")}
                wall, cpu = run_once(argv_, run_env, cwd)
                times[name].append(wall)
                cpus[name].append(cpu)

    base = statistics.median(times["python -c pass"])
    lark = statistics.median(times["python -c 'import lark'"])
    rows: list[dict[str, Any]] = []
    print(
        f"{'figure':42} {'min s':>7} {'median s':>9} {'x pass':>7} {'x lark':>7} {'cpu s':>7} {'target s':>9}"
    )
    for name, (section, _, target) in chosen.items():
        median = statistics.median(times[name])
        cpu = statistics.median(cpus[name])
        row = {
            "section": section,
            "figure": name,
            "min": min(times[name]),
            "median": median,
            "ratio_python": median / base,
            "ratio_lark": median / lark,
            "cpu": cpu,
            "target": target,
            "runs": len(times[name]),
        }
        rows.append(row)
        goal = f"{target:9.2f}" if target is not None else f"{'':9}"
        print(
            f"{name:42} {row['min']:7.3f} {median:9.3f} {median / base:7.1f} {median / lark:7.1f} "
            f"{cpu:7.3f} {goal}"
        )
    print(f"(load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())})")
    if note:
        print(note)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
