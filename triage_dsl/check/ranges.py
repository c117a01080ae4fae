"""Pass: a number question's range accepts every value patients really have.

Answers outside a question's ``range`` are refused, so a range narrower than what
occurs turns the sickest callers into an error with no disposition (a hypothermic
infant at 33 C against ``range 34 to 43``). ``SPANS`` lists, per unit, values that are
documented to occur, each with its public source; a question whose declared range
leaves out part of its unit's span gets a warning (``W011``). Questions without a unit,
or with a unit not in the table, are not judged. For ``years``, a header's
``population ... aged LOW to HIGH years`` narrows the span to the population served. An
``age`` question (its range in minutes) is judged as an age in years.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from triage_dsl.check.declarations import age_limit_minutes, range_text
from triage_dsl.check.scope import Scope
from triage_dsl.syntax import ast
from triage_dsl.units import FACTORS, plural, readable

YEAR_MINUTES = float(FACTORS["years"])


@dataclass(frozen=True)
class Span_:
    """Values of one unit that occur: ``low`` and ``high`` (None: not judged), and where."""

    low: float | None
    high: float | None
    below: str  # what the values below a too-high lower limit are
    above: str  # what the values above a too-low upper limit are


SPANS: dict[str, Span_] = {
    # Body temperature. Low: patients with vital signs are reported below 24 C (Paal P et
    # al. Accidental hypothermia - an update. Scand J Trauma Resusc Emerg Med 2016;24:111,
    # table 1, https://sjtrem.biomedcentral.com/articles/10.1186/s13049-016-0303-7/tables/1).
    # High: survival of classic heat stroke above 42 C (Schmidt SV et al. Int J Emerg Med
    # 2024, doi:10.1186/s12245-024-00705-2).
    "C": Span_(24, 42, "hypothermia", "heat stroke"),
    # Oxygen saturation. Oximeters are validated down to 70% and lower readings should not
    # be disregarded (OpenCriticalCare, "Is it true that oximeters are not reliable below
    # 70% SpO2?", https://opencriticalcare.org/faq/is-it-true-that-oximeters-are-not-reliable-below-70-spo2/);
    # 100% is full saturation.
    "%": Span_(70, 100, "severe hypoxaemia", "full saturation"),
    # Respiratory rate. Low: NEWS2 chart 1 scores rates of 8 and below (Royal College of
    # Physicians, NEWS2, 2017). High: the 95th centile of healthy term newborns at 2 hours is
    # 65 breaths/min (Pediatrics 2016, summarised at
    # https://www.droracle.ai/articles/258478/what-is-the-normal-respiratory-rate-in-a-newborn).
    "breaths/min": Span_(8, 65, "respiratory depression", "newborns"),
    # Pulse. Low: NEWS2 chart 1 scores 40 and below (RCP 2017). High: supraventricular
    # tachycardia reaches 300 beats/min in infants (Nationwide Children's Hospital,
    # https://www.nationwidechildrens.org/conditions/supraventricular-tachycardia).
    "beats/min": Span_(40, 300, "bradycardia", "supraventricular tachycardia in infants"),
    # Blood pressure (systolic and diastolic share the unit). Low: NEWS2 chart 1 scores a
    # systolic of 90 and below (RCP 2017). High: readings of 180/120 and above define a
    # hypertensive crisis (American Heart Association, as quoted at
    # https://askvity.info/hypertensive-crisis/what-is-an-emergency-blood-pressure-level).
    "mmHg": Span_(90, 180, "shock", "a hypertensive crisis"),
    # Age. 0 is a newborn; the oldest undisputed age is 119 years 107 days (Kane Tanaka;
    # https://simple.wikipedia.org/wiki/Jeanne_Calment).
    "years": Span_(0, 119, "children", "the oldest patients"),
}

ALIASES = {
    "c": "C",
    "°c": "C",
    "degc": "C",
    "celsius": "C",
    "degrees c": "C",
    "percent": "%",
    "breaths per minute": "breaths/min",
    "beats per minute": "beats/min",
    "bpm": "beats/min",
    "mm hg": "mmHg",
    "mmhg": "mmHg",
    "year": "years",
}


def unit_key(unit: str | None) -> str | None:
    """The table's name for ``unit`` (``"°C"`` -> ``"C"``), or None."""
    if unit is None:
        return None
    text = unit.strip()
    if text in SPANS:
        return text
    return ALIASES.get(text.lower())


def _fmt(x: float) -> str:
    return f"{x:g}"


def _age_text(years: float) -> str:
    return readable(round(years * YEAR_MINUTES), "age")


def _number_text(x: float, unit: str | None) -> str:
    return f"{_fmt(x)} {unit}"


def _span(low: float, high: float, shown: Callable[[float], str], between: str) -> str:
    """``34-36 C`` for numbers (the unit once), ``0 days-28 days`` for ages."""
    if between:
        return f"{shown(low)}{between}{shown(high)}"
    text_low, text_high = shown(low), shown(high)
    return f"{text_low.rsplit(' ', 1)[0]}-{text_high}"


def ranges(scope: Scope) -> None:
    ages = scope.file.header.ages
    for item in scope.file.items:
        if not isinstance(item, ast.Question) or item.range is None or item.range_span is None:
            continue
        # An age question's range is in minutes: judged in years, like an age in years.
        key = "years" if item.type == "age" else unit_key(item.unit)
        if key is None or (item.type in ast.TIME_TYPES and key != "years"):
            continue
        unit = item.unit if item.type != "age" else "years"
        span = SPANS[key]
        want_low, want_high = span.low, span.high
        if (
            key == "years"
            and ages is not None
            and plural(ages.unit) == "years"
            and plural(ages.low_unit or ages.unit) is not None
        ):
            limits = age_limit_minutes(ages)
            low_years, high_years = limits[0] / YEAR_MINUTES, limits[1] / YEAR_MINUTES
            want_low = max(want_low or 0, low_years)
            want_high = min(want_high if want_high is not None else high_years, high_years)
        low, high = float(item.range[0]), float(item.range[1])
        if item.type == "age":
            low, high = low / YEAR_MINUTES, high / YEAR_MINUTES
        if low > high:
            continue  # T007 reports it
        shown: Callable[[float], str]
        if item.type == "age":  # in words: "0 days-28 days", "range 0 days to 16 years"
            shown, between = _age_text, "-"
        else:
            shown, between = partial(_number_text, unit=unit), ""
        refused = []
        if want_low is not None and low > want_low:
            refused.append(f"{_span(want_low, low, shown, between)}, which occurs in {span.below}")
        if want_high is not None and high < want_high:
            refused.append(f"{_span(high, want_high, shown, between)}, which occurs in {span.above}")
        if not refused:
            continue
        wider_low = min(low, want_low if want_low is not None else low)
        wider_high = max(high, want_high if want_high is not None else high)
        if item.type == "age":
            wider = f"range {shown(wider_low)} to {shown(wider_high)}"
        else:
            wider = f"range {_fmt(wider_low)} to {_fmt(wider_high)}"
        scope.report(
            item.range_span,
            "W011",
            f"range {range_text(item) if item.type == 'age' else f'{_fmt(low)} to {_fmt(high)}'} "
            f"of '{item.id}' refuses "
            + " and ".join(refused)
            + "; those callers get an error instead of a disposition",
            f"widen the range: {wider}",
            severity="warning",
        )
