"""The one range of days and moments the engine accepts, everywhere.

A date typed by a person (case data, a parameter, `--at`, a query string) or
derived from one (a deadline 24 months after a planned date) must be a day the
engine can count working days in, store, index and read back on every backend.
Python's `date` stops at 9999-12-31 and the timer index adds a day to a
deadline's due date, so a year-9999 date once stopped every timer of every
case. Every entry point checks against this one range, the same in Python, the
CLI and HTTP, and a command whose derived timers or deadlines would fall
outside it is refused before anything is written.

choice: 1900-01-01 to 2199-12-31 (UK days). The documents' processes run for
months or years; two centuries either side of them is room enough for history
and for any plan, and keeps every derived date and stamp far from the limits
of Python and of the databases.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime

from laworkflow.errors import OutOfRange

EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
_UK = ZoneInfo("Europe/London")  # days are counted in the UK (clock.LONDON; not imported, clock imports us)
EARLIEST_MOMENT = datetime.combine(EARLIEST_DAY, time.min, tzinfo=_UK)  # the first and last moments of the range's UK days
LATEST_MOMENT = datetime.combine(LATEST_DAY, time.max, tzinfo=_UK)
RANGE_TEXT = f"{EARLIEST_DAY.isoformat()} to {LATEST_DAY.isoformat()}"


def check_day(day: date, what: str = "a date") -> date:
    """`day` itself, or OutOfRange saying which value and the range allowed."""
    if isinstance(day, datetime):
        day = day.date()
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise OutOfRange(f"{what} {day.isoformat()} is outside the dates the engine accepts ({RANGE_TEXT})")
    return day


def check_moment(moment: datetime, what: str = "a moment") -> datetime:
    """An aware `moment` itself when its UK day is inside the range, else OutOfRange.

    Naive moments are the caller's to make aware first (clock.aware reads them as UK time).
    """
    if moment.tzinfo is None:
        raise ValueError("check_moment needs an aware datetime")
    try:
        inside = within(moment.astimezone(_UK).date())
    except (OverflowError, ValueError):  # near datetime.min/max, the UK day itself cannot be formed
        inside = False
    if not inside:
        raise OutOfRange(f"{what} {moment.isoformat()} is outside the dates the engine accepts ({RANGE_TEXT})")
    return moment


def within(day: date) -> bool:
    """True when `day` is inside the range (for code that sets items aside rather than raising)."""
    return EARLIEST_DAY <= day <= LATEST_DAY


def _day_inside(day: date) -> date:
    return check_day(day, "the date")


def _moment_inside(moment: datetime) -> datetime:
    return check_moment(moment, "the moment")


# Field types for pydantic models of typed-in values (case data, assessments): a date or an aware moment inside the range.
Day = Annotated[date, AfterValidator(_day_inside)]
Moment = Annotated[AwareDatetime, AfterValidator(_moment_inside)]
