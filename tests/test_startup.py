"""Start-up: a command imports only the stages it uses (timings: tools/bench_startup.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import triage_dsl
from tests.conftest import ROOT

HEAVY = (
    "lark",
    "pydantic",
    "networkx",
    "graphviz",
    "icalendar",
    "zoneinfo",
    "triage_dsl.compiler",
    "triage_dsl.runtime",
    "triage_dsl.roster.contacts",
    "triage_dsl.roster.times",
)


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(done.stdout.split())


@pytest.mark.parametrize(
    "code",
    [
        "import triage_dsl",
        "from triage_dsl import __version__",
        "import triage_dsl.cli",
        "from triage_dsl.cli import main\nmain(['--version'])",
    ],
)
def test_light_paths_load_no_heavy_module(code: str) -> None:
    loaded = _loaded_after(code)
    assert not {m for m in HEAVY if m in loaded}


# What only a command's own work needs: the errors' and files' modules (and with them
# dataclasses, hashlib, tempfile, pathlib) load when a command runs, not to print the version.
NOT_FOR_VERSION = (
    "dataclasses",
    "pathlib",
    "tempfile",
    "hashlib",
    "json",
    "triage_dsl.errors",
    "triage_dsl.io",
    "triage_dsl.source",
    "triage_dsl.commands",
)


def test_version_loads_only_the_argument_parsers() -> None:
    loaded = _loaded_after("from triage_dsl.cli import main\nmain(['--version'])")
    assert "triage_dsl.cli" in loaded and "argparse" in loaded
    assert not {m for m in NOT_FOR_VERSION if m in loaded}


def test_check_loads_the_analyses_but_not_the_renderer() -> None:
    loaded = _loaded_after(
        "from triage_dsl.cli import main\nmain(['check', '--no-analysis', 'protocols/rules/qsofa.triage'])"
    )
    assert "triage_dsl.compiler" in loaded
    assert "graphviz" not in loaded and "triage_dsl.render" not in loaded


EVAL = (
    "from triage_dsl.cli import main\n"
    "main(['eval', 'protocols/rules/news2.triage', '--answers', 'protocols/examples/news2_high.json', "
    "'--at', '2026-01-01T00:00:00Z', '--session-id', 's1'{extra}])"
)
# What evaluating one case needs none of: the analyses' graph library, the renderer, the
# analyses, the web stack and the code generator (one evaluation is interpreted). The
# triage note is loaded: the record holds it.
NOT_FOR_EVAL = (
    "networkx",
    "graphviz",
    "icalendar",
    "triage_dsl.render",
    "triage_dsl.analysis",
    "triage_dsl.runtime.codegen.generate",
    "triage_dsl.runtime.codegen.allow",
    "fastapi",
    "sqlalchemy",
    "triage_dsl.lsp.server",
)


def test_eval_of_one_case_loads_only_what_it_uses() -> None:
    loaded = _loaded_after(EVAL.format(extra=""))
    assert {"triage_dsl.compiler", "triage_dsl.runtime.interpreter", "triage_dsl.explain.note"} <= loaded
    assert not {m for m in NOT_FOR_EVAL if m in loaded}


# The result and the record of one case are built, sealed and written from the plain
# classes (triage_dsl.model.plain): pydantic and the result models are not imported.
NO_MODELS = ("pydantic", "pydantic_core", "triage_dsl.model.result", "triage_dsl.model.caller")


@pytest.mark.parametrize(
    "extra",
    [
        "",
        ", '--no-trace'",
        ", '--redact'",
        ", '--format', 'note'",
        ", '--format', 'markdown', '--no-trace'",
        ", '--answers', 'protocols/examples/news2_high.json'",  # the last --answers counts
    ],
)
def test_eval_of_one_case_does_not_import_pydantic(extra: str) -> None:
    loaded = _loaded_after(EVAL.format(extra=extra))
    assert "triage_dsl.eval_plain" in loaded
    assert not {m for m in NO_MODELS if m in loaded}


def test_eval_with_a_caller_block_takes_the_models_path(tmp_path: Path) -> None:
    call = tmp_path / "call.json"
    call.write_text('{"caller": "patient", "agent_id": "a1", "chief_complaint": "unwell"}')
    loaded = _loaded_after(EVAL.format(extra=f", '--call', {str(call)!r}"))
    assert "pydantic" in loaded and "triage_dsl.model.result" in loaded


def test_eval_of_a_stored_protocol_loads_no_parser() -> None:
    _loaded_after(EVAL.format(extra=""))  # compiles news2 and keeps it in the cache folder
    loaded = _loaded_after(EVAL.format(extra=""))
    assert "triage_dsl.compiler" in loaded
    assert "lark" not in loaded and "triage_dsl.syntax.parser" not in loaded


def test_the_analyses_load_networkx_through_the_protocols_graph() -> None:
    loaded = _loaded_after("from triage_dsl.cli import main\nmain(['check', 'protocols/rules/qsofa.triage'])")
    assert "networkx" in loaded and "triage_dsl.analysis" in loaded


def test_every_facade_name_resolves() -> None:
    for name in triage_dsl.__all__:
        assert getattr(triage_dsl, name) is not None
    assert triage_dsl.Protocol.__name__ == "Protocol"
    assert set(triage_dsl.__all__) <= set(dir(triage_dsl))


def test_an_unknown_facade_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        triage_dsl.nothing_here  # noqa: B018


def test_star_import_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from triage_dsl import *", namespace)
    assert set(triage_dsl.__all__) <= set(namespace)


def test_check_stays_the_function_after_the_check_package_loads() -> None:
    code = (
        "import triage_dsl\n"
        "import triage_dsl.check.scope\n"
        "from triage_dsl import check\n"
        "assert callable(check) and triage_dsl.check is check, triage_dsl.check\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# A pydantic plugin (an entry point of group "pydantic" in any installed distribution)
# that writes down every model it is asked to validate.
SPY = """
import os

class _Spy:
    def new_schema_validator(self, schema, schema_type, schema_type_path, kind, config, settings):
        with open(os.environ["SPY_FILE"], "a") as f:
            f.write(f"{schema_type_path.name}\\n")
        return None, None, None

plugin = _Spy()
"""


@pytest.mark.parametrize(("setting", "seen"), [(None, False), ("", True)])
def test_the_command_runs_without_pydantic_plugins_unless_the_operator_allows_them(
    tmp_path: Path, setting: str | None, seen: bool
) -> None:
    (tmp_path / "triage_spy.py").write_text(SPY)
    info = tmp_path / "triage_spy-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: triage-spy\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nspy = triage_spy:plugin\n")
    spy = tmp_path / "seen.txt"
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env.update(PYTHONPATH=str(tmp_path), SPY_FILE=str(spy))
    if setting is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = setting
    # a batch (eval of one case builds no model: tests above)
    argv = [sys.executable, "-m", "triage_dsl", "eval", "protocols/rules/qsofa.triage", "--cases", "-"]
    done = subprocess.run(
        argv,
        input='{"id": 1, "answers": {"resp_rate": 24}}\n',
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert spy.exists() == seen  # the plugin would have seen the answers' models


def test_check_of_unchanged_files_loads_no_graph_library(tmp_path: Path) -> None:
    """The findings' cache key names networkx's version without importing it: a run that
    finds every file's findings kept needs the graph library for nothing."""
    env = {**os.environ, "TRIAGE_CACHE_DIR": str(tmp_path)}
    code = "from triage_dsl.cli import main\nmain(['check', 'protocols/rules/qsofa.triage'])"
    first = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True)
    assert first.returncode == 0
    probe = f"{code}\nimport sys\nprint('networkx' in sys.modules)"
    again = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True)
    assert again.stdout.split()[-1] == "False", again.stderr
