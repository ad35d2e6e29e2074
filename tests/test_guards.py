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
