"""The HTTP service (``triage serve``)."""
