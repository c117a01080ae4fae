"""``triage test``: run every protocol's scenarios, report failures and coverage.

For each ``NAME.triage`` protocol under the given paths (libraries are skipped), the
scenarios of ``NAME.scenarios`` are evaluated as batch answers; failures show expected
vs. actual and the trace of the actual result. A protocol without a scenario file
counts as 0% covered.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from xml.etree import ElementTree as ET

from triage_dsl.compiler import compile_file, read_source
from triage_dsl.errors import CompileError, ProtocolFileError
from triage_dsl.io.files import InputError, inside, nothing_found
from triage_dsl.io.outputs import write_atomic
from triage_dsl.model.result import TriageResult
from triage_dsl.runtime.interpreter import evaluate_protocol
from triage_dsl.source import visible
from triage_dsl.testing.coverage import Coverage, Goal
from triage_dsl.testing.scenarios import (
    Failure,
    answers_of,
    check_expectations,
    load_scenarios,
    scenario_path,
    undeclared_answers,
)


@dataclass
class ScenarioOutcome:
    name: str
    location: str
    failures: list[Failure]
    result: TriageResult | None


@dataclass
class ProtocolReport:
    path: str
    protocol_id: str
    scenarios: list[ScenarioOutcome] = field(default_factory=list)
    coverage: float = 0.0
    missed: list[Goal] = field(default_factory=list)
    error: str | None = None

    @property
    def failed(self) -> list[ScenarioOutcome]:
        return [s for s in self.scenarios if s.failures]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed


def _is_library(path: Path) -> bool:
    try:
        text = read_source(path).text
    except ProtocolFileError:
        return False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("library")
    return False


def discover(paths: list[str]) -> list[Path]:
    """The protocols named (a ``.scenarios`` file names its protocol) and those under each
    folder named, libraries left out. A folder with none is an
    :class:`~triage_dsl.io.files.InputError` (a wrong folder must not pass)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if os.path.isdir(path):  # never raises, where Path.is_dir does for a name too long
            # a symbolic link that leads out of the folder is not the folder's protocol
            inner = [p for p in sorted(path.rglob("*.triage")) if inside(p, [path]) and not _is_library(p)]
            if not inner:
                raise nothing_found(raw)
            found.extend(inner)
        elif path.suffix == ".scenarios":
            found.append(path.with_suffix(".triage"))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def run_protocol(path: Path, roots: Sequence[str | Path] | None = None) -> ProtocolReport:
    report = ProtocolReport(str(path), path.stem)
    try:
        protocol = compile_file(path, roots)
    except (CompileError, ProtocolFileError) as exc:
        report.error = exc.render() if isinstance(exc, CompileError) else str(exc)
        return report
    report.protocol_id = protocol.id
    coverage = Coverage(protocol.plan)
    spath = scenario_path(path)
    if not spath.exists():
        report.coverage, report.missed = coverage.report()
        report.error = f"no scenarios: write {spath}"
        return report
    try:
        scenario_file, _ = load_scenarios(spath)
    except CompileError as exc:
        report.error = exc.render()
        return report
    except ProtocolFileError as exc:
        report.error = str(exc)
        return report
    for scenario in scenario_file.scenarios:
        answers = answers_of(scenario_file.baseline, scenario)
        result = evaluate_protocol(protocol, answers)
        undeclared = undeclared_answers(protocol, scenario_file.baseline, scenario)
        failures = undeclared + check_expectations(protocol, scenario, result)
        if (
            result.status == "error"
            and not undeclared
            and not any(e.kind == "status" for e in scenario.expectations)
        ):
            failures.insert(0, Failure(scenario.span.where, "valid answers", f"error: {result.error}"))
        if not scenario.expectations:
            failures.append(Failure(scenario.span.where, "at least one expect line", "none"))
        coverage.observe(result, any(e.kind in ("disposition", "tier") for e in scenario.expectations))
        report.scenarios.append(ScenarioOutcome(scenario.name, scenario.span.where, failures, result))
    report.coverage, report.missed = coverage.report()
    return report


def _trace_lines(result: TriageResult) -> list[str]:
    lines = []
    for e in result.trace:
        value = (
            "-" if e.value is None else str(e.value).lower() if isinstance(e.value, bool) else str(e.value)
        )
        lines.append(f"        {e.step:>3}. {e.kind:<11} {e.location:<40} {e.text[:60]} -> {value}")
    return lines


def _one_line(text: str) -> str:
    """``text`` for one line of the report: a line feed in it (a path) is escaped, with the
    other control characters, so it cannot start a line that reads as a verdict."""
    return visible(str(text), lines=False)


def _print_text(
    reports: list[ProtocolReport], out: TextIO, min_coverage: float | None, verbose: bool
) -> None:
    for r in reports:
        status = "PASS" if r.ok else "FAIL"
        count = len(r.scenarios)
        name, path = _one_line(r.protocol_id), _one_line(r.path)
        out.write(
            f"{status} {name} ({path}): {count - len(r.failed)}/{count} scenarios, "
            f"coverage {r.coverage:.1f}%\n"
        )
        if r.error:
            out.write("    " + r.error.replace("\n", "\n    ") + "\n")
        for s in r.scenarios:
            if verbose and not s.failures:
                out.write(f"    ok   {_one_line(s.name)}\n")
            if not s.failures:
                continue
            out.write(f"    FAIL {_one_line(s.name)} ({_one_line(s.location)})\n")
            for f in s.failures:
                out.write(_one_line(f"      {f.location}: expected {f.expected}, got {f.actual}") + "\n")
            if s.result is not None:
                out.write("      trace of the actual result:\n")
                out.write("\n".join(_trace_lines(s.result)) + "\n")
        if r.missed and (
            verbose or (min_coverage is not None and r.coverage < min_coverage) or r.coverage < 100
        ):
            out.write("    not covered:\n")
            for g in r.missed:
                out.write(_one_line(f"      {g.location}: {g.kind}: {g.text}") + "\n")


def _json(reports: list[ProtocolReport]) -> dict[str, object]:
    return {
        "protocols": [
            {
                "path": r.path,
                "protocol": r.protocol_id,
                "ok": r.ok,
                "error": r.error,
                "coverage": round(r.coverage, 2),
                "not_covered": [{"location": g.location, "kind": g.kind, "text": g.text} for g in r.missed],
                "scenarios": [
                    {
                        "name": s.name,
                        "location": s.location,
                        "ok": not s.failures,
                        "failures": [
                            {"location": f.location, "expected": f.expected, "actual": f.actual}
                            for f in s.failures
                        ],
                    }
                    for s in r.scenarios
                ],
            }
            for r in reports
        ],
    }


def _junit(reports: list[ProtocolReport], path: str) -> None:
    """Write the JUnit XML atomically (the path was checked before the run)."""
    suites = ET.Element("testsuites", name="triage scenarios")
    for r in reports:
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=r.protocol_id,
            tests=str(len(r.scenarios)),
            failures=str(len(r.failed)),
            errors="1" if r.error else "0",
        )
        if r.error:
            case = ET.SubElement(suite, "testcase", classname=r.protocol_id, name="protocol")
            ET.SubElement(case, "error", message=r.error.splitlines()[0]).text = r.error
        for s in r.scenarios:
            case = ET.SubElement(suite, "testcase", classname=r.protocol_id, name=s.name)
            if s.failures:
                text = "\n".join(f"{f.location}: expected {f.expected}, got {f.actual}" for f in s.failures)
                ET.SubElement(case, "failure", message=s.failures[0].expected).text = text
        properties = ET.SubElement(suite, "properties")
        properties.append(ET.Element("property", name="coverage", value=f"{r.coverage:.2f}"))
        for g in r.missed:
            properties.append(
                ET.Element("property", name="not covered", value=f"{g.location}: {g.kind}: {g.text}")
            )
    write_atomic(path, ET.tostring(suites, encoding="utf-8", xml_declaration=True))


def run_tests(
    paths: list[str],
    *,
    out: TextIO,
    err: TextIO,
    min_coverage: float | None = None,
    fmt: str = "text",
    junit: str | None = None,
    verbose: bool = False,
    roots: Sequence[str | Path] | None = None,
) -> int:
    try:
        protocols = discover(paths)
    except InputError as exc:  # a folder without protocols
        err.write(f"triage: {exc}\n")
        return 2
    if not protocols:
        err.write("triage: no protocols (*.triage) found under " + " ".join(paths) + "\n")
        return 2
    reports = [run_protocol(p, roots) for p in protocols]
    total = sum(len(r.scenarios) for r in reports)
    failed = sum(len(r.failed) for r in reports)
    broken = [r for r in reports if r.error]
    low = [r for r in reports if min_coverage is not None and r.coverage < min_coverage]
    if fmt == "json":
        data = _json(reports)
        data.update({"scenarios": total, "failed": failed, "min_coverage": min_coverage})
        json.dump(data, out, indent=2)
        out.write("\n")
    else:
        _print_text(reports, out, min_coverage, verbose)
        out.write(
            f"\n{len(reports)} protocol(s), {total} scenario(s), {failed} failed, {len(broken)} with errors"
        )
        if min_coverage is not None:
            out.write(f", {len(low)} below {min_coverage:g}% coverage")
        out.write("\n")
    if junit:
        _junit(reports, junit)
    return 1 if failed or broken or low else 0
