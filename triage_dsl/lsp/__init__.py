"""``triage lsp``: a language server for protocol and scenario files, over stdio.

On top of the pipeline, beside the CLI: it runs the compiler's own checks and analyses
(``compiler.check_source``, ``analysis.findings_of``) on the editor's text, reads names
from the parse tree (``index.py``), resolves them through the checker's scope
(``analysis.py``), and answers the editor's requests (``features.py``: diagnostics,
hover, go to definition, references, completion, outline, formatting through
``triage fmt``). ``server.py`` wires the features to pygls.
"""
