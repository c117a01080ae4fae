"""``triage fmt``: one canonical layout for protocol and scenario files.

``layout.py`` writes a parsed file back in the canonical layout; ``safety.py`` proves a
layout changed nothing but whitespace (the same syntax tree, the same comments) before
anything is written; ``files.py`` formats files in place, atomically, or reports which
would change (``--check``). Files with syntax errors are refused, never rewritten.
"""
