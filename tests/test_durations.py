from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from laworkflow.calendar.durations import DueRule, Duration, parse_due, parse_duration
from laworkflow.calendar.working_days import calendar_for
from laworkflow.errors import DurationError

ENGLAND = calendar_for("england")
WALES = calendar_for("wales")

UNITS = ["working_days", "days", "weeks", "months"]
MALFORMED = ["", "five days", "20 fortnights", "-3 days", "3 weeks before", "20 working days after 9bad"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20 working days", Duration(20, "working_days")),
        ("1 working day", Duration(1, "working_days")),
        ("5 days", Duration(5, "days")),
        ("1 day", Duration(1, "days")),
        ("4 weeks", Duration(4, "weeks")),
        ("1 week", Duration(1, "weeks")),
        ("3 months", Duration(3, "months")),
        ("1 month", Duration(1, "months")),
        ("0 days", Duration(0, "days")),
        ("  20   Working   DAYS ", Duration(20, "working_days")),
        ("3 Months", Duration(3, "months")),
    ],
)
def test_parse_duration_accepted_forms(text: str, expected: Duration) -> None:
    """Each accepted form parses, ignoring case and extra spaces."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (Duration(20, "working_days"), "20 working days"),
        (Duration(1, "working_days"), "1 working day"),
        (Duration(1, "months"), "1 month"),
        (Duration(3, "months"), "3 months"),
        (Duration(4, "weeks"), "4 weeks"),
        (Duration(1, "days"), "1 day"),
        (Duration(0, "days"), "0 days"),
    ],
)
def test_duration_canonical_text(duration: Duration, text: str) -> None:
    """str() gives the canonical singular or plural text."""
    assert str(duration) == text


@given(amount=st.integers(min_value=0, max_value=600), unit=st.sampled_from(UNITS))
def test_duration_round_trip(amount: int, unit: str) -> None:
    """Parsing a duration's text gives back an equal duration."""
    duration = Duration(amount, unit)  # type: ignore[arg-type]
    assert parse_duration(str(duration)) == duration


@pytest.mark.parametrize(("amount", "unit"), [(601, "months"), (2601, "weeks"), (18301, "days"), (13001, "working_days")])
def test_a_duration_longer_than_fifty_years_is_refused(amount: int, unit: str) -> None:
    """Nothing in an inspection runs for fifty years: a longer duration is a typing error."""
    with pytest.raises(DurationError, match="longer than any process runs"):
        Duration(amount, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", MALFORMED + ["20", "days", "2.5 days", "20 working", "٣ days"])
def test_parse_duration_rejects_malformed(text: str) -> None:
    """Malformed durations raise DurationError quoting the text and the accepted forms."""
    with pytest.raises(DurationError) as info:
        parse_duration(text)
    message = str(info.value)
    assert repr(text) in message
    assert "working days" in message and "months" in message


@pytest.mark.parametrize(("amount", "unit"), [(-1, "days"), (3, "fortnights"), (True, "days")])
def test_duration_rejects_bad_values(amount: object, unit: str) -> None:
    """A negative or non-integer amount or an unknown unit raises DurationError."""
    with pytest.raises(DurationError):
        Duration(amount, unit)  # type: ignore[arg-type]


def test_working_days_use_the_calendar() -> None:
    """Working days are counted on the given nation's calendar."""
    assert Duration(45, "working_days").after(date(2022, 9, 9), WALES) == date(2022, 11, 14)
    assert Duration(1, "working_days").before(date(2023, 4, 11), ENGLAND) == date(2023, 4, 6)


def test_days_and_weeks_are_calendar_days() -> None:
    """Days and weeks count every day, weekends and holidays included."""
    assert Duration(5, "days").after(date(2022, 12, 23), ENGLAND) == date(2022, 12, 28)
    assert Duration(4, "weeks").after(date(2013, 6, 14), ENGLAND) == date(2013, 7, 12)
    assert Duration(1, "days").before(date(2024, 3, 1), ENGLAND) == date(2024, 2, 29)


def test_months_clamp_to_month_end() -> None:
    """A calendar month from the 31st lands on the last day of a shorter month."""
    assert Duration(1, "months").after(date(2023, 1, 31), ENGLAND) == date(2023, 2, 28)
    assert Duration(1, "months").after(date(2024, 1, 31), ENGLAND) == date(2024, 2, 29)
    assert Duration(3, "months").after(date(2023, 11, 30), ENGLAND) == date(2024, 2, 29)
    assert Duration(1, "months").before(date(2023, 3, 31), ENGLAND) == date(2023, 2, 28)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20 working days", DueRule(Duration(20, "working_days"), "after", None)),
        ("20 working days after on_site_end", DueRule(Duration(20, "working_days"), "after", "on_site_end")),
        ("4 weeks before core_week_start", DueRule(Duration(4, "weeks"), "before", "core_week_start")),
        ("on on_site_start", DueRule(Duration(0, "days"), "after", "on_site_start")),
        ("  3 Months  AFTER  _judgement2 ", DueRule(Duration(3, "months"), "after", "_judgement2")),
        ("On visit", DueRule(Duration(0, "days"), "after", "visit")),
    ],
)
def test_parse_due_forms(text: str, expected: DueRule) -> None:
    """Each due-rule form parses to the expected duration, direction and anchor."""
    assert parse_due(text) == expected


@given(
    amount=st.integers(min_value=0, max_value=500),
    unit=st.sampled_from(UNITS),
    direction=st.sampled_from(["after", "before"]),
    anchor=st.one_of(st.none(), st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)),
)
def test_due_rule_round_trip(amount: int, unit: str, direction: str, anchor: str | None) -> None:
    """Parsing a due rule's text gives back an equal rule."""
    if anchor is None:
        direction = "after"
    rule = DueRule(Duration(amount, unit), direction, anchor)  # type: ignore[arg-type]
    assert parse_due(str(rule)) == rule


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (DueRule(Duration(20, "working_days"), "after", None), "20 working days"),
        (DueRule(Duration(4, "weeks"), "before", "core_week_start"), "4 weeks before core_week_start"),
        (DueRule(Duration(0, "days"), "after", "on_site_start"), "on on_site_start"),
    ],
)
def test_due_rule_canonical_text(rule: DueRule, text: str) -> None:
    """str() gives the canonical text of a due rule."""
    assert str(rule) == text


def test_weeks_before_counts_back() -> None:
    """'4 weeks before core_week_start' is 28 days earlier."""
    rule = parse_due("4 weeks before core_week_start")
    assert rule.resolve(date(2022, 9, 5), WALES) == date(2022, 8, 8)


def test_on_field_resolves_to_the_field_date() -> None:
    """'on field' falls due on the field's own date, even a weekend."""
    rule = parse_due("on on_site_start")
    assert rule.resolve(date(2023, 5, 6), ENGLAND) == date(2023, 5, 6)


def test_after_resolves_in_working_days() -> None:
    """'20 working days after on_site_end' follows the Norfolk example."""
    rule = parse_due("20 working days after on_site_end")
    assert rule.resolve(date(2013, 6, 14), ENGLAND) == date(2013, 7, 12)


@pytest.mark.parametrize(
    "text",
    MALFORMED
    + [
        "20 working days after",
        "on",
        "on 9bad",
        "20 working days after OnSite",
        "20 working days after a b",
        "fortnight after x",
        "20 working days until x",
    ],
)
def test_parse_due_rejects_malformed(text: str) -> None:
    """Malformed due rules raise DurationError quoting the text and the accepted forms."""
    with pytest.raises(DurationError) as info:
        parse_due(text)
    message = str(info.value)
    assert repr(text) in message
    assert "before <field>" in message and "on <field>" in message


def test_before_without_anchor_is_rejected() -> None:
    """A rule counting back needs a field to count back from."""
    with pytest.raises(DurationError, match="before"):
        parse_due("3 weeks before")
    with pytest.raises(DurationError):
        DueRule(Duration(3, "weeks"), "before", None)


@pytest.mark.parametrize(("direction", "anchor"), [("around", "x"), ("after", "9bad"), ("after", "Bad"), ("after", "")])
def test_due_rule_rejects_bad_values(direction: str, anchor: str) -> None:
    """An unknown direction or a malformed anchor field raises DurationError."""
    with pytest.raises(DurationError):
        DueRule(Duration(1, "days"), direction, anchor)  # type: ignore[arg-type]
