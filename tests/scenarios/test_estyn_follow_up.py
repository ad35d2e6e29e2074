"""Estyn follow-up of an authority causing significant concern (Part 3), simulated date by date.

Workflows: estyn-follow-up-2022.yaml (the parent, started by the inspection's
publication) and its children estyn-improvement-conference-2022.yaml,
estyn-progress-conference-2022.yaml and estyn-monitoring-visit-2022.yaml.
Source: 004_c25b9f45cba4d4fe.txt, Part 3 (p. 43); it has no numbered
paragraphs, so assertions cite "Part 3, <heading>".

Every date asserted was worked out by hand (shown beside it), never read back
from the engine. Windows chosen in the workflow: "around three months" =
earliest 10 weeks, target 3 months, latest 4 months; "around a year" =
earliest 10 months, target 12 months, latest 14 months.

The inspection: core week 5-9 September 2022, judged causing significant
concern, published Monday 14 November 2022 (45 working days, as in the public
example), which starts the follow-up.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from laworkflow import GuardFailed
from laworkflow.audit.verify import verify

from .test_estyn_lges import AREAS, ASPECTS, SECTIONS

LGES = "estyn-lges"
QUESTIONS = ["Q1", "Q2", "Q3", "Q4"]
RECOMMENDATIONS = ["R1 leadership capacity", "R2 self-evaluation", "R3 support for schools causing concern"]
CONCERN = {
    "causing_significant_concern": True,
    "concern_reasons": ["weaknesses_in_senior_leadership"],
    "main_shortcomings": ["leaders lack capacity to improve"],
    "safeguarding_meets_requirements": True,
    "serious_health_safety_risk": False,
    "strengths": [],
    "areas_for_improvement": ["leadership"],
    "recommendations": RECOMMENDATIONS,
}
PUBLICATION = {
    "recipients": [
        "chief_executive",
        "chief_education_officer",
        "council_leader",
        "lead_member_for_education",
        "chair_of_education_scrutiny",
        "audit_wales",
    ]
}
# The report's form (Part 1, The inspection report; Part 2): every section, area and aspect, each question answered.
REPORT = {
    "report_sections": SECTIONS,
    "main_findings_areas": AREAS,
    "aspects_reported": ASPECTS,
    "questions_reported": [f"answer to {q}" for q in QUESTIONS],
    "summary_states_follow_up": True,
}
INVITED = {"invited": ["welsh_government", "audit_wales", "welsh_local_government_association"]}


def published_with_concern(engine):
    """The inspection of Ceredigion, judged causing significant concern, published Mon 14 Nov 2022.

    Returns (inspection id, follow-up id): the follow-up is the child case the publication started.
    """
    case = engine.start(LGES, {"authority": "Ceredigion"}, actor="estyn", at="2022-06-01T09:00")
    fire = lambda trigger, at, data=None: engine.fire(case, trigger, data, actor="estyn", at=at)  # noqa: E731
    fire("schedule_inspection", "2022-06-01T10:00", {"core_week_start": "2022-09-05", "core_week_end": "2022-09-09"})
    fire(
        "give_notice",
        "2022-06-27T10:00",
        {
            "reporting_inspector": "HMI R",
            "reporting_inspector_is_hmi": True,
            "deputy_reporting_inspector": "HMI LALI",
            "deputy_is_link_inspector": True,
            "inspection_coordinator": "IC",
            "draft_questions": QUESTIONS,
            "peer_inspectors": ["P1", "P2"],
            "audit_wales_inspectors": ["AW"],
        },
    )
    fire("discuss_questions", "2022-07-05T10:00", {"local_authority_views": "content"})
    fire("finalise_questions", "2022-07-07T10:00", {"final_questions": QUESTIONS})
    engine.run_due(until="2022-08-15T09:00")
    fire("brief_on_preliminary_activities", "2022-08-24T16:00", {"interviewed": ["headteachers"]})
    engine.run_due(until="2022-09-05T08:30")
    fire("hold_initial_meeting", "2022-09-05T09:30", {"attendees": ["chief_executive"]})
    fire("agree_judgement", "2022-09-08T18:00", CONCERN)
    fire("inform_inspection_coordinator", "2022-09-09T09:00")
    fire("inform_assistant_director", "2022-09-09T09:15", {"director": "assistant_director"})
    fire("give_formal_feedback_of_concern", "2022-09-09T15:00")
    fire("submit_questionnaire_part_one", "2022-09-12T10:00")
    fire("complete_reporting_judgement_form", "2022-09-13T16:00")
    fire("hmci_agrees", "2022-09-20T10:00")
    fire("notify_welsh_ministers", "2022-09-21T10:00")
    fire("send_draft_report", "2022-10-17T10:00", {"draft_sent_on": "2022-10-17", **REPORT})
    fire("receive_factual_accuracy_comments", "2022-10-21T10:00", {"factual_errors": []})
    fire("finalise_report", "2022-10-25T10:00", {"publication_date": "2022-11-14", "about_the_local_authority_agreed": True})
    fire("send_embargoed_copy", "2022-11-07T10:00", {"embargoed_copy_sent_on": "2022-11-07"})
    view = fire("publish_report", "2022-11-14T09:00", PUBLICATION)
    assert view.state == "follow_up_started"
    (child,) = view.children
    return case, child["id"]


def last_child(engine, case):
    return engine.get(case).children[-1]["id"]


def conference(engine, follow_up, *, arrange, arranged_at, date, agreed_at, notice_at, letter_at, recipients=("chief_executive",), meanwhile=()):
    """Arrange a conference on the follow-up, then agree its date, notify, hold and write on the child.

    `meanwhile`: days on which the link inspectors meet the authority (on the follow-up) before the conference is held.
    """
    engine.fire(follow_up, arrange, actor="estyn", at=arranged_at)
    child = last_child(engine, follow_up)
    engine.fire(child, "agree_date", {"conference_date": date}, actor="estyn", at=agreed_at)
    engine.fire(child, "give_formal_notice", INVITED, actor="estyn", at=notice_at)
    for day in meanwhile:
        link_inspectors_meet(engine, follow_up, day)
    engine.run_due(until=f"{date}T09:00")  # the conference_day timer: held on the notified date
    assert engine.get(child).state == "held"
    letter = {"recipients": list(recipients), "letter_recommendations": []}
    if arrange == "arrange_improvement_conference":
        letter.update(assurance_on_understanding="good", assurance_on_planning="limited")
    else:
        letter.update(assurance_on_impact="some")
    engine.fire(child, "send_letter", letter, actor="estyn", at=letter_at)
    return child


def improvement_conference(engine, follow_up, date="2022-12-12"):
    """Arranged Mon 14 Nov 2022, date agreed and notice given the same day, letter four days after the conference."""
    return conference(
        engine,
        follow_up,
        arrange="arrange_improvement_conference",
        arranged_at="2022-11-14T12:00",
        date=date,
        agreed_at="2022-11-14T13:00",
        notice_at="2022-11-14T14:00",
        letter_at=f"{date}T16:00",
    )


def link_inspectors_meet(engine, follow_up, day: str):
    return engine.fire(follow_up, "record_link_inspector_meeting", {"notes": "progress against the recommendations"}, actor="lali", at=f"{day}T10:00")


def progress_conference(engine, follow_up, *, arranged_at, date, notice_at, letter_at, meanwhile=()):
    return conference(
        engine,
        follow_up,
        arrange="arrange_progress_conference",
        arranged_at=arranged_at,
        date=date,
        agreed_at=arranged_at.replace("T10:00", "T11:00"),
        notice_at=notice_at,
        letter_at=letter_at,
        recipients=("chief_executive", "minister_for_education"),
        meanwhile=meanwhile,
    )


def at_progress_decision(engine):
    """Improvement conference Mon 12 Dec 2022; first progress conference Mon 11 Dec 2023, letter Fri 15 Dec 2023."""
    _, follow_up = published_with_concern(engine)
    improvement_conference(engine, follow_up)
    progress_conference(engine, follow_up, arranged_at="2023-01-09T10:00", date="2023-12-11", notice_at="2023-11-13T10:00", letter_at="2023-12-15T10:00")
    assert engine.get(follow_up).state == "progress_decision"
    return follow_up


def monitoring_visit(engine, follow_up, *, arranged_at, start, end, notice_at, published_at, sufficient):
    engine.fire(follow_up, "arrange_monitoring_visit", actor="estyn", at=arranged_at)
    visit = last_child(engine, follow_up)
    engine.fire(visit, "agree_dates", {"visit_start": start, "visit_end": end}, actor="estyn", at=arranged_at.replace("T10:00", "T11:00"))
    engine.fire(visit, "give_formal_notice", actor="estyn", at=notice_at)
    engine.run_due(until=f"{start}T09:00")
    engine.fire(visit, "end_visit", {"no_longer_causing_significant_concern": sufficient}, actor="estyn", at=f"{end}T16:00")
    report = {
        "progress_on_recommendations": [f"{r}: {'strong' if sufficient else 'limited'} progress" for r in RECOMMENDATIONS],
        "summative_commentary": "…",
        "sufficient_progress": sufficient,
    }
    engine.fire(visit, "publish_report", report, actor="estyn", at=published_at)
    return visit


def missed(engine, case):
    return [h.details["deadline_id"] for h in engine.history(case) if h.type == "DeadlineMissed"]


class TestStartedFromTheInspection:
    def test_publication_starts_the_follow_up_as_a_linked_case_in_follow_up(self, make_engine):
        """Part 1, Following publication of the report; Part 3 introduction: one category of follow-up."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        inspection, follow_up = published_with_concern(engine)
        view = engine.get(follow_up)
        assert (view.workflow, view.state, view.parent) == ("estyn-follow-up", "awaiting_improvement_conference", str(inspection))
        assert view.data["inspection_end"] == "2022-09-09"
        assert view.data["recommendations"] == RECOMMENDATIONS
        assert [e.authority for e in engine.register(nation="wales", status="in follow-up")] == ["Ceredigion"]


class TestImprovementConference:
    def test_window_and_four_weeks_notice(self, make_engine):
        """Part 3, Post-inspection improvement conference: around three months after; notified four weeks before."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        _, follow_up = published_with_concern(engine)
        view = engine.fire(follow_up, "arrange_improvement_conference", actor="estyn", at="2022-11-14T12:00")
        window = view.deadlines["improvement_conference"]
        # From Fri 9 Sep 2022: +10 weeks = 9 Sep + 70 days (21 to 30 Sep, 31 Oct, 18) = Fri 18 Nov 2022;
        # +3 months = Fri 9 Dec 2022; +4 months = Mon 9 Jan 2023.
        assert (window["earliest_date"], window["target_date"], window["due_date"]) == ("2022-11-18", "2022-12-09", "2023-01-09")
        (child,) = view.children
        assert child["workflow"] == "estyn-improvement-conference@1"
        assert engine.get(child["id"]).parent == str(follow_up)
        notice = engine.fire(child["id"], "agree_date", {"conference_date": "2022-12-12"}, actor="estyn", at="2022-11-14T13:00").deadlines["formal_notice"]
        # Mon 12 Dec 2022 - 28 days = Mon 14 Nov 2022.
        assert (notice["earliest_date"], notice["due_date"]) == ("2022-11-14", "2022-11-14")
        with pytest.raises(GuardFailed, match="welsh_local_government_association"):
            engine.fire(child["id"], "give_formal_notice", {"invited": ["welsh_government", "audit_wales"]}, actor="estyn", at="2022-11-14T14:00")
        assert engine.fire(child["id"], "give_formal_notice", INVITED, actor="estyn", at="2022-11-14T14:00").deadlines["formal_notice"]["status"] == "met"
        # Held on the notified date: the timer fires at 00:00 (GMT) on Mon 12 Dec 2022.
        (timer,) = [i for i in engine.due() if i.kind == "timer"]
        assert (timer.name, timer.due_at) == ("conference_day", datetime(2022, 12, 12, tzinfo=UTC))
        # A new date after the notice cancels the timer and needs a new notice: Thu 15 Dec - 28 days = Thu 17 Nov.
        view = engine.fire(child["id"], "agree_date", {"conference_date": "2022-12-15"}, actor="estyn", at="2022-11-15T10:00")
        assert view.state == "date_agreed" and view.timers == {}
        assert view.deadlines["formal_notice"]["due_date"] == "2022-11-17"
        engine.fire(child["id"], "give_formal_notice", INVITED, actor="estyn", at="2022-11-17T10:00")
        engine.run_due(until="2022-12-15T09:00")
        assert engine.get(child["id"]).state == "held"
        assert engine.get(follow_up).data["improvement_conference_on"] == "2022-12-15"

    @pytest.mark.parametrize(
        ("date", "status", "late_by"),
        [
            ("2022-11-17", "met_early", 0),  # Thu 17 Nov: before the window opens on Fri 18 Nov
            ("2022-12-12", "met", 0),  # Mon 12 Dec: inside 18 Nov 2022 - 9 Jan 2023
            ("2023-01-10", "met_late", 1),  # Tue 10 Jan 2023: one working day after Mon 9 Jan
        ],
    )
    def test_the_conference_is_early_on_time_or_late_against_its_window(self, make_engine, date, status, late_by):
        """Part 3, Post-inspection improvement conference: "around three months" is a window, not a day."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        _, follow_up = published_with_concern(engine)
        child = improvement_conference(engine, follow_up, date=date)
        view = engine.get(follow_up)
        deadline = view.deadlines["improvement_conference"]
        assert (deadline["status"], deadline["met_on"], deadline["late_by_working_days"]) == (status, date, late_by)
        assert view.data["improvement_conference_on"] == date
        assert view.state == "awaiting_progress_conference"
        assert missed(engine, follow_up) == (["improvement_conference"] if status == "met_late" else [])
        if status == "met_early":
            # Notice was due Thu 20 Oct (17 Nov - 28 days) and given Mon 14 Nov: 21 Oct (1), 24-28 (6),
            # 31 Oct-4 Nov (11), 7-11 Nov (16), 14 Nov (17) working days late.
            notice = engine.get(child).deadlines["formal_notice"]
            assert (notice["due_date"], notice["status"], notice["late_by_working_days"]) == ("2022-10-20", "met_late", 17)

    def test_the_parent_reacts_once_to_each_child_step_and_the_letter_goes_to_the_chief_executive(self, make_engine):
        """Part 3, Post-inspection improvement conference: after the conference, a letter to the chief executive."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        _, follow_up = published_with_concern(engine)
        engine.fire(follow_up, "arrange_improvement_conference", actor="estyn", at="2022-11-14T12:00")
        child = last_child(engine, follow_up)
        engine.fire(child, "agree_date", {"conference_date": "2022-12-12"}, actor="estyn", at="2022-11-14T13:00")
        engine.fire(child, "give_formal_notice", INVITED, actor="estyn", at="2022-11-14T14:00")
        engine.run_due(until="2022-12-12T09:00")
        assert engine.get(child).state == "held"
        assert engine.get(follow_up).state == "improvement_conference"  # held, letter not yet sent
        with pytest.raises(GuardFailed, match="chief_executive"):
            engine.fire(
                child,
                "send_letter",
                {"recipients": ["director_of_education"], "assurance_on_understanding": "a", "assurance_on_planning": "b"},
                actor="estyn",
                at="2022-12-16T10:00",
            )
        engine.fire(
            child,
            "send_letter",
            {"recipients": ["chief_executive"], "assurance_on_understanding": "a", "assurance_on_planning": "b"},
            actor="estyn",
            at="2022-12-16T10:00",
        )
        assert engine.get(child).ended
        reported = [h.details["outcome"] for h in engine.history(follow_up) if h.type == "ChildReported"]
        assert reported == ["fired 'record_improvement_conference'", "fired 'record_improvement_letter'"]
        assert engine.get(follow_up).state == "awaiting_progress_conference"


class TestProgressConferenceAndDecision:
    def test_progress_conference_around_a_year_after_the_improvement_conference(self, make_engine):
        """Part 3, Progress conference: around a year after; four weeks' notice; letter copied to the Minister."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        _, follow_up = published_with_concern(engine)
        improvement_conference(engine, follow_up)
        view = engine.fire(follow_up, "arrange_progress_conference", actor="estyn", at="2023-01-09T10:00")
        window = view.deadlines["progress_conference"]
        # From Mon 12 Dec 2022: +10 months = Thu 12 Oct 2023; +12 = Tue 12 Dec 2023; +14 = Mon 12 Feb 2024.
        assert (window["earliest_date"], window["target_date"], window["due_date"]) == ("2023-10-12", "2023-12-12", "2024-02-12")
        assert view.data["progress_conferences"] == 1
        child = view.children[-1]["id"]
        assert engine.get(child).data == {"authority": "Ceredigion", "sequence": 1}
        notice = engine.fire(child, "agree_date", {"conference_date": "2023-12-11"}, actor="estyn", at="2023-01-09T11:00").deadlines["formal_notice"]
        assert notice["due_date"] == "2023-11-13"  # Mon 11 Dec 2023 - 28 days
        engine.fire(child, "set_up_virtual_inspection_room", actor="estyn", at="2023-11-01T10:00")
        engine.fire(child, "give_formal_notice", INVITED, actor="estyn", at="2023-11-13T10:00")
        engine.run_due(until="2023-12-11T09:00")
        with pytest.raises(GuardFailed, match="minister_for_education"):
            engine.fire(child, "send_letter", {"recipients": ["chief_executive"], "assurance_on_impact": "some"}, actor="estyn", at="2023-12-15T10:00")
        engine.fire(
            child,
            "send_letter",
            {"recipients": ["chief_executive", "minister_for_education"], "assurance_on_impact": "some"},
            actor="estyn",
            at="2023-12-15T10:00",
        )
        view = engine.get(follow_up)
        assert view.state == "progress_decision"
        assert view.deadlines["progress_conference"]["status"] == "met"
        assert view.data["last_progress_conference_on"] == "2023-12-11"

    def test_decision_deferred_up_to_six_months_then_a_monitoring_visit(self, make_engine):
        """Part 3, Progress conference: wait up to six months before deciding whether to proceed with a monitoring visit."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        follow_up = at_progress_decision(engine)
        view = engine.fire(follow_up, "defer_decision", {"reasons": "new director in post"}, actor="estyn", at="2023-12-18T10:00")
        assert view.state == "decision_deferred"
        assert view.deadlines["deferred_decision"]["due_date"] == "2024-06-11"  # Mon 11 Dec 2023 + 6 months
        engine.fire(follow_up, "record_link_inspector_meeting", {"notes": "close contact"}, actor="lali", at="2024-03-01T10:00")
        view = engine.fire(
            follow_up, "decide_after_deferral", {"proceed_with_monitoring_visit": True, "reasons": "good progress"}, actor="estyn", at="2024-05-20T10:00"
        )
        assert view.state == "awaiting_monitoring_visit"
        assert view.deadlines["deferred_decision"]["status"] == "met"

    def test_a_deferred_decision_not_to_visit_leads_to_a_further_progress_conference(self, make_engine):
        """Part 3, Progress conference: "if ... the authority will require more time ... a second progress conference"."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        follow_up = at_progress_decision(engine)
        engine.fire(follow_up, "defer_decision", {"reasons": "wait"}, actor="estyn", at="2023-12-18T10:00")
        # Wed 12 Jun 2024 is one working day after Tue 11 Jun: missed, then met late.
        view = engine.fire(
            follow_up, "decide_after_deferral", {"proceed_with_monitoring_visit": False, "reasons": "more time"}, actor="estyn", at="2024-06-12T10:00"
        )
        assert view.state == "awaiting_progress_conference"
        assert (view.deadlines["deferred_decision"]["status"], view.deadlines["deferred_decision"]["late_by_working_days"]) == ("met_late", 1)

    def test_a_second_progress_conference_around_a_year_after_the_first(self, make_engine):
        """Part 3, Progress conference: "a second progress conference around a year after the first one"."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        follow_up = at_progress_decision(engine)
        engine.fire(follow_up, "plan_further_progress_conference", {"reasons": "more time needed"}, actor="estyn", at="2023-12-18T10:00")
        view = engine.fire(follow_up, "arrange_progress_conference", actor="estyn", at="2024-01-08T10:00")
        assert view.data["progress_conferences"] == 2
        assert engine.get(view.children[-1]["id"]).data["sequence"] == 2
        window = view.deadlines["progress_conference"]
        # From Mon 11 Dec 2023: +10 months = Fri 11 Oct 2024; +12 = Wed 11 Dec 2024; +14 = Tue 11 Feb 2025.
        assert (window["earliest_date"], window["target_date"], window["due_date"]) == ("2024-10-11", "2024-12-11", "2025-02-11")
        assert window["status"] == "pending"


class TestMonitoringVisit:
    def test_full_follow_up_from_publication_to_removal(self, make_engine, store):
        """Part 3 end to end: improvement conference, progress conference, monitoring visit, removal from follow-up."""
        engine = make_engine(store, start="2022-06-01T09:00:00+01:00")
        inspection, follow_up = published_with_concern(engine)
        improvement = improvement_conference(engine, follow_up)
        engine.fire(follow_up, "submit_questionnaire_part_two", actor="la", at="2022-12-20T10:00")
        # Link inspectors at least termly (no more than four months apart) from the improvement conference of Mon 12 Dec 2022.
        progress = progress_conference(
            engine,
            follow_up,
            arranged_at="2023-01-09T10:00",
            date="2023-12-11",
            notice_at="2023-11-13T10:00",
            letter_at="2023-12-15T10:00",
            meanwhile=("2023-03-14", "2023-06-13", "2023-10-10"),
        )
        engine.fire(follow_up, "plan_monitoring_visit", {"reasons": "likely to be removed in a year"}, actor="estyn", at="2024-01-08T10:00")
        view = engine.fire(follow_up, "arrange_monitoring_visit", actor="estyn", at="2024-01-09T10:00")
        window = view.deadlines["monitoring_visit"]
        # Around a year after the last progress conference, Mon 11 Dec 2023:
        # +10 months = Fri 11 Oct 2024; +12 = Wed 11 Dec 2024; +14 = Tue 11 Feb 2025.
        assert (window["earliest_date"], window["target_date"], window["due_date"]) == ("2024-10-11", "2024-12-11", "2025-02-11")
        visit = view.children[-1]["id"]
        assert engine.get(visit).data == {"authority": "Ceredigion", "recommendations": RECOMMENDATIONS}
        notice = engine.fire(visit, "agree_dates", {"visit_start": "2024-12-09", "visit_end": "2024-12-12"}, actor="estyn", at="2024-01-09T11:00").deadlines[
            "formal_notice"
        ]
        assert notice["due_date"] == "2024-11-11"  # Mon 9 Dec 2024 - 28 days = Mon 11 Nov 2024
        for day in ("2024-02-06", "2024-05-14", "2024-09-10"):
            link_inspectors_meet(engine, follow_up, day)
        engine.fire(visit, "give_formal_notice", actor="estyn", at="2024-11-11T10:00")
        # The visit timer fires at 00:00 on Mon 9 Dec 2024 (GMT), the first day of the visit.
        engine.run_due(until="2024-12-09T09:00")
        assert engine.get(visit).state == "on_site"
        assert engine.get(visit, as_of="2024-12-08T23:59:00+00:00").state == "notified"
        view = engine.get(follow_up)
        assert view.data["monitoring_visit_on"] == "2024-12-09"
        assert (view.deadlines["monitoring_visit"]["status"], view.deadlines["monitoring_visit"]["met_on"]) == ("met", "2024-12-09")
        engine.fire(visit, "end_visit", {"no_longer_causing_significant_concern": True}, actor="estyn", at="2024-12-12T16:00")
        link_inspectors_meet(engine, follow_up, "2025-01-07")
        for evaluations in ([], ["R1 strong", "R2 strong"], ["R1 strong", "R2 strong", "R3 good", "R4 extra"]):  # one per recommendation (three)
            with pytest.raises(GuardFailed, match="progress_on_recommendations m.._items"):
                engine.fire(
                    visit,
                    "publish_report",
                    {"progress_on_recommendations": evaluations, "summative_commentary": "x", "sufficient_progress": True},
                    actor="estyn",
                    at="2025-02-03T10:00",
                )
        engine.fire(
            visit,
            "publish_report",
            {"progress_on_recommendations": ["R1 strong", "R2 strong", "R3 good"], "summative_commentary": "…", "sufficient_progress": True},
            actor="estyn",
            at="2025-02-03T10:00",
        )
        view = engine.get(follow_up)
        assert view.state == "removed_from_follow_up" and view.ended
        assert engine.register(nation="wales", status="in follow-up") == []
        # The links, both ways: inspection -> follow-up -> its three children.
        assert engine.get(follow_up).parent == str(inspection)
        assert [c["workflow"] for c in view.children] == [
            "estyn-improvement-conference@1",
            "estyn-progress-conference@1",
            "estyn-monitoring-visit@1",
        ]
        assert [c["id"] for c in view.children] == [str(improvement), str(progress), str(visit)]
        assert all(engine.get(c["id"]).parent == str(follow_up) for c in view.children)
        statuses = {name: d["status"] for name, d in view.deadlines.items()}
        # The meeting due four months after Tue 7 Jan 2025 is withdrawn as the authority leaves follow-up.
        assert statuses == {"improvement_conference": "met", "progress_conference": "met", "monitoring_visit": "met", "link_inspector_meeting": "withdrawn"}
        assert missed(engine, follow_up) == []
        assert verify(engine).ok

    def test_not_removed_stays_in_follow_up_for_a_further_progress_conference(self, make_engine):
        """Part 3, Monitoring visit (silent on "not removed"): a further progress conference around a year after the visit."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        follow_up = at_progress_decision(engine)
        engine.fire(follow_up, "plan_monitoring_visit", {"reasons": "likely"}, actor="estyn", at="2024-01-08T10:00")
        monitoring_visit(
            engine,
            follow_up,
            arranged_at="2024-01-09T10:00",
            start="2024-12-09",
            end="2024-12-12",
            notice_at="2024-11-11T10:00",
            published_at="2025-02-03T10:00",
            sufficient=False,
        )
        view = engine.get(follow_up)
        assert view.state == "awaiting_progress_conference" and not view.ended
        assert view.data["last_milestone_on"] == "2024-12-09"
        assert [e.authority for e in engine.register(nation="wales", status="in follow-up")] == ["Ceredigion"]
        view = engine.fire(follow_up, "arrange_progress_conference", actor="estyn", at="2025-02-10T10:00")
        window = view.deadlines["progress_conference"]
        # From Mon 9 Dec 2024: +10 months = Thu 9 Oct 2025; +12 = Tue 9 Dec 2025; +14 = Mon 9 Feb 2026.
        assert (window["earliest_date"], window["target_date"], window["due_date"]) == ("2025-10-09", "2025-12-09", "2026-02-09")
        assert view.data["progress_conferences"] == 2

    def test_a_late_monitoring_visit_is_recorded_against_its_window(self, make_engine):
        """Part 3, Monitoring visit: a visit starting Mon 17 Feb 2025 is after Tue 11 Feb: 12, 13, 14, 17 = 4 working days late."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        follow_up = at_progress_decision(engine)
        engine.fire(follow_up, "plan_monitoring_visit", {"reasons": "likely"}, actor="estyn", at="2024-01-08T10:00")
        monitoring_visit(
            engine,
            follow_up,
            arranged_at="2024-01-09T10:00",
            start="2025-02-17",
            end="2025-02-20",
            notice_at="2025-01-20T10:00",
            published_at="2025-04-01T10:00",
            sufficient=True,
        )
        deadline = engine.get(follow_up).deadlines["monitoring_visit"]
        assert (deadline["status"], deadline["met_on"], deadline["late_by_working_days"]) == ("met_late", "2025-02-17", 4)
        # No link inspector meeting is recorded in this run: the first, due Wed 12 Apr 2023, is missed too.
        assert missed(engine, follow_up) == ["link_inspector_meeting", "monitoring_visit"]
        assert engine.get(follow_up).state == "removed_from_follow_up"


class TestLinkInspectors:
    """Part 1, Context (LALI work "at least termly"); Part 3, Post-inspection improvement conference ("meet regularly ... following the conference")."""

    def test_after_the_improvement_conference_they_meet_at_least_termly(self, make_engine):
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        _, follow_up = published_with_concern(engine)
        view = link_inspectors_meet(engine, follow_up, "2022-11-14")  # before the conference: the next within four months, Tue 14 Mar 2023
        assert view.deadlines["link_inspector_meeting"]["due_date"] == "2023-03-14"
        improvement_conference(engine, follow_up)
        # The conference sets it afresh: four months after Mon 12 Dec 2022, Wed 12 Apr 2023.
        assert engine.get(follow_up).deadlines["link_inspector_meeting"]["due_date"] == "2023-04-12"
        view = link_inspectors_meet(engine, follow_up, "2023-03-14")
        # Met; the next within four months of Tue 14 Mar 2023: Fri 14 Jul 2023.
        assert view.deadlines["link_inspector_meeting"]["due_date"] == "2023-07-14"
        assert [h.details["met_on"] for h in engine.history(follow_up) if h.type == "DeadlineMet" and h.details["deadline_id"] == "link_inspector_meeting"] == [
            "2023-03-14"
        ]
        view = link_inspectors_meet(engine, follow_up, "2023-07-20")
        met = [h.details for h in engine.history(follow_up) if h.type == "DeadlineMet" and h.details["deadline_id"] == "link_inspector_meeting"]
        assert (met[-1]["met_on"], met[-1]["late_by_working_days"]) == ("2023-07-20", 4)  # 17, 18, 19, 20 July
        assert missed(engine, follow_up) == ["link_inspector_meeting"]
        assert view.state == "awaiting_progress_conference"
