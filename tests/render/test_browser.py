"""The review site in a real browser: headless Chromium driven through chromedriver.

Builds ``triage book protocols/`` once, then checks that every page loads without console
errors, that no link is broken, that clicking a graph node reaches its source line, and
saves screenshots (to pytest's temporary folder, named in the output). Skips with the
reason when chromium, chromedriver, selenium or graphviz's ``dot`` is not installed
(``tools/setup.sh`` installs them on Debian when run as root).
"""

from __future__ import annotations

import html.parser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.browser import missing, module_fixtures
from tests.conftest import PROTOCOLS
from triage_dsl.render.book import Book, build_book

MISSING = missing(("dot", "graphviz"))
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Book:
    return build_book(PROTOCOLS, tmp_path_factory.mktemp("site"))


browser, shots = module_fixtures(width=1400)


class _Links(html.parser.HTMLParser):
    """Every href (HTML and SVG links) and every id of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "xlink:href"):
                self.hrefs.append(value)
            elif name == "id":
                self.ids.add(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _key_pages(book: Book) -> list[Path]:
    """The index, every protocol page, every library page and one scenario page each."""
    pages = [book.site / "index.html"]
    pages += [book.site / e.page for e in book.protocols]
    pages += [p for p in book.pages if p.name.startswith("source-")]
    pages += [book.site / next(iter(e.scenario_pages.values())) for e in book.protocols if e.scenario_pages]
    return pages


def test_the_index_lists_every_shipped_protocol(book: Book) -> None:
    index = (book.site / "index.html").read_text(encoding="utf-8")
    shipped = [
        p for p in PROTOCOLS.rglob("*.triage") if not p.read_text().lstrip("# \n").startswith("library")
    ]
    assert len(book.protocols) == len([p for p in shipped if "\nlibrary " not in "\n" + p.read_text()])
    for entry in book.protocols:
        assert entry.protocol is not None, entry.error
        assert f'href="{entry.page}"' in index
        assert entry.protocol.sha256 in index


def test_no_link_is_broken(book: Book) -> None:
    ids = {page.name: _parse(page).ids for page in book.pages}
    broken = []
    for page in book.pages:
        for href in _parse(page).hrefs:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https", "data", "mailto"):
                continue
            target = unquote(parts.path) or page.name
            if target not in ids:
                broken.append(f"{page.name}: {href} (no such page)")
            elif parts.fragment and parts.fragment not in ids[target]:
                broken.append(f"{page.name}: {href} (no such anchor)")
    assert not broken, "\n".join(broken[:20])


def test_pages_load_without_console_errors(book: Book, browser: Any, shots: Path) -> None:
    problems = []
    for page in _key_pages(book):
        browser.get(page.as_uri())
        assert browser.execute_script("return document.readyState") == "complete"
        assert browser.find_element("tag name", "h1").text.strip(), page.name
        for entry in browser.get_log("browser"):
            if entry["level"] in ("SEVERE", "WARNING"):
                problems.append(f"{page.name}: {entry['message']}")
        if page.name == "index.html" or page.name.startswith(("rules-news2", "telephone-chest_pain_adult")):
            browser.save_screenshot(str(shots / (page.stem + ".png")))
    assert not problems, "\n".join(problems)


def test_every_page_has_a_skip_link_and_accessible_graph(book: Book, browser: Any) -> None:
    entry = next(e for e in book.protocols if e.protocol is not None and e.protocol.id == "news2")
    browser.get((book.site / entry.page).as_uri())
    skip = browser.find_element("css selector", "a.skip")
    assert skip.get_attribute("href").endswith("#main")
    svg = browser.find_element("css selector", "figure.graph svg")
    assert "Decision graph of" in (svg.get_attribute("aria-label") or "")
    assert browser.execute_script("return document.documentElement.lang") == "en"


def test_clicking_a_node_reaches_its_source_line(book: Book, browser: Any, shots: Path) -> None:
    entry = next(e for e in book.protocols if e.protocol is not None and e.protocol.id == "ottawa_ankle")
    assert entry.protocol is not None
    criterion = entry.protocol.plan.sections[1].criteria[0]
    browser.get((book.site / entry.page).as_uri())
    link = browser.find_element("css selector", "#a_n-criterion-1-0 a")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", link)
    link.click()
    line = criterion.span.line
    assert browser.execute_script("return location.hash") == f"#L{line}"
    target = browser.execute_script("return document.querySelector(':target')")
    assert target is not None and target.get_attribute("id") == f"L{line}"
    assert "when ankle_series_needed" in target.text
    in_view = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight;",
        target,
    )
    assert in_view
    browser.save_screenshot(str(shots / "clicked-node-source-line.png"))


def test_keyboard_reaches_graph_nodes(book: Book, browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    entry = next(e for e in book.protocols if e.protocol is not None and e.protocol.id == "qsofa")
    browser.get((book.site / entry.page).as_uri())
    body = browser.find_element("tag name", "body")
    reached = set()
    for _ in range(60):
        body.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        href = active.get_attribute("href") or active.get_attribute("xlink:href") or ""
        if (
            "#L" in str(href)
            and active.tag_name == "a"
            and active.find_elements("xpath", "ancestor::*[name()='svg']")
        ):
            reached.add(href)
    assert reached, "no graph node link took the keyboard focus"


def test_a_scenario_page_shows_the_path(book: Book, browser: Any, shots: Path) -> None:
    entry = next(e for e in book.protocols if e.protocol is not None and e.protocol.id == "news2")
    number, page = next(iter(entry.scenario_pages.items()))
    browser.get((book.site / page).as_uri())
    assert "Scenario" in browser.find_element("tag name", "h1").text
    fired = browser.find_elements("xpath", "//*[name()='text' and text()='fired']")
    outcome = entry.report.scenarios[number - 1].result
    assert outcome is not None
    if outcome.decided_by is not None and outcome.decided_by.criterion:
        assert fired
    browser.save_screenshot(str(shots / "scenario-path.png"))
