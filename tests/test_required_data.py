"""Every fact the documents make the back office record is refused when missing (issue 10, item 5).

The two tables below are the specification, written per workflow and per
trigger (`start`: the data a case starts with): the fields a person must give,
and among them the reasons that must say something (`non_empty`: "" or
whitespace is no reason). Each workflow's transitions cite the paragraph that
asks for the fact; the table restates the requirement so that removing it from
a definition (`required: false`, or `non_empty` dropped) fails here, which is
what `scripts/mutate_rules.py` checks.

For every transition of a listed trigger that declares a listed field, a
payload with every declared field is accepted by the transition's data model,
the same payload without the field is refused naming it, and (for
`NON_EMPTY`) the field given as whitespace is refused. A refused payload
never reaches the store: `tests/test_api_refusals.py` and
`tests/test_cli_refusals.py` show an InvalidData refusal writes nothing.

The other direction is a completeness check: a field a definition requires and
the table does not list fails `test_every_required_field_is_listed`, so a new
requirement comes with its line here.
"""

from __future__ import annotations

from typing import Any

import pytest

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.derived import derived_fields
from laworkflow.definitions.machine import CompiledWorkflow, validate_payload
from laworkflow.definitions.model import DataField
from laworkflow.errors import InvalidData

# seeds: ofsted-laassi@1 000 (2013 framework); @2, @3 001, 002 (2014 frameworks); ofsted-monitoring*, -reinspection 003
# (2016 arrangements); estyn-* 004 (LGES guidance from 2022).
REQUIRED: dict[str, dict[str, str]] = {
    "estyn-follow-up@1": {
        "start": "authority inspection_end",
        "record_improvement_conference": "improvement_conference_on last_milestone_on",
        "record_progress_conference": "last_progress_conference_on last_milestone_on",
        "plan_monitoring_visit": "reasons",
        "defer_decision": "reasons",
        "plan_further_progress_conference": "reasons",
        "decide_after_deferral": "proceed_with_monitoring_visit reasons",
        "record_monitoring_visit": "monitoring_visit_on",
        "record_monitoring_report": "sufficient_progress last_milestone_on",
        "record_link_inspector_meeting": "notes",
    },
    "estyn-improvement-conference@1": {
        "start": "authority",
        "agree_date": "conference_date",
        "give_formal_notice": "invited",
        "send_letter": "recipients assurance_on_understanding assurance_on_planning",
    },
    "estyn-lges@1": {
        "start": "authority",
        "schedule_inspection": "core_week_start core_week_end",
        "record_welsh_ministers_request": "requested_on request",
        "give_notice": (
            "reporting_inspector reporting_inspector_is_hmi deputy_reporting_inspector deputy_is_link_inspector inspection_coordinator draft_questions "
            "peer_inspectors audit_wales_inspectors"
        ),
        "raise_conflict_of_interest": "raised_by conflict",
        "raise_concern_about_inspection": "concern raised_with",
        "discuss_questions": "local_authority_views",
        "finalise_questions": "final_questions",
        "assign_question_leads": "question_leads",
        "open_surveys": "surveys_override_reason",
        "brief_on_preliminary_activities": "interviewed preliminary_override_reason",
        "begin_core_week": "core_week_override_reason",
        "alert_director_of_education": "risk",
        "hold_initial_meeting": "attendees",
        "meet_question_lead": "question officers",
        "hold_professional_dialogue": "with_officer",
        "agree_judgement": "causing_significant_concern safeguarding_meets_requirements serious_health_safety_risk strengths areas_for_improvement recommendations",
        "inform_assistant_director": "director",
        "call_for_information": "request",
        "hmci_disagrees": "reasons causing_significant_concern",
        "send_draft_report": "draft_sent_on report_sections main_findings_areas aspects_reported questions_reported summary_states_follow_up",
        "receive_factual_accuracy_comments": "factual_errors",
        "finalise_report": "publication_date about_the_local_authority_agreed",
        "send_embargoed_copy": "embargoed_copy_sent_on",
        "publish_report": "recipients",
        "hold_scrutiny_committee_meeting": "observing_inspector",
        "update_plans": "updated_plans",
        "share_excellent_practice": "area practice",
        "discuss_updated_plans": "monitoring_arrangements_suitable link_inspectors discussed_with",
    },
    "estyn-monitoring-visit@1": {
        "start": "authority",
        "agree_dates": "visit_start visit_end",
        "end_visit": "no_longer_causing_significant_concern",
        "publish_report": "progress_on_recommendations summative_commentary sufficient_progress",
    },
    "estyn-progress-conference@1": {
        "start": "authority",
        "agree_date": "conference_date",
        "give_formal_notice": "invited",
        "send_letter": "recipients assurance_on_impact",
    },
    "ofsted-laassi@1": {
        "start": "authority concerns",
        "decide_not_to_inspect": "reason",
        "give_notice": "on_site_start lead_inspector inspectors",
        "defer_inspection": "deferral_ground deferral_reason",
        "begin_on_site": "early_start_reason",
        "notify_incomplete": "notification",
        "record_evidence": "notebook entry",
        "extend_on_site": "reason",
        "give_feedback": "strengths weaknesses",
        "leave_site": "feedback_return_reason",
        "give_feedback_on_return": "strengths weaknesses",
        "declare_incomplete": "reason",
        "make_judgement": "effective strengths weaknesses recommendations",
        "receive_factual_accuracy_comments": "comments",
        "send_letter": "recipients",
        "receive_statement_of_action": "actions timetable",
        "raise_concern": "concern raised_by",
        "resolve_concern": "resolution",
        "lodge_complaint": "complaint complainant",
    },
    "ofsted-laassi@2": {
        "start": "authority concerns",
        "decide_not_to_inspect": "reason",
        "give_notice": "on_site_start schools lead_inspector inspectors",
        "record_school_evidence": "school theme entry",
        "complete_phase1": "schools_inspected issues_raised themes_raised",
        "begin_on_site": "early_start_reason",
        "defer_inspection": "deferral_ground deferral_reason",
        "renew_notice": "on_site_start",
        "notify_incomplete": "notification",
        "record_evidence": "theme entry",
        "extend_on_site": "reason",
        "give_feedback": "strengths weaknesses",
        "leave_site": "feedback_return_reason",
        "give_feedback_on_return": "strengths weaknesses",
        "declare_incomplete": "reason",
        "make_judgement": "effective strengths weaknesses recommendations recommendation_themes",
        "make_recommendations": "strengths weaknesses recommendations recommendation_themes",
        "receive_factual_accuracy_comments": "comments",
        "send_letter": "recipients",
        "receive_statement_of_action": "actions timetable",
        "raise_concern": "concern raised_by",
        "resolve_concern": "resolution",
        "lodge_complaint": "complaint complainant",
    },
    "ofsted-laassi@3": {
        "start": "authority concerns",
        "decide_not_to_inspect": "reason",
        "give_notice": "on_site_start schools lead_inspector inspectors",
        "record_school_evidence": "school theme entry",
        "complete_phase1": "schools_inspected issues_raised themes_raised",
        "begin_on_site": "early_start_reason",
        "defer_inspection": "deferral_ground deferral_reason",
        "renew_notice": "on_site_start",
        "notify_incomplete": "notification",
        "record_evidence": "theme entry",
        "extend_on_site": "reason",
        "give_feedback": "strengths weaknesses",
        "leave_site": "feedback_return_reason",
        "give_feedback_on_return": "strengths weaknesses",
        "declare_incomplete": "reason",
        "make_recommendations": "strengths weaknesses recommendations recommendation_themes",
        "receive_factual_accuracy_comments": "comments",
        "send_letter": "recipients",
        "receive_statement_of_action": "actions timetable",
        "raise_concern": "concern raised_by",
        "resolve_concern": "resolution",
        "lodge_complaint": "complaint complainant",
    },
    "ofsted-monitoring-visit@1": {
        "start": "authority visit_number",
        "give_notice": "visit_start lead_inspector",
        "begin_visit": "early_start_reason",
        "record_evidence": "entry",
        "send_letter": "narrative progress_concern",
    },
    "ofsted-monitoring@1": {
        "start": "authority inadequate_areas",
        "submit_action_plan": "action_plan_date",
        "visit_completed": "progress_concern",
        "record_progress_concern": "progress_concern reason",
        "record_view_on_timing": "view_of view",
        "bring_forward_reinspection": "rapid_improvement_evidence reinspection_planned_for",
        "record_continued_inadequacy": "inadequate_areas",
    },
    "ofsted-reinspection@1": {
        "start": "authority inspection_type inadequate_areas",
        "give_notice": "on_site_start lead_inspector",
        "begin_full_inspection": "early_start_reason",
        "begin_post_monitoring_inspection": "early_start_reason",
        "record_evidence": "judgement_area entry",
        "make_judgement": "outcome progress strengths areas_for_improvement",
    },
}

NON_EMPTY: dict[str, dict[str, str]] = {
    "estyn-follow-up@1": {
        "plan_monitoring_visit": "reasons",
        "defer_decision": "reasons",
        "plan_further_progress_conference": "reasons",
        "decide_after_deferral": "reasons",
    },
    "estyn-lges@1": {
        "raise_conflict_of_interest": "conflict",
        "raise_concern_about_inspection": "concern",
        "open_surveys": "surveys_override_reason",
        "brief_on_preliminary_activities": "preliminary_override_reason",
        "begin_core_week": "core_week_override_reason",
        "hmci_disagrees": "reasons",
        "share_excellent_practice": "practice",
        "record_welsh_ministers_request": "request",
    },
    "ofsted-laassi@1": {
        "decide_not_to_inspect": "reason",
        "defer_inspection": "deferral_reason",
        "begin_on_site": "early_start_reason reason",
        "notify_incomplete": "notification",
        "extend_on_site": "reason",
        "leave_site": "feedback_return_reason",
        "declare_incomplete": "reason",
        "receive_statement_of_action": "timetable",
    },
    "ofsted-laassi@2": {
        "decide_not_to_inspect": "reason",
        "begin_on_site": "early_start_reason reason",
        "defer_inspection": "deferral_reason",
        "notify_incomplete": "notification",
        "extend_on_site": "reason",
        "leave_site": "feedback_return_reason",
        "declare_incomplete": "reason",
        "receive_statement_of_action": "timetable",
    },
    "ofsted-laassi@3": {
        "decide_not_to_inspect": "reason",
        "begin_on_site": "early_start_reason reason",
        "defer_inspection": "deferral_reason",
        "notify_incomplete": "notification",
        "extend_on_site": "reason",
        "leave_site": "feedback_return_reason",
        "declare_incomplete": "reason",
        "receive_statement_of_action": "timetable",
    },
    "ofsted-monitoring-visit@1": {
        "begin_visit": "early_start_reason",
        "send_letter": "narrative",
    },
    "ofsted-monitoring@1": {
        "record_progress_concern": "reason",
        "bring_forward_reinspection": "rapid_improvement_evidence",
        "decide_reinspection": "override_reason",
    },
    "ofsted-reinspection@1": {
        "begin_full_inspection": "early_start_reason",
        "begin_post_monitoring_inspection": "early_start_reason",
        "make_judgement": "progress",
    },
}

SAMPLE: dict[str, Any] = {
    "string": "as the documents ask",
    "integer": 1,
    "number": 1.0,
    "boolean": True,
    "date": "2023-03-06",
    "datetime": "2023-03-06T09:00:00+00:00",
}


def _value(spec: DataField) -> Any:
    """A value of a field's type that its model accepts."""
    if spec.type == "enum":
        return (spec.choices or [""])[0]
    if spec.type == "list":
        item = (spec.choices or ["an item"])[0]
        return [item] * max(1, spec.min_items or 0)
    return SAMPLE[spec.type]


def _models(workflow: CompiledWorkflow, trigger: str) -> list[tuple[Any, dict[str, DataField]]]:
    """The data model and declared fields of `start`, or of each transition the trigger takes."""
    definition = workflow.definition
    if trigger == "start":
        derived = derived_fields(definition)
        return [(workflow.start_model, {k: v for k, v in definition.data.items() if k not in derived})]
    found = [(workflow.payload_models[i], t.data) for i, t in enumerate(definition.transitions) if t.trigger == trigger]
    assert found, f"{definition.key} has no trigger {trigger!r}"
    return found


def _cases(table: dict[str, dict[str, str]]) -> list[Any]:
    return [
        pytest.param(key, trigger, name, id=f"{key}:{trigger}:{name}")
        for key, triggers in table.items()
        for trigger, names in triggers.items()
        for name in names.split()
    ]


def _declaring(catalog: Catalog, key: str, trigger: str, name: str) -> list[tuple[Any, dict[str, Any]]]:
    """Each model of the trigger that declares the field, with a payload of every declared field, checked accepted."""
    workflow = catalog.get(key)
    found = []
    for model, fields in _models(workflow, trigger):
        if name not in fields:
            continue
        payload = {field: _value(spec) for field, spec in fields.items()}
        validate_payload(model, payload, f"{key} {trigger}")  # the full payload passes: a refusal below is the field's
        found.append((model, payload))
    assert found, f"no transition of {trigger!r} in {key} declares {name!r}"
    return found


@pytest.mark.parametrize(("key", "trigger", "name"), _cases(REQUIRED))
def test_required_field_missing_is_refused(catalog: Catalog, key: str, trigger: str, name: str) -> None:
    for model, payload in _declaring(catalog, key, trigger, name):
        del payload[name]
        with pytest.raises(InvalidData, match=rf"\b{name}: Field required"):
            validate_payload(model, payload, f"{key} {trigger}")


@pytest.mark.parametrize(("key", "trigger", "name"), _cases(NON_EMPTY))
def test_blank_reason_is_refused(catalog: Catalog, key: str, trigger: str, name: str) -> None:
    for model, payload in _declaring(catalog, key, trigger, name):
        payload[name] = " \t "
        with pytest.raises(InvalidData, match=rf"\b{name}: must not be empty"):
            validate_payload(model, payload, f"{key} {trigger}")


def test_every_required_field_is_listed(catalog: Catalog) -> None:
    unlisted = []
    for workflow in catalog:
        key = workflow.definition.key
        for trigger in ["start", *dict.fromkeys(t.trigger for t in workflow.definition.transitions)]:
            for _, fields in _models(workflow, trigger):
                for name, spec in fields.items():
                    if spec.required and name not in REQUIRED.get(key, {}).get(trigger, "").split():
                        unlisted.append(f"{key} {trigger}: {name}")
                    if spec.non_empty and name not in NON_EMPTY.get(key, {}).get(trigger, "").split():
                        unlisted.append(f"{key} {trigger}: {name} (non_empty)")
    assert not unlisted, "required by a definition, not in this file's tables: " + ", ".join(sorted(set(unlisted)))
