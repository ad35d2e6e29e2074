"""Linked cases, windows, counters and the authority register, on a small follow-up written for the test."""

from __future__ import annotations

import pytest

from laworkflow import Catalog, DefinitionError, GuardFailed
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.definitions.loader import load_text
from laworkflow.engine import Engine
from laworkflow.store import store_env

SOURCES = """
sources:
  guide: {file: guide.txt, title: A guide}
"""

PARENT = (
    """
id: follow-up
version: 1
title: Follow-up
inspectorate: Test
calendar: wales
"""
    + SOURCES
    + """
data:
  authority: {type: string}
  visits: {type: integer, required: false}
initial: in_follow_up
states:
  in_follow_up: {status: in follow-up, cites: {source: guide, para: "1"}}
  visiting: {status: in follow-up, cites: {source: guide, para: "2"}}
  due_reinspection: {status: due re-inspection, cites: {source: guide, para: "3"}}
  removed: {terminal: true, cites: {source: guide, para: "4"}}
transitions:
  - trigger: plan_visit
    from: in_follow_up
    to: visiting
    increments: [visits]
    starts: {workflow: visit, data: {authority: =authority, number: =visits}}
    cites: {source: guide, para: "2"}
  - trigger: abandon_visit
    from: visiting
    to: in_follow_up
    cites: {source: guide, para: "2"}
  - trigger: visit_reported
    from: visiting
    internal: true
    to: in_follow_up
    data:
      progress: {type: enum, choices: [good, poor]}
    cites: {source: guide, para: "2"}
  - trigger: arrange_reinspection
    from: in_follow_up
    to: due_reinspection
    guards: [{field: visits, op: ge, value: 2}]
    cites: {source: guide, para: "3"}
  - trigger: arrange_reinspection
    from: in_follow_up
    to: due_reinspection
    data:
      override_reason: {type: string}
    guards: [{field: override_reason, op: present}]
    cites: {source: guide, para: "3"}
  - trigger: remove
    from: [in_follow_up, due_reinspection]
    to: removed
    cites: {source: guide, para: "4"}
deadlines:
  - id: next_visit
    set_by: [visit_reported]
    met_by: plan_visit
    earliest: 10 weeks
    target: 3 months
    due: 4 months
    cites: {source: guide, para: "2", choice: "'about quarterly'"}
  - id: first_visit
    set_by: [start]
    met_by: [plan_visit, remove]
    due: 6 months
    cites: {source: guide, para: "2", choice: "a first visit, or removal, within six months of entering follow-up"}
reactions:
  - id: visit_letter
    child: visit
    reaches: [reported]
    fire: visit_reported
    data: {progress: =progress}
    cites: {source: guide, para: "2"}
"""
)

CHILD = (
    """
id: visit
version: 1
title: Visit
inspectorate: Test
calendar: wales
"""
    + SOURCES
    + """
data:
  authority: {type: string}
  number: {type: integer}
initial: planned
states:
  planned: {status: inspection, cites: {source: guide, para: "5"}}
  reported: {terminal: true, cites: {source: guide, para: "5"}}
transitions:
  - trigger: report
    from: planned
    to: reported
    data:
      progress: {type: enum, choices: [good, poor]}
    cites: {source: guide, para: "5"}
"""
)


@pytest.fixture
def engine(store):
    engine = Engine(Catalog([load_text(PARENT), load_text(CHILD)]), clock=SimulatedClock("2022-01-10"), env=store_env(store))
    yield engine
    engine.close()


def visit(engine, parent, planned_at, reported_at, progress="good"):
    """Plan a visit on the parent, report it on the child; returns the child's id."""
    view = engine.fire(parent, "plan_visit", actor="estyn", at=planned_at)
    child = view.children[-1]["id"]
    engine.fire(child, "report", {"progress": progress}, actor="estyn", at=reported_at)
    return child


def test_a_transition_starts_a_linked_child_with_data_from_the_parent(engine):
    parent = engine.start("follow-up", {"authority": "Ceredigion"}, actor="estyn", at="2022-01-10")
    view = engine.fire(parent, "plan_visit", actor="estyn", at="2022-02-01")
    (child,) = view.children
    child_view = engine.get(child["id"])
    assert child_view.parent == str(parent)
    assert child_view.data == {"authority": "Ceredigion", "number": 1}, "the counter is incremented before the child copies it"


def test_the_parent_reacts_once_when_its_child_reaches_a_state(engine):
    parent = engine.start("follow-up", {"authority": "Ceredigion"}, actor="estyn", at="2022-01-10")
    child = visit(engine, parent, "2022-02-01", "2022-02-10", progress="poor")
    view = engine.get(parent)
    assert view.state == "in_follow_up"
    assert view.data["progress"] == "poor"
    reported = [h for h in engine.history(parent) if h.type == "ChildReported"]
    assert [(r.details["child_id"], r.details["outcome"]) for r in reported] == [(str(child), "fired 'visit_reported'")]


def test_a_reaction_the_parent_refuses_is_recorded_and_told(engine):
    """The parent moved on before its child reported: the refusal is an event and a notification, not an error."""
    parent = engine.start("follow-up", {"authority": "Ceredigion"}, actor="estyn", at="2022-01-10")
    child = engine.fire(parent, "plan_visit", actor="estyn", at="2022-02-01").children[-1]["id"]
    engine.fire(parent, "abandon_visit", actor="estyn", at="2022-02-02")
    engine.fire(child, "report", {"progress": "good"}, actor="estyn", at="2022-02-10")
    (reported,) = [h for h in engine.history(parent) if h.type == "ChildReported"]
    assert reported.details["outcome"].startswith("refused: trigger 'visit_reported' is not allowed in state 'in_follow_up'")
    assert engine.get(parent).state == "in_follow_up"
    engine.due()  # the index catches up, filling the outbox
    told = [n["payload"] for n in engine.due_store.outbox() if n["payload"]["kind"] == "reaction_refused"]
    assert [(n["name"], n["child_id"]) for n in told] == [("visit_letter", str(child))]


def test_a_restarted_engine_does_not_react_twice(engine, store):
    """The process manager replays the whole log on a new engine; the parent's record stops a second reaction."""
    if store == "memory:":
        pytest.skip("a memory store does not outlive its engine")
    parent = engine.start("follow-up", {"authority": "Ceredigion"}, actor="estyn", at="2022-01-10")
    visit(engine, parent, "2022-02-01", "2022-02-10")
    before = len(engine.history(parent))
    again = Engine(engine.catalog, clock=SimulatedClock("2022-03-01"), env=store_env(store))
    try:
        again.due()
        again.fire(parent, "remove", actor="estyn", at="2022-03-01")
        kinds = [h.type for h in again.history(parent)]
        assert kinds.count("ChildReported") == 1
        assert len(kinds) > before
    finally:
        again.close()


def test_a_window_reports_early_on_time_and_late(engine):
    """'About three months': before 10 weeks is early, up to 4 months on time, after that late."""
    parent = engine.start("follow-up", {"authority": "Powys"}, actor="estyn", at="2022-01-10")
    visit(engine, parent, "2022-01-11", "2022-01-14")  # sets the window from Friday 14 January 2022
    deadline = engine.get(parent).deadlines["next_visit"]
    # 10 weeks after 14 Jan = 25 Mar; 3 months = 14 Apr; 4 months = 14 May 2022.
    assert (deadline["earliest_date"], deadline["target_date"], deadline["due_date"]) == ("2022-03-25", "2022-04-14", "2022-05-14")
    visit(engine, parent, "2022-03-01", "2022-03-02")
    assert engine.get(parent).deadlines["next_visit"]["status"] == "pending"  # re-set by the second report
    history = engine.history(parent)
    met = [h.details for h in history if h.type == "DeadlineMet" and h.details["deadline_id"] == "next_visit"]
    assert met[0]["timing"] == "early"
    # Second window from Wednesday 2 March 2022: earliest 11 May, due 2 July; planned 1 August is late.
    engine.fire(parent, "plan_visit", actor="estyn", at="2022-08-01")
    met = [h.details for h in engine.history(parent) if h.type == "DeadlineMet" and h.details["deadline_id"] == "next_visit"]
    assert met[-1]["timing"] == "late"
    assert engine.get(parent).deadlines["next_visit"]["status"] == "met_late"


def test_a_window_met_inside_it_is_on_time(engine):
    parent = engine.start("follow-up", {"authority": "Powys"}, actor="estyn", at="2022-01-10")
    visit(engine, parent, "2022-01-11", "2022-01-14")
    engine.fire(parent, "plan_visit", actor="estyn", at="2022-04-20")
    assert engine.get(parent).deadlines["next_visit"]["status"] == "met"


def test_a_deadline_set_when_the_case_starts_is_met_by_either_of_its_triggers(engine):
    """`set_by: [start]` arms it with the case; `met_by: [plan_visit, remove]`: whichever comes first meets it."""
    first = engine.start("follow-up", {"authority": "Powys"}, actor="estyn", at="2022-01-10")
    second = engine.start("follow-up", {"authority": "Conwy"}, actor="estyn", at="2022-01-10")
    # Six calendar months after Monday 10 January 2022: Sunday 10 July 2022.
    assert engine.get(first).deadlines["first_visit"]["due_date"] == "2022-07-10"
    engine.fire(first, "plan_visit", actor="estyn", at="2022-03-01")
    engine.fire(second, "remove", actor="estyn", at="2022-03-01")
    assert engine.get(first).deadlines["first_visit"]["status"] == "met"
    assert engine.get(second).deadlines["first_visit"]["status"] == "met"


def test_counter_guards_need_two_visits_or_a_recorded_override(engine):
    parent = engine.start("follow-up", {"authority": "Powys"}, actor="estyn", at="2022-01-10")
    visit(engine, parent, "2022-01-11", "2022-01-14")
    with pytest.raises(GuardFailed):
        engine.fire(parent, "arrange_reinspection", actor="estyn", at="2022-02-01")
    view = engine.fire(parent, "arrange_reinspection", {"override_reason": "rapid improvement"}, actor="estyn", at="2022-02-01")
    assert view.state == "due_reinspection"
    assert view.data["visits"] == 1


def test_the_register_lists_authorities_by_status_with_since_and_next(engine):
    first = engine.start("follow-up", {"authority": "Powys"}, actor="estyn", at="2022-01-10")
    engine.start("follow-up", {"authority": "Ceredigion"}, actor="estyn", at="2022-01-12")
    visit(engine, first, "2022-01-11", "2022-01-14")
    entries = {(e.authority, e.status): e for e in engine.register(nation="wales")}
    assert set(entries) == {("Powys", "in follow-up"), ("Ceredigion", "in follow-up")}
    powys = entries[("Powys", "in follow-up")]
    assert powys.since.date().isoformat() in ("2022-01-09", "2022-01-10")
    assert powys.next_due is not None and powys.next_due.name == "next_visit"
    engine.fire(first, "arrange_reinspection", {"override_reason": "x"}, actor="estyn", at="2022-02-01")
    statuses = {(e.authority, e.status) for e in engine.register()}
    assert ("Powys", "due re-inspection") in statuses and ("Powys", "in follow-up") not in statuses
    assert engine.register(nation="england") == []
    upcoming = engine.upcoming(weeks=20, now="2022-02-01")
    assert [i.name for i in upcoming] == ["next_visit"]


def test_reactions_to_unknown_children_states_or_fields_are_load_errors():
    broken = PARENT.replace("reaches: [reported]", "reaches: [reportd]").replace("data: {progress: =progress}", "data: {progress: =progres}")
    with pytest.raises(DefinitionError) as error:
        Catalog([load_text(broken), load_text(CHILD)])
    text = str(error.value)
    assert "no state 'reportd'" in text and "no field 'progres'" in text


def test_a_counter_must_be_an_integer_field():
    broken = PARENT.replace("visits: {type: integer, required: false}", "visits: {type: string, required: false}")
    with pytest.raises(DefinitionError, match="not an integer"):
        load_text(broken)


GRANDPARENT = (
    """
id: oversight
version: 1
title: Oversight
inspectorate: Test
calendar: wales
"""
    + SOURCES
    + """
data:
  authority: {type: string}
initial: open
states:
  open: {cites: {source: guide, para: "6"}}
  following: {cites: {source: guide, para: "6"}}
  closed: {terminal: true, cites: {source: guide, para: "6"}}
transitions:
  - trigger: begin_follow_up
    from: open
    to: following
    starts: {workflow: follow-up, data: {authority: =authority}}
    cites: {source: guide, para: "6"}
  - trigger: follow_up_visited
    from: following
    internal: true
    to: closed
    cites: {source: guide, para: "6"}
reactions:
  - id: visited
    child: follow-up
    reaches: [in_follow_up]
    fire: follow_up_visited
    cites: {source: guide, para: "6"}
"""
)


def test_reactions_cascade_from_grandchild_to_grandparent(store, opened_engines):
    """A visit reported moves its follow-up, whose move in turn moves the oversight case, in one command."""
    catalog = Catalog([load_text(PARENT), load_text(CHILD), load_text(GRANDPARENT)])
    engine = Engine(catalog, clock=SimulatedClock("2022-01-10"), env=store_env(store))
    opened_engines.append(engine)
    top = engine.start("oversight", {"authority": "Wrexham"}, actor="estyn", at="2022-01-10")
    follow_up = engine.fire(top, "begin_follow_up", actor="estyn", at="2022-01-11").children[0]["id"]
    visit(engine, follow_up, "2022-02-01", "2022-02-10")
    assert engine.get(follow_up).state == "in_follow_up"
    assert engine.get(top).state == "closed"
