"""Files in and out, for every command and API that touches the file system.

The lowest stage of the pipeline beside :mod:`triage_dsl.source`: it imports nothing of
the compiler. :mod:`~triage_dsl.io.files` reads regular files only, each within a size
limit, and keeps imports inside their roots; :mod:`~triage_dsl.io.strict_json` is the one
JSON reader of every JSON input (answers, cases lines, records, call records, results);
:mod:`~triage_dsl.io.outputs` checks output paths before any work and writes them
atomically. The limits are listed in docs/files.md.
"""

from triage_dsl.io.files import InputError, read_bytes, read_text
from triage_dsl.io.outputs import OutputError, check_output, write_atomic
from triage_dsl.io.strict_json import JSONInputError, loads

__all__ = [
    "InputError",
    "JSONInputError",
    "OutputError",
    "check_output",
    "loads",
    "read_bytes",
    "read_text",
    "write_atomic",
]
