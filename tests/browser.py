"""Headless Chromium for the browser tests (the review site, the interview page).

``missing()`` gives the reason to skip when chromium, chromedriver or selenium (or a
further command) is not installed; ``chromium()`` starts one headless browser with a
private profile and quits it afterwards; ``module_fixtures()`` makes a test module's
``browser`` and ``shots`` (screenshot folder) fixtures.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")


def missing(*commands: tuple[str, str]) -> str | None:
    """Why the browser tests cannot run here (None when they can). ``commands``: further
    (command, Debian package) pairs the tests need."""
    if CHROMIUM is None:
        return "chromium is not installed (apt-get install chromium chromium-driver)"
    if CHROMEDRIVER is None:
        return "chromedriver is not installed (apt-get install chromium-driver)"
    for command, package in commands:
        if shutil.which(command) is None:
            return f"'{command}' is not installed (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@contextlib.contextmanager
def chromium(profile: Path, width: int = 1200, height: int = 1000) -> Iterator[Any]:
    """A headless Chromium (selenium WebDriver) with its profile in ``profile``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--window-size={width},{height}",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def module_fixtures(width: int) -> tuple[Any, Any]:
    """A module's ``browser`` (one Chromium ``width`` pixels wide for all its tests) and
    ``shots`` (a folder for screenshots, printed so a failure can be looked at)."""

    @pytest.fixture(scope="module")
    def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        with chromium(tmp_path_factory.mktemp("chromium-profile"), width=width) as driver:
            yield driver

    @pytest.fixture(scope="module")
    def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
        folder = tmp_path_factory.mktemp("screenshots")
        print(f"\nscreenshots: {folder}")
        return folder

    return browser, shots
