"""``triage book``: a static HTML review site, readable with nothing but a browser.

For each protocol under a folder: its compiled decision graph as inline SVG (each node a
link to its source line), the source with line numbers and anchors (``#L12``), the
scenarios with their outcomes and, per scenario, the graph with that evaluation's path.
An index lists every protocol with its header, the tier of each disposition, the source
SHA-256, and scenario count and coverage (from :func:`triage_dsl.testing.runner.run_protocol`).

No server, no external assets: CSS is inline, SVG is inline, there is no script. Pages
are flat files in one folder so every link is a relative file name.
"""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from triage_dsl.compiler import compile_file, read_source, roots_for
from triage_dsl.errors import CompileError, ProtocolFileError
from triage_dsl.graph.plan import escalation_roles, plans
from triage_dsl.io.files import inside
from triage_dsl.io.outputs import OutputError, check_output, write_atomic
from triage_dsl.protocol import Protocol
from triage_dsl.render.dot import Drawing, node_id
from triage_dsl.render.drawings import Drawer
from triage_dsl.render.output import INSTALL_HINT, DotMissing
from triage_dsl.render.overlay import overlay_of
from triage_dsl.render.table import decision_table, tier_badge
from triage_dsl.source import Span, split_lines
from triage_dsl.testing.runner import ProtocolReport, ScenarioOutcome, discover, run_protocol

CSS = """
:root { --ink: #1d1d1f; --muted: #5b5b66; --line: #d0d0d8; --mark: #fff1a8; --link: #1a4fa0; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       color: var(--ink); margin: 0; }
a { color: var(--link); }
a:focus-visible, summary:focus-visible { outline: 3px solid #ff9800; outline-offset: 2px; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .4rem .8rem; z-index: 10; }
header.site { background: #20314f; color: #fff; padding: .6rem 1.2rem; }
header.site a { color: #fff; }
main { padding: 0 1.2rem 2rem; max-width: 100%; }
h1 { font-size: 1.6rem; margin: 1rem 0 .3rem; }
h2 { font-size: 1.25rem; margin: 1.8rem 0 .5rem; border-bottom: 1px solid var(--line); }
table.list { border-collapse: collapse; margin: .5rem 0; }
table.list th, table.list td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
                               vertical-align: top; }
table.list th { background: #f2f3f7; }
.hash { font: 12px/1.3 ui-monospace, Menlo, Consolas, monospace; word-break: break-all; max-width: 16rem; }
.tier { display: inline-block; padding: 0 .4rem; border-radius: .3rem; border: 1px solid #0003;
        margin: .1rem 0; font-size: .85rem; }
.pass { color: #1b5e20; font-weight: 600; } .fail { color: #b71c1c; font-weight: 600; }
.muted { color: var(--muted); }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
figure.graph { margin: .5rem 0; overflow: auto; border: 1px solid var(--line); max-height: 90vh; }
figure.graph figcaption { font-size: .85rem; color: var(--muted); padding: .3rem .5rem; }
figure.graph svg a:focus polygon, figure.graph svg a:focus path { stroke: #ff9800; stroke-width: 4; }
table.source { border-collapse: collapse; font: 13px/1.4 ui-monospace, Menlo, Consolas, monospace;
               width: 100%; }
table.source td { padding: 0 .6rem; white-space: pre-wrap; vertical-align: top; }
table.source td.ln { text-align: right; width: 4rem; user-select: none; border-right: 1px solid var(--line); }
table.source td.ln a { color: var(--muted); text-decoration: none; }
table.source tr:target { background: var(--mark); outline: 2px solid #e0b400; }
table.source .c { color: #6a737d; } table.source .s { color: #0b6e3b; }
pre.dot { white-space: pre-wrap; font-size: 12px; }
@media print {
  .skip, nav, header.site { display: none; }
  body { font-size: 11pt; }
  a { color: inherit; text-decoration: none; }
  figure.graph { overflow: visible; max-height: none; border: 0; }
  figure.graph svg { max-width: 100%; height: auto; }
  table.list tr, table.source tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  table.source tr:target { background: none; outline: 0; }
}
"""


def _roles_table(protocol: Protocol) -> str | None:
    """The roles the escalation plans notify: label, where declared, plans and channels."""
    used = escalation_roles(protocol.plan)
    if not used:
        return None
    declared = {rid: role for p in plans(protocol.plan) for rid, role in p.roles.items()}
    rows = []
    for rid, pairs in used.items():
        role = declared.get(rid)
        label = html.escape(role.label) if role else "<strong class='fail'>not declared</strong>"
        where = html.escape(role.location) if role else ""
        how = ", ".join(f"{html.escape(plan)} (by {html.escape(channel)})" for plan, channel in pairs)
        rows.append(
            f"<tr><td><code>{html.escape(rid)}</code></td><td>{label}</td><td>{how}</td><td>{where}</td></tr>"
        )
    return (
        '<table class="list"><caption class="muted">Roles the escalation plans notify; a roster '
        "says who holds each one when (docs/escalation.md)</caption>"
        "<tr><th>role</th><th>label</th><th>notified by</th><th>declared at</th></tr>"
        + "".join(rows)
        + "</table>"
    )


@dataclass
class ProtocolEntry:
    """One protocol of the site: where its page is and what the index says about it."""

    path: Path
    page: str
    report: ProtocolReport
    protocol: Protocol | None = None
    error: str | None = None
    scenario_pages: dict[int, str] = field(default_factory=dict)


@dataclass
class Book:
    """What was built: the pages written and whether graphviz could draw the graphs."""

    site: Path
    pages: list[Path] = field(default_factory=list)
    protocols: list[ProtocolEntry] = field(default_factory=list)
    dot_missing: bool = False


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "protocol"


def _page(title: str, body: str, crumbs: list[tuple[str, str | None]]) -> str:
    nav = " › ".join(
        f'<a href="{html.escape(href)}">{html.escape(text)}</a>' if href else html.escape(text)
        for text, href in crumbs
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        f"<title>{html.escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        '<a class="skip" href="#main">Skip to content</a>\n'
        f'<header class="site"><nav aria-label="Breadcrumb">{nav}</nav></header>\n'
        f'<main id="main">\n{body}\n</main>\n</body>\n</html>\n'
    )


_TOKEN = re.compile(r'("(?:[^"\\]|\\.)*")|(#.*$)')


def _highlight(line: str) -> str:
    """Strings and comments, marked for CSS; everything else escaped as is."""
    out, last = [], 0
    for m in _TOKEN.finditer(line):
        out.append(html.escape(line[last : m.start()]))
        cls = "s" if m.group(1) else "c"
        out.append(f'<span class="{cls}">{html.escape(m.group(0))}</span>')
        last = m.end()
    out.append(html.escape(line[last:]))
    return "".join(out)


def source_table(text: str, label: str) -> str:
    """The source with line numbers; row ``id="L12"`` is the anchor a node links to."""
    rows = []
    for number, line in enumerate(split_lines(text), start=1):
        rows.append(
            f'<tr id="L{number}"><td class="ln"><a href="#L{number}" aria-label="line {number}">'
            f"{number}</a></td><td>{_highlight(line)}</td></tr>"
        )
    return f'<table class="source" aria-label="{html.escape(label)}">\n' + "\n".join(rows) + "\n</table>"


def _svg_inline(svg: bytes, label: str) -> str:
    """graphviz's SVG made fit to sit inside HTML: no XML prolog, an accessible name."""
    text = svg.decode("utf-8")
    start = text.find("<svg")
    text = text[start:]
    return text.replace("<svg ", f'<svg role="group" aria-label="{html.escape(label)}" focusable="false" ', 1)


class _Builder:
    def __init__(self, protocol_dir: Path, site: Path, roots: list[str]) -> None:
        self.root = protocol_dir
        self.roots = roots
        self.site = site
        self.book = Book(site)
        self.library_pages: dict[str, str] = {}
        self.pending: list[tuple[str, str]] = []  # pages made, waiting for their drawings
        self.layouts: dict[str, Drawing] = {}  # protocol page -> its graph's drawing
        self.drawings: list[tuple[str, str, str]] = []  # placeholder, DOT source, label
        self.nonce = secrets.token_hex(8)  # placeholders cannot be spelled by page text
        self.drawer = Drawer()  # the dot runs, beside the Python work
        self.only: list[Path] | None = None  # the protocols to show, when not the whole folder

    def write(self, name: str, text: str) -> None:
        """A page, written by :meth:`flush` once its drawings are made."""
        self.pending.append((name, text))

    def relative(self, path: str) -> str:
        try:
            return str(Path(path).resolve().relative_to(self.root.resolve()))
        except ValueError:
            return path

    def link_for(self, entry: ProtocolEntry) -> Callable[[Span], str | None]:
        main = entry.protocol.path if entry.protocol else ""

        def link(span: Span) -> str | None:
            if span.path == main:
                return f"{entry.page}#L{span.line}"
            page = self.library_pages.get(span.path)
            return f"{page}#L{span.line}" if page else None

        return link

    def draw(self, entry: ProtocolEntry, overlay_result: ScenarioOutcome | None = None) -> str:
        """A placeholder for the graph's figure: the drawings of every page are made
        together when the pages are written (:meth:`figures`)."""
        assert entry.protocol is not None
        protocol = entry.protocol
        overlay = (
            overlay_of(overlay_result.result, protocol.id)
            if overlay_result and overlay_result.result
            else None
        )
        drawing = self.layouts.get(entry.page)
        if drawing is None:  # laid out once per protocol; a scenario's path changes attributes
            drawing = self.layouts[entry.page] = Drawing(protocol, self.link_for(entry))
        source = drawing.source(overlay)
        label = f"Decision graph of {protocol.title}"
        if overlay_result is not None:
            label += f", with the path of scenario '{overlay_result.name}'"
        token = f"\x00{self.nonce}:{len(self.drawings)}\x00"
        self.drawings.append((token, source, label))
        self.drawer.submit(str(entry.path.resolve()), source)
        return token

    def figures(self) -> dict[str, str]:
        """Each placeholder's figure (the drawings are made by :mod:`.drawings` while the
        pages are composed)."""
        try:
            svgs = self.drawer.svgs()
        except DotMissing:
            self.book.dot_missing = True
            svgs = {}
        figures: dict[str, str] = {}
        for token, source, label in self.drawings:
            svg = svgs.get(source)
            if svg is None:
                figures[token] = (
                    f'<p role="note">The graph cannot be drawn here: {html.escape(INSTALL_HINT)}. '
                    "Its DOT source follows.</p>\n"
                    f'<pre class="dot" aria-label="DOT source of the decision graph">'
                    f"{html.escape(source)}</pre>"
                )
                continue
            caption = (
                "Sections are tried from the top; the first that holds gives the disposition. "
                "Each node links to its source line; hover a node for its file and line."
            )
            figures[token] = (
                f'<figure class="graph" aria-label="{html.escape(label)}">'
                f"<figcaption>{html.escape(caption)}</figcaption>{_svg_inline(svg, label)}</figure>"
            )
        return figures

    def flush(self) -> None:
        """Write every page, in the order they were made, with their figures in place."""
        figures = self.figures()
        token = re.compile(f"\x00{self.nonce}:[0-9]+\x00")
        for name, text in self.pending:
            path = self.site / name
            write_atomic(path, token.sub(lambda m: figures[m.group(0)], text))
            self.book.pages.append(path)
        self.pending.clear()

    def build(self) -> Book:
        try:
            return self._build()
        finally:
            self.drawer.close()

    def _build(self) -> Book:
        try:
            self.site.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.site}: cannot create the folder ({exc.strerror})") from None
        entries: list[ProtocolEntry] = []
        used: set[str] = set()
        for path in self.only if self.only is not None else discover([str(self.root)]):
            stem = _slug(str(Path(self.relative(str(path))).with_suffix("")).replace("/", "-"))
            page = stem + ".html"
            while page in used:
                page = stem + f"-{len(used)}.html"
            used.add(page)
            report = run_protocol(path, self.roots)
            entry = ProtocolEntry(path, page, report)
            try:
                entry.protocol = compile_file(path, self.roots)
            except CompileError as exc:
                entry.error = exc.render()
            except ProtocolFileError as exc:
                entry.error = str(exc)
            entries.append(entry)
        # Imported files (libraries) get a source page of their own, shared by protocols.
        for entry in entries:
            if entry.protocol is None:
                continue
            for file_path, sha256 in entry.protocol.files:
                if file_path == entry.protocol.path or file_path in self.library_pages:
                    continue
                if not inside(file_path, self.roots):
                    continue  # the site shows files of the protocol folder only
                try:
                    source = read_source(file_path)
                except ProtocolFileError:
                    continue  # nodes from a file that cannot be read again get no link
                text = source.text
                changed = source.sha256 != sha256
                name = "source-" + _slug(self.relative(file_path).replace("/", "-")) + ".html"
                self.library_pages[file_path] = name
                rel = self.relative(file_path)
                body = (
                    f"<h1>Source of {html.escape(rel)}</h1>\n"
                    f'<p class="muted">Imported by the protocols that link here.</p>\n'
                    + (
                        '<p class="fail">This file changed after the protocols were compiled.</p>'
                        if changed
                        else ""
                    )
                    + f"{source_table(text, 'source of ' + rel)}"
                )
                self.write(name, _page(rel, body, [("Protocols", "index.html"), (rel, None)]))
        for entry in entries:
            self.write_protocol(entry)
        self.book.protocols = entries
        self.write("index.html", self.index(entries))
        self.flush()
        return self.book

    def write_protocol(self, entry: ProtocolEntry) -> None:
        rel = self.relative(str(entry.path))
        protocol = entry.protocol
        if protocol is None:
            try:
                text = read_source(entry.path).text
            except ProtocolFileError:
                text = ""  # unreadable, too large or not text: the error above says so
            body = (
                f"<h1>{html.escape(rel)}</h1>\n<p class='fail'>This protocol does not compile.</p>\n"
                f"<pre>{html.escape(entry.error or '')}</pre>\n"
                f"<h2>Source</h2>\n{source_table(text, 'source')}"
            )
            self.write(entry.page, _page(rel, body, [("Protocols", "index.html"), (rel, None)]))
            return
        for number, outcome in enumerate(entry.report.scenarios, start=1):
            if outcome.result is None:
                continue
            name = entry.page.removesuffix(".html") + f".scenario-{number}.html"
            entry.scenario_pages[number] = name
        parts = [
            f"<h1>{html.escape(protocol.title)}</h1>",
            self.meta(entry),
            '<h2 id="graph">Decision graph</h2>',
            self.draw(entry),
        ]
        table = decision_table(protocol)
        if table is not None:
            parts += ['<h2 id="decision-table">Decision table</h2>', table]
        roles = _roles_table(protocol)
        if roles is not None:
            parts += ['<h2 id="roles">Who is notified</h2>', roles]
        parts += ['<h2 id="scenarios">Scenarios</h2>', self.scenarios(entry)]
        parts += [
            '<h2 id="source">Source</h2>',
            f'<p class="muted">{html.escape(rel)} · SHA-256 <span class="hash">{protocol.sha256}</span></p>',
            source_table(protocol.source.text, f"source of {rel}"),
        ]
        crumbs: list[tuple[str, str | None]] = [("Protocols", "index.html"), (protocol.title, None)]
        self.write(entry.page, _page(f"{protocol.title} — review", "\n".join(parts), crumbs))
        for number, outcome in enumerate(entry.report.scenarios, start=1):
            if number in entry.scenario_pages:
                self.write_scenario(entry, number, outcome)

    def meta(self, entry: ProtocolEntry) -> str:
        assert entry.protocol is not None
        header = entry.protocol.header
        rows = [
            ("Id", header.id),
            ("Version", header.version or "—"),
            ("Status", header.status or "—"),
            ("Authors", ", ".join(header.authors) or "—"),
            ("Reviewers", ", ".join(header.reviewers) or "none yet"),
            ("Last approved", header.approved or "not approved"),
        ]
        items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
        sources = "".join(f"<li>{html.escape(s)}</li>" for s in header.sources)
        disclaimers = "".join(f"<p><strong>{html.escape(d)}</strong></p>" for d in header.disclaimers)
        out = f'<dl class="meta">{items}</dl>{disclaimers}'
        if sources:
            summary = f"Sources cited ({len(header.sources)})"
            out += f"<details><summary>{summary}</summary><ul>{sources}</ul></details>"
        return out

    def scenarios(self, entry: ProtocolEntry) -> str:
        report = entry.report
        if not report.scenarios:
            note = html.escape(report.error or "no scenarios")
            return f"<p class='muted'>{note}</p>"
        rows = []
        for number, s in enumerate(report.scenarios, start=1):
            result = s.result
            outcome = "—"
            if result is not None:
                if result.disposition is not None:
                    outcome = f"{result.disposition.id}"
                    if result.urgency is not None:
                        outcome += f" ({result.urgency.tier})"
                else:
                    outcome = result.status
            verdict = (
                '<span class="pass">pass</span>'
                if not s.failures
                else '<span class="fail">fail</span><ul>'
                + "".join(
                    f"<li>expected {html.escape(f.expected)}, got {html.escape(f.actual)}</li>"
                    for f in s.failures
                )
                + "</ul>"
            )
            page = entry.scenario_pages.get(number)
            path_link = (
                f'<a href="{page}" aria-label="path of scenario {number}: {html.escape(s.name)}">path</a>'
                if page
                else "—"
            )
            rows.append(
                f"<tr><td>{number}</td><td>{html.escape(s.name)}</td><td>{verdict}</td>"
                f"<td>{html.escape(outcome)}</td><td>{path_link}</td>"
                f'<td class="muted">{html.escape(s.location)}</td></tr>'
            )
        summary = (
            f"<p>{len(report.scenarios) - len(report.failed)} of {len(report.scenarios)} scenarios pass; "
            f"coverage {report.coverage:.1f}%.</p>"
        )
        missed = ""
        if report.missed:
            items = "".join(
                f"<li>{html.escape(g.location)}: {html.escape(g.kind)}: {html.escape(g.text)}</li>"
                for g in report.missed
            )
            missed = (
                f"<details><summary>Not covered ({len(report.missed)})</summary><ul>{items}</ul></details>"
            )
        return (
            summary + '<table class="list"><thead><tr><th scope="col">#</th><th scope="col">Scenario</th>'
            '<th scope="col">Result</th><th scope="col">Outcome</th><th scope="col">Graph</th>'
            '<th scope="col">Where</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>" + missed
        )

    def write_scenario(self, entry: ProtocolEntry, number: int, outcome: ScenarioOutcome) -> None:
        assert entry.protocol is not None and outcome.result is not None
        protocol, result = entry.protocol, outcome.result
        answers = "".join(
            f"<tr><th scope='row'>{html.escape(q)}</th><td>{html.escape(_answer(v))}</td></tr>"
            for q, v in result.answers.items()
        )
        decided = (
            html.escape(result.decided_by.explanation) if result.decided_by else html.escape(result.status)
        )
        body = "\n".join(
            [
                f"<h1>Scenario {number}: {html.escape(outcome.name)}</h1>",
                f"<p>Protocol <a href='{entry.page}'>{html.escape(protocol.title)}</a>. {decided}</p>",
                "<h2>Answers read</h2>",
                f'<table class="list"><tbody>{answers}</tbody></table>' if answers else "<p>None.</p>",
                "<h2>Path through the decision graph</h2>",
                self.draw(entry, outcome),
            ]
        )
        crumbs: list[tuple[str, str | None]] = [
            ("Protocols", "index.html"),
            (protocol.title, entry.page),
            (f"Scenario {number}", None),
        ]
        self.write(entry.scenario_pages[number], _page(f"{protocol.title}: scenario {number}", body, crumbs))

    def index(self, entries: list[ProtocolEntry]) -> str:
        rows = []
        for entry in entries:
            rel = self.relative(str(entry.path))
            report = entry.report
            protocol = entry.protocol
            if protocol is None:
                rows.append(
                    f'<tr><td><a href="{entry.page}">{html.escape(rel)}</a></td>'
                    f'<td colspan="9" class="fail">does not compile</td></tr>'
                )
                continue
            header = protocol.header
            plan = protocol.plan
            tiers = "<br>".join(
                f"{html.escape(d.id)} {tier_badge(d.tier.id, d.tier.rank, len(plan.tiers))}"
                for d in sorted(plan.dispositions.values(), key=lambda d: (d.tier.rank, d.id))
            )
            passed = len(report.scenarios) - len(report.failed)
            rows.append(
                f'<tr><td><a href="{entry.page}">{html.escape(protocol.title)}</a></td>'
                f"<td><code>{html.escape(protocol.id)}</code></td>"
                f"<td>{html.escape(protocol.version)}</td>"
                f"<td>{html.escape(header.status or '—')}</td>"
                f"<td>{tiers}</td>"
                f'<td class="hash">{protocol.sha256}</td>'
                f"<td>{html.escape(', '.join(header.reviewers) or '—')}</td>"
                f"<td>{html.escape(header.approved or '—')}</td>"
                f"<td>{passed}/{len(report.scenarios)}</td>"
                f"<td>{report.coverage:.1f}%</td></tr>"
            )
        body = (
            "<h1>Protocols for review</h1>\n"
            f'<p class="muted">{len(entries)} protocol(s) under {html.escape(str(self.root))}. '
            "Each page shows the decision graph, the scenarios and the source.</p>\n"
            '<table class="list"><caption class="muted">Protocols, their dispositions and tests</caption>'
            "<thead><tr>"
            + "".join(
                f'<th scope="col">{h}</th>'
                for h in (
                    "Title",
                    "Id",
                    "Version",
                    "Status",
                    "Dispositions (tier)",
                    "Source SHA-256",
                    "Reviewers",
                    "Approved",
                    "Scenarios passing",
                    "Coverage",
                )
            )
            + "</tr></thead><tbody>\n"
            + "\n".join(rows)
            + "\n</tbody></table>"
        )
        return _page("Protocols for review", body, [("Protocols", None)])


def _answer(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def build_book(
    protocol_dir: str | Path, site_dir: str | Path, roots: Sequence[str | Path] | None = None
) -> Book:
    """Write the review site for every protocol under ``protocol_dir`` (a folder, or one
    ``.triage`` file) into ``site_dir``.

    Imports stay inside ``protocol_dir`` (and ``roots``); only files read from there are
    shown. The site folder is created if missing; its parent folder must exist.
    """
    root = Path(protocol_dir)
    only: list[Path] | None = None
    if root.is_file() and root.suffix == ".triage":
        # One protocol: its library (the folder holding its folder) is the site's root, so
        # the libraries it imports get their pages as in a whole-folder book.
        only = [root]
        root = Path(roots_for(str(root), None)[0])
    elif not root.is_dir():
        raise ProtocolFileError(f"{protocol_dir}: not a folder of protocols, nor a .triage file")
    else:
        only = discover([str(root)])  # none: an error, before the site folder is made
    check_output(site_dir, folder=True)
    builder = _Builder(root, Path(site_dir), [str(root), *(str(r) for r in roots or ())])
    builder.only = only
    return builder.build()


__all__ = ["Book", "ProtocolEntry", "build_book", "node_id", "source_table"]
