"""Estyn LGES inspection (workflows/estyn-lges-2022.yaml), simulated date by date.

Source: 004_c25b9f45cba4d4fe.txt, Estyn, Guidance for inspectors: local
government education services for inspections from 2022. It has no numbered
paragraphs; assertions cite "Part 1, <section>" as the workflow file does.

Every date asserted below was worked out by hand from the guidance (the working
shown in the comment beside it), not read back from the engine. Wales bank
holidays used: Mon 29 Aug 2022 (late summer), Mon 19 Sep 2022 (state funeral of
Queen Elizabeth II), Mon 26 and Tue 27 Dec 2022, Mon 2 Jan 2023.

The public example: a core week of Monday 5 to Friday 9 September 2022.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from laworkflow import GuardFailed, InvalidData, TriggerNotAllowed
from laworkflow.audit.verify import verify

LGES = "estyn-lges"
AUTHORITY = {"authority": "Ceredigion"}
CORE_WEEK = {"core_week_start": "2022-09-05", "core_week_end": "2022-09-09"}
TEAM = {
    "reporting_inspector": "HMI Reporting",
    "reporting_inspector_is_hmi": True,
    "deputy_reporting_inspector": "HMI Link",
    "deputy_is_link_inspector": True,
    "inspection_coordinator": "IC Jones",
    "peer_inspectors": ["Director, another authority", "Head of ALN service, another authority"],
    "audit_wales_inspectors": ["Audit Wales A"],
}
QUESTIONS = ["Q1 school improvement", "Q2 ALN", "Q3 attendance", "Q4 youth support", "Q5 Welsh-medium growth"]
LEADS = ["HMI A", "HMI B", "HMI C", "AI D", "HMI E"]
# Part 1, The inspection report (the form of the report); Part 2 (all aspects of areas 1 and 3, each question separately).
SECTIONS = ["about_the_local_authority", "summary", "recommendations", "what_happens_next", "main_findings"]
AREAS = ["outcomes", "education_services", "leadership_and_management"]
ASPECTS = [
    "standards_and_progress_overall",
    "standards_and_progress_of_specific_groups",
    "well_being_and_attitudes_to_learning",
    "quality_and_effectiveness_of_leaders_and_managers",
    "self_evaluation_and_improvement_planning",
    "professional_learning",
    "safeguarding_arrangements",
    "use_of_resources",
]
DISCUSSION = {"monitoring_arrangements_suitable": True, "link_inspectors": ["HMI Link"], "discussed_with": ["chair_of_scrutiny", "director_of_education"]}
FINAL = {"publication_date": "2022-11-14", "about_the_local_authority_agreed": True}
RECIPIENTS = {
    "recipients": [
        "chief_executive",
        "chief_education_officer",
        "council_leader",
        "lead_member_for_education",
        "chair_of_education_scrutiny",
        "audit_wales",
    ]
}
NOT_CONCERN = {
    "causing_significant_concern": False,
    "safeguarding_meets_requirements": True,
    "serious_health_safety_risk": False,
    "strengths": ["clear strategic direction"],
    "areas_for_improvement": ["evaluation of grant-funded work"],
    "recommendations": ["R1 strengthen self-evaluation"],
}
CONCERN = {
    "causing_significant_concern": True,
    "concern_reasons": ["weaknesses_in_senior_leadership", "previous_shortcomings_not_addressed"],
    "main_shortcomings": ["leaders do not know the service's weaknesses", "2016 recommendations unaddressed"],
    "safeguarding_meets_requirements": True,
    "serious_health_safety_risk": False,
    "strengths": ["youth service"],
    "areas_for_improvement": ["leadership", "self-evaluation"],
    "recommendations": ["R1 leadership capacity", "R2 self-evaluation", "R3 support for schools causing concern"],
}


def bst(day: str, hour: int = 0) -> datetime:
    """Midnight (or an hour) of a UK summer-time day, as the engine stores it (UTC)."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+01:00").astimezone(UTC)


def scheduled(engine):
    """Ceredigion on the programme on 1 June 2022, its core week set for 5-9 September 2022."""
    case = engine.start(LGES, AUTHORITY, actor="estyn", at="2022-06-01T09:00")
    engine.fire(case, "schedule_inspection", CORE_WEEK, actor="estyn", at="2022-06-01T10:00")
    return case


def planned(engine):
    """Notice on Mon 27 June, discussion on Tue 5 July, questions final on Thu 7 July, leads on Fri 8 July."""
    case = scheduled(engine)
    engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
    engine.fire(case, "discuss_questions", {"local_authority_views": "content"}, actor="ri", at="2022-07-05T11:00")
    engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-07T15:00")
    engine.fire(case, "assign_question_leads", {"question_leads": LEADS}, actor="ri", at="2022-07-08T10:00")
    return case


def in_core_week(engine):
    """Surveys open (timer), preliminary activities on Wed 24 August, core week (timer), initial meeting, dialogues."""
    case = planned(engine)
    engine.run_due(until="2022-08-15T09:00")
    engine.fire(case, "brief_on_preliminary_activities", {"interviewed": ["headteachers", "chairs_of_governing_bodies"]}, actor="ri", at="2022-08-24T16:00")
    engine.run_due(until="2022-09-05T08:30")
    engine.fire(
        case, "hold_initial_meeting", {"attendees": ["chief_executive", "director_of_education", "leader", "nominee"]}, actor="ri", at="2022-09-05T09:30"
    )
    for day in ("05", "06", "07", "08"):
        engine.fire(case, "hold_professional_dialogue", {"with_officer": "chief executive"}, actor="ri", at=f"2022-09-{day}T17:30")
    return case


def fed_back(engine, *, concern=False):
    """The judgement on Thu 8 September and the formal feedback on Fri 9 September 2022: the end of the inspection."""
    case = in_core_week(engine)
    if not concern:
        engine.fire(case, "agree_judgement", NOT_CONCERN, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "give_formal_feedback", {"attendees": ["chief_executive", "leader", "chair_of_scrutiny"]}, actor="ri", at="2022-09-09T15:00")
        return case
    engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
    engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
    engine.fire(case, "inform_assistant_director", {"director": "assistant_director"}, actor="ri", at="2022-09-09T09:15")
    engine.fire(case, "give_formal_feedback_of_concern", {"attendees": ["chief_executive", "leader", "chair_of_scrutiny"]}, actor="ri", at="2022-09-09T15:00")
    return case


def embargoed(engine, case):
    """Draft Mon 17 Oct, comments Fri 21 Oct, final Tue 25 Oct (publication Mon 14 Nov), embargoed copy Mon 7 Nov."""
    engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
    engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": ["school count"]}, actor="la", at="2022-10-21T12:00")
    engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-25T10:00")
    engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-07"}, actor="estyn", at="2022-11-07T10:00")
    return case


def draft(engine, case, day: str = "2022-10-17", **changes) -> dict:
    """The late draft in the form the guidance gives, answering each final question; its summary as the judgement stands."""
    data = engine.get(case).data
    report = {
        "draft_sent_on": day,
        "report_sections": SECTIONS,
        "main_findings_areas": AREAS,
        "aspects_reported": ASPECTS,
        "questions_reported": [f"answer to {q}" for q in data["final_questions"]],
        "summary_states_follow_up": data["causing_significant_concern"],
    }
    return {**report, **changes}


def missed(engine, case):
    return [h.details["deadline_id"] for h in engine.history(case) if h.type == "DeadlineMissed"]


class TestBeforeTheCoreWeek:
    def test_notice_is_due_ten_weeks_before_the_core_week(self, make_engine):
        """Part 1, Contacting the local authority before the inspection: notice ten weeks in advance."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        notice = engine.get(case).deadlines["notice"]
        # Mon 5 Sep 2022 - 70 days: -5 -> 31 Aug, -31 -> 31 Jul, -31 -> 30 Jun, -3 -> Mon 27 Jun 2022.
        assert (notice["earliest_date"], notice["due_date"]) == ("2022-06-27", "2022-06-27")
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        assert view.state == "notified"
        assert view.deadlines["notice"]["status"] == "met"
        # From notice the authority is listed as under inspection, since 10:00 BST on Mon 27 June 2022.
        (entry,) = engine.register(nation="wales", status="inspection")
        assert (entry.authority, entry.since) == ("Ceredigion", bst("2022-06-27", 10))

    @pytest.mark.parametrize(
        ("at", "status", "late_by"),
        [
            ("2022-06-20T10:00", "met_early", 0),  # a week more than ten weeks' notice
            ("2022-06-28T10:00", "met_late", 1),  # Tue 28 June: one working day after Mon 27 June
        ],
    )
    def test_notice_on_another_day_is_reported_early_or_late_not_refused(self, make_engine, at, status, late_by):
        """Part 1, Contacting the local authority: "ten weeks in advance" is a day; other days are recorded, never blocked."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at=at)
        assert view.state == "notified"
        assert view.deadlines["notice"]["status"] == status
        assert view.deadlines["notice"]["late_by_working_days"] == late_by

    def test_four_to_eight_draft_questions_are_shared_at_notice(self, make_engine):
        """Part 1, Preparing local inspection questions: "normally ... at least four questions"; shared at notification."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        with pytest.raises(GuardFailed, match="draft_questions"):
            engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS[:3]}, actor="ic", at="2022-06-27T10:00")
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS[:4]}, actor="ic", at="2022-06-27T10:00")
        assert view.data["draft_questions"] == QUESTIONS[:4]

    def test_an_exception_to_the_four_questions_is_a_recorded_parameter(self, make_engine):
        """Part 1, Preparing local inspection questions: "normally" four; a case may lower it, and its start says so."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = engine.start(LGES, AUTHORITY, actor="estyn", at="2022-06-01T09:00", parameters={"questions_minimum": 3})
        engine.fire(case, "schedule_inspection", CORE_WEEK, actor="estyn", at="2022-06-01T10:00")
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS[:3]}, actor="ic", at="2022-06-27T10:00")
        assert view.parameters["questions_minimum"] == 3

    def test_questions_discussed_within_ten_days_and_final_eight_weeks_before(self, make_engine):
        """Part 1, Preparing local inspection questions; Planning the inspection and preparing the team."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        view = engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        # Within 10 (calendar) days of Mon 27 June: 27 + 10 = Thu 7 July 2022.
        assert view.deadlines["questions_discussed"]["due_date"] == "2022-07-07"
        final = view.deadlines["questions_final"]
        # No later than 8 weeks before Mon 5 Sep: 5 Sep - 56 days = -5 -> 31 Aug, -31 -> 31 Jul, -20 -> Mon 11 July 2022.
        # Usually within 10 days of notification (the target): Thu 7 July 2022.
        assert (final["target_date"], final["due_date"]) == ("2022-07-07", "2022-07-11")
        view = engine.fire(case, "discuss_questions", {"local_authority_views": "content"}, actor="ri", at="2022-07-05T11:00")
        assert view.deadlines["questions_discussed"]["status"] == "met"
        view = engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-11T16:00")
        assert view.state == "planning"
        assert view.deadlines["questions_final"]["status"] == "met"

    def test_final_questions_later_than_eight_weeks_before_are_late(self, make_engine):
        """Part 1, Preparing local inspection questions: Tue 12 July is one working day after Mon 11 July."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        view = engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-12T10:00")
        assert view.deadlines["questions_final"]["status"] == "met_late"
        assert view.deadlines["questions_final"]["late_by_working_days"] == 1
        assert missed(engine, case) == ["questions_discussed", "questions_final"]  # discussion not held by Thu 7 July

    def test_each_question_has_a_lead_inspector(self, make_engine):
        """Part 1, Planning the inspection and preparing the team: "a lead inspector for each local inspection question"."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = scheduled(engine)
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-07T15:00")
        with pytest.raises(GuardFailed, match="question_leads"):
            engine.fire(case, "assign_question_leads", {"question_leads": LEADS[:2]}, actor="ri", at="2022-07-08T10:00")
        assert engine.fire(case, "assign_question_leads", {"question_leads": LEADS}, actor="ri", at="2022-07-08T10:00").data["question_leads"] == LEADS

    def test_surveys_open_three_weeks_before_and_preliminary_activities_two_weeks_before(self, make_engine):
        """Part 1, Surveys; Preliminary inspection activities."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = planned(engine)
        # 3 weeks before Mon 5 Sep 2022 = Mon 15 Aug 2022, at 00:00 UK time (BST).
        (timer,) = [i for i in engine.due() if i.kind == "timer"]
        assert (timer.name, timer.due_at) == ("surveys_open", bst("2022-08-15"))
        prelim = engine.get(case).deadlines["preliminary_activities"]
        # The week beginning 2 weeks before 5 Sep: Mon 22 Aug (earliest, target) to Fri 26 Aug 2022 (5 Sep - 10 days).
        assert (prelim["earliest_date"], prelim["target_date"], prelim["due_date"]) == ("2022-08-22", "2022-08-22", "2022-08-26")
        engine.run_due(until="2022-08-15T09:00")
        assert engine.get(case).state == "surveys_open"
        assert engine.get(case, as_of="2022-08-14T23:59:00+01:00").state == "planning"
        assert engine.get(case, as_of="2022-08-15T00:00:00+01:00").state == "surveys_open"
        view = engine.fire(case, "brief_on_preliminary_activities", {"interviewed": ["headteachers"]}, actor="ri", at="2022-08-24T16:00")
        assert view.deadlines["preliminary_activities"]["status"] == "met"

    def test_preliminary_activities_in_the_week_of_the_surveys_opening_need_a_reason_and_are_early(self, make_engine):
        """Part 1, Preliminary inspection activities: "usually two weeks before"; Thu 18 Aug is before Mon 22 Aug."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = planned(engine)
        engine.run_due(until="2022-08-15T09:00")
        before = len(engine.history(case))
        with pytest.raises(GuardFailed, match="core_week_start passed"):
            engine.fire(case, "brief_on_preliminary_activities", {"interviewed": ["headteachers"]}, actor="ri", at="2022-08-18T16:00")
        with pytest.raises(InvalidData, match="preliminary_override_reason"):
            engine.fire(
                case,
                "brief_on_preliminary_activities",
                {"interviewed": ["headteachers"], "preliminary_override_reason": "  "},
                actor="ri",
                at="2022-08-18T16:00",
            )
        assert len(engine.history(case)) == before
        reason = "headteachers' conference in the week of 22 August"
        view = engine.fire(
            case, "brief_on_preliminary_activities", {"interviewed": ["headteachers"], "preliminary_override_reason": reason}, actor="ri", at="2022-08-18T16:00"
        )
        assert view.deadlines["preliminary_activities"]["status"] == "met_early"
        assert view.data["preliminary_override_reason"] == reason


class TestCoreWeek:
    def test_the_core_week_begins_on_its_first_day_with_an_initial_meeting_and_daily_dialogue(self, make_engine):
        """Part 1, During the core inspection week: initial meeting, professional dialogue at the end of every day."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = in_core_week(engine)
        view = engine.get(case)
        assert view.state == "core_week"
        assert engine.get(case, as_of="2022-09-04T23:59:00+01:00").state == "surveys_open"
        assert engine.get(case, as_of="2022-09-05T00:00:00+01:00").state == "core_week"
        assert view.data["initial_meetings"] == 1
        assert view.data["professional_dialogues"] == 4  # Monday to Thursday evenings
        fired = [h for h in engine.history(case) if h.type == "TimerFired"]
        assert [(f.details["timer_id"], f.effective_at) for f in fired] == [
            ("surveys_open", bst("2022-08-15")),
            ("core_week_begins", bst("2022-09-05")),
        ]

    def test_no_judgement_before_the_initial_meeting(self, make_engine):
        """Part 1, During the core inspection week: the initial meeting is "at the start of the inspection"."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = planned(engine)
        engine.run_due(until="2022-09-05T08:30")
        with pytest.raises(GuardFailed, match="initial_meetings"):
            engine.fire(case, "agree_judgement", NOT_CONCERN, actor="team", at="2022-09-08T18:00")

    def test_a_judgement_of_concern_needs_reasons_from_the_guidance_list(self, make_engine):
        """Part 1, Follow-up activity: the six potential reasons; and the main shortcomings (Reports and summaries)."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = in_core_week(engine)
        with pytest.raises(GuardFailed, match="concern_reasons"):
            engine.fire(case, "agree_judgement", {**CONCERN, "concern_reasons": []}, actor="team", at="2022-09-08T18:00")
        with pytest.raises(InvalidData, match="concern_reasons"):
            engine.fire(case, "agree_judgement", {**CONCERN, "concern_reasons": ["poor_vibes"]}, actor="team", at="2022-09-08T18:00")
        with pytest.raises(GuardFailed):
            engine.fire(case, "agree_judgement", {**NOT_CONCERN, "concern_reasons": ["serious_safeguarding_concerns"]}, actor="team", at="2022-09-08T18:00")
        view = engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
        assert view.state == "concern_judged"

    def test_safeguarding_is_judged_meets_requirements_or_not(self, make_engine):
        """Part 2, 3.4 Safeguarding: inspectors must report whether the arrangements meet requirements."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = in_core_week(engine)
        judgement = {k: v for k, v in NOT_CONCERN.items() if k != "safeguarding_meets_requirements"}
        with pytest.raises(InvalidData, match="safeguarding_meets_requirements"):
            engine.fire(case, "agree_judgement", judgement, actor="team", at="2022-09-08T18:00")
        view = engine.fire(case, "agree_judgement", {**judgement, "safeguarding_meets_requirements": False}, actor="team", at="2022-09-08T18:00")
        assert view.data["safeguarding_meets_requirements"] is False

    def test_the_coordinator_and_director_are_told_before_the_authority(self, make_engine):
        """Part 1, Follow-up activity: inspection co-ordinator, then Assistant Director, before the chief executive is told."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = in_core_week(engine)
        engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
        feedback = {"attendees": ["chief_executive", "leader", "chair_of_scrutiny"]}
        with pytest.raises(GuardFailed, match="coordinator_informed"):
            engine.fire(case, "give_formal_feedback_of_concern", feedback, actor="ri", at="2022-09-09T15:00")
        engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
        with pytest.raises(GuardFailed, match="director_informed"):
            engine.fire(case, "give_formal_feedback_of_concern", feedback, actor="ri", at="2022-09-09T15:00")
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "give_formal_feedback", feedback, actor="ri", at="2022-09-09T15:00")
        engine.fire(case, "inform_assistant_director", {"director": "strategic_director"}, actor="ri", at="2022-09-09T09:15")
        assert engine.fire(case, "give_formal_feedback_of_concern", feedback, actor="ri", at="2022-09-09T15:00").state == "concern_reporting"


class TestReportAndPublication:
    def test_public_example_core_week_ending_friday_9_september_2022_publication_due_monday_14_november(self, make_engine):
        """Part 1, After the inspection: published within 45 working days of the inspection (issue 3, item 9)."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine)
        # 45 working days after Fri 9 Sep 2022, 9 Sep not counted, Mon 19 Sep (state funeral) skipped:
        # 12-16 Sep = 5; 20-23 Sep = 9; 26-30 Sep = 14; 3-7 Oct = 19; 10-14 Oct = 24; 17-21 Oct = 29;
        # 24-28 Oct = 34; 31 Oct-4 Nov = 39; 7-11 Nov = 44; Mon 14 Nov 2022 = 45.
        assert engine.get(case).deadlines["publication"]["due_date"] == "2022-11-14"

    def test_publication_one_working_day_late_is_recorded(self, make_engine):
        """Part 1, After the inspection: Tue 15 Nov is one working day after Mon 14 Nov; missed, then met late."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = embargoed(engine, fed_back(engine))
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-15T09:00")
        assert view.deadlines["publication"]["status"] == "met_late"
        assert view.deadlines["publication"]["late_by_working_days"] == 1
        # The questionnaire (part one, due Mon 12 Sep) was never submitted in this run, so it is missed too.
        assert missed(engine, case) == ["questionnaire_part_one", "publication"]

    def test_draft_factual_accuracy_and_embargoed_copy(self, make_engine):
        """Part 1, After the inspection: five working days for factual accuracy; embargoed copy five working days before publication."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine)
        view = engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
        # 5 working days after Mon 17 Oct 2022: 18, 19, 20, 21, Mon 24 Oct.
        assert view.deadlines["factual_accuracy"]["due_date"] == "2022-10-24"
        engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": []}, actor="la", at="2022-10-24T17:00")
        view = engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-25T10:00")
        assert view.deadlines["factual_accuracy"]["status"] == "met"
        embargo = view.deadlines["embargoed_copy"]
        # 5 working days before Mon 14 Nov 2022: 11, 10, 9, 8, Mon 7 Nov.
        assert (embargo["earliest_date"], embargo["due_date"]) == ("2022-11-07", "2022-11-07")
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-07T09:00")
        view = engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-07"}, actor="estyn", at="2022-11-07T10:00")
        assert view.deadlines["embargoed_copy"]["status"] == "met"

    def test_an_embargoed_copy_sent_on_the_day_before_publication_is_late(self, make_engine):
        """Part 1, After the inspection: Fri 11 Nov is four working days after Mon 7 Nov (8, 9, 10, 11)."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine)
        engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
        engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": []}, actor="la", at="2022-10-21T12:00")
        engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-25T10:00")
        view = engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-11"}, actor="estyn", at="2022-11-11T10:00")
        assert view.deadlines["embargoed_copy"]["status"] == "met_late"
        assert view.deadlines["embargoed_copy"]["late_by_working_days"] == 4

    def test_the_report_goes_to_the_listed_recipients(self, make_engine):
        """Part 1, After the inspection: chief executive, chief education officer, leader, lead member, chair of scrutiny, Audit Wales."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = embargoed(engine, fed_back(engine))
        with pytest.raises(GuardFailed, match="audit_wales"):
            engine.fire(case, "publish_report", {"recipients": RECIPIENTS["recipients"][:5]}, actor="estyn", at="2022-11-14T09:00")


class TestWellBeing:
    def test_a_well_being_letter_only_where_a_serious_risk_was_found(self, make_engine):
        """Part 1, Health, safety and well-being issues: serious concern -> a recommendation and a well-being letter."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine)
        with pytest.raises(GuardFailed, match="serious_health_safety_risk"):
            engine.fire(case, "send_well_being_letter", actor="estyn", at="2022-09-12T10:00")

        other = make_engine(start="2022-06-01T09:00:00+01:00")
        risky = in_core_week(other)
        other.fire(risky, "alert_director_of_education", {"risk": "unsecured site at PRU"}, actor="hmi", at="2022-09-08T17:45")
        other.fire(risky, "agree_judgement", {**NOT_CONCERN, "serious_health_safety_risk": True}, actor="team", at="2022-09-08T18:00")
        view = other.fire(risky, "send_well_being_letter", actor="estyn", at="2022-09-08T18:30")
        assert view.data["well_being_letters"] == 1


class TestFullRuns:
    def test_an_authority_not_causing_concern_from_notice_to_updated_plans(self, make_engine, store):
        """Part 1 end to end: every milestone on its date, no deadline missed."""
        engine = make_engine(store, start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine)
        view = engine.get(case)
        assert view.state == "report_writing"
        # Part 1, Assuring the quality of inspections: PIQ part one "immediately after": 1 working day after Fri 9 Sep = Mon 12 Sep.
        assert view.deadlines["questionnaire_part_one"]["due_date"] == "2022-09-12"
        assert "reporting_judgement_form" not in view.deadlines  # only for an authority causing significant concern
        engine.fire(case, "submit_questionnaire_part_one", actor="la", at="2022-09-12T12:00")
        embargoed(engine, case)
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == "published"
        assert view.children == []
        assert view.deadlines["publication"] == {
            "due_date": "2022-11-14",
            "met_by": "publish_report",
            "status": "met",
            "met_on": "2022-11-14",
            "late_by_working_days": 0,
        }
        # Part 1, Following publication: plans within 3 months of Mon 14 Nov 2022 = Tue 14 Feb 2023.
        assert view.deadlines["plans_updated"]["due_date"] == "2023-02-14"
        engine.fire(case, "hold_scrutiny_committee_meeting", {"observing_inspector": "HMI A"}, actor="la", at="2022-12-06T14:00")
        engine.fire(case, "submit_questionnaire_part_two", actor="la", at="2022-12-07T12:00")
        with pytest.raises(GuardFailed, match="updated_plans"):
            engine.fire(case, "close", actor="estyn", at="2022-12-08T12:00")
        engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan 2023-26"]}, actor="la", at="2023-02-10T12:00")
        engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        view = engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00")
        assert view.ended and view.state == "closed"
        statuses = {name: d["status"] for name, d in view.deadlines.items()}
        assert statuses == {
            "notice": "met",
            "questions_discussed": "met",
            "questions_final": "met",
            "preliminary_activities": "met",
            "questionnaire_part_one": "met",
            "publication": "met",
            "factual_accuracy": "met",
            "embargoed_copy": "met",
            "plans_updated": "met",
        }
        assert missed(engine, case) == []
        assert verify(engine, case).ok

    def test_an_authority_causing_significant_concern_is_handed_to_its_follow_up_on_publication(self, make_engine, store):
        """Part 1, Follow-up activity and After the inspection; Part 3: publication starts the linked follow-up case."""
        engine = make_engine(store, start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine, concern=True)
        view = engine.get(case)
        assert view.state == "concern_reporting"
        # Part 1, Follow-up activity: reporting JF "within five days" (calendar) of Fri 9 Sep 2022 = Wed 14 Sep.
        assert view.deadlines["reporting_judgement_form"]["due_date"] == "2022-09-14"
        assert view.deadlines["publication"]["due_date"] == "2022-11-14"  # as in the public example
        view = engine.fire(case, "complete_reporting_judgement_form", actor="ri", at="2022-09-14T16:00")
        assert (view.state, view.deadlines["reporting_judgement_form"]["status"]) == ("hmci_scrutiny", "met")
        engine.fire(case, "submit_questionnaire_part_one", actor="la", at="2022-09-14T17:00")  # Wed: 2 working days late
        engine.fire(case, "call_for_information", {"request": "evidence base for R1"}, actor="hmci", at="2022-09-15T10:00")
        engine.fire(case, "hmci_agrees", actor="hmci", at="2022-09-20T10:00")
        engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-09-21T10:00")
        embargoed(engine, case)
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == "follow_up_started" and view.ended
        assert view.deadlines["publication"]["status"] == "met"
        # The three-month plan update is for "all other local authorities": withdrawn as the case ends.
        assert view.deadlines["plans_updated"]["status"] == "withdrawn"
        assert view.deadlines["questionnaire_part_one"]["status"] == "met_late"
        (child,) = view.children
        assert child["workflow"] == "estyn-follow-up@1" and child["trigger"] == "publish_report"
        follow_up = engine.get(child["id"])
        assert follow_up.parent == str(case)
        assert follow_up.state == "awaiting_improvement_conference"
        # Part 3: "around three months after the inspection" counts from the last day of the core week, Fri 9 Sep 2022.
        assert follow_up.data == {"authority": "Ceredigion", "inspection_end": "2022-09-09", "recommendations": CONCERN["recommendations"]}
        (entry,) = engine.register(nation="wales", status="in follow-up")
        assert entry.authority == "Ceredigion"
        assert entry.since == datetime(2022, 11, 14, 9, 0, tzinfo=UTC)  # 09:00 GMT (UK winter time)
        assert missed(engine, case) == ["questionnaire_part_one"]

    def test_publication_of_a_concern_waits_for_the_notice_to_welsh_ministers(self, make_engine):
        """Part 1, Follow-up activity: HMCI notifies Welsh Ministers (exceptionally after the factual accuracy stage)."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine, concern=True)
        engine.fire(case, "complete_reporting_judgement_form", actor="ri", at="2022-09-13T16:00")
        engine.fire(case, "hmci_agrees", actor="hmci", at="2022-09-20T10:00")
        embargoed(engine, case)
        with pytest.raises(GuardFailed, match="welsh_ministers_notified"):
            engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-11-14T08:00")
        assert engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00").state == "follow_up_started"

    def test_hmci_disagreeing_removes_the_concern_and_no_follow_up_starts(self, make_engine):
        """Part 1, Follow-up activity: HMCI does not agree; the report is amended to remove the opinion of concern."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = fed_back(engine, concern=True)
        engine.fire(case, "complete_reporting_judgement_form", actor="ri", at="2022-09-13T16:00")
        with pytest.raises(GuardFailed):
            engine.fire(case, "hmci_disagrees", {"reasons": "x", "causing_significant_concern": True}, actor="hmci", at="2022-09-20T10:00")
        view = engine.fire(case, "hmci_disagrees", {"reasons": "mitigating factors", "causing_significant_concern": False}, actor="hmci", at="2022-09-20T10:00")
        assert view.state == "report_writing"
        with pytest.raises(GuardFailed):
            engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-09-21T10:00")
        embargoed(engine, case)
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == "published" and view.children == []

    def test_the_reporting_form_in_working_days_is_a_parameter(self, make_engine):
        """Part 1, Follow-up activity: "within five days" read as working days for one case: Fri 9 Sep + 5 WD = Fri 16 Sep."""
        engine = make_engine(start="2022-06-01T09:00:00+01:00")
        case = engine.start(LGES, AUTHORITY, actor="estyn", at="2022-06-01T09:00", parameters={"reporting_form_within": "5 working days"})
        engine.fire(case, "schedule_inspection", CORE_WEEK, actor="estyn", at="2022-06-01T10:00")
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS}, actor="ri", at="2022-07-07T15:00")
        engine.run_due(until="2022-09-05T08:30")
        engine.fire(case, "hold_initial_meeting", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-05T09:30")
        engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
        engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
        engine.fire(case, "inform_assistant_director", {"director": "assistant_director"}, actor="ri", at="2022-09-09T09:15")
        view = engine.fire(
            case, "give_formal_feedback_of_concern", {"attendees": ["chief_executive", "leader", "chair_of_scrutiny"]}, actor="ri", at="2022-09-09T15:00"
        )
        # 12, 13, 14, 15, Fri 16 Sep 2022 (the bank holiday of Mon 19 Sep lies after it).
        assert view.deadlines["reporting_judgement_form"]["due_date"] == "2022-09-16"
