"""The pygls wiring: documents in, features out; checks debounced and run off the loop.

As the author types, each change restarts a short timer (:data:`DEBOUNCE_SECONDS`);
when it runs out the document is checked in a worker thread and its diagnostics are
published, then the analyses' warnings follow when the file has no errors. Requests
(hover, definition...) use the last analysis of the same text, or check the current
text at once (checks only) when the buffer has changed since.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from triage_dsl.compiler import read_source
from triage_dsl.errors import ProtocolFileError
from triage_dsl.lsp import features
from triage_dsl.lsp.analysis import Document, analyse
from triage_dsl.lsp.units import Units
from triage_dsl.version import __version__

DEBOUNCE_SECONDS = 0.3


class TriageServer(LanguageServer):
    def __init__(self) -> None:
        # the whole text on each change: pygls applies an incremental change by
        # str.splitlines, which also breaks lines at U+2028, form feed and the like where
        # the client does not, so the server's text would drift from the buffer
        super().__init__("triage-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Full)
        self.documents: dict[str, Document] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}

    def path_of(self, uri: str) -> str:
        return to_fs_path(uri) or uri

    def text_of(self, uri: str) -> str:
        return self.workspace.get_text_document(uri).source

    def units(self) -> Units:
        """Columns between the checks (characters) and this client (its encoding)."""
        return Units(self.workspace.position_encoding or lsp.PositionEncodingKind.Utf16, self._any_text)

    def _any_text(self, uri: str) -> str | None:
        """The text of an open document, else of the saved file (None when unreadable)."""
        if uri in self.workspace.text_documents:
            return self.text_of(uri)
        try:
            return read_source(self.path_of(uri)).text
        except ProtocolFileError:
            return None

    async def current(self, uri: str) -> Document:
        """The analysis of the buffer's current text: the last one, or its checks (no
        analyses) run now in a worker thread, so a large file does not hold up every
        other message meanwhile."""
        text = self.text_of(uri)
        cached = self.documents.get(uri)
        if cached is not None and cached.text == text:
            return cached
        path = self.path_of(uri)
        document = await asyncio.get_running_loop().run_in_executor(
            None, lambda: analyse(path, text, analyses=None)
        )
        if self.text_of(uri) == text:
            self.documents[uri] = document
        return document

    def schedule(self, uri: str, delay: float) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self.validate(uri, delay))

    async def validate(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        loop = asyncio.get_running_loop()
        path, text = self.path_of(uri), self.text_of(uri)
        checked = await loop.run_in_executor(None, lambda: analyse(path, text, analyses=None))
        if self.text_of(uri) != text:
            return  # typed on: a newer check is scheduled
        self.documents[uri] = checked
        self.publish(uri, checked)
        if path.endswith(".triage") and not any(d.severity == "error" for d in checked.diagnostics):
            full = await loop.run_in_executor(None, lambda: analyse(path, text))
            if self.text_of(uri) == text:
                self.documents[uri] = full
                self.publish(uri, full)

    def publish(self, uri: str, document: Document) -> None:
        found = self.units().out(uri, features.diagnostics(document))
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=found))


def build() -> TriageServer:
    """A server with every feature registered."""
    server = TriageServer()

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: TriageServer, params: lsp.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: TriageServer, params: lsp.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: TriageServer, params: lsp.DidSaveTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TriageServer, params: lsp.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        task = ls.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        ls.documents.pop(uri, None)
        ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TriageServer, params: lsp.HoverParams) -> lsp.Hover | None:
        uri, units = params.text_document.uri, ls.units()
        document = await ls.current(uri)
        return units.out(uri, features.hover(document, units.position_in(uri, params.position)))

    @server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
    async def definition(ls: TriageServer, params: lsp.DefinitionParams) -> lsp.Location | None:
        uri, units = params.text_document.uri, ls.units()
        document = await ls.current(uri)
        return units.out(uri, features.definition(document, units.position_in(uri, params.position)))

    @server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
    async def references(ls: TriageServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
        document = await ls.current(params.text_document.uri)
        others = [d for uri, d in ls.documents.items() if uri != params.text_document.uri]
        include = params.context.include_declaration
        units = ls.units()
        position = units.position_in(params.text_document.uri, params.position)

        def search() -> list[lsp.Location]:
            found = features.references(document, position, include, others + saved(document, others))
            return units.out(params.text_document.uri, found)

        return await asyncio.get_running_loop().run_in_executor(None, search)

    @server.feature(
        lsp.TEXT_DOCUMENT_COMPLETION,
        lsp.CompletionOptions(trigger_characters=[" ", "{", ","]),
    )
    async def completion(ls: TriageServer, params: lsp.CompletionParams) -> lsp.CompletionList:
        uri, units = params.text_document.uri, ls.units()
        items = features.completion(await ls.current(uri), units.position_in(uri, params.position))
        return lsp.CompletionList(is_incomplete=False, items=units.out(uri, items))

    @server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    async def document_symbol(ls: TriageServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
        uri = params.text_document.uri
        return ls.units().out(uri, features.symbols(await ls.current(uri)))

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]),
    )
    async def code_action(ls: TriageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        uri, units = params.text_document.uri, ls.units()
        document = await ls.current(uri)
        return units.out(uri, features.code_actions(document, uri, units.range_in(uri, params.range)))

    @server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
    async def formatting(ls: TriageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
        uri = params.text_document.uri
        path, text = ls.path_of(uri), ls.text_of(uri)
        return await asyncio.get_running_loop().run_in_executor(None, lambda: features.formatting(path, text))

    return server


_NEIGHBOURS: dict[tuple[str, str], Document] = {}


def saved(document: Document, others: list[Document]) -> list[Document]:
    """The saved files of the document's library that are not open and mention one of
    its names (those may import it), checked (no analyses) and cached by their text."""
    seen = {d.path for d in others} | {document.path}
    names = {o.name for o in document.occurrences}
    found = []
    for path in features.neighbours(document.path):
        if path in seen:
            continue
        try:
            source = read_source(path)
        except ProtocolFileError:
            continue  # an unreadable file has no references
        if not any(name in source.text for name in names):
            continue
        key = (path, source.sha256)
        if key not in _NEIGHBOURS:
            _NEIGHBOURS[key] = analyse(path, source.text, analyses=None)
        found.append(_NEIGHBOURS[key])
    return found


def serve(**kwargs: Any) -> None:
    """Run the server on stdin/stdout until the editor says exit."""
    build().start_io(**kwargs)
