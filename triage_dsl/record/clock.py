"""The record's clock: :mod:`triage_dsl.clock` (sessions stamp answers with it too)."""

from triage_dsl.clock import SYSTEM_CLOCK, Clock, FixedClock, SystemClock, utc

__all__ = ["SYSTEM_CLOCK", "Clock", "FixedClock", "SystemClock", "utc"]
