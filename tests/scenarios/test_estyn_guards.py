"""Estyn guards, each shown to decide: refused exactly when its condition fails, accepted when it holds (issue 10).

Workflows: estyn-lges-2022.yaml, estyn-follow-up-2022.yaml and its children
estyn-improvement-conference-2022.yaml, estyn-progress-conference-2022.yaml,
estyn-monitoring-visit-2022.yaml. Source: 004_c25b9f45cba4d4fe.txt, cited by
Part and section as the workflow files do.

Each test drives a real case to the state where one guard applies, fires the
trigger with data or a day that only that guard refuses, checks the refusal and
that nothing was written, then fires it again with the condition met. Where
guards choose between two forms of one trigger, the test asserts the form
taken (the state the case ends in). Dates are the public example's: core week
Mon 5 to Fri 9 September 2022, draft Mon 17 October, embargoed copy Mon 7
November, publication Mon 14 November 2022 (Wales: Mon 19 Sep 2022 a bank
holiday).
"""

from __future__ import annotations

import pytest

from laworkflow import GuardFailed

from .test_estyn_lges import (
    CONCERN,
    DISCUSSION,
    FINAL,
    NOT_CONCERN,
    QUESTIONS,
    RECIPIENTS,
    TEAM,
    draft,
    embargoed,
    fed_back,
    in_core_week,
    planned,
    scheduled,
)

START = "2022-06-01T09:00:00+01:00"
ALL_RECIPIENTS = RECIPIENTS["recipients"]
INVITED = ["welsh_government", "audit_wales", "welsh_local_government_association"]


def stored(engine) -> list[tuple]:
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 10**6)]


def refused(engine, case, trigger: str, data: dict | None, at: str, match: str, actor: str = "estyn") -> None:
    """The engine refuses the command by guard, naming the rule; the store and the case's history are as they were."""
    before, length = stored(engine), len(engine.history(case))
    with pytest.raises(GuardFailed, match=match):
        engine.fire(case, trigger, data, actor=actor, at=at)
    assert stored(engine) == before
    assert len(engine.history(case)) == length


def without(items: list[str], item: str) -> list[str]:
    assert item in items
    return [i for i in items if i != item]


# ------------------------------------------------------------------ estyn-lges


def concern_embargoed(engine, *, serious_risk: bool = False, notify: bool = True):
    """Judged causing significant concern (with or without a serious health and safety risk), HMCI agrees, copy Mon 7 Nov 2022.

    Reporting form Tue 13 Sep, HMCI agrees Tue 20 Sep, Welsh Ministers notified Wed 21 Sep (unless `notify` is false),
    the well-being letter on Thu 22 Sep where the risk is serious; draft Mon 17 Oct, final Tue 25 Oct, copy Mon 7 Nov.
    """
    case = in_core_week(engine)
    engine.fire(case, "agree_judgement", {**CONCERN, "serious_health_safety_risk": serious_risk}, actor="team", at="2022-09-08T18:00")
    engine.fire(case, "inform_inspection_coordinator", actor="ri", at="2022-09-09T09:00")
    engine.fire(case, "inform_assistant_director", {"director": "assistant_director"}, actor="ri", at="2022-09-09T09:15")
    engine.fire(case, "give_formal_feedback_of_concern", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-09T15:00")
    engine.fire(case, "complete_reporting_judgement_form", actor="ri", at="2022-09-13T16:00")
    engine.fire(case, "hmci_agrees", actor="hmci", at="2022-09-20T10:00")
    if notify:
        engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-09-21T10:00")
    if serious_risk:
        engine.fire(case, "send_well_being_letter", actor="estyn", at="2022-09-22T10:00")
    return embargoed(engine, case)


def embargoed_case(engine, form: str):
    """A case with its embargoed copy sent, for one of the three forms of publish_report."""
    if form == "not_causing_concern":
        return embargoed(engine, fed_back(engine))
    return concern_embargoed(engine, serious_risk=form == "concern_with_serious_risk")


PUBLISHED_TO = {"not_causing_concern": "published", "concern": "follow_up_started", "concern_with_serious_risk": "follow_up_started"}


class TestQuestionsAndJudgement:
    def test_fewer_final_questions_than_the_minimum_are_refused(self, make_engine):
        """Part 1, Preparing local inspection questions (p. 13): "normally ... at least four questions", final as draft."""
        engine = make_engine(start=START)
        case = scheduled(engine)
        engine.fire(case, "give_notice", {**TEAM, "draft_questions": QUESTIONS}, actor="ic", at="2022-06-27T10:00")
        refused(engine, case, "finalise_questions", {"final_questions": QUESTIONS[:3]}, "2022-07-07T15:00", "final_questions min_items 4")
        view = engine.fire(case, "finalise_questions", {"final_questions": QUESTIONS[:4]}, actor="ri", at="2022-07-07T15:00")
        assert (view.state, view.data["final_questions"]) == ("planning", QUESTIONS[:4])

    def test_a_judgement_of_concern_without_its_reasons_is_refused_not_taken_as_no_concern(self, make_engine):
        """Part 1, During the core inspection week (p. 15): Team meetings; Follow-up activity: a concern comes with its reasons."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        no_reasons = {k: v for k, v in CONCERN.items() if k != "concern_reasons"}
        refused(engine, case, "agree_judgement", no_reasons, "2022-09-08T18:00", "concern_reasons min_items 1")
        assert engine.get(case).state == "core_week"
        view = engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
        assert (view.state, view.data["causing_significant_concern"]) == ("concern_judged", True)

    def test_a_judgement_of_no_concern_giving_reasons_for_concern_is_refused_not_taken_as_concern(self, make_engine):
        """Part 1, During the core inspection week (p. 15): Follow-up activity: reasons and shortcomings only with a concern."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        mixed = {**CONCERN, "causing_significant_concern": False}
        refused(engine, case, "agree_judgement", mixed, "2022-09-08T18:00", "causing_significant_concern eq True")
        view = engine.fire(case, "agree_judgement", NOT_CONCERN, actor="team", at="2022-09-08T18:00")
        assert (view.state, view.data["causing_significant_concern"]) == ("judgement_agreed", False)

    @pytest.mark.parametrize("shortcomings", [None, []], ids=["absent", "empty"])
    def test_a_judgement_of_concern_names_its_main_shortcomings(self, make_engine, shortcomings):
        """Part 1, During the core inspection week (p. 15): Reports and summaries for authorities causing significant concern."""
        engine = make_engine(start=START)
        case = in_core_week(engine)
        judgement = {k: v for k, v in CONCERN.items() if k != "main_shortcomings"}
        if shortcomings is not None:
            judgement["main_shortcomings"] = shortcomings
        refused(engine, case, "agree_judgement", judgement, "2022-09-08T18:00", "main_shortcomings min_items 1")
        view = engine.fire(case, "agree_judgement", CONCERN, actor="team", at="2022-09-08T18:00")
        assert view.data["main_shortcomings"] == CONCERN["main_shortcomings"]

    @pytest.mark.parametrize(("judgement", "state"), [(NOT_CONCERN, "judgement_agreed"), (CONCERN, "concern_judged")], ids=["not_concern", "concern"])
    def test_a_judgement_waits_for_the_initial_meeting(self, make_engine, judgement, state):
        """Part 1, During the core inspection week (p. 15): Initial meeting "at the start of the inspection"."""
        engine = make_engine(start=START)
        case = planned(engine)
        engine.run_due(until="2022-09-05T08:30")  # surveys open Mon 15 Aug; the core week begins Mon 5 Sep 2022
        assert engine.get(case).state == "core_week"
        refused(engine, case, "agree_judgement", judgement, "2022-09-08T18:00", "initial_meetings ge 1")
        engine.fire(case, "hold_initial_meeting", {"attendees": ["chief_executive"]}, actor="ri", at="2022-09-05T09:30")
        assert engine.fire(case, "agree_judgement", judgement, actor="team", at="2022-09-08T18:00").state == state


class TestEmbargoedCopyAndPublication:
    @pytest.mark.parametrize("day", ["2022-11-04", "2022-11-08"], ids=["a_day_before", "a_day_after"])
    def test_the_embargoed_copy_records_the_day_it_went(self, make_engine, day):
        """Part 1, After the inspection (p. 19): the five working days before publication count from the day the copy really went."""
        engine = make_engine(start=START)
        case = fed_back(engine)
        engine.fire(case, "send_draft_report", draft(engine, case), actor="ri", at="2022-10-17T10:00")
        engine.fire(case, "receive_factual_accuracy_comments", {"factual_errors": []}, actor="la", at="2022-10-21T12:00")
        engine.fire(case, "finalise_report", FINAL, actor="ri", at="2022-10-25T10:00")
        refused(engine, case, "send_embargoed_copy", {"embargoed_copy_sent_on": day}, "2022-11-07T10:00", "embargoed_copy_sent_on within")
        view = engine.fire(case, "send_embargoed_copy", {"embargoed_copy_sent_on": "2022-11-07"}, actor="estyn", at="2022-11-07T10:00")
        assert (view.state, view.data["embargoed_copy_sent_on"]) == ("embargoed", "2022-11-07")

    @pytest.mark.parametrize("form", list(PUBLISHED_TO))
    @pytest.mark.parametrize("recipient", ALL_RECIPIENTS)
    def test_the_report_goes_to_each_listed_recipient(self, make_engine, form, recipient):
        """Part 1, After the inspection (p. 19): chief executive, chief education officer, leader, lead member, chair of scrutiny, Audit Wales."""
        engine = make_engine(start=START)
        case = embargoed_case(engine, form)
        refused(engine, case, "publish_report", {"recipients": without(ALL_RECIPIENTS, recipient)}, "2022-11-14T09:00", f"recipients contains '{recipient}'")
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == PUBLISHED_TO[form]
        assert len(view.children) == (0 if form == "not_causing_concern" else 1)

    @pytest.mark.parametrize("form", list(PUBLISHED_TO))
    def test_no_report_is_published_before_five_working_days_after_the_embargoed_copy(self, make_engine, form):
        """Part 1, After the inspection (p. 19): copy Mon 7 Nov 2022; Fri 11 Nov is the fourth working day after it, Mon 14 Nov the fifth."""
        engine = make_engine(start=START)
        case = embargoed_case(engine, form)
        refused(engine, case, "publish_report", RECIPIENTS, "2022-11-11T09:00", "embargoed_copy_sent_on passed")
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == PUBLISHED_TO[form]

    @pytest.mark.parametrize("serious_risk", [False, True], ids=["concern", "concern_with_serious_risk"])
    def test_a_concern_waits_for_the_notice_to_welsh_ministers(self, make_engine, serious_risk):
        """Part 1, During the core inspection week (p. 15): Follow-up activity: HMCI notifies Welsh Ministers before publication."""
        engine = make_engine(start=START)
        case = concern_embargoed(engine, serious_risk=serious_risk, notify=False)
        refused(engine, case, "publish_report", RECIPIENTS, "2022-11-14T09:00", "welsh_ministers_notified ge 1")
        engine.fire(case, "notify_welsh_ministers", actor="hmci", at="2022-11-14T08:00")
        view = engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        assert view.state == "follow_up_started" and view.data["welsh_ministers_notified"] == 1
        assert view.data.get("well_being_letters") == (1 if serious_risk else None)


class TestAfterPublication:
    def test_the_updated_plans_are_discussed_only_once_the_authority_has_updated_them(self, make_engine):
        """Part 1, After the inspection (p. 19): Following publication of the report: the LALs "discuss the updated plans"."""
        engine = make_engine(start=START)
        case = embargoed(engine, fed_back(engine))
        engine.fire(case, "publish_report", RECIPIENTS, actor="estyn", at="2022-11-14T09:00")
        refused(engine, case, "discuss_updated_plans", DISCUSSION, "2022-12-01T10:00", "updated_plans present")
        engine.fire(case, "update_plans", {"updated_plans": ["education strategic plan 2023-26"]}, actor="la", at="2023-02-10T12:00")
        view = engine.fire(case, "discuss_updated_plans", DISCUSSION, actor="lali", at="2023-02-20T10:00")
        assert view.data["monitoring_arrangements_suitable"] is True
        assert engine.fire(case, "close", actor="estyn", at="2023-02-21T10:00").state == "closed"


# ------------------------------------------------- follow-up and its children


def conference_case(engine, workflow: str, start_data: dict, started_at: str, date: str, agreed_at: str):
    case = engine.start(workflow, {"authority": "Ceredigion", **start_data}, actor="estyn", at=started_at)
    engine.fire(case, "agree_date", {"conference_date": date}, actor="estyn", at=agreed_at)
    return case


class TestConferences:
    @pytest.mark.parametrize("guest", INVITED)
    def test_the_improvement_conference_notice_invites_each_body(self, make_engine, guest):
        """Part 3, Post-inspection improvement conference: "Welsh Government, Audit Wales and the WLGA are invited"."""
        engine = make_engine(start="2022-11-14T09:00:00+00:00")
        case = conference_case(engine, "estyn-improvement-conference", {"inspection_end": "2022-09-09"}, "2022-11-14T12:00", "2022-12-12", "2022-11-14T13:00")
        refused(engine, case, "give_formal_notice", {"invited": without(INVITED, guest)}, "2022-11-14T14:00", f"invited contains '{guest}'")
        view = engine.fire(case, "give_formal_notice", {"invited": INVITED}, actor="estyn", at="2022-11-14T14:00")
        assert (view.state, view.data["invited"]) == ("notified", INVITED)

    @pytest.mark.parametrize("guest", INVITED)
    def test_the_progress_conference_notice_invites_each_body(self, make_engine, guest):
        """Part 3, Progress conference: the same bodies are invited."""
        engine = make_engine(start="2023-01-09T09:00:00+00:00")
        case = conference_case(engine, "estyn-progress-conference", {"sequence": 1}, "2023-01-09T10:00", "2023-12-11", "2023-01-09T11:00")
        refused(engine, case, "give_formal_notice", {"invited": without(INVITED, guest)}, "2023-11-13T10:00", f"invited contains '{guest}'")
        view = engine.fire(case, "give_formal_notice", {"invited": INVITED}, actor="estyn", at="2023-11-13T10:00")
        assert (view.state, view.data["invited"]) == ("notified", INVITED)

    def test_the_progress_conference_letter_goes_to_the_chief_executive(self, make_engine):
        """Part 3, Progress conference: the letter to the chief executive, copied to the Minister for Education."""
        engine = make_engine(start="2023-01-09T09:00:00+00:00")
        case = conference_case(engine, "estyn-progress-conference", {"sequence": 1}, "2023-01-09T10:00", "2023-12-11", "2023-01-09T11:00")
        engine.fire(case, "give_formal_notice", {"invited": INVITED}, actor="estyn", at="2023-11-13T10:00")
        engine.run_due(until="2023-12-11T09:00")  # the conference_day timer: held on Mon 11 Dec 2023
        assert engine.get(case).state == "held"
        letter = {"assurance_on_impact": "some", "letter_recommendations": []}
        refused(
            engine,
            case,
            "send_letter",
            {**letter, "recipients": ["minister_for_education", "director_of_education"]},
            "2023-12-15T10:00",
            "contains 'chief_executive'",
        )
        view = engine.fire(case, "send_letter", {**letter, "recipients": ["chief_executive", "minister_for_education"]}, actor="estyn", at="2023-12-15T10:00")
        assert view.state == "letter_sent"


class TestMonitoringVisit:
    def test_a_visit_started_without_the_recommendations_reports_at_least_one_evaluation(self, make_engine):
        """Part 3, Monitoring visit: the report evaluates progress on the recommendations; a case without them still gives one."""
        engine = make_engine(start="2024-11-01T09:00:00+00:00")
        case = engine.start("estyn-monitoring-visit", {"authority": "Ceredigion"}, actor="estyn", at="2024-11-01T10:00")
        engine.fire(case, "agree_dates", {"visit_start": "2024-12-09", "visit_end": "2024-12-11"}, actor="estyn", at="2024-11-01T11:00")
        engine.fire(case, "give_formal_notice", actor="estyn", at="2024-11-11T10:00")  # four weeks before Mon 9 Dec 2024
        engine.run_due(until="2024-12-09T09:00")
        engine.fire(case, "end_visit", {"no_longer_causing_significant_concern": True}, actor="estyn", at="2024-12-11T16:00")
        report = {"summative_commentary": "good progress overall", "sufficient_progress": True}
        refused(engine, case, "publish_report", {**report, "progress_on_recommendations": []}, "2024-12-20T10:00", "progress_on_recommendations min_items 1")
        view = engine.fire(case, "publish_report", {**report, "progress_on_recommendations": ["R1: strong progress"]}, actor="estyn", at="2024-12-20T10:00")
        assert (view.state, view.data["progress_on_recommendations"]) == ("published", ["R1: strong progress"])


class TestFollowUpRecordsTheConferenceBeforeItsLetter:
    @staticmethod
    def improvement_conference(engine, inspection_end: str, arranged_at: str, date: str, notice_at: str, letter_at: str):
        """A follow-up started by hand, its improvement conference arranged, notified, held (timer) and its letter sent."""
        follow_up = engine.start("estyn-follow-up", {"authority": "Ceredigion", "inspection_end": inspection_end}, actor="estyn", at=arranged_at)
        engine.fire(follow_up, "arrange_improvement_conference", actor="estyn", at=arranged_at)
        child = engine.get(follow_up).children[-1]["id"]
        engine.fire(child, "agree_date", {"conference_date": date}, actor="estyn", at=arranged_at)
        engine.fire(child, "give_formal_notice", {"invited": INVITED}, actor="estyn", at=notice_at)
        engine.run_due(until=f"{date}T09:00")
        assert engine.get(child).state == "held"
        letter = {"recipients": ["chief_executive"], "assurance_on_understanding": "good", "assurance_on_planning": "limited"}
        engine.fire(child, "send_letter", letter, actor="estyn", at=letter_at)
        assert engine.get(child).state == "letter_sent"
        return follow_up

    def test_a_letter_for_a_conference_the_follow_up_holds_no_record_of_is_refused(self, make_engine):
        """Part 3, Post-inspection improvement conference: the letter follows the conference the follow-up recorded.

        The conference is held on 16 Sep 2199; recording it would set the termly link-inspector meeting four months
        later, 16 Jan 2200, past the last day the engine counts (31 Dec 2199), so the follow-up refuses that report and
        records why. The letter reported next finds no conference date and is refused too: the follow-up stays in
        improvement_conference, its data unchanged, with each refusal recorded.
        """
        engine = make_engine(start="2199-06-10T09:00:00+01:00")
        follow_up = self.improvement_conference(engine, "2199-06-05", "2199-06-10T10:00", "2199-09-16", "2199-08-19T10:00", "2199-09-20T10:00")
        view = engine.get(follow_up)
        assert (view.state, view.data) == ("improvement_conference", {"authority": "Ceredigion", "inspection_end": "2199-06-05"})
        reports = [h.details for h in engine.history(follow_up) if h.type == "ChildReported"]
        assert [r["reaction"] for r in reports] == ["improvement_conference_held", "improvement_letter_sent"]
        assert reports[0]["outcome"].startswith("refused: deadline 'link_inspector_meeting'")
        assert reports[1]["outcome"].startswith("refused: ") and "improvement_conference_on present" in reports[1]["outcome"]
        assert not [h for h in engine.history(follow_up) if h.type == "Transitioned" and h.details["trigger"] == "record_improvement_letter"]

    def test_a_letter_after_the_recorded_conference_moves_the_follow_up_on(self, make_engine):
        """Part 3, Post-inspection improvement conference: conference Mon 12 Dec 2022 recorded, letter Fri 16 Dec 2022."""
        engine = make_engine(start="2022-11-14T09:00:00+00:00")
        follow_up = self.improvement_conference(engine, "2022-09-09", "2022-11-14T12:00", "2022-12-12", "2022-11-14T14:00", "2022-12-16T10:00")
        view = engine.get(follow_up)
        assert (view.state, view.data["improvement_conference_on"]) == ("awaiting_progress_conference", "2022-12-12")
