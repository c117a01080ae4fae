"""Reviewer views: pictures of the compiled decision graph, and a static review site.

The last stage of the pipeline, beside ``explain``: it reads ``protocol.graph`` (and its
plan) and results, never the source logic. ``dot.protocol_dot`` draws the graph (an
``overlay`` adds the path of one evaluation), ``output.write_drawing`` writes it as
DOT, SVG, PNG or PDF, and ``book.build_book`` writes the HTML review site.
"""

from __future__ import annotations

from triage_dsl.render.dot import protocol_dot
from triage_dsl.render.output import FORMATS, INSTALL_HINT, DotMissing, Written, format_for, write_drawing
from triage_dsl.render.overlay import Overlay, load_result, overlay_of

__all__ = [
    "FORMATS",
    "INSTALL_HINT",
    "DotMissing",
    "Overlay",
    "Written",
    "format_for",
    "load_result",
    "overlay_of",
    "protocol_dot",
    "write_drawing",
]
