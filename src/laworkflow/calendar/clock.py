"""Where "now" comes from: the system clock, or a simulated one tests and demos move by hand.

Every command takes the moment it takes effect from a Clock unless the caller
says otherwise, so years of follow-up can run in milliseconds on a
SimulatedClock. All moments are timezone-aware; days are counted in the UK.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from laworkflow.calendar.bounds import check_moment
from laworkflow.errors import BadTime

LONDON = ZoneInfo("Europe/London")


class Clock(ABC):
    """Tells the engine what time it is."""

    @abstractmethod
    def now(self) -> datetime: ...


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock(Clock):
    """A clock that only moves when told to, and never backwards."""

    def __init__(self, start: datetime | date | str | None = None):
        self._now = aware(start) if start is not None else datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, moment: datetime | date | str) -> datetime:
        moment = aware(moment)
        if moment > self._now:
            self._now = moment
        return self._now


def start_of_day(day: date) -> datetime:
    """Midnight at the start of a UK day, as an aware moment."""
    return datetime.combine(day, time(0, 0), tzinfo=LONDON)


def day_over_at(day: date) -> datetime:
    """When a UK day is over: the next UK midnight, in UTC (a deadline due that day is missed from then)."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=LONDON).astimezone(UTC)


def uk_date(moment: datetime) -> date:
    """The UK day a moment falls on: what durations count from."""
    return moment.astimezone(LONDON).date()


def aware(value: datetime | date | str) -> datetime:
    """Read a moment: an aware datetime, a date (its UK midnight) or ISO text of either.

    A naive datetime is taken as UK local time, which is what people mean
    when they write "10:00 on 14 June". Outside `laworkflow.calendar.bounds`: OutOfRange.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            value = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
        except ValueError:
            raise BadTime(f"cannot read {text!r} as a date or time; use ISO 8601, e.g. 2013-06-14 or 2013-06-14T09:00:00+01:00") from None
    if isinstance(value, datetime):
        return check_moment(value if value.tzinfo is not None else value.replace(tzinfo=LONDON))
    if isinstance(value, date):
        return check_moment(start_of_day(value))
    raise BadTime(f"not a date or time: {value!r}")
