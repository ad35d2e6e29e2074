"""Time as the documents count it: working days per nation, durations, clocks and the range of dates accepted."""

from laworkflow.calendar.bounds import EARLIEST_DAY, LATEST_DAY, LATEST_MOMENT, RANGE_TEXT, Day, Moment, check_day, check_moment, within
from laworkflow.calendar.clock import LONDON, Clock, SimulatedClock, SystemClock, aware, start_of_day, uk_date
from laworkflow.calendar.durations import DueRule, Duration, parse_due, parse_duration
from laworkflow.calendar.working_days import Nation, WorkingCalendar, calendar_for

__all__ = [
    "Clock",
    "Day",
    "DueRule",
    "Duration",
    "EARLIEST_DAY",
    "LATEST_DAY",
    "LATEST_MOMENT",
    "LONDON",
    "Moment",
    "Nation",
    "RANGE_TEXT",
    "SimulatedClock",
    "SystemClock",
    "WorkingCalendar",
    "aware",
    "calendar_for",
    "check_day",
    "check_moment",
    "parse_due",
    "parse_duration",
    "start_of_day",
    "uk_date",
    "within",
]
