"""The compiled machine: which triggers a state allows, the data they need, and their guards."""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import transitions

from laworkflow.calendar.working_days import calendar_for
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.guards import GuardContext, check_condition
from laworkflow.definitions.loader import load_text
from laworkflow.definitions.machine import CompiledWorkflow, compile_definition
from laworkflow.definitions.model import Condition
from laworkflow.errors import GuardFailed, InvalidData, TriggerNotAllowed

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
ENGLAND = calendar_for("england")

REVIEW = """\
id: review
version: 1
title: Review of a submission
inspectorate: Test inspectorate
calendar: england
sources:
  hb: {file: hb.txt, title: Handbook}
parameters:
  notice: {value: 5 working days, cites: {source: hb, para: "1"}}
  min_pages: {value: 2, cites: {source: hb, para: "1"}}
data:
  authority: {type: string}
initial: draft
states:
  draft: {cites: {source: hb, para: "2"}}
  review: {cites: {source: hb, para: "3"}}
  approved: {terminal: true, cites: {source: hb, para: "4"}}
  rejected: {terminal: true, cites: {source: hb, para: "5"}}
transitions:
  - trigger: submit
    from: draft
    to: review
    data:
      heading: {type: string}
      pages: {type: integer}
      score: {type: number, required: false}
      urgent: {type: boolean, required: false}
      visit: {type: date}
      submitted_at: {type: datetime, required: false}
      kind: {type: enum, choices: [full, short]}
      team: {type: list, min_items: 2}
      topics: {type: list, required: false, choices: [maths, reading]}
    guards:
      - {field: visit, op: within, value: $notice}
      - {field: pages, op: ge, value: $min_pages}
    cites: {source: hb, para: "6"}
  - trigger: comment
    from: [draft, review]
    data:
      text: {type: string}
    cites: {source: hb, para: "7"}
  - trigger: fast_track
    from: draft
    to: approved
    data:
      urgent: {type: boolean}
    guards:
      - {field: urgent, op: eq, value: true}
    cites: {source: hb, para: "8"}
  - trigger: decide
    from: review
    to: approved
    data:
      verdict: {type: enum, choices: [approve, reject, defer]}
    guards:
      - {field: verdict, op: eq, value: approve}
    cites: {source: hb, para: "9"}
  - trigger: decide
    from: review
    to: rejected
    data:
      verdict: {type: enum, choices: [approve, reject, defer]}
    guards:
      - {field: verdict, op: eq, value: reject}
    cites: {source: hb, para: "10"}
  - trigger: withdraw
    from: [draft, review]
    to: rejected
    cites: {source: hb, para: "11"}
timers:
  - id: visit_day
    state: review
    fires: withdraw
    due: 10 working days after visit
    cites: {source: hb, para: "12"}
deadlines:
  - id: decision
    set_by: submit
    met_by: decide
    due: 20 working days
    cites: {source: hb, para: "13"}
"""

PARAMETERS = {"notice": "5 working days", "min_pages": 2}

GOOD_SUBMISSION: dict[str, Any] = {
    "heading": "Annual review",
    "pages": 12,
    "visit": "2022-05-09",
    "kind": "full",
    "team": ["HMI Smith", "HMI Jones"],
}

# gov.uk's bank holidays for England and Wales in 2022, and the first of 2023, written out by hand.
BANK_HOLIDAYS = {
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
    date(2023, 1, 2),
}


def nth_working_day_after(start: date, n: int) -> date:
    """Independent count: the start day is not counted; weekends (by the stdlib calendar) and the
    hand-written bank holidays are skipped."""
    day = start
    while n:
        day += timedelta(days=1)
        if stdlib_calendar.weekday(day.year, day.month, day.day) < stdlib_calendar.SATURDAY and day not in BANK_HOLIDAYS:
            n -= 1
    return day


@pytest.fixture(scope="module")
def workflow() -> CompiledWorkflow:
    return compile_definition(load_text(REVIEW, file="review.yaml"))


def context_at(effective: date, parameters: dict[str, Any] | None = None, **base: Any):
    """A context_for callback as a case builds it: case data overlaid by the trigger's payload."""

    def build(payload: dict[str, Any]) -> GuardContext:
        return GuardContext({**base, **payload}, effective, ENGLAND, dict(PARAMETERS if parameters is None else parameters))

    return build


def holds(op: str, value: Any, data: dict[str, Any], effective: date = date(2022, 5, 3), parameters: dict[str, Any] | None = None) -> bool:
    condition = Condition(field="x", op=op, value=value)
    return check_condition(condition, GuardContext(data, effective, ENGLAND, parameters or {}))


# --- the compiled machine -----------------------------------------------------------------------


def test_compile_builds_one_transitions_machine_without_auto_transitions(workflow):
    """The machine is a transitions.Machine over the definition's states, with no `to_<state>` triggers."""
    machine = workflow.machine
    assert isinstance(machine, transitions.Machine)
    assert machine.auto_transitions is False
    assert set(machine.states) == {"draft", "review", "approved", "rejected"}
    assert machine.initial == "draft"
    assert set(machine.events) == {"submit", "comment", "fast_track", "decide", "withdraw"}
    assert not any(name.startswith("to_") for name in machine.events)
    assert machine.models == []  # shared by every case: no model is attached to it


def test_each_definition_gets_its_own_machine_built_once():
    """A catalog compiles one machine per definition and hands back the same one each time."""
    catalog = Catalog.from_directory(WORKFLOWS)
    compiled = list(catalog)
    assert len({id(w.machine) for w in compiled}) == len(compiled)
    for w in compiled:
        assert catalog.get(w.definition.id, w.definition.version).machine is w.machine
    review = compile_definition(load_text(REVIEW))
    assert all(review.machine is not w.machine for w in compiled)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("draft", ["comment", "fast_track", "submit", "withdraw"]),
        ("review", ["comment", "decide", "withdraw"]),
        ("approved", []),
        ("rejected", []),
    ],
)
def test_triggers_from_matches_the_definition(workflow, state, expected):
    """triggers_from lists exactly the triggers whose `from` includes the state (read off REVIEW)."""
    assert workflow.triggers_from(state) == expected


def test_triggers_from_matches_every_shipped_definition():
    """For every shipped workflow and state, triggers_from equals the triggers the file lists from it."""
    for w in Catalog.from_directory(WORKFLOWS):
        for state, spec in w.definition.states.items():
            expected = sorted({t.trigger for t in w.definition.transitions if state in t.source})
            assert w.triggers_from(state) == expected, (w.key, state)
            if spec.terminal:
                assert expected == []


def test_triggers_from_on_site_in_the_laassi_workflow():
    """Read by hand from workflows/ofsted-laassi-2013.yaml: what may happen while inspectors are on site."""
    w = Catalog.from_directory(WORKFLOWS).get("ofsted-laassi", 1)
    assert w.triggers_from("on_site") == [
        "extend_on_site",
        "give_feedback",
        "leave_site",
        "lodge_complaint",
        "raise_concern",
        "record_evidence",
        "resolve_concern",
    ]
    assert w.triggers_from("published") == ["lodge_complaint", "receive_statement_of_action"]


def test_transitions_without_target_stay_in_their_state(workflow):
    """A transition with no `to` leads back to the state it left, from each of its sources."""
    for state in ("draft", "review"):
        (transition,) = workflow.transitions_from(state, "comment")
        assert transition.target(state) == state
        (machine_transition,) = workflow.machine.get_transitions(trigger="comment", source=state)
        assert machine_transition.dest == state


def test_timers_and_deadlines_are_indexed(workflow):
    """Timers by the state that arms them, deadlines by the triggers that set and meet them."""
    assert [t.id for t in workflow.timers_by_state["review"]] == ["visit_day"]
    assert "draft" not in workflow.timers_by_state
    assert [d.id for d in workflow.deadlines_set_by["submit"]] == ["decision"]
    assert [d.id for d in workflow.deadlines_met_by["decide"]] == ["decision"]


def test_parameters_with_overrides(workflow):
    """Parameters default to the definition's values; unknown overrides are InvalidData."""
    assert workflow.parameters() == {"notice": "5 working days", "min_pages": 2}
    assert workflow.parameters({"notice": "5 days"}) == {"notice": "5 days", "min_pages": 2}
    with pytest.raises(InvalidData, match="unknown parameter.*notice_period.*parameters: min_pages, notice"):
        workflow.parameters({"notice_period": "5 days"})


# --- select: triggers ---------------------------------------------------------------------------


def test_select_a_trigger_not_allowed_lists_the_allowed_ones(workflow):
    """A trigger the state does not allow is TriggerNotAllowed, naming the allowed triggers."""
    with pytest.raises(TriggerNotAllowed) as caught:
        workflow.select("review", "submit", GOOD_SUBMISSION, context_at(date(2022, 5, 3)))
    message = str(caught.value)
    assert "'submit'" in message and "'review'" in message
    assert "allowed: comment, decide, withdraw" in message


def test_select_an_unknown_trigger_is_not_allowed(workflow):
    """A trigger that exists nowhere in the definition is TriggerNotAllowed, not a KeyError."""
    with pytest.raises(TriggerNotAllowed, match="allowed: comment, fast_track, submit, withdraw"):
        workflow.select("draft", "approve_everything", {}, context_at(date(2022, 5, 3)))


def test_select_from_a_terminal_state_says_the_case_has_ended(workflow):
    """Nothing is allowed from a terminal state."""
    with pytest.raises(TriggerNotAllowed, match="none: the case has ended"):
        workflow.select("approved", "comment", {"text": "late"}, context_at(date(2022, 5, 3)))


def test_select_returns_the_transition_and_json_ready_data(workflow):
    """Valid data returns the transition taken and the data as JSON-ready values."""
    data = {**GOOD_SUBMISSION, "visit": date(2022, 5, 9), "topics": ["maths"], "score": 3}
    transition, payload = workflow.select("draft", "submit", data, context_at(date(2022, 5, 3)))
    assert transition is workflow.definition.transitions[0]
    assert transition.target("draft") == "review"
    assert payload["visit"] == "2022-05-09"
    assert payload["score"] == 3.0
    assert payload["topics"] == ["maths"]
    assert "urgent" not in payload and "submitted_at" not in payload


def test_select_changes_nothing(workflow):
    """select is a question: asking twice gives the same answer and attaches no state to the machine."""
    first = workflow.select("draft", "submit", GOOD_SUBMISSION, context_at(date(2022, 5, 3)))
    second = workflow.select("draft", "submit", GOOD_SUBMISSION, context_at(date(2022, 5, 3)))
    assert first == second
    assert workflow.machine.models == []


# --- select: data -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour": "red"}, "colour"),  # unknown key
        ({"heading": None}, "heading"),  # required key missing (removed below)
        ({"pages": "many"}, "pages"),  # wrong type: not an integer
        ({"heading": 42}, "heading"),  # wrong type: not a string
        ({"visit": "next week"}, "visit"),  # wrong type: not a date
        ({"submitted_at": "2022-05-03T09:00:00"}, "submitted_at"),  # datetime without a time zone
        ({"kind": "long"}, "kind"),  # enum value not in choices
        ({"team": ["HMI Smith"]}, "team"),  # list shorter than min_items
        ({"team": "HMI Smith, HMI Jones"}, "team"),  # a string is not a list
        ({"topics": ["history"]}, "topics"),  # list item not in choices
    ],
)
def test_select_rejects_invalid_data(workflow, change, field):
    """Data that does not match the trigger's fields is InvalidData naming the field."""
    data = {**GOOD_SUBMISSION, **change}
    if change == {"heading": None}:
        del data["heading"]
    with pytest.raises(InvalidData) as caught:
        workflow.select("draft", "submit", data, context_at(date(2022, 5, 3)))
    message = str(caught.value)
    assert message.startswith("invalid data for trigger 'submit'")
    assert field in message


def test_select_missing_required_key_says_so(workflow):
    """A missing required key is reported as required."""
    data = {k: v for k, v in GOOD_SUBMISSION.items() if k != "pages"}
    with pytest.raises(InvalidData, match="pages: Field required"):
        workflow.select("draft", "submit", data, context_at(date(2022, 5, 3)))


def test_select_no_data_for_a_trigger_that_needs_some(workflow):
    """data=None counts as no data at all."""
    with pytest.raises(InvalidData, match="text"):
        workflow.select("draft", "comment", None, context_at(date(2022, 5, 3)))


def test_select_data_for_a_trigger_that_takes_none(workflow):
    """A trigger without data fields refuses any key."""
    assert workflow.select("draft", "withdraw", None, context_at(date(2022, 5, 3)))[1] == {}
    with pytest.raises(InvalidData, match="reason"):
        workflow.select("draft", "withdraw", {"reason": "changed mind"}, context_at(date(2022, 5, 3)))


def test_invalid_data_beats_guard_checks_for_alternatives(workflow):
    """When the data suits no alternative of a trigger, the answer is InvalidData, not GuardFailed."""
    with pytest.raises(InvalidData, match="verdict"):
        workflow.select("review", "decide", {"verdict": "maybe"}, context_at(date(2022, 5, 3)))


# --- select: guards -----------------------------------------------------------------------------


def test_guard_failure_names_the_guard(workflow):
    """A failing guard is GuardFailed, naming the condition that failed."""
    with pytest.raises(GuardFailed) as caught:
        workflow.select("draft", "fast_track", {"urgent": False}, context_at(date(2022, 5, 3)))
    message = str(caught.value)
    assert "'fast_track'" in message and "'draft'" in message
    assert "urgent eq True" in message
    transition, _ = workflow.select("draft", "fast_track", {"urgent": True}, context_at(date(2022, 5, 3)))
    assert transition.to == "approved"


def test_guard_with_parameter_failure_names_it(workflow):
    """A guard using `$parameter` compares with the case's parameter value; on failure its field and operator are named."""
    with pytest.raises(GuardFailed, match="pages ge"):
        workflow.select("draft", "submit", {**GOOD_SUBMISSION, "pages": 1}, context_at(date(2022, 5, 3)))
    # the case's own parameter value is used, not the definition's default
    transition, _ = workflow.select(
        "draft", "submit", {**GOOD_SUBMISSION, "pages": 1}, context_at(date(2022, 5, 3), {"notice": "5 working days", "min_pages": 1})
    )
    assert transition.to == "review"


def test_within_guard_in_select_uses_the_effective_date(workflow):
    """The notice guard passes for a visit inside the notice period from the effective date, not after it."""
    latest = nth_working_day_after(date(2022, 5, 3), 5)
    ok = {**GOOD_SUBMISSION, "visit": latest.isoformat()}
    late = {**GOOD_SUBMISSION, "visit": (latest + timedelta(days=1)).isoformat()}
    assert workflow.select("draft", "submit", ok, context_at(date(2022, 5, 3)))[0].to == "review"
    with pytest.raises(GuardFailed, match="visit within"):
        workflow.select("draft", "submit", late, context_at(date(2022, 5, 3)))


@pytest.mark.parametrize(("verdict", "target"), [("approve", "approved"), ("reject", "rejected")])
def test_guarded_alternatives_choose_the_transition(workflow, verdict, target):
    """Of two guarded transitions for one trigger, the one whose guard holds is returned."""
    transition, payload = workflow.select("review", "decide", {"verdict": verdict}, context_at(date(2022, 5, 3)))
    assert transition.to == target
    assert payload == {"verdict": verdict}
    assert transition in workflow.transitions_from("review", "decide")


def test_guarded_alternatives_all_failing_name_every_guard(workflow):
    """When no alternative's guard holds, GuardFailed names the guard of each."""
    with pytest.raises(GuardFailed) as caught:
        workflow.select("review", "decide", {"verdict": "defer"}, context_at(date(2022, 5, 3)))
    message = str(caught.value)
    assert "verdict eq 'approve'" in message and "verdict eq 'reject'" in message


def test_guards_see_case_data_as_well_as_the_payload():
    """A guard may test start data the case already holds, not only the trigger's payload."""
    text = REVIEW.replace(
        "      - {field: urgent, op: eq, value: true}\n",
        "      - {field: urgent, op: eq, value: true}\n      - {field: authority, op: ne, value: Barset}\n",
    )
    assert text != REVIEW
    w = compile_definition(load_text(text))
    assert w.select("draft", "fast_track", {"urgent": True}, context_at(date(2022, 5, 3), authority="Wessex"))[0].to == "approved"
    with pytest.raises(GuardFailed, match="authority ne 'Barset'"):
        w.select("draft", "fast_track", {"urgent": True}, context_at(date(2022, 5, 3), authority="Barset"))


def test_date_comparison_with_an_unquoted_yaml_date():
    """A guard `visit ge 2022-05-01` (unquoted, as authors write dates) passes for a later visit."""
    text = REVIEW.replace("      - {field: pages, op: ge, value: $min_pages}\n", "      - {field: visit, op: ge, value: 2022-05-01}\n")
    assert text != REVIEW
    w = compile_definition(load_text(text))
    transition, _ = w.select("draft", "submit", GOOD_SUBMISSION, context_at(date(2022, 5, 3)))
    assert transition.to == "review"


def test_date_comparison_with_a_quoted_date():
    """Quoted ISO dates compare with dates held as ISO text in the case."""
    text = REVIEW.replace("      - {field: pages, op: ge, value: $min_pages}\n", "      - {field: visit, op: ge, value: '2022-05-09'}\n")
    assert text != REVIEW
    w = compile_definition(load_text(text))
    assert w.select("draft", "submit", GOOD_SUBMISSION, context_at(date(2022, 5, 3)))[0].to == "review"
    with pytest.raises(GuardFailed, match="visit ge '2022-05-09'"):
        w.select("draft", "submit", {**GOOD_SUBMISSION, "visit": "2022-05-06"}, context_at(date(2022, 5, 3)))


# --- declarative operators ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "data", "expected"),
    [
        ("eq", "full", {"x": "full"}, True),
        ("eq", "full", {"x": "short"}, False),
        ("eq", False, {"x": False}, True),
        ("eq", False, {}, False),
        ("ne", "full", {"x": "short"}, True),
        ("ne", "full", {"x": "full"}, False),
        ("ne", "full", {}, True),
        ("in", ["a", "b"], {"x": "a"}, True),
        ("in", ["a", "b"], {"x": "c"}, False),
        ("in", ["a", "b"], {}, False),
        ("not_in", ["a", "b"], {"x": "c"}, True),
        ("not_in", ["a", "b"], {"x": "b"}, False),
        ("contains", "maths", {"x": ["reading", "maths"]}, True),
        ("contains", "maths", {"x": ["reading"]}, False),
        ("contains", "maths", {"x": "maths"}, False),  # a string is not a list
        ("contains", "maths", {}, False),
        ("not_contains", "maths", {"x": ["reading"]}, True),
        ("not_contains", "maths", {"x": ["maths"]}, False),
        ("not_contains", "maths", {}, True),
        ("gt", 2, {"x": 3}, True),
        ("gt", 2, {"x": 2}, False),
        ("ge", 2, {"x": 2}, True),
        ("ge", 2, {"x": 1}, False),
        ("lt", 2, {"x": 1}, True),
        ("lt", 2, {"x": 2}, False),
        ("le", 2, {"x": 2}, True),
        ("le", 2, {"x": 3}, False),
        ("le", 2.5, {"x": 2}, True),
        ("gt", 2, {}, False),  # a missing field never satisfies a comparison
        ("lt", 2, {}, False),
        ("gt", 2, {"x": "three"}, False),  # incomparable types fail, they do not raise
        ("gt", "2022-05-01", {"x": "2022-05-10"}, True),  # ISO dates as text order by date
        ("lt", "2022-05-01", {"x": "2022-05-10"}, False),
        ("present", None, {"x": "anything"}, True),
        ("present", None, {}, False),
        ("present", True, {"x": False}, True),  # present, even though the value is false
        ("present", True, {"x": None}, False),
        ("present", False, {}, True),
        ("present", False, {"x": "set"}, False),
        ("min_items", 2, {"x": ["a", "b"]}, True),
        ("min_items", 2, {"x": ["a"]}, False),
        ("min_items", 0, {"x": []}, True),
        ("min_items", 1, {}, False),
        ("min_items", 1, {"x": "a"}, False),  # not a list
    ],
)
def test_declarative_operators(op, value, data, expected):
    """Each operator compares the case's field with the condition's value as documented."""
    assert holds(op, value, data) is expected


@pytest.mark.parametrize(
    ("op", "value", "data", "expected"),
    [
        ("ge", "$min_pages", {"x": 2}, True),
        ("ge", "$min_pages", {"x": 1}, False),
        ("eq", "$kind", {"x": "full"}, True),
        ("within", "$notice", {"x": "2022-05-10"}, True),
        ("within", "$notice", {"x": "2022-05-11"}, False),
    ],
)
def test_operators_read_dollar_values_from_parameters(op, value, data, expected):
    """A `$name` value is read from the case's parameters."""
    parameters = {"min_pages": 2, "kind": "full", "notice": "5 working days"}
    assert holds(op, value, data, parameters=parameters) is expected


def test_the_example_dates_are_the_weekdays_claimed():
    """Sanity check of the examples below against the standard library's calendar."""
    assert stdlib_calendar.weekday(2022, 5, 3) == stdlib_calendar.TUESDAY
    assert stdlib_calendar.weekday(2022, 5, 26) == stdlib_calendar.THURSDAY
    assert stdlib_calendar.weekday(2022, 4, 14) == stdlib_calendar.THURSDAY
    assert stdlib_calendar.weekday(2022, 12, 23) == stdlib_calendar.FRIDAY
    # Tuesday 3 May 2022: Wed 4, Thu 5, Fri 6, (weekend), Mon 9, Tue 10.
    assert nth_working_day_after(date(2022, 5, 3), 5) == date(2022, 5, 10)
    # Thursday 26 May 2022: Fri 27, Mon 30, Tue 31, Wed 1 June, (bank holidays 2 and 3 June, weekend), Mon 6.
    assert nth_working_day_after(date(2022, 5, 26), 5) == date(2022, 6, 6)
    # Maundy Thursday 14 April 2022: (Good Friday, weekend, Easter Monday), Tue 19 .. Fri 22, Mon 25.
    assert nth_working_day_after(date(2022, 4, 14), 5) == date(2022, 4, 25)
    # Friday 23 December 2022: (weekend, 26 and 27 December), Wed 28, Thu 29, Fri 30,
    # (weekend, Monday 2 January 2023 in lieu of New Year's Day), Tue 3, Wed 4 January.
    assert stdlib_calendar.weekday(2023, 1, 1) == stdlib_calendar.SUNDAY
    assert nth_working_day_after(date(2022, 12, 23), 5) == date(2023, 1, 4)


@pytest.mark.parametrize(
    ("effective", "day", "expected"),
    [
        # Tuesday 3 May 2022 + 5 working days = Tuesday 10 May 2022
        (date(2022, 5, 3), date(2022, 5, 3), True),  # the effective day itself
        (date(2022, 5, 3), date(2022, 5, 7), True),  # a Saturday inside the window
        (date(2022, 5, 3), date(2022, 5, 10), True),  # the last day
        (date(2022, 5, 3), date(2022, 5, 11), False),  # one day too late
        (date(2022, 5, 3), date(2022, 5, 2), False),  # before the effective day
        # the Platinum Jubilee bank holidays push the end to Monday 6 June 2022
        (date(2022, 5, 26), date(2022, 6, 3), True),
        (date(2022, 5, 26), date(2022, 6, 6), True),
        (date(2022, 5, 26), date(2022, 6, 7), False),
        # Easter: Good Friday and Easter Monday are not counted
        (date(2022, 4, 14), date(2022, 4, 25), True),
        (date(2022, 4, 14), date(2022, 4, 26), False),
        # Christmas substitute days and the year end
        (date(2022, 12, 23), date(2023, 1, 4), True),
        (date(2022, 12, 23), date(2023, 1, 5), False),
    ],
)
def test_within_working_days(effective, day, expected):
    """`within 5 working days`: from the effective date to the 5th working day after it, inclusive."""
    latest = nth_working_day_after(effective, 5)
    assert (effective <= day <= latest) is expected  # the expectation agrees with the independent count
    assert holds("within", "5 working days", {"x": day.isoformat()}, effective=effective) is expected
    assert holds("within", "5 working days", {"x": day}, effective=effective) is expected


def test_within_calendar_days():
    """`within 5 days` counts every day: Tuesday 3 May 2022 + 5 days = Sunday 8 May."""
    assert holds("within", "5 days", {"x": "2022-05-08"}) is True
    assert holds("within", "5 days", {"x": "2022-05-09"}) is False


def test_within_accepts_datetime_text_and_rejects_non_dates():
    """An ISO datetime counts by its date; text that is not a date, or no value, never passes."""
    assert holds("within", "5 working days", {"x": "2022-05-10T16:30:00+01:00"}) is True
    assert holds("within", "5 working days", {"x": "2022-05-11T08:00:00+01:00"}) is False
    assert holds("within", "5 working days", {"x": "next week"}) is False
    assert holds("within", "5 working days", {"x": 20220510}) is False
    assert holds("within", "5 working days", {}) is False
