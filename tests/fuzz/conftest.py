"""Fuzzing settings: a bounded run in CI, a long run on demand.

.venv/bin/pytest tests/fuzz                                # CI: a few hundred examples a test
TRIAGE_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/fuzz -q  # the long run (about an hour)

Every run explores with a fresh seed, printed in pytest's header ("hypothesis seed: N");
run again with ``--hypothesis-seed=N`` (or ``TRIAGE_FUZZ_SEED=N``) to repeat a failure.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "150"))

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,  # each run explores; the seed in the header repeats it
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
