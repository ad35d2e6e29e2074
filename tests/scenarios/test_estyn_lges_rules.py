"""Estyn LGES rules that cannot be bypassed (issue 10): notified dates kept, the authority's entitlements, list bounds.

Source: 004_c25b9f45cba4d4fe.txt, Part 1, cited by section as the workflow file
does. Each bypass is tried through the engine, the command line (a subprocess
on a real SQLite file) and HTTP, and each refusal leaves the store unchanged.
Dates are worked out by hand in the comments (Wales: Mon 19 Sep 2022 was the
state funeral, a bank holiday).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from laworkflow import GuardFailed, InvalidData, TriggerNotAllowed
from laworkflow.keys import Keys

from .test_estyn_lges import (
    CONCERN,
    DISCUSSION,
    FINAL,
    LEADS,
    LGES,
    NOT_CONCERN,
    QUESTIONS,
    RECIPIENTS,
    TEAM,
    draft,
    fed_back,
    in_core_week,
    planned,
    scheduled,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from laworkflow.http.app import create_app

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
START = "2022-06-01T09:00:00+01:00"


def stored(engine) -> list[tuple]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAWORKFLOW_", "POSTGRES_"))}
    command = [sys.executable, "-m", "laworkflow.cli", "--workflows", str(WORKFLOWS), "--store", f"sqlite:///{db}", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def refused_by_cli(engine, db: Path, case, trigger: str, data: dict, at: str, needle: str) -> None:
    """`laworkflow fire` refuses: exit 1, one `error:` line naming the rule, nothing written."""
    before = stored(engine)
    run = cli(db, "fire", str(case), trigger, "--at", at, "--actor", "backoffice", "--data", json.dumps(data))
    lines = run.stderr.splitlines()
    assert run.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], run.stderr
    assert stored(engine) == before


def refused_by_http(engine, case, trigger: str, data: dict, at: str, needle: str) -> None:
    """POST /v1/cases/{id}/fire refuses: 409 guard_failed (or 422 invalid_data), JSON, nothing written."""
    keys = Keys(engine)
    name = f"backoffice-{len(keys.list())}"
    key = keys.issue(name, "inspector", by="setup")
    before = stored(engine)
    with TestClient(create_app(engine)) as client:
        response = client.post(f"/v1/cases/{case}/fire", json={"trigger": trigger, "data": data, "at": at}, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (409, 422), response.text
    assert response.json()["error"]["code"] in ("guard_failed", "invalid_data") and needle in response.json()["error"]["message"]
    assert stored(engine) == before


def sqlite_engine(make_engine, tmp_path: Path):
    db = tmp_path / "estyn.sqlite"
    return make_engine(f"sqlite:///{db}", start=START), db


def draft_sent(engine, case):
    """The draft goes on Mon 17 Oct 2022; the authority's five working days: 18, 19, 20, 21, Mon 24 Oct."""
    engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
    return case


def copy_sent(engine, case):
    """Comments Fri 21 Oct, final Mon 24 Oct (publication Mon 14 Nov), embargoed copy Mon 7 Nov."""
    engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": []}, actor="la", at="2022-10-21T12:00")
    engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-24T10:00")
    engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-07"}, actor="estyn", at="2022-11-07T10:00")
    return case


class TestNotifiedDatesKept:
    """Part 1, Contacting the local authority (ten weeks' notice); Surveys (three weeks before); During the core inspection week."""

    def test_the_core_week_does_not_begin_before_the_notified_day_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = planned(engine)
        engine.run_due(until="2022-08-15T09:00")  # the surveys open on Mon 15 Aug (timer)
        # Thu 1 Sep 2022 is before Mon 5 Sep, the first day of the notified core week.
        with pytest.raises(GuardFailed, match="core_week_start passed 'on core_week_start'"):
            engine.fire(case, "begin_core_week", actor="ri", at="2022-09-01T09:00")
        refused_by_cli(engine, db, case, "begin_core_week", {}, "2022-09-01T09:00", "core_week_start passed")
        refused_by_http(engine, case, "begin_core_week", {}, "2022-09-01T09:00", "core_week_start passed")
        refused_by_http(engine, case, "begin_core_week", {"core_week_override_reason": " "}, "2022-09-01T09:00", "core_week_override_reason")
        assert engine.get(case).state == "surveys_open"
        # On the notified day the timer begins it (tested in test_estyn_lges); by hand it is accepted on that day too.
        assert engine.fire(case, "begin_core_week", actor="ri", at="2022-09-05T08:00").state == "core_week"

    def test_an_earlier_core_week_is_a_recorded_reasoned_exception(self, make_engine):
        engine = make_engine(start=START)
        case = planned(engine)
        engine.run_due(until="2022-08-15T09:00")
        reason = "authority asked to avoid the week of its budget council"
        view = engine.fire(case, "begin_core_week", {"core_week_override_reason": reason}, actor="ri", at="2022-09-01T09:00")
        assert (view.state, view.data["core_week_override_reason"]) == ("core_week", reason)
        assert view.timers == {}  # the timer of 5 September is cancelled as the state is left

    def test_the_surveys_do_not_open_before_three_weeks_before_the_core_week(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = planned(engine)
        # 3 weeks before Mon 5 Sep 2022 = Mon 15 Aug; Fri 12 Aug is before it.
        with pytest.raises(GuardFailed, match="core_week_start passed '3 weeks before core_week_start'"):
            engine.fire(case, "open_surveys", actor="ri", at="2022-08-12T09:00")
        refused_by_cli(engine, db, case, "open_surveys", {}, "2022-08-12T09:00", "core_week_start passed")
        refused_by_http(engine, case, "open_surveys", {}, "2022-08-12T09:00", "core_week_start passed")
        view = engine.fire(case, "open_surveys", {"surveys_override_reason": "school holidays end early"}, actor="ri", at="2022-08-12T09:00")
        assert view.state == "surveys_open"

    def test_preliminary_activities_on_time_need_no_reason(self, make_engine):
        engine = make_engine(start=START)
        case = planned(engine)
        engine.run_due(until="2022-08-15T09:00")
        # Mon 22 Aug 2022, the first day of the week two weeks before Mon 5 Sep.
        view = engine.fire(case, "brief_on_preliminary_activities", {"interviewed": ["headteachers"]}, actor="ri", at="2022-08-22T16:00")
        assert view.deadlines["preliminary_activities"]["status"] == "met"


class TestEntitlements:
    """Part 1, After the inspection: The inspection report; Health, safety and well-being issues."""

    def test_the_draft_records_the_day_it_went(self, make_engine):
        engine = make_engine(start=START)
        case = fed_back(engine)
        with pytest.raises(GuardFailed, match="draft_sent_on within"):
            engine.fire(case, "send_draft_report", draft(engine, case, "2022-10-10"), actor="ri", at="2022-10-17T10:00")
        with pytest.raises(InvalidData, match="draft_sent_on"):
            engine.fire(case, "send_draft_report", {k: v for k, v in draft(engine, case).items() if k != "draft_sent_on"}, actor="ri", at="2022-10-17T10:00")

    def test_not_final_before_five_working_days_for_factual_accuracy_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = draft_sent(engine, fed_back(engine))
        engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": []}, actor="la", at="2022-10-17T11:00")
        final = FINAL
        with pytest.raises(GuardFailed, match="draft_sent_on passed '5 working days'"):
            engine.fire(case, "finalise_report", final, actor="ri", at="2022-10-17T11:00")  # an hour after the draft
        refused_by_cli(engine, db, case, "finalise_report", final, "2022-10-21T16:00", "draft_sent_on passed")  # Fri: the fourth working day
        refused_by_http(engine, case, "finalise_report", final, "2022-10-21T16:00", "draft_sent_on passed")
        assert engine.fire(case, "finalise_report", final, actor="ri", at="2022-10-24T10:00").state == "report_final"

    def test_not_published_before_five_working_days_after_the_embargoed_copy_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = fed_back(engine)
        engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
        engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-24T10:00")
        # The copy went late, on Wed 9 Nov: five working days are 10, 11, 14, 15, Wed 16 Nov.
        engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-09"}, actor="estyn", at="2022-11-09T10:00")
        with pytest.raises(GuardFailed, match="embargoed_copy_sent_on passed '5 working days'"):
            engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-09T11:00")  # the day the copy went
        refused_by_cli(engine, db, case, "publish_report", RECIPIENTS, "2022-11-15T09:00", "embargoed_copy_sent_on passed")
        refused_by_http(engine, case, "publish_report", RECIPIENTS, "2022-11-15T09:00", "embargoed_copy_sent_on passed")
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-16T09:00")
        assert view.state == "published" and view.deadlines["publication"]["status"] == "met_late"

    def test_a_serious_risk_case_does_not_close_without_the_well_being_letter_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", {**NOT_CONCERN, "serious_health_safety_risk": True}, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "give_formal_feedback", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
        copy_sent(engine, draft_sent(engine, case))
        engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan"]}, actor="la", at="2023-02-10T12:00")
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        with pytest.raises(GuardFailed, match="well_being_letters ge 1"):
            engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00")
        refused_by_cli(engine, db, case, "close", {}, "2023-02-21T10:00", "well_being_letters")
        refused_by_http(engine, case, "close", {}, "2023-02-21T10:00", "well_being_letters")
        engine.fire(case, "send_well_being_letter", actor="estyn", at="2023-02-21T10:00")
        assert engine.fire(case, "close", actor="estyn", at="2023-02-21T11:00").state == "closed"

    def test_a_concern_with_a_serious_risk_is_not_published_without_the_well_being_letter(self, make_engine):
        """The inspection case of an authority causing significant concern ends at publication, so the letter goes first."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", {**CONCERN, "serious_health_safety_risk": True}, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
        engine.fire(case, "inform_assistant_director", {"director": "assistant_director"}, actor="ri", at="2022-09-09T09:15")
        engine.fire(case, "give_formal_feedback_of_concern", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
        engine.fire(case, "complete_reporting_judgement_form", actor="ri", at="2022-09-13T16:00")
        engine.fire(case, "hmci_agrees", actor="hmci", at="2022-09-20T10:00")
        engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-09-21T10:00")
        copy_sent(engine, draft_sent(engine, case))
        before = stored(engine)
        with pytest.raises(GuardFailed, match="well_being_letters ge 1"):
            engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert stored(engine) == before
        engine.fire(case, "send_well_being_letter", actor="estyn", at="2022-11-14T08:00")
        assert engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00").state == "follow_up_started"


class TestListBounds:
    """Part 1, Preparing local inspection questions ("at least four ... usually no more than eight"); Planning the inspection (a lead per question)."""

    def test_no_more_than_eight_questions_draft_or_final(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = scheduled(engine)
        nine = [f"Q{n}" for n in range(1, 10)]
        with pytest.raises(GuardFailed, match="draft_questions max_items 8"):
            engine.fire(case, "give_notice", {**TEAM, "draft_questions": nine}, actor="ic", at="2022-06-27T10:00")
        refused_by_cli(engine, db, case, "give_notice", {**TEAM, "draft_questions": nine}, "2022-06-27T10:00", "draft_questions max_items")
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": nine[:8]}, actor="ic", at="2022-06-27T10:00")
        with pytest.raises(GuardFailed, match="final_questions max_items 8"):
            engine.fire(case, "finalise_questions", {"final_questions": nine}, actor="ri", at="2022-07-07T15:00")
        assert engine.fire(case, "finalise_questions", {"final_questions": nine[:8]}, actor="ri", at="2022-07-07T15:00").state == "planning"

    def test_more_than_eight_is_an_exception_the_case_records_at_its_start(self, make_engine):
        engine = make_engine(start=START)
        case = engine.start(LGES, {"authority": "Powys"}, actor="estyn", at="2022-06-01T09:00", parameters={"questions_maximum": 9})
        engine.fire(case, "schedule_inspection", {"core_week_start": "2022-09-05", "core_week_end": "2022-09-09"}, actor="estyn", at="2022-06-01T10:00")
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": [f"Q{n}" for n in range(1, 10)]}, actor="ic", at="2022-06-27T10:00")
        assert len(view.data["draft_questions"]) == 9

    def test_exactly_one_lead_inspector_per_question(self, make_engine):
        engine = make_engine(start=START)
        case = scheduled(engine)
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-07T15:00")
        with pytest.raises(GuardFailed, match="question_leads min_items"):
            engine.fire(case, "assign_question_leads", {"question_leads": LEADS[:4]}, actor="ri", at="2022-07-08T10:00")
        with pytest.raises(GuardFailed, match="question_leads max_items"):
            engine.fire(case, "assign_question_leads", {"question_leads": [*LEADS, "HMI F"]}, actor="ri", at="2022-07-08T10:00")
        assert engine.fire(case, "assign_question_leads", {"question_leads": LEADS}, actor="ri", at="2022-07-08T10:00").data["question_leads"] == LEADS


class TestTeamAndConduct:
    """Part 1, The inspection team; Code of conduct for inspectors; Expectations of providers."""

    @pytest.mark.parametrize(("field", "short"), [("peer_inspectors", ["one peer"]), ("audit_wales_inspectors", [])])
    def test_the_team_named_at_notice_has_two_peer_inspectors_and_an_audit_wales_inspector(self, make_engine, field, short):
        engine = make_engine(start=START)
        case = scheduled(engine)
        before = stored(engine)
        with pytest.raises(InvalidData, match=field):
            engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS, field: short}, actor="ic", at="2022-06-27T10:00")
        assert stored(engine) == before

    def test_conflicts_of_interest_are_raised_before_the_core_week_and_concerns_during_it(self, make_engine):
        engine = make_engine(start=START)
        case = planned(engine)
        view = engine.fire(
            case,
            "raise_conflict_of_interest",
            {"raised_by": "local_authority", "conflict": "peer inspector was our head of service"},
            actor="la",
            at="2022-07-11T10:00",
        )
        assert view.data["conflicts_of_interest_raised"] == 1
        with pytest.raises(InvalidData, match="conflict"):
            engine.fire(case, "raise_conflict_of_interest", {"raised_by": "inspector", "conflict": ""}, actor="hmi", at="2022-07-11T11:00")
        engine.run_due(until="2022-09-05T08:30")
        assert engine.get(case).state == "core_week"
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "raise_conflict_of_interest", {"raised_by": "inspector", "conflict": "late"}, actor="hmi", at="2022-09-05T09:00")
        view = engine.fire(
            case,
            "raise_concern_about_inspection",
            {"concern": "too many meetings on one day", "raised_with": "HMI Reporting"},
            actor="la",
            at="2022-09-06T12:00",
        )
        assert view.data["inspection_concerns_raised"] == 1


def findings(engine, case) -> list[str]:
    return [f["id"] for f in engine.get(case).findings]


def refused(engine, case, trigger: str, data: dict | None, at: str, error: type[Exception], match: str, actor: str = "estyn") -> None:
    """The engine refuses the command, naming the rule, and the store is as it was."""
    before = stored(engine)
    with pytest.raises(error, match=match):
        engine.fire(case, trigger, data, actor=actor, at=at)
    assert stored(engine) == before


class TestLegalBasis:
    """Introduction, Legal basis: s38 Education Act 1997, HMCI 'may, and, if requested to do so by the Secretary of State, shall' inspect."""

    def test_a_request_of_the_welsh_ministers_is_recorded_before_notice_with_what_it_asks(self, make_engine):
        engine = make_engine(start=START)
        case = engine.start(LGES, {"authority": "Powys"}, actor="estyn", at="2022-06-01T09:00")
        request = {"requested_on": "2022-05-30", "request": "Minister for Education: inspect Powys education services this autumn"}
        refused(engine, case, "record_welsh_ministers_request", {**request, "request": "  "}, "2022-06-01T09:30", InvalidData, "request")
        refused(engine, case, "record_welsh_ministers_request", {"request": request["request"]}, "2022-06-01T09:30", InvalidData, "requested_on")
        view = engine.fire(case, "record_welsh_ministers_request", request, actor="estyn", at="2022-06-01T09:30")
        assert (view.state, view.data["welsh_ministers_requests"], view.data["requested_on"]) == ("selected", 1, "2022-05-30")
        engine.fire(case, "schedule_inspection", {"core_week_start": "2022-09-05", "core_week_end": "2022-09-09"}, actor="estyn", at="2022-06-01T10:00")
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "record_welsh_ministers_request", request, actor="estyn", at="2022-06-28T10:00")


class TestTeamAtNotice:
    """Part 1, The inspection team: the reporting inspector "will always be HMI"; a LALI "will normally" be deputy."""

    def test_a_reporting_inspector_who_is_not_hmi_is_refused_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = scheduled(engine)
        notice = {**TEAM, "draft_questions": QUESTIONS, "reporting_inspector_is_hmi": False}
        refused(engine, case, "give_notice", notice, "2022-06-27T10:00", GuardFailed, "reporting_inspector_is_hmi eq True")
        refused_by_cli(engine, db, case, "give_notice", notice, "2022-06-27T10:00", "reporting_inspector_is_hmi")
        refused_by_http(engine, case, "give_notice", notice, "2022-06-27T10:00", "reporting_inspector_is_hmi")
        view = engine.fire(case, "give_notice", {**notice, "reporting_inspector_is_hmi": True}, actor="ic", at="2022-06-27T10:00")
        assert view.state == "notified" and findings(engine, case) == []

    def test_a_deputy_who_is_not_a_link_inspector_is_a_finding_not_a_refusal(self, make_engine):
        engine = make_engine(start=START)
        case = scheduled(engine)
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS, "deputy_is_link_inspector": False}, actor="ic", at="2022-06-27T10:00")
        assert view.state == "notified"
        assert findings(engine, case) == ["deputy_not_a_link_inspector"]


class TestReportForm:
    """Part 1, The inspection report ("the report will take the following form"); Part 2 (areas, aspects, questions, summary)."""

    @pytest.mark.parametrize(
        ("field", "item"),
        [("report_sections", s) for s in ("about_the_local_authority", "summary", "recommendations", "what_happens_next", "main_findings")]
        + [("main_findings_areas", a) for a in ("outcomes", "education_services", "leadership_and_management")]
        + [
            ("aspects_reported", a)
            for a in (
                "standards_and_progress_overall",
                "standards_and_progress_of_specific_groups",
                "well_being_and_attitudes_to_learning",
                "quality_and_effectiveness_of_leaders_and_managers",
                "self_evaluation_and_improvement_planning",
                "professional_learning",
                "safeguarding_arrangements",
                "use_of_resources",
            )
        ],
    )
    def test_the_draft_is_not_sent_without_each_section_area_and_aspect(self, make_engine, field, item):
        engine = make_engine(start=START)
        case = fed_back(engine)
        full = draft(engine, case)
        short = {**full, field: [x for x in full[field] if x != item]}
        refused(engine, case, "send_draft_report", short, "2022-10-17T10:00", GuardFailed, f"{field} contains '{item}'", actor="ri")
        assert engine.fire(case, "send_draft_report", full, actor="ri", at="2022-10-17T10:00").state == "factual_accuracy_check"

    def test_a_draft_missing_a_section_is_refused_by_cli_and_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = fed_back(engine)
        short = draft(engine, case, report_sections=["about_the_local_authority", "summary", "recommendations", "main_findings"])
        refused_by_cli(engine, db, case, "send_draft_report", short, "2022-10-17T10:00", "report_sections contains 'what_happens_next'")
        refused_by_http(engine, case, "send_draft_report", short, "2022-10-17T10:00", "report_sections contains 'what_happens_next'")

    def test_each_final_question_is_answered_separately_no_fewer_no_more(self, make_engine):
        engine = make_engine(start=START)
        case = fed_back(engine)
        answers = draft(engine, case)["questions_reported"]
        assert len(answers) == len(QUESTIONS) == 5
        refused(
            engine,
            case,
            "send_draft_report",
            draft(engine, case, questions_reported=answers[:4]),
            "2022-10-17T10:00",
            GuardFailed,
            "questions_reported min_items",
        )
        more = draft(engine, case, questions_reported=[*answers, "answer to a question nobody asked"])
        refused(engine, case, "send_draft_report", more, "2022-10-17T10:00", GuardFailed, "questions_reported max_items")
        assert engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00").data["questions_reported"] == answers

    def test_the_summary_says_whether_follow_up_is_required_as_the_judgement_stands(self, make_engine):
        engine = make_engine(start=START)
        case = fed_back(engine)  # not causing significant concern
        wrong = draft(engine, case, summary_states_follow_up=True)
        refused(engine, case, "send_draft_report", wrong, "2022-10-17T10:00", GuardFailed, "summary_states_follow_up eq False", actor="ri")
        assert engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00").data["summary_states_follow_up"] is False

        other = make_engine(start=START)
        concern = fed_back(other, concern=True)
        other.fire(concern, "complete_reporting_judgement_form", actor="ri", at="2022-09-13T16:00")
        other.fire(concern, "hmci_agrees", actor="hmci", at="2022-09-20T10:00")
        refused(other, concern, "send_draft_report", draft(other, concern, summary_states_follow_up=False), "2022-10-17T10:00", GuardFailed, "eq True")
        assert other.fire(concern, "send_draft_report", draft(other, concern), actor="ri", at="2022-10-17T10:00").state == "factual_accuracy_check"

    def test_about_the_local_authority_not_agreed_is_a_finding_at_finalising(self, make_engine):
        """Part 2, About the local authority: the RI "normally agrees the content" with the authority; else decides it."""
        engine = make_engine(start=START)
        case = draft_sent(engine, fed_back(engine))
        view = engine.fire(case, "finalise_report", {**FINAL, "about_the_local_authority_agreed": False}, actor="ri", at="2022-10-24T10:00")
        assert view.state == "report_final" and findings(engine, case) == ["about_the_local_authority_not_agreed"]
        agreed = make_engine(start=START)
        other = draft_sent(agreed, fed_back(agreed))
        agreed.fire(other, "finalise_report", FINAL, actor="ri", at="2022-10-24T10:00")
        assert findings(agreed, other) == []


class TestUsually:
    """'Usually' and 'normally' with a date or a count the engine knows: findings (warnings), never refusals."""

    @pytest.mark.parametrize("concern", [False, True], ids=["not-concern", "concern"])
    def test_formal_feedback_after_the_last_day_of_the_core_week_is_a_finding(self, make_engine, concern):
        """Part 1, Formal feedback "at the end of the on-site part": core week Mon 5 - Fri 9 Sep 2022; Mon 12 Sep is after it."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", CONCERN if concern else NOT_CONCERN, actor="team", at="2022-09-08T18:00")
        if concern:
            engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
            engine.fire(case, "inform_assistant_director", {"director": "assistant_director"}, actor="ri", at="2022-09-09T09:15")
        trigger = "give_formal_feedback_of_concern" if concern else "give_formal_feedback"
        view = engine.fire(case, trigger, {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-12T15:00")
        assert view.state in ("report_writing", "concern_reporting")
        assert findings(engine, case) == ["feedback_after_the_core_week"]

    def test_formal_feedback_on_the_last_day_of_the_core_week_is_no_finding(self, make_engine):
        engine = make_engine(start=START)
        case = fed_back(engine)  # feedback on Fri 9 Sep 2022, core_week_end
        assert findings(engine, case) == []

    def test_more_than_three_officers_with_a_question_lead_is_a_finding(self, make_engine):
        """Part 1, Initial meeting: "usually no more than three officers"."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        engine.fire(case, "meet_question_lead", {"question": QUESTIONS[0], "officers": ["A", "B", "C"]}, actor="hmi", at="2022-09-08T18:30")
        assert findings(engine, case) == []
        view = engine.fire(case, "meet_question_lead", {"question": QUESTIONS[1], "officers": ["A", "B", "C", "D"]}, actor="hmi", at="2022-09-08T18:45")
        assert view.state == "core_week" and findings(engine, case) == ["more_than_three_officers_with_a_question_lead"]

    @pytest.mark.parametrize(("day", "expected"), [("2022-11-14T09:00", []), ("2022-11-15T09:00", ["published_after_the_embargo_period"])])
    def test_publication_later_than_five_working_days_after_the_embargoed_copy_is_a_finding(self, make_engine, day, expected):
        """Copy Mon 7 Nov 2022: the fifth working day after it is Mon 14 Nov (8, 9, 10, 11, 14); Tue 15 Nov is later."""
        engine = make_engine(start=START)
        case = copy_sent(engine, draft_sent(engine, fed_back(engine)))
        assert engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at=day).state == "published"
        assert findings(engine, case) == expected


def published_with_strengths(engine, strengths: list[str] | None):
    """An authority not causing concern, judged with significant strengths in the given areas, published Mon 14 Nov 2022; plans updated."""
    case = in_core_week(engine)
    judgement = {**NOT_CONCERN, **({"significant_strengths_in": strengths} if strengths is not None else {})}
    engine.fire(case, "agree_judgement", judgement, actor="team", at="2022-09-08T18:00")
    engine.fire(case, "give_formal_feedback", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
    copy_sent(engine, draft_sent(engine, case))
    engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
    engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan"]}, actor="la", at="2023-02-10T12:00")
    return case


class TestExcellentPractice:
    """Part 1, After the inspection: Promoting excellence in local government education services."""

    def test_work_is_shared_in_an_area_of_significant_strength_after_publication(self, make_engine):
        engine = make_engine(start=START)
        case = published_with_strengths(engine, ["education_services"])
        refused(
            engine,
            case,
            "share_excellent_practice",
            {"area": "outcomes", "practice": "case study"},
            "2023-02-15T10:00",
            GuardFailed,
            "significant_strengths_in contains",
        )
        refused(engine, case, "share_excellent_practice", {"area": "education_services", "practice": " "}, "2023-02-15T10:00", InvalidData, "practice")
        view = engine.fire(case, "share_excellent_practice", {"area": "education_services", "practice": "ALN case study"}, actor="estyn", at="2023-02-15T10:00")
        assert view.data["excellent_practice_shared"] == 1
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00")
        assert findings(engine, case) == []

    def test_closing_without_sharing_significant_strengths_is_a_finding(self, make_engine):
        engine = make_engine(start=START)
        case = published_with_strengths(engine, ["leadership_and_management"])
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        assert engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00").state == "closed"
        assert findings(engine, case) == ["significant_strengths_not_shared"]

    @pytest.mark.parametrize("strengths", [None, []], ids=["absent", "empty"])
    def test_without_significant_strengths_nothing_is_shared_and_closing_is_no_finding(self, make_engine, strengths):
        engine = make_engine(start=START)
        case = published_with_strengths(engine, strengths)
        refused(
            engine,
            case,
            "share_excellent_practice",
            {"area": "outcomes", "practice": "case study"},
            "2023-02-15T10:00",
            GuardFailed,
            "significant_strengths_in",
        )
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00")
        assert findings(engine, case) == []


class TestLinkInspectorsAfterPublication:
    """Part 1, Following publication of the report: the LALIs discuss the updated plans with senior leaders, including the chair of scrutiny."""

    def test_the_plans_are_discussed_only_once_updated(self, make_engine):
        engine = make_engine(start=START)
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", NOT_CONCERN, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "give_formal_feedback", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
        copy_sent(engine, draft_sent(engine, case))
        engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        refused(engine, case, "discuss_updated_plans", DISCUSSION, "2023-01-10T10:00", GuardFailed, "updated_plans present")
        engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan"]}, actor="la", at="2023-02-10T12:00")
        assert engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00").data["monitoring_arrangements_suitable"] is True

    def test_the_discussion_includes_the_chair_of_scrutiny_and_names_the_link_inspectors(self, make_engine):
        engine = make_engine(start=START)
        case = published_with_strengths(engine, None)
        without_chair = {**DISCUSSION, "discussed_with": ["chief_executive", "director_of_education"]}
        refused(engine, case, "discuss_updated_plans", without_chair, "2023-02-20T10:00", GuardFailed, "discussed_with contains 'chair_of_scrutiny'")
        refused(engine, case, "discuss_updated_plans", {**DISCUSSION, "link_inspectors": []}, "2023-02-20T10:00", InvalidData, "link_inspectors")
        view = engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        assert view.data["discussed_with"] == DISCUSSION["discussed_with"]

    def test_not_closed_before_the_updated_plans_are_discussed_by_engine_cli_or_http(self, make_engine, tmp_path):
        engine, db = sqlite_engine(make_engine, tmp_path)
        case = published_with_strengths(engine, None)
        refused(engine, case, "close", None, "2023-02-21T10:00", GuardFailed, "monitoring_arrangements_suitable present")
        refused_by_cli(engine, db, case, "close", {}, "2023-02-21T10:00", "monitoring_arrangements_suitable")
        refused_by_http(engine, case, "close", {}, "2023-02-21T10:00", "monitoring_arrangements_suitable")
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        assert engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00").state == "closed"

    def test_a_serious_risk_case_with_its_letter_is_not_closed_before_the_discussion(self, make_engine):
        engine = make_engine(start=START)
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", {**NOT_CONCERN, "serious_health_safety_risk": True}, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "give_formal_feedback", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
        engine.fire(case, "send_well_being_letter", actor="estyn", at="2022-09-12T10:00")
        copy_sent(engine, draft_sent(engine, case))
        engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan"]}, actor="la", at="2023-02-10T12:00")
        refused(engine, case, "close", None, "2023-02-21T10:00", GuardFailed, "monitoring_arrangements_suitable present")
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        assert engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00").state == "closed"
