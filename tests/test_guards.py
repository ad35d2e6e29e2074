"""Declarative guards that compare with another field of the case, and bound the length of a list."""

from __future__ import annotations

from datetime import date

import pytest

from laworkflow.calendar.working_days import calendar_for
from laworkflow.definitions.guards import GuardContext, check_condition
from laworkflow.definitions.model import Condition


def context(**data):
    return GuardContext(data, date(2022, 9, 5), calendar_for("wales"), {"most_questions": 8})


@pytest.mark.parametrize(
    ("op", "value", "data", "holds"),
    [
        ("max_items", 8, {"questions": ["q"] * 8}, True),
        ("max_items", 8, {"questions": ["q"] * 9}, False),
        ("max_items", "$most_questions", {"questions": ["q"] * 9}, False),
        ("min_items", "=questions", {"questions": ["a", "b"], "leads": ["x", "y"]}, True),
        ("min_items", "=questions", {"questions": ["a", "b"], "leads": ["x"]}, False),
        ("max_items", "=questions", {"questions": ["a"], "leads": ["x", "y"]}, False),
        ("max_items", 3, {"questions": "not a list"}, False),
    ],
)
def test_list_length_bounds(op, value, data, holds):
    """One lead per question: `leads min_items =questions` and `max_items =questions`; at most eight questions."""
    field = "leads" if str(value).startswith("=") else "questions"
    assert check_condition(Condition(field=field, op=op, value=value), context(**data)) is holds


@pytest.mark.parametrize(
    ("op", "data", "holds"),
    [
        ("le", {"planned": "2024-09-30", "latest": "2024-10-03"}, True),
        ("le", {"planned": "2024-10-04", "latest": "2024-10-03"}, False),
        ("eq", {"planned": "2024-10-03", "latest": "2024-10-03"}, True),
        ("le", {"planned": "2024-09-30"}, False),
    ],
)
def test_comparing_two_fields(op, data, holds):
    """A planned date no later than another date the case holds; a missing field never satisfies it."""
    assert check_condition(Condition(field="planned", op=op, value="=latest"), context(**data)) is holds


def on(day: str, **data):
    return GuardContext(data, date.fromisoformat(day), calendar_for("wales"), {"period": "5 working days", "surveys": "3 weeks before core_week_start"})


@pytest.mark.parametrize(
    ("field", "value", "today", "data", "holds"),
    [
        # Draft Mon 17 Oct 2022; 5 working days: 18, 19, 20, 21, Mon 24 Oct.
        ("draft_sent_on", "5 working days", "2022-10-21", {"draft_sent_on": "2022-10-17"}, False),
        ("draft_sent_on", "5 working days", "2022-10-24", {"draft_sent_on": "2022-10-17"}, True),
        ("draft_sent_on", "$period", "2022-10-24", {"draft_sent_on": "2022-10-17"}, True),
        # Embargoed copy Mon 7 Nov 2022; 5 working days: 8, 9, 10, 11, Mon 14 Nov.
        ("copy_sent_on", "5 working days", "2022-11-11", {"copy_sent_on": "2022-11-07"}, False),
        ("copy_sent_on", "5 working days", "2022-11-14", {"copy_sent_on": "2022-11-07"}, True),
        # Fri 16 Sep 2022 + 1 working day skips the weekend and Mon 19 Sep (state funeral, a Welsh bank holiday): Tue 20 Sep.
        ("copy_sent_on", "1 working day", "2022-09-19", {"copy_sent_on": "2022-09-16"}, False),
        ("copy_sent_on", "1 working day", "2022-09-20", {"copy_sent_on": "2022-09-16"}, True),
        # 3 weeks before Mon 5 Sep 2022 is Mon 15 Aug.
        ("core_week_start", "$surveys", "2022-08-14", {"core_week_start": "2022-09-05"}, False),
        ("core_week_start", "$surveys", "2022-08-15", {"core_week_start": "2022-09-05"}, True),
        ("core_week_start", "on core_week_start", "2022-09-04", {"core_week_start": "2022-09-05"}, False),
        ("core_week_start", "on core_week_start", "2022-09-05", {"core_week_start": "2022-09-05"}, True),
        ("draft_sent_on", "5 working days", "2022-10-24", {}, False),  # no date: never passed
        ("draft_sent_on", "5 working days", "2022-10-24", {"draft_sent_on": "not a day"}, False),
    ],
)
def test_passed_a_due_rule_counted_from_a_date_field(field, value, today, data, holds):
    """`passed`: the day the trigger takes effect is on or after the day the rule gives from the field (the Estyn entitlements)."""
    assert check_condition(Condition(field=field, op="passed", value=value), on(today, **data)) is holds
