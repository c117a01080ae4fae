"""``triage book protocols/telephone``: the same pages, with the same text, as recorded in
tests/data/golden/book_telephone.json (page name -> SHA-256 of the page with each inline
SVG cut out, so the record does not depend on the graphviz version). The SVGs themselves
are checked against a ``dot`` run per drawing. ``UPDATE_GOLDEN=1`` rewrites the record."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zlib
from pathlib import Path

import graphviz
import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl.render import drawings as drawings_module
from triage_dsl.render.book import build_book
from triage_dsl.render.output import pipe

GOLDEN = ROOT / "tests" / "data" / "golden" / "book_telephone.json"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def manifest(site: Path) -> dict[str, str]:
    """Page name -> SHA-256 of its text without the inline SVGs."""
    return {
        page.name: hashlib.sha256(SVG.sub("<svg/>", page.read_text(encoding="utf-8")).encode()).hexdigest()
        for page in sorted(site.iterdir())
    }


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_the_telephone_book_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))  # every drawing made here
    drawn: dict[str, bytes] = {}
    real_pipe = drawings_module.pipe

    def recording(drawing: object, fmt: str) -> bytes:
        svg = real_pipe(drawing, fmt)  # type: ignore[arg-type]
        drawn[drawing.source] = svg  # type: ignore[attr-defined]
        return svg

    monkeypatch.setattr(drawings_module, "pipe", recording)
    book = build_book("protocols/telephone", tmp_path / "site")
    pages = manifest(tmp_path / "site")
    assert sorted(p.name for p in book.pages) == sorted(pages)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(pages, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert pages == json.loads(GOLDEN.read_text(encoding="utf-8"))
    # every drawing's SVG is the one a dot run of its own gives, and each sits in its page
    assert drawn
    for source in list(drawn)[:3]:
        assert pipe(graphviz.Source(source), "svg") == drawn[source]
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "\x00" not in index
    assert all("\x00" not in p.read_text(encoding="utf-8") for p in (tmp_path / "site").iterdir())


def test_drawings_repeated_on_many_pages_go_through_dot_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources: list[str] = []
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(drawings_module, "pipe", lambda d, fmt: sources.append(d.source) or b"<svg x></svg>")
    build_book(PROTOCOLS / "rules", tmp_path / "site")
    assert sources and len(sources) == len(set(sources))


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_a_book_made_again_takes_its_drawings_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second book of the same protocols runs no dot and has the same bytes; a
    drawing that changed (here: its DOT text) is drawn again, the others still come back."""
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(tmp_path / "cache"))
    protocol = PROTOCOLS / "telephone" / "allergic_reaction.triage"
    first = build_book(protocol, tmp_path / "first")
    pages = {p.name: p.read_bytes() for p in first.pages}
    assert any(b"<svg" in page for page in pages.values())

    def no_dot(drawing: object, fmt: str) -> bytes:
        raise AssertionError("drawn again")

    monkeypatch.setattr(drawings_module, "pipe", no_dot)
    again = build_book(protocol, tmp_path / "again")
    assert {p.name: p.read_bytes() for p in again.pages} == pages

    drawn: list[str] = []
    real = drawings_module.Drawer.submit

    def changed(self: drawings_module.Drawer, group: str, source: str) -> None:
        if "Trace overlay" not in source:  # the protocol page's drawing, not a scenario's
            source = source.replace("rankdir=LR", "rankdir=TB", 1)
        real(self, group, source)

    monkeypatch.setattr(drawings_module.Drawer, "submit", changed)
    monkeypatch.setattr(drawings_module, "pipe", lambda d, fmt: drawn.append(d.source) or b"<svg y></svg>")
    build_book(protocol, tmp_path / "third")
    assert len(drawn) == 1 and "rankdir=TB" in drawn[0]


def test_a_damaged_drawing_cache_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("TRIAGE_CACHE_DIR", str(cache))
    monkeypatch.setattr(drawings_module, "dot_identity", lambda: "a dot")
    drawn: list[str] = []
    monkeypatch.setattr(drawings_module, "pipe", lambda d, fmt: drawn.append(d.source) or b"<svg z></svg>")
    drawer = drawings_module.Drawer()
    drawer.submit("group", "digraph {}")
    assert drawer.svgs() == {"digraph {}": b"<svg z></svg>"}
    drawer.close()
    (stored,) = [p for p in cache.iterdir() if p.name.startswith("svgs-")]
    for damage in (b"not zlib", zlib.compress(b"[1, 2]"), zlib.compress(b'{"a": 1}')):
        stored.write_bytes(damage)
        drawer = drawings_module.Drawer()
        drawer.submit("group", "digraph {}")
        assert drawer.futures["digraph {}"].result() == b"<svg z></svg>"
        drawer.close()
    assert len(drawn) == 4  # drawn the first time and again after each damage
    drawer = drawings_module.Drawer()
    drawer.submit("group", "digraph {}")
    assert drawer.svgs() == {"digraph {}": b"<svg z></svg>"}
    drawer.close()
    assert len(drawn) == 5 and b"svg z" in zlib.decompress(stored.read_bytes())
