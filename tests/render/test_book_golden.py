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
from pathlib import Path

import graphviz
import pytest

from tests.conftest import PROTOCOLS, ROOT
from triage_dsl.render import book as book_module
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
    drawn: dict[str, bytes] = {}
    real_pipe = book_module.pipe

    def recording(drawing: object, fmt: str) -> bytes:
        svg = real_pipe(drawing, fmt)  # type: ignore[arg-type]
        drawn[drawing.source] = svg  # type: ignore[attr-defined]
        return svg

    monkeypatch.setattr(book_module, "pipe", recording)
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
    monkeypatch.setattr(book_module, "pipe", lambda d, fmt: sources.append(d.source) or b"<svg x></svg>")
    build_book(PROTOCOLS / "rules", tmp_path / "site")
    assert sources and len(sources) == len(set(sources))
