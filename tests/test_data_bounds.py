"""Each list a document bounds is refused outside its bounds (issue 10, item 5).

The table is the specification, per workflow and per trigger (`start`: the
data a case starts with): `field>=N` where the document asks for at least N
(an authority's concerns, the schools of Phase 1, two peer inspectors, ...),
`field<=N` for at most N, `field:unique` where each item may be given once
(the three key judgement areas). Removing a field's `min_items`, `max_items`
or `unique_items` from a definition fails here, which is what
`scripts/mutate_rules.py` checks; the citations are the transitions' own.
A bound written as a guard (`min_items`/`max_items` ops against a parameter
or another field) is tested where the scenario reaches it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.loader import load_text
from laworkflow.definitions.machine import compile_definition, validate_payload
from laworkflow.errors import DefinitionError, InvalidData
from test_required_data import _declaring, _models

MIN_ITEMS: dict[str, dict[str, str]] = {
    "estyn-lges@1": {
        "give_notice": "peer_inspectors>=2 audit_wales_inspectors>=1",  # Part 1, The inspection team
        "brief_on_preliminary_activities": "interviewed>=1",  # Part 1, Preliminary activities
        "hold_initial_meeting": "attendees>=1",
        "meet_question_lead": "officers>=1",
        "update_plans": "updated_plans>=1",  # Part 1, After the inspection
        "discuss_updated_plans": "link_inspectors>=1",
    },
    "ofsted-laassi@1": {
        "start": "concerns>=1",  # seed 000: an inspection follows a concern
        "give_notice": "inspectors>=1",  # para 13: at least one other inspector
        "receive_statement_of_action": "actions>=1",
    },
    "ofsted-laassi@2": {
        "start": "concerns>=1",
        "give_notice": "schools>=1 inspectors>=1",  # seeds 001/002: Phase 1 inspects schools
        "complete_phase1": "schools_inspected>=1",
        "make_judgement": "recommendations>=1 recommendation_themes>=1",
        "make_recommendations": "recommendations>=1 recommendation_themes>=1",
        "receive_statement_of_action": "actions>=1",
    },
    "ofsted-laassi@3": {
        "start": "concerns>=1",
        "give_notice": "schools>=1 inspectors>=1",
        "complete_phase1": "schools_inspected>=1",
        "make_recommendations": "recommendations>=1 recommendation_themes>=1",
        "receive_statement_of_action": "actions>=1",
    },
    "ofsted-monitoring@1": {
        # seed 003: monitoring follows an inadequate judgement; footnote 3: of the three key judgement areas, each once
        "start": "inadequate_areas>=1 inadequate_areas:unique",
        "record_continued_inadequacy": "inadequate_areas>=1 inadequate_areas:unique",
    },
    "ofsted-reinspection@1": {
        "start": "inadequate_areas>=1 inadequate_areas:unique",
        "make_judgement": "inadequate_areas:unique",
    },
}


def _bounds() -> list[object]:
    found = []
    for key, triggers in MIN_ITEMS.items():
        for trigger, bounds in triggers.items():
            for bound in bounds.split():
                name, kind, number = re.fullmatch(r"(\w+)(>=|<=|:unique)(\d*)", bound).groups()  # type: ignore[union-attr]
                found.append(pytest.param(key, trigger, name, kind, int(number or 0), id=f"{key}:{trigger}:{bound}"))
    return found


@pytest.mark.parametrize(("key", "trigger", "name", "kind", "number"), _bounds())
def test_a_list_outside_its_bounds_is_refused(catalog: Catalog, key: str, trigger: str, name: str, kind: str, number: int) -> None:
    for model, payload, choices in _declaring_lists(catalog, key, trigger, name):
        if kind == ">=":
            payload[name] = choices[:number]  # exactly the bound passes
            validate_payload(model, payload, f"{key} {trigger}")
            payload[name], says = choices[: number - 1], f"List should have at least {number} item"
        elif kind == "<=":
            payload[name] = choices[:number]
            validate_payload(model, payload, f"{key} {trigger}")
            payload[name], says = (choices * 2)[: number + 1], f"List should have at most {number} item"  # a repeat, if it must
        else:
            payload[name], says = [choices[0], choices[0]], f"each item may be given once; repeated: {choices[0]}"
        with pytest.raises(InvalidData, match=rf"\b{name}: {says}"):
            validate_payload(model, payload, f"{key} {trigger}")


def _declaring_lists(catalog: Catalog, key: str, trigger: str, name: str) -> list[tuple[Any, dict[str, Any], list[str]]]:
    """As `_declaring`, with enough different items for the list (its choices, else made-up ones)."""
    found = []
    for model, payload in _declaring(catalog, key, trigger, name):
        spec = next(fields[name] for m, fields in _models(catalog.get(key), trigger) if m is model)
        found.append((model, payload, list(spec.choices or [f"item {n}" for n in range(12)])))
    return found


LISTS = """
id: lists
version: 1
title: Bounded lists
inspectorate: Test
calendar: england
sources: {guide: {file: guide.txt, title: A guide}}
data:
  areas: {type: list, min_items: 1, max_items: 2, unique_items: true}
initial: open
states:
  open: {cites: {source: guide, para: "1"}}
  closed: {terminal: true, cites: {source: guide, para: "1"}}
transitions:
  - {trigger: close, from: open, to: closed, cites: {source: guide, para: "1"}}
"""


def test_max_items_and_unique_items_bound_start_data() -> None:
    """Start data carry no guards: the field's own bounds refuse a list too long or with a repeat, each named."""
    model = compile_definition(load_text(LISTS)).start_model
    assert validate_payload(model, {"areas": ["a", "b"]}, "start") == {"areas": ["a", "b"]}
    with pytest.raises(InvalidData, match="areas: List should have at most 2 items after validation, not 3"):
        validate_payload(model, {"areas": ["a", "b", "c"]}, "start")
    with pytest.raises(InvalidData, match="areas: each item may be given once; repeated: a"):
        validate_payload(model, {"areas": ["a", "a"]}, "start")


@pytest.mark.parametrize(
    ("field", "says"),
    [
        ("{type: string, max_items: 2}", "'max_items' only applies to list fields"),
        ("{type: string, unique_items: true}", "'unique_items' only applies to list fields"),
        ("{type: list, min_items: 3, max_items: 2}", "'max_items' (2) is less than 'min_items' (3)"),
    ],
)
def test_a_bound_that_cannot_work_is_a_load_error(field: str, says: str) -> None:
    with pytest.raises(DefinitionError, match=re.escape(says)):
        load_text(LISTS.replace("{type: list, min_items: 1, max_items: 2, unique_items: true}", field))
