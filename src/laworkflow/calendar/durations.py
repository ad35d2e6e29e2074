"""Durations and due rules written the way inspection handbooks write them.

Workflow definitions say "20 working days after on_site_end" rather than a
number of seconds, so that a definition can be checked against the handbook
line by line. Working days follow the rule in :mod:`laworkflow.calendar`;
months are calendar months, clamped to the end of a shorter month
(31 January + 1 month = 28 or 29 February).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from dateutil.relativedelta import relativedelta

from laworkflow.calendar.bounds import RANGE_TEXT
from laworkflow.calendar.working_days import WorkingCalendar
from laworkflow.errors import DurationError, OutOfRange

Unit = Literal["working_days", "days", "weeks", "months"]

_UNITS: tuple[str, ...] = ("working_days", "days", "weeks", "months")

# Singular and plural spellings of each unit, as printed by Duration.__str__.
_WORDS: dict[str, tuple[str, str]] = {
    "working_days": ("working day", "working days"),
    "days": ("day", "days"),
    "weeks": ("week", "weeks"),
    "months": ("month", "months"),
}

DURATION_FORMS = "'<N> working days', '<N> days', '<N> weeks' or '<N> months' (N written in digits, singular allowed: '1 working day', '1 month')"
DUE_FORMS = (
    "'<duration>' (from when it is armed), '<duration> after <field>', "
    "'<duration> before <field>' or 'on <field>', "
    f"where <duration> is {DURATION_FORMS} and <field> matches [a-z_][a-z0-9_]*"
)

# [0-9], not \d: \d also accepts digits from other scripts.
_DURATION_RE = re.compile(r"([0-9]+)\s+(working\s+days?|days?|weeks?|months?)", re.IGNORECASE)
_FIELD_RE = re.compile(r"[a-z_][a-z0-9_]*")
_ON_RE = re.compile(r"on\s+(\S+)", re.IGNORECASE)
_ANCHORED_RE = re.compile(r"(.*?)\s+(after|before)(?:\s+(\S+))?", re.IGNORECASE)


def _unit_of(word: str) -> str:
    word = " ".join(word.lower().split())
    if word.startswith("working"):
        return "working_days"
    return word if word.endswith("s") else word + "s"


# Nothing in an inspection process runs for fifty years: a longer duration is a
# typing error, and refusing it keeps working-day arithmetic from running for ever.
_LONGEST = {"working_days": 13_000, "days": 18_300, "weeks": 2_600, "months": 600}


@dataclass(frozen=True)
class Duration:
    """A length of time in the handbook's own unit, kept unconverted because
    20 working days is not a fixed number of calendar days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount < 0:
            raise DurationError(f"duration amount must be a whole number >= 0, got {self.amount!r}")
        if self.unit not in _UNITS:
            valid = ", ".join(repr(u) for u in _UNITS)
            raise DurationError(f"unknown duration unit {self.unit!r}: expected one of {valid}")
        if self.amount > _LONGEST[self.unit]:
            raise DurationError(
                f"duration {self.amount} {self.unit.replace('_', ' ')} is longer than any process runs (at most {_LONGEST[self.unit]}, about 50 years)"
            )

    def _shift(self, d: date, sign: int, calendar: WorkingCalendar) -> date:
        """`d` moved by the duration; past the ends of Python's dates, OutOfRange rather than OverflowError."""
        n = sign * self.amount
        try:
            if self.unit == "working_days":
                return calendar.add_working_days(d, n)
            if self.unit == "days":
                return d + timedelta(days=n)
            if self.unit == "weeks":
                return d + timedelta(weeks=n)
            return d + relativedelta(months=n)
        except (OverflowError, ValueError):  # relativedelta says ValueError ("year 10000 is out of range")
            direction = "after" if sign > 0 else "before"
            raise OutOfRange(f"{self} {direction} {d.isoformat()} is outside the dates the engine accepts ({RANGE_TEXT})") from None

    def after(self, d: date, calendar: WorkingCalendar) -> date:
        return self._shift(d, 1, calendar)

    def before(self, d: date, calendar: WorkingCalendar) -> date:
        return self._shift(d, -1, calendar)

    def __str__(self) -> str:
        singular, plural = _WORDS[self.unit]
        return f"{self.amount} {singular if self.amount == 1 else plural}"


def parse_duration(text: str) -> Duration:
    if not isinstance(text, str):
        raise DurationError(f"cannot read duration {text!r}: expected text, one of {DURATION_FORMS}")
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise DurationError(f"cannot read duration {text!r}: expected {DURATION_FORMS}")
    return Duration(int(match.group(1)), _unit_of(match.group(2)))  # type: ignore[arg-type]


@dataclass(frozen=True)
class DueRule:
    """When something falls due: a duration after/before an anchor."""

    duration: Duration
    direction: Literal["after", "before"]
    anchor: str | None

    def __post_init__(self) -> None:
        if self.direction not in ("after", "before"):
            raise DurationError(f"due rule direction must be 'after' or 'before', got {self.direction!r}")
        if self.anchor is None:
            if self.direction == "before":
                raise DurationError("a due rule counting 'before' needs an anchor date field to count back from")
        elif not isinstance(self.anchor, str) or not _FIELD_RE.fullmatch(self.anchor):
            raise DurationError(f"due rule anchor {self.anchor!r} is not a field name: expected [a-z_][a-z0-9_]*")

    def resolve(self, anchor_date: date, calendar: WorkingCalendar) -> date:
        if self.direction == "after":
            return self.duration.after(anchor_date, calendar)
        return self.duration.before(anchor_date, calendar)

    def __str__(self) -> str:
        if self.anchor is None:
            return str(self.duration)
        if self.duration == Duration(0, "days") and self.direction == "after":
            return f"on {self.anchor}"
        return f"{self.duration} {self.direction} {self.anchor}"


def parse_due(text: str) -> DueRule:
    if not isinstance(text, str):
        raise DurationError(f"cannot read due rule {text!r}: expected text, one of {DUE_FORMS}")
    stripped = text.strip()

    def fail(why: str) -> DurationError:
        return DurationError(f"cannot read due rule {text!r}: {why}; expected {DUE_FORMS}")

    def field(name: str) -> str:
        if not _FIELD_RE.fullmatch(name):
            raise fail(f"{name!r} is not a field name")
        return name

    if on := _ON_RE.fullmatch(stripped):
        return DueRule(Duration(0, "days"), "after", field(on.group(1)))

    if anchored := _ANCHORED_RE.fullmatch(stripped):
        amount, direction, name = anchored.groups()
        direction = direction.lower()
        if name is None:
            raise fail(f"'{direction}' needs a date field to count from")
        try:
            duration = parse_duration(amount)
        except DurationError:
            raise fail(f"{amount!r} is not a duration") from None
        return DueRule(duration, direction, field(name))  # type: ignore[arg-type]

    try:
        duration = parse_duration(stripped)
    except DurationError:
        raise fail("not a duration") from None
    return DueRule(duration, "after", None)
