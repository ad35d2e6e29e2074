"""Working days for England and Wales.

Inspection frameworks set their deadlines in working days ("the report is
published within 20 working days of the end of the on-site visit"). Every
deadline in the engine uses one reading of that phrase:

    "within N working days of X" is the Nth working day *after* X;
    X itself is never counted, even when X is a working day.

A working day is a Monday to Friday that is not a bank holiday of the nation
whose rules govern the case. Bank holidays come from the ``holidays`` package
(the GB subdivision, because the national list lacks Easter Monday and the
August bank holiday in England and Wales) with substitute days kept, and with
weekend dates dropped so that each year's list matches the one gov.uk publishes.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Literal

import holidays

from laworkflow.errors import CalendarError

Nation = Literal["england", "wales"]

_SUBDIVISIONS: dict[str, str] = {"england": "ENG", "wales": "WLS"}

_ONE_DAY = timedelta(days=1)


class WorkingCalendar:
    """Bank holidays differ between the UK nations (Scotland keeps 2 January,
    Northern Ireland St Patrick's Day), so a case counts working days against
    the calendar of the nation whose inspectorate runs it."""

    nation: str

    def __init__(self, nation: str):
        key = nation.strip().lower() if isinstance(nation, str) else None
        if key not in _SUBDIVISIONS:
            valid = ", ".join(repr(n) for n in _SUBDIVISIONS)
            raise CalendarError(f"unknown nation {nation!r}: expected one of {valid}")
        self.nation = key
        self._subdivision = _SUBDIVISIONS[key]
        self._by_year: dict[int, dict[date, str]] = {}

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.nation!r})"

    def _holidays(self, year: int) -> dict[date, str]:
        # Built once per year: deadline arithmetic asks about the same few
        # years over and over.
        cached = self._by_year.get(year)
        if cached is None:
            raw = holidays.country_holidays("GB", subdiv=self._subdivision, observed=True, years=year)
            # A holiday that falls on a weekend is replaced by its substitute
            # day; the weekend date itself is not a bank holiday.
            cached = {day: name for day, name in sorted(raw.items()) if day.year == year and day.weekday() < 5}
            self._by_year[year] = cached
        return cached

    def bank_holidays(self, year: int) -> dict[date, str]:
        """A copy, so callers cannot alter the cached year."""
        return dict(self._holidays(year))

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and d not in self._holidays(d.year)

    def add_working_days(self, d: date, n: int) -> date:
        """The module's rule: d itself is not counted; negative n counts back."""
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Counts start < w <= end, the inverse of add_working_days, so that
        "late by N working days" agrees with how the deadline was set."""
        count = 0
        d = start
        while d < end:
            d += _ONE_DAY
            if self.is_working_day(d):
                count += 1
        return count


@functools.cache
def _calendar(nation: str) -> WorkingCalendar:
    return WorkingCalendar(nation)


def calendar_for(nation: str) -> WorkingCalendar:
    """Shared per nation so the per-year holiday cache is built once."""
    if not isinstance(nation, str):
        return WorkingCalendar(nation)  # raises CalendarError
    return _calendar(nation.strip().lower())
