"""The package version, in a module of its own so ``triage --version`` and the record's
``engine`` field read it without loading the compiler."""

__version__ = "0.1.0"
