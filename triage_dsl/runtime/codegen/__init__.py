"""Protocols compiled to Python: a checked plan -> generated source -> a function.

``generate.py`` writes the source from the compiled plan (never from protocol text),
``allow.py`` checks its AST against an allow-list before ``compile()``, ``support.py``
is the small runtime the generated code calls, and ``cache.py`` keeps compiled modules by
the hash of their source (in memory and, for the CLI, on disk next to the compile cache).
The interpreter stays the reference: the generated code covers complete answers and hands
anything else back to it.
"""

from triage_dsl.runtime.codegen.cache import ENABLED, Runner, runner

__all__ = ["ENABLED", "Runner", "runner"]
