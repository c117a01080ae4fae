"""Ages and durations: units of time, exact conversion to minutes, and display.

Every ``age`` or ``duration`` value -- an answer, a constant such as ``3 months``, a
question's range, a population's age limits -- is a number of **minutes**, computed
exactly (the decimal text as a :class:`~fractions.Fraction` times the unit's factor) and
converted to a float once, so ``1.5 hours`` and ``90 minutes`` are the same float and
an answer of ``3 months`` equals the constant ``3 months``. A month is 30.4375 days and
a year 365.25 days (the Gregorian averages). This module sits beside ``source.py``: the
parser, the checker, the runtime and the tools all read it, and it imports nothing of
theirs.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from fractions import Fraction

MINUTE = Fraction(1)
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
MONTH = Fraction("30.4375") * DAY
YEAR = Fraction("365.25") * DAY

# Plural name -> minutes; singular forms are accepted everywhere a unit is.
FACTORS: dict[str, Fraction] = {
    "minutes": MINUTE,
    "hours": HOUR,
    "days": DAY,
    "weeks": WEEK,
    "months": MONTH,
    "years": YEAR,
}
SINGULAR = {
    "minute": "minutes",
    "hour": "hours",
    "day": "days",
    "week": "weeks",
    "month": "months",
    "year": "years",
}
UNIT_WORDS: tuple[str, ...] = (*FACTORS, *SINGULAR)
UNITS_TEXT = "minutes, hours, days, weeks, months or years"
# Population age limits are written in the calendar units.
AGE_LIMIT_UNITS = ("days", "weeks", "months", "years")

# The largest amount accepted in any answer (minutes): 1000 years. Ranges refuse far less;
# this only keeps absurd inputs (1e308 years) away from float conversion.
MAX_MINUTES = 1000 * YEAR

# ASCII digits only (as a typed number: docs/language.md), so "١٢ days" is refused, not read
_TEXT = re.compile(r"^\s*(?P<amount>[+-]?[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z]+)\s*$")
MAX_TEXT_DIGITS = 30
"""Digits in the amount of a time in words, as in a JSON number (io/strict_json): no
clinical time needs more, and Python refuses to read an integer of more than 4,300."""
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})\s*$")


def plural(unit: str) -> str | None:
    """The unit's plural name (``week`` -> ``weeks``), or None when it is not a unit."""
    word = unit.lower()
    if word in FACTORS:
        return word
    return SINGULAR.get(word)


def exact_minutes(amount: str | int | float | Fraction, unit: str) -> Fraction:
    """``amount unit`` in minutes, exactly. ``amount`` as text keeps every written digit;
    a float is read from its shortest repr (``1.5`` -> 3/2). Raises KeyError for a unit
    that is not one."""
    name = plural(unit)
    if name is None:
        raise KeyError(unit)
    if isinstance(amount, Fraction):
        value = amount
    elif isinstance(amount, bool):
        raise TypeError("a yes/no is not an amount")
    else:
        value = Fraction(amount if isinstance(amount, str) else repr(amount))
    return value * FACTORS[name]


# Every unit is a whole number of minutes (a month 43,830, a year 525,960): a whole
# amount, or a decimal one that comes out whole, is computed with integers alone.
WHOLE_FACTORS: dict[str, int] = {name: int(f) for name, f in FACTORS.items() if f.denominator == 1}
MAX_WHOLE_MINUTES = int(MAX_MINUTES)
_AMOUNT = re.compile(r"[+-]?([0-9]{1,40})(?:\.([0-9]{1,40}))?")


def whole_minutes(amount: str | int, unit: str) -> int | None:
    """``amount unit`` in minutes when that is a whole number: the value of
    :func:`exact_minutes`, exactly, computed without fractions; None when it is not whole,
    or the amount is not plain decimal text (``11``, ``-1.5``) or an integer (then
    :func:`exact_minutes` decides, with its errors).

    >>> whole_minutes("1.5", "days"), whole_minutes(3, "months"), whole_minutes("0.5", "minutes")
    (2160, 131490, None)
    """
    name = plural(unit)
    factor = WHOLE_FACTORS.get(name) if name is not None else None
    if factor is None:
        return None
    if type(amount) is int:
        return amount * factor
    if type(amount) is not str or _AMOUNT.fullmatch(amount) is None:
        return None
    whole, _, digits = amount.partition(".")
    total = int(whole + digits) * factor
    scale = 10 ** len(digits)
    return total // scale if total % scale == 0 else None


def text_minutes(text: str) -> int | None:
    """A time answer in words (``"11 weeks"``, ``"1.5 days"``) in minutes when that is a
    whole number (:func:`whole_minutes`), else None (then :func:`parse_text` decides)."""
    match = _TEXT.match(text)
    if match is None or _too_many_digits(match["amount"]):
        return None  # parse_text refuses it, with the reason
    return whole_minutes(match["amount"], match["unit"])


def _too_many_digits(amount: str) -> bool:
    return sum(ch.isdigit() for ch in amount) > MAX_TEXT_DIGITS


def to_minutes(amount: str | int | float | Fraction, unit: str) -> float:
    """``amount unit`` in minutes, converted to a float once.

    >>> to_minutes("1.5", "hours") == to_minutes(90, "minutes")
    True
    >>> to_minutes("3", "months")
    131490.0
    """
    return float(exact_minutes(amount, unit))


def amount_text(amount: int | float | Fraction) -> str:
    """An amount as an author writes it: ``11``, ``1.5``."""
    if isinstance(amount, Fraction):
        if amount.denominator == 1:
            return str(amount.numerator)
        return _decimal(amount)
    if isinstance(amount, float) and amount.is_integer():
        return str(int(amount))
    return repr(amount) if isinstance(amount, float) else str(amount)


def _decimal(value: Fraction) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text


def quantity_text(amount: int | float | Fraction | str, unit: str) -> str:
    """``11 weeks``, ``1 week`` (singular for exactly one)."""
    text = amount if isinstance(amount, str) else amount_text(amount)
    name = plural(unit) or unit
    if text in ("1", "1.0"):
        singular = {p: s for s, p in SINGULAR.items()}.get(name, name)
        return f"{text} {singular}"
    return f"{text} {name}"


def in_unit(minutes: float | Fraction, unit: str) -> str:
    """``minutes`` shown in ``unit``: ``in_unit(110880, "days")`` is ``77 days``; a
    fraction is shown to at most two decimals (``2.53 months``)."""
    name = plural(unit) or "minutes"
    value = Fraction(minutes) / FACTORS[name]
    if value.denominator == 1:
        return quantity_text(value, name)
    rounded = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return f"{rounded} {name}"


def readable(minutes: float | Fraction, kind: str = "age") -> str:
    """A readable form with no unit to follow: an age under 2 years in days (``77
    days``), older in years; a duration under 2 hours in minutes, under 2 days in hours,
    else in days."""
    value = Fraction(minutes)
    if kind == "age":
        return in_unit(value, "days" if value < 2 * YEAR else "years")
    if value < 2 * HOUR:
        return in_unit(value, "minutes")
    if value < 2 * DAY:
        return in_unit(value, "hours")
    return in_unit(value, "days")


def best_unit(minutes: float | Fraction) -> str:
    """The largest unit that states ``minutes`` as a whole number (for writing answers)."""
    value = Fraction(minutes)
    for name in ("years", "months", "weeks", "days", "hours"):
        if (value / FACTORS[name]).denominator == 1 and value != 0:
            return name
    return "minutes"


def exact_text(minutes: float | Fraction) -> str:
    """``minutes`` written exactly and short: a whole number of weeks, months or years
    when it is one (``11 weeks``), else days (two days or more) or hours or minutes, with
    at most four decimals (``90.3125 days``, ``1.5 hours``). Reading it back gives the
    same minutes.

    >>> exact_text(110880), exact_text(130050), exact_text(90)
    ('11 weeks', '90.3125 days', '1.5 hours')
    """
    value = Fraction(minutes)
    whole = best_unit(value)
    if value == 0 or whole in ("years", "months", "weeks", "days"):
        return quantity_text(value / FACTORS[whole], whole)
    for unit in ("days", "hours", "minutes") if value >= 2 * DAY else ("hours", "minutes"):
        amount = value / FACTORS[unit]
        for places in range(5):
            if (amount * 10**places).denominator == 1:
                return quantity_text(f"{float(amount):.{places}f}", unit)
    return f"{float(value)!r} minutes"


class TimeTextError(ValueError):
    """A time answer that could not be read; the message names the accepted forms."""


def parse_text(text: str) -> tuple[Fraction, str]:
    """``"11 weeks"`` -> (11, "weeks"). Raises :class:`TimeTextError` on anything else."""
    match = _TEXT.match(text)
    if match is None:
        shown = text.strip()
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise TimeTextError(f"{shown!r} is not a number followed by a unit of time")
    unit = plural(match["unit"])
    if unit is None:
        raise TimeTextError(f"'{match['unit']}' is not a unit of time")
    if _too_many_digits(match["amount"]):
        raise TimeTextError(
            f"a number of more than {MAX_TEXT_DIGITS} digits; write the time as measured, e.g. 3 days"
        )
    return Fraction(match["amount"]), unit


def parse_date(text: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or None when ``text`` is not one."""
    match = _DATE.match(text)
    if match is None:
        return None
    try:
        return date.fromisoformat(match[1])
    except ValueError:
        return None


def age_at(born: date, now: datetime) -> Fraction:
    """Age in minutes on ``now``'s (UTC) date: whole days since the date of birth, as a
    date of birth says nothing finer."""
    return (now.date() - born).days * DAY
