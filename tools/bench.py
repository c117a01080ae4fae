"""Benchmarks of triage-dsl, each figure beside a baseline measured in the same run.

    .venv/bin/python tools/bench.py            # the default run (well under 2 minutes)
    .venv/bin/python tools/bench.py --full     # the issue's sizes: 100,000 cases, 10,000-line protocols
    .venv/bin/python tools/bench.py --only rules,cases --json out.json

Figures (docs/performance.md records them and says what bounds each):

- rules: every protocol in protocols/rules/ on generated complete answer sets:
  ``evaluate`` without and with the trace, the bare decision (``decide``), and the peer
  engine rule-engine, each against the hand-written Python of the same rule
  (tools/baselines.py). Every baseline is checked to give the protocol's disposition.
- telephone: ``evaluate`` of three telephone protocols (each runs the shared first screen
  and its floor) on generated complete answers, generated code against the interpreter,
  without and with the trace.
- cases: ``triage eval --cases`` on NEWS2 as a whole process (with the trace, and
  ``--no-trace``), against a process running the hand-written NEWS2 over the same JSON
  lines.
- sessions: a full lazy interview of each telephone protocol (answer what is asked until
  the result is complete), against one batch evaluation of the same final answers; and
  one step alone (an answer, then the next question: the interviews' time less that of
  their starts, over their steps), against re-evaluating the answers given so far (what
  a step cost before sessions were incremental).
- compile: parse + check + compile of generated protocols (100, 1,000 and, with --full,
  10,000 lines), cold and from the compile cache, against lark's bare LALR parse (with
  positions) of the same text; and the peak memory of compiling each shipped protocol
  against that of lark's bare parse of it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lark import Lark  # noqa: E402

import triage_dsl  # noqa: E402
from tools.baselines import PLAIN, RULE_ENGINE  # noqa: E402
from tools.bench_startup import bytecode_note  # noqa: E402
from triage_dsl import compiler  # noqa: E402
from triage_dsl.graph.plan import QuestionPlan  # noqa: E402
from triage_dsl.runtime.answers import all_questions, validate  # noqa: E402
from triage_dsl.runtime.codegen import runner  # noqa: E402
from triage_dsl.runtime.interpreter import decide, evaluate_protocol, program  # noqa: E402
from triage_dsl.source import Source  # noqa: E402
from triage_dsl.syntax.grammar import grammar_path  # noqa: E402

ROWS: list[dict[str, Any]] = []


def row(
    section: str,
    figure: str,
    value: float,
    unit: str,
    baseline: float | None,
    base_name: str,
    target: str = "",
    note: str = "",
) -> None:
    ratio = value / baseline if baseline else None
    ROWS.append(
        {
            "section": section,
            "figure": figure,
            "value": value,
            "unit": unit,
            "baseline": baseline,
            "baseline_name": base_name,
            "ratio": ratio,
            "target": target,
            "note": note,
        }
    )
    shown_ratio = f"{ratio:8.2f}x" if ratio is not None else "       - "
    shown_base = f"{baseline:12.2f} {unit}" if baseline is not None else f"{'-':>12} {' ' * len(unit)}"
    print(
        f"  {figure:<44} {value:12.2f} {unit}  vs {base_name:<22} {shown_base}  {shown_ratio}"
        f"  {target} {note}"
    )
    sys.stdout.flush()


def each(function: Callable[[Any], Any], items: list[Any]) -> Callable[[], None]:
    """Call ``function`` on every item, keeping no result (as a streaming caller does)."""

    def run() -> None:
        for item in items:
            function(item)

    return run


def each_with(function: Callable[[Any, Any], Any], items: list[Any], extra: Any) -> Callable[[], None]:
    """Call ``function(item, extra)`` on every item, with no wrapper between (so a
    two-argument function is timed as directly as ``each`` times a one-argument one)."""

    def run() -> None:
        for item in items:
            function(item, extra)

    return run


CLOCK = time.perf_counter
"""The bench's clock: wall time, or with ``--cpu`` this process's CPU time (steadier
on a shared machine; whole-process figures then count the CPU time of the children)."""


def best_of(repeats: int, run: Callable[[], Any]) -> float:
    """Seconds of the fastest of ``repeats`` runs (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        gc.collect()
        start = CLOCK()
        run()
        times.append(CLOCK() - start)
    return min(times)


def interleaved(repeats: int, *runs: Callable[[], Any]) -> list[float]:
    """Seconds of the fastest of ``repeats`` rounds of each run, the runs taking turns
    in every round (so a busy spell of the machine falls on all of them alike)."""
    best = [float("inf")] * len(runs)
    for _ in range(repeats):
        for i, run in enumerate(runs):
            gc.collect()
            start = CLOCK()
            run()
            best[i] = min(best[i], CLOCK() - start)
    return best


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- generated answers


def answer_for(q: QuestionPlan, rng: random.Random, population: Any = None) -> Any:
    if q.is_time:  # an age or a duration in minutes, inside the protocol's population
        assert q.low is not None and q.high is not None
        low, high = q.low, q.high
        if population is not None and population.question == q.id:
            low, high = max(low, population.low), min(high, population.high)
        return {"value": round(rng.uniform(low, high)), "unit": "minutes"}
    if q.type == "yes/no":
        return rng.random() < 0.5
    if q.type == "choice":
        return rng.choice(q.option_ids)
    assert q.low is not None and q.high is not None
    low, high = q.low, q.high
    if rng.random() < 0.8:  # mostly plausible values near the middle, some anywhere
        middle, spread = (low + high) / 2, (high - low) / 4
        value = min(high, max(low, rng.gauss(middle, spread)))
    else:
        value = rng.uniform(low, high)
    if q.type == "whole number" or rng.random() < 0.5:
        return round(value)
    return round(value, 1)


def complete_answers(protocol: triage_dsl.Protocol, count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    questions = list(all_questions(protocol.plan).values())
    return [{q.id: answer_for(q, rng) for q in questions} for _ in range(count)]


# ---------------------------------------------------------------- rules


def rule_protocols() -> Iterator[tuple[str, triage_dsl.Protocol]]:
    """Every protocol of protocols/rules/ that compiles (libraries and drafts are skipped)."""
    for path in sorted((ROOT / "protocols" / "rules").glob("*.triage")):
        try:
            yield path.stem, triage_dsl.load(path)
        except triage_dsl.TriageError as exc:
            if "is a library" not in str(exc):
                print(f"  {path.name}: does not compile yet, skipped ({exc})")


def bench_rules(n: int, peer_n: int) -> None:
    print(f"\n== rules: evaluation of each rule on {n:,} generated complete answer sets (us per evaluation)")
    try:
        import rule_engine
    except ImportError:  # pragma: no cover - the bench extra is not installed
        rule_engine = None
        print("  rule-engine is not installed (pip install -e '.[bench]'): its rows are skipped")
    for name, protocol in rule_protocols():
        cases = complete_answers(protocol, n)
        plain = PLAIN.get(name)
        print(f"-- {name} ({len(all_questions(protocol.plan))} questions)")
        expected = [evaluate_protocol(protocol, c, trace=False) for c in cases[: min(n, 5000)]]
        bad = [r for r in expected if r.status != "complete"]
        if bad:
            print(f"  {len(bad)} generated cases did not complete: {bad[0].error or bad[0].missing}")
        wanted = [r.disposition.id if r.disposition else None for r in expected]
        base_us: float | None = None
        if plain is None:
            print("  no hand-written baseline in tools/baselines.py yet: ratios are left out")
        else:
            got = [plain(c) for c in cases[: len(wanted)]]
            mismatches = sum(1 for a, b in zip(got, wanted, strict=True) if a != b)
            if mismatches:
                print(
                    f"  WARNING: the hand-written baseline disagrees with the protocol on {mismatches} cases"
                )
            base_us = best_of(5, each(plain, cases)) / n * 1e6
        functions = runner(protocol)
        cleaned = [program(protocol).clean(c) for c in cases]
        if functions is not None and plain is not None:
            # The two timed in turns, each called straight from the loop (the generated
            # function's trace argument one list it does not touch without the trace).
            hand, fast = interleaved(9, each(plain, cases), each_with(functions.plain, cleaned, []))
            base_us, plain_us = hand / n * 1e6, fast / n * 1e6
        if base_us is not None:
            row("rules", f"{name}: hand-written Python", base_us, "us", base_us, "hand-written")
        t = best_of(3, each(lambda c: decide(protocol, c), cases)) / n * 1e6
        row(
            "rules",
            f"{name}: decision only (decide)",
            t,
            "us",
            base_us,
            "hand-written",
            "",
            "no validation, no result",
        )
        if functions is None:
            print(f"  {name}: no generated code (the interpreter runs it)")
        else:
            assert all(c is not None for c in cleaned)
            if plain is None:
                plain_us = best_of(3, each_with(functions.plain, cleaned, [])) / n * 1e6
            row(
                "rules",
                f"{name}: generated code, no trace",
                plain_us,
                "us",
                base_us,
                "hand-written",
                "target <= 3x",
            )
            t = best_of(3, each(lambda c: functions.trace(c, []), cleaned)) / n * 1e6  # a fresh trace each
            row(
                "rules",
                f"{name}: generated code, full trace",
                t,
                "us",
                base_us,
                "hand-written",
                "target <= 10x",
            )
        for label, trace, generated in (
            ("evaluate, no trace", False, None),
            ("evaluate, full trace", True, None),
            ("evaluate, interpreter, no trace", False, False),
            ("evaluate, interpreter, full trace", True, False),
        ):
            t = best_of(
                3, each(lambda c: evaluate_protocol(protocol, c, trace=trace, generated=generated), cases)
            )
            row("rules", f"{name}: {label}", t / n * 1e6, "us", base_us, "hand-written", "", "with a result")
        if rule_engine is not None:
            text = RULE_ENGINE.get(name)
            if text is None:
                print(f"  rule-engine: no expression for {name} in tools/baselines.py (cannot express it)")
                continue
            rule = rule_engine.Rule(text)
            subset = cases[:peer_n]
            peer = [rule.evaluate(c) for c in subset]
            mismatches = sum(1 for a, b in zip(peer, wanted, strict=False) if a != b)
            if mismatches:
                print(
                    f"  WARNING: the rule-engine expression disagrees with the protocol on {mismatches} cases"
                )
            # Timed in turns with evaluate (no trace) on the same cases: the comparison
            # the target makes, each round disturbed alike by the machine.
            ours, peer = interleaved(
                5,
                each(lambda c: evaluate_protocol(protocol, c, trace=False), subset),
                each(rule.evaluate, subset),
            )
            peer_us = peer / len(subset) * 1e6
            row(
                "rules",
                f"{name}: rule-engine {rule_engine.__version__}",
                peer_us,
                "us",
                base_us,
                "hand-written",
                "",
                f"({len(subset):,} cases; evaluate, no trace, in turns: {ours / peer:.2f}x its time)",
            )


# ---------------------------------------------------------------- telephone

TELEPHONE = ("fever_child", "chest_pain_adult", "abdominal_pain_adult")
"""Telephone protocols timed with generated code against the interpreter (each runs the
shared first screen, whose floor is the case generated code must cover)."""


def telephone_answers(protocol: triage_dsl.Protocol, count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Complete answers inside the population, each red flag (yes/no) yes one time in ten:
    about half the cases pass the first screen and reach the protocol's own sections."""
    rng = random.Random(seed)
    population = protocol.plan.population
    questions = list(all_questions(protocol.plan).values())
    cases = []
    for _ in range(count):
        case = {}
        for q in questions:
            case[q.id] = rng.random() < 0.1 if q.type == "yes/no" else answer_for(q, rng, population)
        cases.append(case)
    return cases


def bench_telephone(n: int) -> None:
    print(f"\n== telephone: evaluate on {n:,} complete answer sets (us; ratio against the interpreter)")
    for name in TELEPHONE:
        protocol = triage_dsl.load(ROOT / "protocols" / "telephone" / f"{name}.triage")
        cases = telephone_answers(protocol, n)
        results = [evaluate_protocol(protocol, c, trace=False) for c in cases]
        raised = sum(1 for r in results if r.raised_by is not None)
        statuses = {r.status for r in results}
        generated = runner(protocol) is not None
        print(
            f"-- {name}: {raised:,} of {n:,} raised by a floor; statuses {sorted(statuses)}; "
            f"generated code: {'yes' if generated else 'no (the interpreter runs it)'}"
        )
        for label, trace in (("no trace", False), ("full trace", True)):
            base = best_of(
                3, each(lambda c: evaluate_protocol(protocol, c, trace=trace, generated=False), cases)
            )
            base_us = base / n * 1e6
            row("telephone", f"{name}: interpreter, {label}", base_us, "us", base_us, "interpreter")
            t = best_of(3, each(lambda c: evaluate_protocol(protocol, c, trace=trace, generated=True), cases))
            row("telephone", f"{name}: generated, {label}", t / n * 1e6, "us", base_us, "interpreter")
            functions = runner(protocol)
            if functions is not None:  # the generated function alone, on validated answers
                run = functions.trace if trace else functions.plain
                cleaned = [validate(protocol.plan, c, None)[0] for c in cases]
                t = best_of(3, each(lambda c: run(c, []), cleaned))
                row(
                    "telephone",
                    f"{name}: generated code alone, {label}",
                    t / n * 1e6,
                    "us",
                    base_us,
                    "interpreter",
                    "",
                    "no validation, no result",
                )


# ---------------------------------------------------------------- eval --cases

_BASELINE_PROCESS = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
from tools.baselines import news2
out = sys.stdout
with open(sys.argv[1], encoding="utf-8") as f:
    for line in f:
        case = json.loads(line)
        result = {"id": case["id"], "status": "complete", "disposition": news2(case["answers"])}
        out.write(json.dumps(result) + "\n")
"""


def bench_cases(n: int) -> None:
    print(
        f"\n== eval --cases on NEWS2, {n:,} cases, whole process (cases/s; ratio = baseline time / our time)"
    )
    protocol = triage_dsl.load(ROOT / "protocols" / "rules" / "news2.triage")
    cases = complete_answers(protocol, n, seed=11)
    triage = Path(sys.executable).with_name("triage")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cases.jsonl"
        path.write_text("".join(json.dumps({"id": i, "answers": c}) + "\n" for i, c in enumerate(cases)))

        # The package's bytecode written once and used, as an installed package has it.
        base_env = dict(os.environ)
        note = bytecode_note(base_env, as_is=False)

        def run(command: list[str], env: dict[str, str] | None = None) -> float:
            start, cpu = time.perf_counter(), children_cpu()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env={**base_env, **(env or {})})
            return children_cpu() - cpu if CLOCK is time.process_time else time.perf_counter() - start

        run([str(triage), "eval", str(protocol.path), "--cases", str(path), "--jobs", "1"])  # warm-up
        if note:
            print(f"  {note}")
        base = min(run([sys.executable, "-c", _BASELINE_PROCESS, str(path), str(ROOT)]) for _ in range(2))
        base_rate = n / base
        row("cases", "hand-written NEWS2 process", base_rate, "cases/s", base_rate, "hand-written process")
        for label, extra, target, env in (
            ("with trace", [], "<= 3x", {}),
            ("--no-trace", ["--no-trace"], "<= 1.5x", {}),
            ("with trace, interpreter", [], "", {"TRIAGE_INTERPRETER": "1"}),
            ("--no-trace, interpreter", ["--no-trace"], "", {"TRIAGE_INTERPRETER": "1"}),
        ):
            command = [str(triage), "eval", str(protocol.path), "--cases", str(path), "--jobs", "1", *extra]
            seconds = min(run(command, env) for _ in range(2))
            rate = n / seconds
            # A rate: the ratio shown is how many times slower than the baseline process.
            row(
                "cases",
                f"triage eval --cases, {label}",
                rate,
                "cases/s",
                base_rate,
                "hand-written process",
                f"target {target}",
                f"({base_rate / rate:.1f}x slower)",
            )


# ---------------------------------------------------------------- sessions


def bench_sessions(repeats: int) -> None:
    print(f"\n== sessions: a full interview of each telephone protocol ({repeats} interviews each, us)")
    for path in sorted((ROOT / "protocols" / "telephone").glob("*.triage")):
        try:
            protocol = triage_dsl.load(path)
        except triage_dsl.TriageError as exc:
            if "is a library" not in str(exc):
                print(f"  {path.name}: does not compile, skipped")
            continue
        questions = all_questions(protocol.plan)
        rng = random.Random(3)
        population = protocol.plan.population
        scripts = [{q.id: answer_for(q, rng, population) for q in questions.values()} for _ in range(repeats)]

        steps = 0
        stepping = 0.0  # time in steps alone: answer, then the next question
        partials: list[dict[str, Any]] = []  # the answers after each step

        def interview(script: dict[str, Any]) -> dict[str, Any]:
            nonlocal steps, stepping
            session = triage_dsl.Session(protocol)
            question = session.next_question()
            while question is not None:
                start = CLOCK()
                session.answer(question.id, script[question.id])
                question = session.next_question()
                stepping += CLOCK() - start
                steps += 1
                if len(partials) < steps:
                    partials.append(session.answers)
            return session.answers

        def interview_unclocked(script: dict[str, Any]) -> None:
            session = triage_dsl.Session(protocol)
            question = session.next_question()
            while question is not None:
                session.answer(question.id, script[question.id])
                question = session.next_question()

        def start(script: dict[str, Any]) -> None:  # what an interview does besides its steps
            triage_dsl.Session(protocol).next_question()

        finals = [interview(s) for s in scripts]
        per_session = steps / len(scripts)
        t = best_of(3, each(interview_unclocked, scripts)) / repeats * 1e6
        b = best_of(3, each(lambda f: evaluate_protocol(protocol, f), finals)) / repeats * 1e6
        row("sessions", f"{path.stem} ({per_session:.1f} questions)", t, "us", b, "one batch evaluation")
        row("sessions", f"{path.stem}: interview / questions", t / per_session, "us", None, "-")
        # One step: the interviews less their starts (a new session, its first question),
        # over the number of steps; no clock is read inside an interview.
        starting = best_of(3, each(start, scripts)) / repeats * 1e6
        step = (t - starting) / per_session
        redo = best_of(3, each(lambda f: evaluate_protocol(protocol, f), partials)) / len(partials) * 1e6
        row(
            "sessions",
            f"{path.stem}: one step (answer, next question)",
            step,
            "us",
            redo,
            "re-evaluating the answers so far",
            "<= 10 us",
        )
        means = []
        for _ in range(3):  # the best of 3 runs' mean step, the clock read around each step
            steps, stepping = 0, 0.0
            gc.collect()
            each(interview, scripts)()
            means.append(stepping / steps * 1e6)
        row(
            "sessions",
            f"{path.stem}: one step, clock read around it",
            min(means),
            "us",
            None,
            "-",
            "",
            "(includes a clock reading)",
        )


# ---------------------------------------------------------------- compile


def generated_protocol(lines: int) -> str:
    """A protocol of about ``lines`` lines: number questions, points tables and criteria."""
    head = [
        "protocol generated",
        '  title "Generated"',
        '  version "1"',
        "end",
        'disposition urgent_care label "Urgent care" tier urgent end',
        'disposition home label "Home care" tier home_care end',
    ]
    body: list[str] = []
    criteria: list[str] = []
    i = 0
    while len(head) + len(body) + len(criteria) + 4 < lines:
        body += [
            f"question q{i}: number",
            f'  ask "What is value {i}?"',
            "  range 0 to 100",
            "end",
            f"points p{i} from q{i}",
            "  <= 10: 2",
            "  <= 50: 1",
            "  else: 0",
            "end",
        ]
        criteria.append(f"    when q{i} > 90 and p{i} >= 1 or q{i} = 3")
        i += 1
    return "\n".join(
        [
            *head,
            *body,
            "triage",
            "  section urgent_care if any of",
            *criteria,
            "  end",
            "  default home",
            "end",
            "",
        ]
    )


def bench_compile(sizes: list[int]) -> None:
    print("\n== compile: parse + check + compile (ms) vs lark's bare LALR parse with positions")
    bare = Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start="protocol_file",
        propagate_positions=True,
        maybe_placeholders=False,
    )
    for size in sizes:
        text = generated_protocol(size)
        lines = text.count("\n")
        repeats = 5 if size <= 1000 else 2
        parse = best_of(repeats, lambda: bare.parse(text)) * 1000

        def cold() -> None:
            compiler._CACHE.clear()
            triage_dsl.compile_text(text, f"generated_{size}.triage")

        t = best_of(repeats, cold) * 1000
        row(
            "compile",
            f"{lines:,} lines, cold",
            t,
            "ms",
            parse,
            "bare lark parse",
            "target <= 2x (1,000 lines)",
            f"({lines / t * 1000:,.0f} lines/s; lark {lines / parse * 1000:,.0f})",
        )
        triage_dsl.compile_text(text, f"generated_{size}.triage")
        t = best_of(repeats, lambda: triage_dsl.compile_text(text, f"generated_{size}.triage")) * 1000
        row(
            "compile",
            f"{lines:,} lines, from the compile cache",
            t,
            "ms",
            parse,
            "bare lark parse",
            "target < 10 ms",
        )
    print("\n== memory: peak while compiling each shipped protocol (KiB) vs lark's bare parse of it")
    for path in sorted(
        [
            *(ROOT / "protocols" / "rules").glob("*.triage"),
            *(ROOT / "protocols" / "telephone").glob("*.triage"),
        ]
    ):
        text = path.read_text(encoding="utf-8")
        if "\nlibrary " in "\n" + text:
            continue
        compiler._CACHE.clear()
        gc.collect()
        tracemalloc.start()
        try:
            compiler.compile_source(Source(str(path), text))
        except triage_dsl.TriageError:
            tracemalloc.stop()
            continue
        peak = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
        gc.collect()
        tracemalloc.start()
        bare.parse(text)
        base = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
        row("memory", f"{path.parent.name}/{path.stem}", peak, "KiB", base, "bare lark parse")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (100,000 cases; 10,000 lines)")
    parser.add_argument("--cases", type=int, help="answer sets per rule (default 20,000; --full 100,000)")
    parser.add_argument(
        "--only", default="rules,telephone,cases,sessions,compile", help="comma-separated sections"
    )
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall time (a shared machine)")
    args = parser.parse_args(argv)
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    n = args.cases or (100_000 if args.full else 20_000)
    only = set(args.only.split(","))
    print(f"triage-dsl {triage_dsl.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print("  figure" + " " * 46 + "value      vs baseline" + " " * 21 + "ratio")
    start = time.perf_counter()
    if "rules" in only:
        bench_rules(n, peer_n=max(1000, n // 20))
    if "telephone" in only:
        bench_telephone(max(1000, n // 4))
    if "cases" in only:
        bench_cases(n)
    if "sessions" in only:
        bench_sessions(200 if not args.full else 1000)
    if "compile" in only:
        bench_compile([100, 1000, 10_000] if args.full else [100, 1000])
    print(f"\n(bench took {time.perf_counter() - start:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(ROWS, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
