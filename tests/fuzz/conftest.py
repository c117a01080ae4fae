"""Fuzzing settings: a bounded run in CI, a long run on demand.

.venv/bin/pytest tests/fuzz                                # CI: a few hundred examples a test
TRIAGE_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/fuzz -q  # the long run (about an hour)
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "150"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 150,  # CI runs are reproducible; long runs explore
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
