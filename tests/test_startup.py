"""Start-up: a command imports only the stages it uses (timings: tools/bench_startup.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import triage_dsl
from tests.conftest import ROOT

HEAVY = ("lark", "pydantic", "networkx", "graphviz", "icalendar", "triage_dsl.compiler", "triage_dsl.runtime")


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


def test_check_loads_the_analyses_but_not_the_renderer() -> None:
    loaded = _loaded_after(
        "from triage_dsl.cli import main\nmain(['check', '--no-analysis', 'protocols/rules/qsofa.triage'])"
    )
    assert "triage_dsl.compiler" in loaded
    assert "graphviz" not in loaded and "triage_dsl.render" not in loaded


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
