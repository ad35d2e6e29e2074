"""Each list a document says must hold at least N items is refused with fewer (issue 10, item 5).

The table is the specification, per workflow and per trigger (`start`: the
data a case starts with): `field>=N` where the document asks for at least N
(an authority's concerns, the schools of Phase 1, two peer inspectors, ...).
Removing a field's `min_items` from a definition fails here, which is what
`scripts/mutate_rules.py` checks; the citations are the transitions' own.
A bound written as a guard (`min_items`/`max_items` ops against a parameter
or another field) is tested where the scenario reaches it.
"""

from __future__ import annotations

import pytest

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.machine import validate_payload
from laworkflow.errors import InvalidData
from test_required_data import SAMPLE, _declaring

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
        "start": "inadequate_areas>=1",  # seed 003: monitoring follows an inadequate judgement
        "record_continued_inadequacy": "inadequate_areas>=1",
    },
    "ofsted-reinspection@1": {
        "start": "inadequate_areas>=1",
    },
}


def _bounds() -> list[object]:
    return [
        pytest.param(key, trigger, name, int(least), id=f"{key}:{trigger}:{name}>={least}")
        for key, triggers in MIN_ITEMS.items()
        for trigger, bounds in triggers.items()
        for name, least in (bound.split(">=") for bound in bounds.split())
    ]


@pytest.mark.parametrize(("key", "trigger", "name", "least"), _bounds())
def test_a_list_shorter_than_its_bound_is_refused(catalog: Catalog, key: str, trigger: str, name: str, least: int) -> None:
    for model, payload in _declaring(catalog, key, trigger, name):
        item = payload[name][0] if payload[name] else SAMPLE["string"]
        payload[name] = [item] * least
        validate_payload(model, payload, f"{key} {trigger}")  # exactly the bound passes
        payload[name] = [item] * (least - 1)
        with pytest.raises(InvalidData, match=rf"\b{name}: List should have at least {least} item"):
            validate_payload(model, payload, f"{key} {trigger}")
