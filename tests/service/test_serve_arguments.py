"""``triage serve`` refuses settings it cannot run with, before it starts: each with the
accepted range or the reason it cannot listen, never uvicorn's traceback or a silently
different port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import PROTOCOLS


@pytest.mark.parametrize(
    "argument, message",
    [
        (["--port", "99999"], "argument --port: expected 1 to 65535, got 99999"),  # was port 34463
        (["--port", "-1"], "argument --port: expected 1 to 65535, got -1"),
        (["--port", "http"], "argument --port: expected a whole number, got 'http'"),
        (["--workers", "0"], "argument --workers: expected 1 to 64, got 0"),
        (["--backlog", "-1"], "argument --backlog: expected 1 to 65535, got -1"),
        (
            ["--keep-alive", "inf"],
            "argument --keep-alive: expected more than 0 and at most 3600 seconds, got inf",
        ),
        (["--keep-alive", "-5"], "expected more than 0 and at most 3600 seconds, got -5"),
        (["--rescan", "nan"], "argument --rescan: expected more than 0 and at most 86400 seconds, got nan"),
        (["--rescan", "0"], "argument --rescan: expected more than 0"),
    ],
)
def test_settings_out_of_range_are_refused(tmp_path: Path, argument: list[str], message: str) -> None:
    code, _, err = run("serve", str(PROTOCOLS), "--data-dir", str(tmp_path), *argument)
    assert code == 2
    assert message in err and "Traceback" not in err


def test_a_port_in_use_is_said_before_the_service_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run("serve", str(PROTOCOLS), "--data-dir", str(tmp_path), "--port", str(port))
    assert code == 2
    assert f"triage: cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "choose another --port" in err and "serving" not in err


@pytest.mark.parametrize(
    "host, reason",
    [("999.1.1.1", "not an address of this machine"), ("192.0.2.1", "Cannot assign requested address")],
)
def test_an_address_that_is_not_this_machines_is_refused(tmp_path: Path, host: str, reason: str) -> None:
    code, _, err = run("serve", str(PROTOCOLS), "--data-dir", str(tmp_path), "--host", host, "--port", "8000")
    assert code == 2
    assert f"triage: cannot listen on {host}:8000: {reason}" in err
