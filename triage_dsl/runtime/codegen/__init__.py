"""Protocols compiled to Python: a checked plan -> generated source -> a function.

``generate.py`` writes the source from the compiled plan (never from protocol text),
``allow.py`` checks its AST against an allow-list before ``compile()``, ``support.py``
is the small runtime the generated code calls, and ``cache.py`` keeps compiled modules by
the hash of their source (in memory) and gives a plan its module once it is evaluated
often (``hot_runner``: the first evaluations in a process run the interpreter).
The interpreter stays the reference: the generated code covers complete answers and hands
anything else back to it.
"""

from triage_dsl.runtime.codegen.cache import ENABLED, HOT_AFTER, Runner, hot_runner, runner

__all__ = ["ENABLED", "HOT_AFTER", "Runner", "hot_runner", "runner"]
