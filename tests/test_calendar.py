from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laworkflow.calendar.working_days import WorkingCalendar, calendar_for
from laworkflow.errors import CalendarError

# The bank holidays gov.uk publishes for England and Wales, written out by hand
# (substitute days in place of holidays that fell on a weekend).
OFFICIAL_ENGLAND_AND_WALES: dict[int, set[date]] = {
    2019: {
        date(2019, 1, 1),
        date(2019, 4, 19),
        date(2019, 4, 22),
        date(2019, 5, 6),
        date(2019, 5, 27),
        date(2019, 8, 26),
        date(2019, 12, 25),
        date(2019, 12, 26),
    },
    2020: {
        date(2020, 1, 1),
        date(2020, 4, 10),
        date(2020, 4, 13),
        date(2020, 5, 8),
        date(2020, 5, 25),
        date(2020, 8, 31),
        date(2020, 12, 25),
        date(2020, 12, 28),
    },
    2021: {
        date(2021, 1, 1),
        date(2021, 4, 2),
        date(2021, 4, 5),
        date(2021, 5, 3),
        date(2021, 5, 31),
        date(2021, 8, 30),
        date(2021, 12, 27),
        date(2021, 12, 28),
    },
    2022: {
        date(2022, 1, 3),
        date(2022, 4, 15),
        date(2022, 4, 18),
        date(2022, 5, 2),
        date(2022, 6, 2),
        date(2022, 6, 3),
        date(2022, 8, 29),
        date(2022, 9, 19),
        date(2022, 12, 26),
        date(2022, 12, 27),
    },
    2023: {
        date(2023, 1, 2),
        date(2023, 4, 7),
        date(2023, 4, 10),
        date(2023, 5, 1),
        date(2023, 5, 8),
        date(2023, 5, 29),
        date(2023, 8, 28),
        date(2023, 12, 25),
        date(2023, 12, 26),
    },
    2024: {
        date(2024, 1, 1),
        date(2024, 3, 29),
        date(2024, 4, 1),
        date(2024, 5, 6),
        date(2024, 5, 27),
        date(2024, 8, 26),
        date(2024, 12, 25),
        date(2024, 12, 26),
    },
}

ENGLAND = calendar_for("england")
WALES = calendar_for("wales")


@pytest.mark.parametrize("nation", ["england", "wales"])
@pytest.mark.parametrize("year", sorted(OFFICIAL_ENGLAND_AND_WALES))
def test_bank_holidays_match_gov_uk_list(nation: str, year: int) -> None:
    """Each year's bank holidays are exactly the gov.uk list, no more and no fewer."""
    assert set(calendar_for(nation).bank_holidays(year)) == OFFICIAL_ENGLAND_AND_WALES[year]


def test_bank_holidays_are_named() -> None:
    """Every bank holiday carries a name for display."""
    holidays_2022 = ENGLAND.bank_holidays(2022)
    assert all(isinstance(name, str) and name for name in holidays_2022.values())
    assert "Funeral" in holidays_2022[date(2022, 9, 19)]


def test_bank_holidays_returns_a_copy() -> None:
    """Changing the returned dict does not change the calendar."""
    ENGLAND.bank_holidays(2023).clear()
    assert not ENGLAND.is_working_day(date(2023, 5, 8))


def test_weekends_and_bank_holidays_are_not_working_days() -> None:
    """Saturdays, Sundays and bank holidays are not working days; other weekdays are."""
    assert ENGLAND.is_working_day(date(2023, 5, 9))  # Tuesday
    assert not ENGLAND.is_working_day(date(2023, 5, 6))  # Saturday
    assert not ENGLAND.is_working_day(date(2023, 5, 7))  # Sunday
    assert not ENGLAND.is_working_day(date(2023, 5, 8))  # Coronation
    assert not WALES.is_working_day(date(2022, 9, 19))  # State Funeral


def test_norfolk_report_deadlines() -> None:
    """On site ended Fri 14 June 2013: 20 working days is Fri 12 July, 25 is Fri 19 July."""
    on_site_end = date(2013, 6, 14)
    assert ENGLAND.add_working_days(on_site_end, 20) == date(2013, 7, 12)
    assert ENGLAND.add_working_days(on_site_end, 25) == date(2013, 7, 19)


def test_estyn_deadline_skips_state_funeral() -> None:
    """Core week ending Fri 9 Sep 2022 plus 45 working days is Mon 14 Nov 2022."""
    assert WALES.add_working_days(date(2022, 9, 9), 45) == date(2022, 11, 14)


def test_add_zero_working_days_is_identity() -> None:
    """Adding 0 working days returns the date itself, even a weekend or holiday."""
    for d in (date(2023, 5, 9), date(2023, 5, 6), date(2023, 5, 8)):
        assert ENGLAND.add_working_days(d, 0) == d


def test_start_day_is_not_counted() -> None:
    """One working day after a Monday is the Tuesday; after a Friday, the Monday."""
    assert ENGLAND.add_working_days(date(2023, 6, 5), 1) == date(2023, 6, 6)
    assert ENGLAND.add_working_days(date(2023, 6, 9), 1) == date(2023, 6, 12)
    assert ENGLAND.add_working_days(date(2023, 6, 10), 1) == date(2023, 6, 12)


def test_add_over_easter_2023() -> None:
    """From Thu 6 Apr 2023, Good Friday and Easter Monday are skipped."""
    assert ENGLAND.add_working_days(date(2023, 4, 6), 1) == date(2023, 4, 11)
    assert WALES.add_working_days(date(2023, 4, 6), 1) == date(2023, 4, 11)


def test_add_over_christmas_2022() -> None:
    """From Fri 23 Dec 2022, 26-27 Dec and the 2 Jan 2023 substitute day are skipped."""
    assert ENGLAND.add_working_days(date(2022, 12, 23), 1) == date(2022, 12, 28)
    assert ENGLAND.add_working_days(date(2022, 12, 23), 5) == date(2023, 1, 4)


def test_negative_count_goes_back() -> None:
    """A negative count gives the |n|th working day before, skipping holidays."""
    assert ENGLAND.add_working_days(date(2023, 4, 11), -1) == date(2023, 4, 6)
    assert ENGLAND.add_working_days(date(2023, 1, 4), -5) == date(2022, 12, 23)


def test_working_days_between() -> None:
    """Counts working days after start up to and including end; 0 unless end is later."""
    assert ENGLAND.working_days_between(date(2022, 12, 23), date(2023, 1, 4)) == 5
    assert ENGLAND.working_days_between(date(2013, 6, 14), date(2013, 7, 12)) == 20
    assert ENGLAND.working_days_between(date(2023, 6, 9), date(2023, 6, 11)) == 0
    assert ENGLAND.working_days_between(date(2023, 6, 9), date(2023, 6, 12)) == 1
    assert ENGLAND.working_days_between(date(2023, 6, 9), date(2023, 6, 9)) == 0
    assert ENGLAND.working_days_between(date(2023, 7, 1), date(2023, 6, 1)) == 0


@pytest.mark.parametrize("bad", ["scotland", "", "northern ireland", "gb"])
def test_unknown_nation_raises(bad: str) -> None:
    """An unknown nation raises CalendarError naming it and the valid nations."""
    with pytest.raises(CalendarError) as info:
        WorkingCalendar(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "england" in message and "wales" in message
    with pytest.raises(CalendarError):
        calendar_for(bad)


def test_nation_is_case_insensitive() -> None:
    """Nation names are read case-insensitively and normalised to lower case."""
    assert WorkingCalendar("Wales").nation == "wales"
    assert WorkingCalendar("ENGLAND").nation == "england"


def test_calendar_for_is_cached() -> None:
    """calendar_for returns the same calendar for the same nation."""
    assert calendar_for("england") is calendar_for("England")
    assert calendar_for("wales") is not calendar_for("england")


@given(
    d=st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31)),
    n=st.integers(min_value=0, max_value=60),
    nation=st.sampled_from(["england", "wales"]),
)
def test_between_inverts_add(d: date, n: int, nation: str) -> None:
    """Counting up to the nth working day after d gives n; that day is the first such and a working day."""
    cal = calendar_for(nation)
    result = cal.add_working_days(d, n)
    assert cal.working_days_between(d, result) == n
    if n > 0:
        assert cal.is_working_day(result)
        assert cal.working_days_between(d, result - timedelta(days=1)) == n - 1
