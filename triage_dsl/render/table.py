"""The review site's decision table: ``analysis/table.py``'s rows as HTML, kept between runs.

Building a protocol's table explores its whole decision tree (``analysis/explore.py``, one
``decide()`` per branch): the bulk of a book's Python time when it is first made (for
``protocols/telephone``, 16 of 22 s go to medication_question's 70,000 regions). The HTML
depends only on the protocol's files and on the package's code, so it is kept in the cache
folder (:mod:`triage_dsl.io.cache`) under the key of the analyses' findings
(``analysis/cache.py``: the files' paths and content hashes, the package's source and
grammar, the Python, lark and networkx versions) and read back while none of them changes.
"""

from __future__ import annotations

import html
import importlib

from triage_dsl.io.cache import cache_dir, read_cached, write_cached
from triage_dsl.protocol import Protocol
from triage_dsl.render.dot import tier_colour

MAX_TABLE_ROWS = 300
FORMAT = "book-table-1"


def tier_badge(tier_id: str, rank: int, count: int) -> str:
    colour = tier_colour(rank, count)
    dark = colour in ("#b2182b", "#e34a33", "#1a9850")
    text = "#fff" if dark else "#000"
    return f'<span class="tier" style="background:{colour};color:{text}">{html.escape(tier_id)}</span>'


def decision_table(protocol: Protocol) -> str | None:
    """:func:`table_html`, read from the cache folder when it was made before."""
    try:
        from triage_dsl.analysis.cache import findings_key
    except ImportError:
        return table_html(protocol)
    folder = cache_dir()
    if folder is None:
        return table_html(protocol)
    name = f"{FORMAT}-{findings_key(protocol)}.html"
    data = read_cached(folder, name)
    if data is not None:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass  # damaged: made again and replaced
    made = table_html(protocol)
    if made is not None:
        write_cached(folder, name, made.encode("utf-8"))
    return made


def table_html(protocol: Protocol) -> str | None:
    """The decision table from ``triage_dsl.analysis.table`` (built by the analyses), as
    HTML; ``None`` when that module is absent. A protocol the analyses cannot tabulate
    exactly gets a note saying why instead of a table."""
    try:
        table_module = importlib.import_module("triage_dsl.analysis.table")
    except ImportError:
        return None
    try:
        table = table_module.build_table(protocol)
    except Exception as exc:  # the analyses' limits (too large, not separable) are not site errors
        return f'<p class="muted">No decision table: {html.escape(str(exc) or type(exc).__name__)}.</p>'
    questions: list[str] = table.questions
    head = "".join(f'<th scope="col"><code>{html.escape(q)}</code></th>' for q in questions)
    count = len(protocol.plan.tiers)
    ranks = {t.id: t.rank for t in protocol.plan.tiers}
    rows = []
    for number, row in enumerate(table.rows[:MAX_TABLE_ROWS], start=1):
        cells = []
        for q in questions:
            c = row.condition(q)
            cells.append(
                "<td class='muted'>any</td>" if c is None else f"<td>{html.escape(table.describe(q, c))}</td>"
            )
        badge = tier_badge(row.tier, ranks.get(row.tier, row.rank), count)
        rows.append(
            f"<tr><td>{number}</td>{''.join(cells)}<td>{html.escape(row.disposition)}</td><td>{badge}</td></tr>"
        )
    shown_rows = min(len(table.rows), MAX_TABLE_ROWS)
    note = f"{len(table.rows)} rows; every complete answer set falls in exactly one."
    if shown_rows < len(table.rows):
        note += f" The first {shown_rows} are shown; 'triage table' prints them all."
    return (
        f'<p class="muted">{html.escape(note)}</p><div style="overflow:auto">'
        '<table class="list"><thead><tr><th scope="col">#</th>'
        f'{head}<th scope="col">Disposition</th><th scope="col">Tier</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
