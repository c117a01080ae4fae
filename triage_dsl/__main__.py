"""``python -m triage_dsl`` runs the ``triage`` command."""

import sys

from triage_dsl.cli import main

sys.exit(main())
