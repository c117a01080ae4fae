"""The canonical layout of a protocol or scenario file (``triage fmt``).

Beside the pipeline, on the syntax stage only: the file is parsed with every token kept
(``keep_all_tokens``) and its comments collected from the lexer, then written back token
by token. The parse tree decides where lines break and how deep they are indented (one
statement a line, two spaces a block level); the author's own line breaks inside a long
statement are kept, as continuation lines aligned under the statement's expression.
Comments are kept with their text and place: a comment after code stays at the end of
its line, a comment on its own line stays on its own line before the same token.

The layout, in short:
- one statement a line (a header field, a question attribute, a points row, a tier, an
  escalation step, a disposition attribute, a section, a criterion, a scenario step);
  ``end`` on its own line at the depth of the block it closes;
- one space between tokens, none before ``,``, ``:`` and ``)``, none after ``(`` and a
  minus sign, inside ``{ }``; two spaces before a comment that ends a line;
- at most one blank line in a row, none after a block's first line or before ``end``,
  always one around a top-level block;
- the values of a points table aligned in one column (rows written ``when ...`` keep
  one space);
- the file ends with one newline, no line ends with spaces.

Nothing here evaluates protocol text; :func:`format_text` proves each layout by parsing
it again (see ``triage_dsl.fmt.safety``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache

from lark import Lark, Token, Tree

from triage_dsl.syntax.grammar import grammar_path

INDENT = "  "
CONTINUATION = 4  # columns past the statement's indentation when it has no expression

# Parse-tree rules that start a line of their own.
STATEMENTS = frozenset(
    {
        # top level
        "protocol_header",
        "library_header",
        "import_decl",
        "question",
        "value_decl",
        "score_decl",
        "points",
        "tiers",
        "escalation",
        "disposition",
        "screen",
        "triage",
        "role",
        # header fields
        "h_title",
        "h_version",
        "h_status",
        "h_population",
        "h_author",
        "h_reviewer",
        "h_approved",
        "h_source",
        "h_disclaimer",
        # question attributes (and `allow`, also in dispositions and sections)
        "q_ask",
        "q_help",
        "q_unit",
        "q_range",
        "q_option",
        "q_unknown_allowed",
        "q_unknown_means",
        "q_red_flag",
        "q_worse_when",
        "q_patient_age",
        "allow",
        # points rows, tiers, escalation steps, disposition attributes
        "band",
        "tier",
        "notify_step",
        "tell_step",
        "final_step",
        "d_label",
        "d_tier",
        "d_within",
        "d_advice",
        "d_escalation",
        # triage logic
        "section",
        "floor",
        "screen_use",
        "default_section",
        "criterion",
        "criterion_advice",
        # scenarios
        "baseline",
        "scenario",
        "given",
        "without",
        "expect",
    }
)

# Statements whose continuation lines align under their expression (the token after the
# keyword named here).
HANGS_AFTER = {
    "value_decl": "=",
    "score_decl": "=",
    "criterion": "when",
    "baseline": "baseline",
    "given": "given",
    "without": "without",
    "expect": "asked",  # expect (not) asked a, b, ...
}

# Unary minus: the node kinds whose leading "-" binds to what follows.
UNARY = frozenset({"negate", "signed_number", "bound"})

NO_SPACE_BEFORE = frozenset({",", ":", ")", "}"})


@dataclass
class _Statement:
    id: int
    kind: str
    depth: int
    parent: int | None
    top_block: bool  # a top-level statement closed by `end`
    hang: int | None = None  # output column its continuation lines align to
    anchored: bool = False  # the token its continuation lines align to is chosen


@dataclass
class _Piece:
    """One token or comment in file order, with what the layout needs to know of it."""

    text: str
    line: int
    end_line: int
    pos: int
    stmt: int
    comment: bool = False
    starts: bool = False  # the first token of a statement
    end: bool = False  # the `end` that closes a block
    glue: bool = False  # no space after it
    hang_anchor: bool = False
    align: int | None = None  # a points table's value column group


@dataclass
class _Walk:
    statements: list[_Statement] = field(default_factory=list)
    pieces: list[_Piece] = field(default_factory=list)
    pending_anchor: int | None = None


_local = threading.local()


def _collect_comment(token: Token) -> Token:
    comments: list[Token] | None = getattr(_local, "comments", None)
    if comments is not None:
        comments.append(token)
    return token


@lru_cache(maxsize=1)
def _layout_parser() -> Lark:
    """The language's grammar with every token kept and comments collected."""
    return Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["protocol_file", "scenario_file"],
        propagate_positions=True,
        maybe_placeholders=False,
        keep_all_tokens=True,
        lexer_callbacks={"COMMENT": _collect_comment},
    )


def parse_tokens(text: str, start: str) -> tuple[Tree[Token], list[Token]]:
    """The parse tree with every token kept, and the comments, of ``text``."""
    _local.comments = []
    try:
        tree = _layout_parser().parse(text, start=start)
        return tree, list(_local.comments)
    finally:
        _local.comments = None


def _first_token(node: Tree[Token] | Token) -> Token | None:
    while isinstance(node, Tree):
        if not node.children:
            return None
        node = node.children[0]
    return node


def _walk(node: Tree[Token] | Token, walk: _Walk, stmt: int, parent_kind: str, first: bool) -> None:
    """Append ``node``'s tokens to ``walk.pieces`` (recursive; the parser bounds depth)."""
    if isinstance(node, Token):
        info = walk.statements[stmt]
        piece = _Piece(
            str(node),
            node.line or 1,
            node.end_line or node.line or 1,
            node.start_pos or 0,
            stmt,
        )
        if node.type == "END" and parent_kind == info.kind:
            piece.end = True
        if first and parent_kind in UNARY and str(node) == "-":
            piece.glue = True
        if str(node) in ("(", "{"):
            piece.glue = True
        if walk.pending_anchor == stmt:
            piece.hang_anchor = True
            walk.pending_anchor = None
        if not info.anchored and HANGS_AFTER.get(info.kind) == str(node) and node.type != "ID":
            walk.pending_anchor = stmt
            info.anchored = True
        walk.pieces.append(piece)
        return
    kind = str(node.data)
    # Every declaration of a file starts a line, even of a kind this table does not name.
    roots = ("protocol_file", "scenario_file")
    if kind in STATEMENTS or (parent_kind in roots and kind not in roots):
        parent = walk.statements[stmt]
        depth = parent.depth + 1
        closes = any(isinstance(c, Token) and c.type == "END" for c in node.children)
        info = _Statement(len(walk.statements), kind, depth, parent.id, depth == 0 and closes)
        walk.statements.append(info)
        start = len(walk.pieces)
        for index, child in enumerate(node.children):
            _walk(child, walk, info.id, kind, index == 0)
        if len(walk.pieces) > start:
            walk.pieces[start].starts = True
        if kind == "band":
            _mark_band(node, walk, start)
        return
    for index, child in enumerate(node.children):
        _walk(child, walk, stmt, kind, index == 0)


def _mark_band(node: Tree[Token], walk: _Walk, start: int) -> None:
    """A points row's value joins its table's column (rows written `when ...` do not)."""
    test = node.children[0]
    if isinstance(test, Tree) and test.data == "band_when":
        return
    colon = next(
        (i for i in range(start, len(walk.pieces)) if walk.pieces[i].text == ":"),
        None,
    )
    if colon is not None and colon + 1 < len(walk.pieces):
        table = walk.statements[walk.pieces[start].stmt].parent
        walk.pieces[colon + 1].align = table


class _Writer:
    """Lays the pieces out as lines."""

    def __init__(self, statements: list[_Statement]) -> None:
        self.statements = statements
        self.lines: list[str] = []
        self.current = ""
        self.open = False  # a line is being written
        self.last_token: _Piece | None = None
        self.last_end_line = 0  # source line where the last piece written ends
        self.after_top_end = False
        self.break_next = False  # a comment ended the line
        self.columns: dict[int, list[tuple[int, int]]] = {}  # align group -> (line, column)

    # -- lines
    def flush(self) -> None:
        if self.open:
            self.lines.append(self.current.rstrip())
        self.current = ""
        self.open = False

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def start_line(self, indent: int) -> None:
        self.flush()
        self.current = " " * indent
        self.open = True

    def previous_is_comment(self) -> bool:
        return bool(self.lines) and self.lines[-1].lstrip().startswith("#")

    # -- placement
    def indent_of(self, piece: _Piece) -> int:
        info = self.statements[piece.stmt]
        if piece.starts or piece.end:
            return len(INDENT) * info.depth
        if info.hang is not None:
            return info.hang
        return len(INDENT) * info.depth + CONTINUATION

    def blank_allowed(self, piece: _Piece) -> bool:
        """May a blank line of the source stand before ``piece`` (a line start)?"""
        if not self.lines:
            return False
        if piece.end:
            return False
        if not piece.starts:
            return False
        last = self.last_token
        if last is None:
            return True
        parent = self.statements[piece.stmt].parent
        return last.stmt != parent

    def place_comment(self, piece: _Piece, following: _Piece | None) -> None:
        trailing = self.open and self.last_end_line == piece.line
        if trailing:
            self.current += "  " + piece.text
            self.last_end_line = piece.end_line
            self.break_next = True
            return
        gap = piece.line - self.last_end_line > 1
        if following is None:
            indent = 0
            allowed = bool(self.lines) or self.open
        else:
            indent = self.indent_of(following)
            if following.end:
                indent += len(INDENT)
                last = self.last_token
                allowed = last is not None and last.stmt != following.stmt
            else:
                allowed = self.blank_allowed(following) if following.starts else False
        self.flush()
        if self.after_top_end:
            self.blank()
            self.after_top_end = False
        elif gap and allowed:
            self.blank()
        self.start_line(indent)
        self.current += piece.text
        self.last_end_line = piece.end_line
        self.break_next = True

    def place_token(self, piece: _Piece) -> None:
        info = self.statements[piece.stmt]
        new_line = (
            piece.starts
            or piece.end
            or self.break_next
            or not self.open
            or (self.last_token is not None and piece.line > self.last_token.end_line)
        )
        if new_line:
            gap = piece.line - self.last_end_line > 1
            allowed = self.blank_allowed(piece)
            if self.lines or self.open:
                self.flush()
                top_start = piece.starts and info.depth == 0
                if (
                    self.after_top_end
                    or (top_start and info.top_block and not self.previous_is_comment())
                    or (gap and allowed)
                ):
                    self.blank()
            self.after_top_end = False
            self.start_line(self.indent_of(piece))
        else:
            last = self.last_token
            glued = last is not None and (last.glue or (piece.text == "(" and last.text == "count"))
            if not (piece.text in NO_SPACE_BEFORE or glued):
                self.current += " "
        if piece.align is not None and not new_line:
            self.columns.setdefault(piece.align, []).append((len(self.lines), len(self.current)))
        if piece.hang_anchor and info.hang is None:
            info.hang = len(self.current)
        self.current += piece.text
        self.last_token = piece
        self.last_end_line = piece.end_line
        self.break_next = False
        if piece.end and info.top_block:
            self.after_top_end = True

    def finish(self) -> str:
        self.flush()
        while self.lines and self.lines[-1] == "":
            self.lines.pop()
        for rows in self.columns.values():
            width = max(column for _, column in rows)
            for line, column in rows:
                text = self.lines[line]
                self.lines[line] = text[:column] + " " * (width - column) + text[column:]
        return "\n".join(self.lines) + "\n" if self.lines else ""


def layout(text: str, start: str) -> str:
    """``text`` (which must parse from rule ``start``) in the canonical layout.

    >>> print(layout('library l end question  fever : yes/no ask "Fever?" end', "protocol_file"), end="")
    library l
    end
    <BLANKLINE>
    question fever: yes/no
      ask "Fever?"
    end
    """
    tree, comments = parse_tokens(text, start)
    walk = _Walk(statements=[_Statement(0, "", -1, None, False)])
    _walk(tree, walk, 0, str(tree.data), True)
    pieces = walk.pieces
    for comment in comments:
        pieces.append(
            _Piece(
                str(comment).rstrip(),
                comment.line or 1,
                comment.end_line or comment.line or 1,
                comment.start_pos or 0,
                0,
                comment=True,
            )
        )
    pieces.sort(key=lambda p: p.pos)
    following: list[_Piece | None] = [None] * len(pieces)
    upcoming: _Piece | None = None
    for index in range(len(pieces) - 1, -1, -1):
        following[index] = upcoming
        if not pieces[index].comment:
            upcoming = pieces[index]
    writer = _Writer(walk.statements)
    for index, piece in enumerate(pieces):
        if piece.comment:
            writer.place_comment(piece, following[index])
        else:
            writer.place_token(piece)
    return writer.finish()


def start_rule(path: str) -> str:
    """The grammar's start rule for a file: scenarios for ``.scenarios``, else protocol."""
    return "scenario_file" if path.endswith(".scenarios") else "protocol_file"


__all__ = ["layout", "parse_tokens", "start_rule"]
