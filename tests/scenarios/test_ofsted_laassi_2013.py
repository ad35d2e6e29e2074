"""Scenario: the rules of the May 2013 framework (seed 000, version 1 of ofsted-laassi) that a back office relies on.

Notice and the kept first day on site (para 12), deferral (para 29), the
authority told that an inspection is incomplete (para 35), feedback on a return
visit (para 37). Every date asserted was worked out by hand; the calculation
is beside it. Working days skip weekends and English bank holidays (none in
June or July 2013). The authority, Norfolk, is a real one; the dates are ours.
"""

from __future__ import annotations

import pytest

from laworkflow import GuardFailed, InvalidData, TriggerNotAllowed
from laworkflow.calendar.clock import LONDON

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
FEEDBACK = {"strengths": ["a"], "weaknesses": ["b"]}
JUDGEMENT = {"effective": True, "strengths": ["a"], "weaknesses": ["b"], "recommendations": ["c"]}


def history_of(engine, case, kind, **match):
    return [h for h in engine.history(case) if h.type == kind and all(h.details.get(k) == v for k, v in match.items())]


def notified(engine, *, on_site_start="2013-06-10"):
    """Concern raised Monday 3 June 2013; notice on Wednesday 5 June of the first day on site."""
    case = engine.start(OFSTED, START, version=1, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": on_site_start, **TEAM}, actor="ofsted", at="2013-06-05T10:00")
    return case


def on_site(engine, *, on_site_start="2013-06-10"):
    case = notified(engine, on_site_start=on_site_start)
    engine.run_due(until=f"{on_site_start}T09:00")
    assert engine.get(case).state == "on_site"
    return case


class TestNotifiedDayKept:
    def test_the_first_day_on_site_is_the_day_notified_unless_an_override_says_why(self, make_engine):
        """Para 12: notice of the first day; on site from that day (the timer), earlier only by a recorded, reasoned override."""
        engine = make_engine()
        case = notified(engine)  # notice Wednesday 5 June of Monday 10 June
        before = len(engine.history(case))
        for day in ("2013-06-06T09:00", "2013-06-07T09:00"):
            with pytest.raises(GuardFailed, match="on_or_after '2013-06-10'"):
                engine.fire(case, "begin_on_site", actor="lead", at=day)
        with pytest.raises(InvalidData, match="early_start_reason"):  # an override with no reason is no override
            engine.fire(case, "begin_on_site", {"early_start_reason": "  "}, actor="lead", at="2013-06-07T09:00")
        assert len(engine.history(case)) == before and engine.get(case).state == "notice_given"
        engine.run_due(until="2013-06-10T09:00")
        view = engine.get(case)
        assert view.state == "on_site"
        # Para 21: four working days after Monday 10 June is Friday 14 June.
        assert view.deadlines["on_site_normal_length"]["due_date"] == "2013-06-14"

        early = notified(engine)
        view = engine.fire(early, "begin_on_site", {"early_start_reason": "the authority asked for Friday"}, actor="lead-hmi", at="2013-06-07T09:00")
        assert view.state == "on_site" and view.data["early_start_reason"] == "the authority asked for Friday"
        # The override is the day things happened: four working days after Friday 7 June is Thursday 13 June.
        assert view.deadlines["on_site_normal_length"]["due_date"] == "2013-06-13"
        (taken,) = history_of(engine, early, "Transitioned", trigger="begin_on_site")
        assert taken.actor == "lead-hmi"

    def test_a_first_day_by_hand_on_or_after_the_day_notified_is_allowed(self, make_engine):
        """The scheduler may have been down: on the day (or later) a person may record the arrival."""
        engine = make_engine()
        case = notified(engine)
        assert engine.fire(case, "begin_on_site", actor="lead", at="2013-06-10T09:00").state == "on_site"


class TestDeferral:
    def test_a_deferred_inspection_needs_a_new_notice_and_counts_from_the_new_first_day(self, make_engine):
        """Para 29 (deferral; choice in the YAML), para 12: a new notice, with the same notice period, gives the new first day."""
        engine = make_engine()
        case = notified(engine)
        with pytest.raises(InvalidData, match="deferral_reason"):  # a deferral says why
            engine.fire(case, "defer_inspection", {"deferral_ground": "other"}, actor="hmci", at="2013-06-07T10:00")
        view = engine.fire(case, "defer_inspection", {"deferral_ground": "other", "deferral_reason": "local elections"}, actor="hmci", at="2013-06-07T10:00")
        assert view.state == "deferred" and view.timers == {}  # the notified day no longer stands
        engine.run_due(until="2013-06-10T09:00")
        assert engine.get(case).state == "deferred"  # nobody arrives on the old day
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "begin_on_site", actor="lead", at="2013-06-10T10:00")
        # New notice Monday 10 June: Tue 11 (1), Wed 12 (2), Thu 13 (3), Fri 14 (4), Mon 17 (5) -> Monday 17 June, not Tuesday 18.
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(case, "give_notice", {"on_site_start": "2013-06-18", **TEAM}, actor="ofsted", at="2013-06-10T10:00")
        view = engine.fire(case, "give_notice", {"on_site_start": "2013-06-17", **TEAM}, actor="ofsted", at="2013-06-10T10:00")
        assert view.timers["notice_ends"]["due_at"].astimezone(LONDON).isoformat() == "2013-06-17T00:00:00+01:00"
        engine.run_due(until="2013-06-17T09:00")
        view = engine.get(case)
        assert view.state == "on_site"
        # Para 21: on site normally five days: 4 working days after Monday 17 June is Friday 21 June.
        assert view.deadlines["on_site_normal_length"]["due_date"] == "2013-06-21"
        (deferred,) = history_of(engine, case, "Transitioned", trigger="defer_inspection")
        assert (deferred.actor, deferred.details["data"]) == ("hmci", {"deferral_ground": "other", "deferral_reason": "local elections"})

    def test_the_directors_absence_is_not_normally_a_ground_a_deferral_on_it_is_a_finding(self, make_engine):
        """Para 29: "The absence of the Director of Children's Services ... will not normally be grounds for the deferral"."""
        engine = make_engine()
        other = notified(engine)
        engine.fire(other, "defer_inspection", {"deferral_ground": "other", "deferral_reason": "local elections"}, actor="hmci", at="2013-06-07T10:00")
        assert engine.get(other).findings == []
        case = notified(engine)
        view = engine.fire(
            case,
            "defer_inspection",
            {"deferral_ground": "director_of_childrens_services_absent", "deferral_reason": "DCS on leave"},
            actor="hmci",
            at="2013-06-07T10:00",
        )
        assert view.state == "deferred"  # "normally": recorded, not refused
        (finding,) = view.findings
        assert (finding["id"], finding["trigger"], finding["cites"].split(" (")[0]) == (
            "deferred_for_the_directors_absence",
            "defer_inspection",
            "laassi2013 29",
        )

    def test_deferral_only_before_the_first_day_on_site(self, make_engine):
        """Para 29 (choice): a deferral moves the first day; once on site there is nothing to defer."""
        engine = make_engine()
        case = on_site(engine)
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "defer_inspection", {"deferral_ground": "other", "deferral_reason": "x"}, actor="hmci", at="2013-06-11T10:00")


class TestIncomplete:
    def test_the_further_visit_waits_until_the_authority_is_told_the_inspection_is_incomplete(self, make_engine):
        """Para 35: "the local authority will be notified that the inspection is incomplete and that a further visit may be necessary"."""
        engine = make_engine()
        case = on_site(engine)
        engine.fire(case, "give_feedback", FEEDBACK, actor="lead", at="2013-06-14T12:00")
        engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
        view = engine.fire(case, "declare_incomplete", {"reason": "evidence base seriously flawed"}, actor="qa", at="2013-06-20T10:00")
        assert view.state == "further_visit_required"
        before = len(engine.history(case))
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "begin_on_site", actor="lead", at="2013-06-24T09:00")
        assert len(engine.history(case)) == before
        view = engine.fire(case, "notify_incomplete", {"notification": "letter to the Chief Executive and the DCS"}, actor="qa", at="2013-06-21T10:00")
        assert view.state == "told_incomplete"
        assert engine.fire(case, "begin_on_site", actor="lead", at="2013-06-24T09:00").state == "on_site"


class TestFeedbackOnReturn:
    def test_leaving_without_feedback_needs_the_reason_and_the_judgement_waits_for_the_return(self, make_engine):
        """Para 36-37: feedback before leaving, or — evidence still to consider — on a return visit before the judgement."""
        engine = make_engine()
        case = on_site(engine)
        with pytest.raises(GuardFailed, match="strengths present"):
            engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
        view = engine.fire(case, "leave_site", {"feedback_return_reason": "school data to analyse"}, actor="lead", at="2013-06-14T17:00")
        assert view.state == "feedback_return_due"
        # Para 42: the letter deadlines count from leaving site, Friday 14 June 2013: 20 working days -> Friday 12 July; 25 -> Friday 19 July.
        assert (view.deadlines["letter_sent"]["due_date"], view.deadlines["letter_published"]["due_date"]) == ("2013-07-12", "2013-07-19")
        with pytest.raises(TriggerNotAllowed):  # no judgement before the feedback
            engine.fire(case, "make_judgement", JUDGEMENT, actor="qa", at="2013-06-19T10:00")
        view = engine.fire(case, "give_feedback_on_return", FEEDBACK, actor="lead", at="2013-06-19T10:00")
        assert view.state == "quality_assurance"
        assert engine.fire(case, "make_judgement", JUDGEMENT, actor="qa", at="2013-06-28T10:00").state == "letter_drafted"
        assert view.deadlines["letter_sent"]["due_date"] == "2013-07-12"  # the return visit does not move the deadlines


class TestFirstDayOnAWorkingDay:
    @pytest.mark.parametrize(
        ("first_day", "flagged"),
        [("2013-06-10", False), ("2013-06-08", True), ("2013-08-26", True)],  # a Monday; Saturday 8 June; the summer bank holiday, Monday 26 August
    )
    def test_a_first_day_on_site_on_a_weekend_or_bank_holiday_is_a_finding(self, make_engine, first_day, flagged):
        """Para 12, 21 (choice): a notified first day on a non-working day is recorded, not refused."""
        engine = make_engine()
        case = engine.start(OFSTED, START, version=1, actor="hmci", at="2013-06-03T09:00")
        notice_day = "2013-06-05T10:00" if first_day < "2013-07-01" else "2013-08-20T10:00"  # Tue 20 Aug: Wed 21 (1) ... Tue 27 (5)
        view = engine.fire(case, "give_notice", {"on_site_start": first_day, **TEAM}, actor="ofsted", at=notice_day)
        assert view.state == "notice_given"
        assert [f["id"] for f in view.findings] == (["first_day_not_a_working_day"] if flagged else [])


class TestTeam:
    @pytest.mark.parametrize(("inspectors", "flagged"), [(["HMI"], False), (["HMI", "Senior HMI"], True)])
    def test_at_least_one_other_inspector_and_a_team_larger_than_two_is_a_finding(self, make_engine, inspectors, flagged):
        """Para 13: "led by HMI ... with at least one other inspector" (a bound); para 15: "normally ... two HMI" (a finding)."""
        engine = make_engine()
        case = engine.start(OFSTED, START, version=1, actor="hmci", at="2013-06-03T09:00")
        with pytest.raises(InvalidData, match="inspectors"):
            engine.fire(
                case, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": []}, actor="ofsted", at="2013-06-05T10:00"
            )
        view = engine.fire(
            case, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": inspectors}, actor="ofsted", at="2013-06-05T10:00"
        )
        assert [f["id"] for f in view.findings] == (["team_larger_than_two_hmi"] if flagged else [])


RECIPIENTS = {"recipients": ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]}


def published(engine, *, feedback=FEEDBACK, judgement=JUDGEMENT):
    """On site Monday 10 June 2013, left Friday 14 June, judged Friday 28 June, letter sent Wednesday 10 July, published Thursday 11 July."""
    case = on_site(engine)
    engine.fire(case, "give_feedback", feedback, actor="lead", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
    engine.fire(case, "make_judgement", judgement, actor="qa", at="2013-06-28T10:00")
    engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-10T10:00")
    assert engine.fire(case, "publish_letter", actor="ofsted", at="2013-07-11T10:00").state == "published"
    return case


class TestAfterTheLetter:
    def test_the_statement_of_action_sets_out_a_timetable(self, make_engine):
        """Para 40: "a written statement setting out what action it proposes to take ... and setting out a timetable": a blank one is none."""
        engine = make_engine()
        case = published(engine)
        before = (len(engine.history(case)), engine.get(case).version)
        with pytest.raises(InvalidData, match="timetable"):
            engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "  "}, actor="la", at="2013-09-02T10:00")
        assert (len(engine.history(case)), engine.get(case).version) == before
        view = engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "by July 2014"}, actor="la", at="2013-09-02T10:00")
        assert view.state == "statement_of_action_received"

    def test_a_complaint_with_no_concern_raised_first_is_a_finding(self, make_engine):
        """Para 44-45 (choice): concerns "should be raised and, where possible, resolved with the lead inspector" before a formal complaint."""
        engine = make_engine()
        direct = published(engine)
        complaint = {"complaint": "the letter misreads our data", "complainant": "the Director of Children's Services"}
        view = engine.fire(direct, "lodge_complaint", complaint, actor="la", at="2013-07-15T10:00")
        assert [f["id"] for f in view.findings] == ["complaint_without_a_concern_raised_first"]

        raised_first = on_site(engine)
        engine.fire(raised_first, "raise_concern", {"concern": "no time to present evidence", "raised_by": "the DCS"}, actor="la", at="2013-06-11T10:00")
        view = engine.fire(raised_first, "lodge_complaint", complaint, actor="la", at="2013-06-13T10:00")
        assert view.findings == []

    @pytest.mark.parametrize(
        ("explained", "flagged"), [({}, True), ({"reinspection_implications_explained": False}, True), ({"reinspection_implications_explained": True}, False)]
    )
    def test_a_reinspection_arranged_when_the_feedback_did_not_explain_its_implications_is_a_finding(self, make_engine, explained, flagged):
        """Para 36 (choice): before leaving, the authority is to be clear "where relevant, about the implications of ... re-inspection"."""
        engine = make_engine()
        case = published(engine, feedback={**FEEDBACK, **explained}, judgement={**JUDGEMENT, "effective": False})
        engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "by July 2014"}, actor="la", at="2013-09-02T10:00")
        view = engine.fire(case, "arrange_reinspection", actor="hmci", at="2013-09-09T10:00")
        assert view.state == "reinspection_arranged"
        assert [f["id"] for f in view.findings] == (["reinspection_implications_not_explained"] if flagged else [])
