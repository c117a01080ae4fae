"""``triage lsp`` driven over stdio by a real LSP client (pytest-lsp): diagnostics as
``triage check`` gives them, hover, definition and references across imports,
completion, outline and formatting."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import PROTOCOLS
from triage_dsl.analysis import findings_of
from triage_dsl.compiler import check_file
from triage_dsl.lsp.features import uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNREACHABLE = """protocol unreachable title "t" version "1" end
question temp: number ask "T?" range 30 to 45 end
disposition ed label "ED" tier urgent end
disposition today label "Today" tier same_day end
disposition home label "Home" tier home_care end
triage
  section ed if any of
    when temp >= 39
  end
  section today if any of
    when temp >= 40
  end
  default home
end
"""

BROKEN = """protocol broken title "t" version "1" end
question fever: yes/no ask "Fever?" end
disposition ed label "ED" tier urgnt end
triage
  section ed if any of
    when fevr
  end
  default home
end
"""


SERVER: list[lsp.ServerCapabilities] = []  # what the server said it can do, at start


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped library (the server reads imports from disk)."""
    root = tmp_path_factory.mktemp("lsp")
    shutil.copytree(PROTOCOLS, root / "protocols")
    return root / "protocols"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "triage_dsl", "lsp"]),
    scope="module",
)
async def client(lsp_client: LanguageClient):  # type: ignore[no-untyped-def]
    result = await lsp_client.initialize_session(
        lsp.InitializeParams(capabilities=client_capabilities("visual-studio-code"))
    )
    SERVER.append(result.capabilities)
    yield
    await lsp_client.shutdown_session()


async def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    """Open ``path`` (with ``text``, else its content) and wait for its diagnostics."""
    uri = uri_of(str(path))
    client.diagnostics.pop(uri, None)
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="triage", version=1, text=text or path.read_text())
        )
    )

    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), timeout=120)  # a bound against a hang, not a timing check
    return uri


async def settled(client: LanguageClient, uri: str, codes: set[str]) -> list[lsp.Diagnostic]:
    """Wait until the diagnostics of ``uri`` include a code of ``codes`` (the analyses'
    warnings come after the checks)."""

    async def wait() -> None:
        while not codes & {str(d.code) for d in client.diagnostics.get(uri, [])}:
            await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), timeout=120)  # a bound against a hang, not a timing check
    return list(client.diagnostics[uri])


def where(text: str, needle: str, occurrence: int = 1, offset: int = 1) -> lsp.Position:
    """The position ``offset`` characters into the ``occurrence``-th ``needle``."""
    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    before = text[:start]
    return lsp.Position(before.count("\n"), start - (before.rfind("\n") + 1) + offset)


def as_check(path: Path) -> list[tuple[int, int, str, str]]:
    diagnostics, _ = check_file(path, findings_of)
    return [
        (d.span.line - 1, d.span.column - 1, d.code, d.message + (f"\nhint: {d.hint}" if d.hint else ""))
        for d in diagnostics
        if d.suppressed is None and d.span.path == str(path)
    ]


def as_lsp(diagnostics: list[lsp.Diagnostic]) -> list[tuple[int, int, str, str]]:
    return sorted((d.range.start.line, d.range.start.character, str(d.code), d.message) for d in diagnostics)


async def test_errors_are_the_diagnostics_of_check(client: LanguageClient, library: Path) -> None:
    path = library / "broken.triage"
    path.write_text(BROKEN)
    uri = await open_file(client, path)
    got = as_lsp(client.diagnostics[uri])
    assert got == sorted(as_check(path))
    assert any(code == "T020" and "fevr" in message for _, _, code, message in got)
    assert all(
        d.severity == lsp.DiagnosticSeverity.Error for d in client.diagnostics[uri] if d.code[0] == "T"
    )


async def test_analysis_warnings_follow_when_there_are_no_errors(
    client: LanguageClient, library: Path
) -> None:
    path = library / "unreachable.triage"
    path.write_text(UNREACHABLE)
    uri = await open_file(client, path)
    got = await settled(client, uri, {"A001"})
    assert as_lsp(got) == sorted(as_check(path))
    assert {str(d.code) for d in got} >= {"A001", "A002"}


async def test_typing_is_checked_on_the_latest_text(client: LanguageClient, library: Path) -> None:
    path = library / "typing.triage"
    path.write_text(UNREACHABLE)
    uri = await open_file(client, path)
    await settled(client, uri, {"A001"})
    text = UNREACHABLE
    for version, typed in enumerate(["fev", "fever_x", "fevr"], start=2):
        text = UNREACHABLE.replace("when temp >= 40", f"when {typed}")
        client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                lsp.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [lsp.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
    got = await settled(client, uri, {"T020"})
    path.write_text(text)
    assert as_lsp(got) == sorted(as_check(path))
    assert any("fevr" in d.message for d in got)


async def test_hover_shows_a_question_a_disposition_and_a_points_table(
    client: LanguageClient, library: Path
) -> None:
    path = library / "rules" / "news2.triage"
    text = path.read_text()
    uri = await open_file(client, path)
    question = await client.text_document_hover_async(
        lsp.HoverParams(
            lsp.TextDocumentIdentifier(uri), where(text, "points temp_points from temp_c", offset=27)
        )
    )
    assert question is not None
    value = question.contents.value  # type: ignore[union-attr]
    assert "What is the temperature, in degrees Celsius?" in value and "range 20 to 45" in value
    assert "unit C" in value and "number" in value
    points = await client.text_document_hover_async(
        lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=where(text, "+ temp_points", offset=3)
        )
    )
    assert points is not None and "<= 35.0: 3" in points.contents.value  # type: ignore[union-attr]
    disposition = await client.text_document_hover_async(
        lsp.HoverParams(
            text_document=lsp.TextDocumentIdentifier(uri), position=where(text, "section high", offset=9)
        )
    )
    assert disposition is not None
    shown = disposition.contents.value  # type: ignore[union-attr]
    assert "tier `emergency`" in shown and "Monitor vital signs continuously." in shown


async def test_definition_and_references_cross_imports(client: LanguageClient, library: Path) -> None:
    path = library / "telephone" / "abdominal_pain_adult.triage"
    shared = library / "telephone" / "shared.triage"
    text = path.read_text()
    uri = await open_file(client, path)
    at_tier = where(text, "tier home_care", offset=6)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri), position=at_tier)
    )
    assert isinstance(found, lsp.Location) and found.uri == uri_of(str(shared))
    declared = shared.read_text().splitlines()[found.range.start.line]
    assert declared[found.range.start.character : found.range.end.character] == "home_care"
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            position=at_tier,
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert refs is not None
    files = {r.uri for r in refs}
    assert uri in files and uri_of(str(shared)) in files
    assert uri_of(str(library / "telephone" / "fever_child.triage")) in files, "files that import it too"
    for ref in refs:
        lines = Path(ref.uri.removeprefix("file://")).read_text().splitlines()
        assert lines[ref.range.start.line][ref.range.start.character : ref.range.end.character] == "home_care"


async def test_completion_offers_names_that_fit(client: LanguageClient, library: Path) -> None:
    path = library / "rules" / "news2.triage"
    text = path.read_text()
    uri = await open_file(client, path)

    async def labels(position: lsp.Position) -> set[str]:
        found = await client.text_document_completion_async(
            lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(uri), position=position)
        )
        assert isinstance(found, lsp.CompletionList)
        return {item.label for item in found.items}

    assert {"emergency", "urgent"} <= await labels(where(text, "tier emergency", offset=5))
    assert {"high", "medium"} <= await labels(where(text, "section high", offset=8))
    assert {"alert", "voice", "unresponsive"} <= await labels(where(text, "  alert: 0", offset=2))
    names = await labels(where(text, "score news2 = ", offset=14))
    assert {"resp_rate", "spo2_points", "temp_c"} <= names


async def test_outline_lists_the_declarations(client: LanguageClient, library: Path) -> None:
    path = library / "rules" / "news2.triage"
    uri = await open_file(client, path)
    found = await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri))
    )
    assert found is not None
    names = [s.name for s in found]  # type: ignore[union-attr]
    assert names[0] == "news2" and {"resp_rate", "temp_points", "news2", "high", "triage"} <= set(names)
    triage = next(s for s in found if s.name == "triage")  # type: ignore[union-attr]
    assert [c.name for c in triage.children or []][:1] == ["section high"]  # type: ignore[union-attr]


async def test_outline_ranges_end_where_their_blocks_end_inside_the_text(
    client: LanguageClient, library: Path
) -> None:
    async def outline(name: str, text: str) -> list[lsp.DocumentSymbol]:
        path = library / name
        path.write_text(text)
        uri = await open_file(client, path)
        found = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(text_document=lsp.TextDocumentIdentifier(uri))
        )
        return list(found or [])  # type: ignore[arg-type]

    # a block over several lines ends at its `end`, not at its first line's column
    indented = await outline(
        "indented.triage", 'library l end\n\n        question q: yes/no\n  ask "Q?"\nend\n'
    )
    q = next(s for s in indented if s.name == "q")
    assert (q.range.start.line, q.range.start.character, q.range.end.line, q.range.end.character) == (
        2,
        8,
        4,
        3,
    )
    # a block the parser closes after the text: its range stops at the end of the text
    unclosed = await outline("unclosed.triage", 'library l\n  title "x"')
    assert [(s.name, s.range.end.line, s.range.end.character) for s in unclosed] == [("l", 1, 11)]
    # an import of "" still has a name (an outline entry without one is refused by VS Code)
    empty = await outline("empty_import.triage", 'library l end\nimport ""\n')
    assert [s.name for s in empty] == ["l", '""']


async def test_a_buffer_with_no_file_is_answered_under_its_own_uri(client: LanguageClient) -> None:
    uri = "untitled:Untitled-1"
    text = 'protocol p title "t" version "1" end\nquestion fever: yes/no ask "Fever?" end\n'
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="triage", version=1, text=text)
        )
    )
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri), position=where(text, "fever"))
    )
    assert found is None or (isinstance(found, lsp.Location) and found.uri == uri)
    text += "triage\n  section ed if any of\n    when fever\n  end\n  default ed\nend\n"
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    at_use = where(text, "fever", occurrence=2)
    found = await client.text_document_definition_async(
        lsp.DefinitionParams(text_document=lsp.TextDocumentIdentifier(uri), position=at_use)
    )
    assert isinstance(found, lsp.Location) and found.uri == uri and found.range.start.line == 1
    refs = await client.text_document_references_async(
        lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            position=at_use,
            context=lsp.ReferenceContext(include_declaration=True),
        )
    )
    assert refs and {r.uri for r in refs} == {uri}


async def test_the_server_asks_for_the_whole_text_on_each_change(client: LanguageClient) -> None:
    """An incremental change is applied by pygls with str.splitlines, which breaks lines at
    U+2028 or a form feed where the client does not: the server's text would drift."""
    sync = SERVER[0].text_document_sync
    kind = sync.change if isinstance(sync, lsp.TextDocumentSyncOptions) else sync
    assert kind == lsp.TextDocumentSyncKind.Full


async def test_formatting_is_triage_fmt(client: LanguageClient, library: Path) -> None:
    path = library / "messy.triage"
    path.write_text("library messy end\nvalue  v=1 # one\n")
    uri = await open_file(client, path)
    edits = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert edits is not None and len(edits) == 1
    assert edits[0].new_text == "library messy\nend\n\nvalue v = 1  # one\n"
    broken = library / "broken_fmt.triage"
    broken.write_text(BROKEN.replace(" end\n", "\n", 1))
    uri = await open_file(client, broken)
    refused = await client.text_document_formatting_async(
        lsp.DocumentFormattingParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert not refused


async def test_a_misspelled_name_has_a_quick_fix(client: LanguageClient, library: Path) -> None:
    """'did you mean' becomes an edit: applied, the file checks clean of those errors."""
    path = library / "misspelled.triage"
    path.write_text(BROKEN)
    uri = await open_file(client, path)
    whole = lsp.Range(lsp.Position(0, 0), lsp.Position(len(BROKEN.splitlines()), 0))
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=whole,
            context=lsp.CodeActionContext(diagnostics=list(client.diagnostics[uri])),
        )
    )
    assert actions is not None
    fixes = {a.title: a for a in actions if isinstance(a, lsp.CodeAction)}
    assert sorted(fixes) == ["Change 'fevr' to 'fever'", "Change 'urgnt' to 'urgent'"]
    text = BROKEN
    for action in fixes.values():
        assert action.kind == lsp.CodeActionKind.QuickFix and action.edit is not None
        assert action.edit.changes is not None
        (edit,) = action.edit.changes[uri]
        lines = text.splitlines(keepends=True)
        line = lines[edit.range.start.line]
        lines[edit.range.start.line] = (
            line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
        )
        text = "".join(lines)
    path.write_text(text)
    assert not {code for _, _, code, _ in as_check(path)} & {"T020", "T042"}  # both fixed
    assert "when fever" in text and "tier urgent" in text
    # a range with no such diagnostic: no action
    first = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 5))
    none = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=first,
            context=lsp.CodeActionContext(diagnostics=[]),
        )
    )
    assert not none


WIDE = """protocol wide title "t" version "1" end
question fever: yes/no ask "Fever 🤒 over 38 °C?" end
disposition ed label "ED 🚑" tier urgnt end
disposition home label "Home 🏠🏠🏠🏠🏠🏠🏠🏠🏠🏠🏠🏠" tier home_care end
triage
  section ed if any of
    when fever
  end
  default home
end
"""


def _utf16(line: str, character: int) -> int:
    return len(line[:character].encode("utf-16-le")) // 2


async def test_positions_are_in_the_clients_utf16_units_after_wide_characters(
    client: LanguageClient, library: Path
) -> None:
    """An emoji is two UTF-16 units: the underline, the quick fix and a hover after one
    land on the name, not to its left or right."""
    path = library / "wide.triage"
    path.write_text(WIDE, encoding="utf-8")
    uri = await open_file(client, path)
    lines = WIDE.splitlines()
    line = lines[2]
    (typo,) = [d for d in client.diagnostics[uri] if d.range.start.line == 2]
    assert typo.range.start.character == _utf16(line, line.index("urgnt")) == line.index("urgnt") + 1
    assert typo.range.end.character == typo.range.start.character + len("urgnt")
    actions = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(uri),
            range=typo.range,
            context=lsp.CodeActionContext(diagnostics=[typo]),
        )
    )
    assert actions is not None
    (fix,) = [a for a in actions if isinstance(a, lsp.CodeAction)]
    assert fix.edit is not None and fix.edit.changes is not None
    (edit,) = fix.edit.changes[uri]
    units = line.encode("utf-16-le")
    fixed = (
        units[: 2 * edit.range.start.character].decode("utf-16-le")
        + edit.new_text
        + units[2 * edit.range.end.character :].decode("utf-16-le")
    )
    assert fixed == 'disposition ed label "ED 🚑" tier urgent end'
    # twelve emoji before the name: read as characters, the position would be past it
    at = lsp.Position(3, _utf16(lines[3], lines[3].index("home_care")))
    hover = await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri), at))
    assert hover is not None and hover.range is not None
    assert (hover.range.start, hover.range.end.character) == (at, at.character + len("home_care"))


async def test_a_large_file_being_formatted_does_not_hold_up_another_request(
    client: LanguageClient, library: Path
) -> None:
    """Formatting and the check a request needs run in a worker thread: while a large
    buffer is formatted, a hover in another file is answered first."""
    big = library / "big.triage"
    big.write_text(
        "library big end\n" + "".join(f'question q{n}:  yes/no ask "Q{n}?" end\n' for n in range(3000))
    )
    small = library / "small.triage"
    small.write_text(UNREACHABLE)
    big_uri, small_uri = await open_file(client, big), await open_file(client, small)
    formatting = asyncio.ensure_future(
        client.text_document_formatting_async(
            lsp.DocumentFormattingParams(
                text_document=lsp.TextDocumentIdentifier(big_uri),
                options=lsp.FormattingOptions(tab_size=2, insert_spaces=True),
            )
        )
    )
    await asyncio.sleep(0.05)  # the formatting request is sent first
    hover = asyncio.ensure_future(
        client.text_document_hover_async(
            lsp.HoverParams(
                text_document=lsp.TextDocumentIdentifier(small_uri), position=where(UNREACHABLE, "temp >= 39")
            )
        )
    )
    done, _ = await asyncio.wait({formatting, hover}, return_when=asyncio.FIRST_COMPLETED)
    assert hover in done and not formatting.done()
    assert (await hover) is not None
    edits = await formatting
    assert edits is not None and len(edits) == 1  # and the file is formatted all the same
