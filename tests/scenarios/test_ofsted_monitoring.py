"""Scenario: monitoring and re-inspection of a local authority judged inadequate (Ofsted, 2016).

Source: "Re-inspection of inadequate local authorities — consultation outcome
report" (seed 003). Its paragraphs are all numbered "1.", so they are cited by
section and ordinal: "Timing ¶1" is the first paragraph under "The timing of
the re-inspection"; "Next steps ¶2 item k" is the k-th of the six unnumbered
paragraphs after the second paragraph of "Next steps". Windows and lengths the
document leaves open are the choices written in the YAML (quarterly: earliest
10 weeks, target 3 months, latest 4 months; notice 5 working days). Every date
asserted was worked out by hand; the calculation is beside it. The authority,
Barsetshire, is fictional.
"""

from __future__ import annotations

import pytest

from laworkflow import GuardFailed, InvalidData, TriggerNotAllowed
from laworkflow.audit.verify import verify

MONITORING = "ofsted-monitoring"
VISIT = "ofsted-monitoring-visit"
REINSPECTION = "ofsted-reinspection"
# `all_key_areas_inadequate` is derived by the engine from `inadequate_areas`: never sent.
SOME_AREAS = {"authority": "Barsetshire", "inadequate_areas": ["help_and_protection", "leadership_management_governance"]}
ALL_AREAS = {
    "authority": "Barsetshire",
    "inadequate_areas": ["help_and_protection", "looked_after_and_permanence", "leadership_management_governance"],
}

# The four quarterly visits of the main scenario: (scheduled and notified, first day, last day, letter sent, letter published).
# Notice: 5 working days after each notice day is the first day (counted in each test below).
VISITS = [
    ("2017-01-04", "2017-01-11", "2017-01-12", "2017-02-02", None),  # first letter: not published
    ("2017-04-04", "2017-04-11", "2017-04-12", "2017-05-03", "2017-05-10"),
    ("2017-07-04", "2017-07-11", "2017-07-12", "2017-08-02", "2017-08-09"),
    ("2017-10-03", "2017-10-10", "2017-10-11", "2017-11-01", "2017-11-08"),
]


def history_of(engine, case, kind, **match):
    return [h for h in engine.history(case) if h.type == kind and all(h.details.get(k) == v for k, v in match.items())]


def judged(engine, data=SOME_AREAS):
    """Judged inadequate (published Monday 4 July 2016); action plan submitted Monday 3 October 2016."""
    case = engine.start(MONITORING, data, actor="ofsted", at="2016-07-04T09:00")
    engine.fire(case, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
    return case


def visit(engine, parent, notified, first_day, last_day, sent, published, *, progress_concern=False, finish=True):
    """One quarterly visit as a child case: notice, the timer, the visit, the letter; returns the child's id.

    `published` None keeps the letter unpublished; `finish=False` stops once the letter is sent.
    """
    view = engine.fire(parent, "schedule_visit", actor="shmi", at=f"{notified}T09:00")
    child = view.children[-1]["id"]
    engine.fire(child, "give_notice", {"visit_start": first_day, "lead_inspector": "HMI"}, actor="ofsted", at=f"{notified}T10:00")
    engine.run_due(until=f"{first_day}T09:00")
    engine.fire(child, "record_evidence", {"entry": "tested one of the LA's case audits", "audited_case": True}, actor="hmi", at=f"{first_day}T14:00")
    engine.fire(child, "end_visit", actor="hmi", at=f"{last_day}T16:00")
    engine.fire(child, "send_letter", {"narrative": "progress made", "progress_concern": progress_concern}, actor="ofsted", at=f"{sent}T10:00")
    if not finish:
        return child
    if published is None:
        engine.fire(child, "keep_unpublished", actor="ofsted", at=f"{sent}T10:05")
    else:
        engine.fire(child, "publish_letter", actor="ofsted", at=f"{published}T10:00")
    return child


def window(engine, case, deadline="next_monitoring_visit"):
    entry = engine.get(case).deadlines[deadline]
    return entry["earliest_date"], entry.get("target_date"), entry["due_date"]


class TestMonitoringAndReinspection:
    def test_full_run_four_quarterly_visits_then_a_post_monitoring_reinspection_ends_monitoring(self, store, make_engine):
        """The whole process, date by date, for an authority judged inadequate in two of the three key areas (on every store)."""
        engine = make_engine(store, start="2016-07-04T09:00")
        parent = engine.start(MONITORING, SOME_AREAS, actor="ofsted", at="2016-07-04T09:00")
        assert engine.get(parent).state == "judged_inadequate"
        (entry,) = engine.register(status="in follow-up")
        assert (entry.authority, entry.since.date().isoformat()) == ("Barsetshire", "2016-07-04")

        view = engine.fire(parent, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
        assert view.state == "monitoring"
        # Timing ¶1, Next steps ¶2 item 4: re-inspection within 24 months of the action plan, Mon 3 Oct 2016 -> Wed 3 Oct 2018.
        assert view.deadlines["reinspection_within_24_months"]["due_date"] == "2018-10-03"
        # Next steps ¶2 item 1, quarterly from the action plan: earliest 3 Oct + 10 weeks (70 days) = Mon 12 Dec 2016;
        # target 3 months = Tue 3 Jan 2017; latest 4 months = Fri 3 Feb 2017.
        assert window(engine, parent) == ("2016-12-12", "2017-01-03", "2017-02-03")

        expected_windows = [
            # after visit 1 (Wed 11 Jan 2017): 11 Jan + 70 days = 31 Jan (+20) + 28 Feb (+28) + 22 Mar (+22) = Wed 22 Mar;
            # +3 months Tue 11 Apr; +4 months Thu 11 May 2017.
            ("2017-03-22", "2017-04-11", "2017-05-11"),
            # after visit 2 (Tue 11 Apr): 11 Apr + 70 = 30 Apr (+19) + 31 May (+31) + 20 Jun (+20) = Tue 20 Jun; 11 Jul; 11 Aug.
            ("2017-06-20", "2017-07-11", "2017-08-11"),
            # after visit 3 (Tue 11 Jul): 11 Jul + 70 = 31 Jul (+20) + 31 Aug (+31) + 19 Sep (+19) = Tue 19 Sep; 11 Oct; 11 Nov.
            ("2017-09-19", "2017-10-11", "2017-11-11"),
            # after visit 4 (Tue 10 Oct): 10 Oct + 70 = 31 Oct (+21) + 30 Nov (+30) + 19 Dec (+19) = Tue 19 Dec; 10 Jan 2018; 10 Feb 2018.
            ("2017-12-19", "2018-01-10", "2018-02-10"),
        ]
        children = []
        for number, (notified, first_day, last_day, sent, published) in enumerate(VISITS, start=1):
            child = visit(engine, parent, notified, first_day, last_day, sent, published)
            children.append(child)
            child_view = engine.get(child)
            # Next steps ¶2 item 1: each visit is its own case, linked both ways, carrying its number from the parent.
            assert (child_view.workflow, child_view.parent, child_view.data["visit_number"]) == (VISIT, str(parent), number)
            # Next steps ¶2 item 3: the first letter is not published, every later one is.
            assert child_view.state == ("letter_unpublished" if number == 1 else "letter_published")
            assert engine.get(parent).data["visits_completed"] == number
            assert window(engine, parent) == expected_windows[number - 1]
        assert [c["workflow"] for c in engine.get(parent).children] == [f"{VISIT}@1"] * 4

        # Every visit began inside its quarterly window (Next steps ¶2 item 1): met on its first day, on time.
        met = history_of(engine, parent, "DeadlineMet", deadline_id="next_monitoring_visit")
        assert [(m.details["met_on"], m.details["timing"]) for m in met] == [
            ("2017-01-11", "on_time"),  # in [12 Dec 2016, 3 Feb 2017]
            ("2017-04-11", "on_time"),  # in [22 Mar, 11 May 2017]
            ("2017-07-11", "on_time"),  # in [20 Jun, 11 Aug 2017]
            ("2017-10-10", "on_time"),  # in [19 Sep, 11 Nov 2017]
        ]
        assert history_of(engine, parent, "DeadlineMissed") == []

        # Timing ¶1: brought forward for rapid improvement, to Monday 11 December 2017 (14 months, not 24).
        view = engine.fire(
            parent,
            "bring_forward_reinspection",
            {"rapid_improvement_evidence": "visits 3 and 4 found rapid progress", "reinspection_planned_for": "2017-12-11"},
            actor="shmi",
            at="2017-11-13T09:00",
        )
        assert view.deadlines["reinspection_brought_forward"]["due_date"] == "2017-12-11"
        view = engine.fire(parent, "decide_reinspection", actor="shmi", at="2017-11-13T10:00")  # four visits: no override needed
        assert view.state == "reinspection_due"
        (entry,) = engine.register(status="due re-inspection")
        assert entry.since.date().isoformat() == "2017-11-13"
        # Next steps ¶2 items 5-6: inadequate in some areas only, no concern about progress -> post-monitoring allowed.
        view = engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2017-11-13T11:00")
        assert view.state == "reinspection_arranged"
        reinspection = view.children[-1]["id"]
        re_view = engine.get(reinspection)
        assert (re_view.workflow, re_view.state, re_view.data["inspection_type"], re_view.parent) == (REINSPECTION, "arranged", "post_monitoring", str(parent))

        # Annex A Proposal three (notice, 5 working days as chosen): notice Mon 4 Dec 2017;
        # Tue 5 (1), Wed 6 (2), Thu 7 (3), Fri 8 (4), Mon 11 (5) -> first day Monday 11 December, not Tuesday 12.
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(reinspection, "give_notice", {"on_site_start": "2017-12-12", "lead_inspector": "HMI"}, actor="ofsted", at="2017-12-04T10:00")
        assert (
            engine.fire(reinspection, "give_notice", {"on_site_start": "2017-12-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-12-04T10:00").state
            == "notice_given_post_monitoring"
        )
        engine.run_due(until="2017-12-11T09:00")
        re_view = engine.get(reinspection)
        assert re_view.state == "on_site"
        # Next steps ¶2 item 6 "over two weeks": 13 days after Monday 11 December is Sunday 24 December 2017.
        assert re_view.deadlines["post_monitoring_length"]["due_date"] == "2017-12-24"
        view = engine.get(parent)
        assert view.state == "under_reinspection"
        # The re-inspection began on Monday 11 December 2017: inside 24 months (due 3 Oct 2018), on the brought-forward day.
        assert (view.deadlines["reinspection_within_24_months"]["status"], view.deadlines["reinspection_within_24_months"]["met_on"]) == ("met", "2017-12-11")
        assert (view.deadlines["reinspection_brought_forward"]["status"], view.deadlines["reinspection_brought_forward"]["met_on"]) == ("met", "2017-12-11")

        assert engine.fire(reinspection, "complete_fieldwork", actor="hmi", at="2017-12-22T16:00").deadlines["post_monitoring_length"]["status"] == "met"
        engine.fire(
            reinspection,
            "make_judgement",
            {"outcome": "improved_no_longer_inadequate", "progress": "strong", "strengths": ["a"], "areas_for_improvement": ["b"]},
            actor="hmi",
            at="2018-01-15T10:00",
        )
        re_view = engine.fire(reinspection, "send_letter", actor="ofsted", at="2018-02-02T10:00")
        assert (re_view.state, re_view.ended) == ("no_longer_inadequate", True)
        # Making judgements ¶1: "has improved and is no longer inadequate" -> monitoring ends (the parent reacts).
        view = engine.get(parent)
        assert (view.state, view.ended) == ("monitoring_ended", True)
        # The quarterly deadline standing since visit 4 (due 10 Feb 2018) is withdrawn with the case on 2 Feb 2018.
        assert view.deadlines["next_monitoring_visit"]["status"] == "withdrawn"
        assert engine.register(nation="england") == []
        assert all(verify(engine, c).ok for c in [parent, reinspection, *children])

    def test_notice_of_a_visit_is_five_working_days_at_most(self, make_engine):
        """Next steps ¶3 (choice: 5 working days): notice Wed 4 Jan 2017; Thu 5 (1), Fri 6 (2), Mon 9 (3), Tue 10 (4), Wed 11 (5)."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        child = engine.fire(parent, "schedule_visit", actor="shmi", at="2017-01-04T09:00").children[-1]["id"]
        with pytest.raises(GuardFailed, match="visit_start within"):
            engine.fire(child, "give_notice", {"visit_start": "2017-01-12", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        view = engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        assert view.timers["visit_notice_ends"]["due_at"].date().isoformat() == "2017-01-11"  # midnight GMT, 11 January

    def test_the_first_visit_letter_is_not_published_and_the_second_is(self, make_engine):
        """Next steps ¶2 item 3: "We will not publish the first report ... but we will publish all subsequent quarterly reports"."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        first = visit(engine, parent, *VISITS[0], finish=False)
        assert engine.get(first).state == "letter_sent"
        with pytest.raises(GuardFailed, match="visit_number ge 2"):
            engine.fire(first, "publish_letter", actor="ofsted", at="2017-02-09T11:00")
        assert engine.fire(first, "keep_unpublished", actor="ofsted", at="2017-02-09T11:00").state == "letter_unpublished"
        assert engine.get(parent).data["visits_completed"] == 1

        second = visit(engine, parent, *VISITS[1], finish=False)
        assert engine.get(second).data["visit_number"] == 2
        with pytest.raises(GuardFailed, match="visit_number eq 1"):
            engine.fire(second, "keep_unpublished", actor="ofsted", at="2017-05-10T09:00")
        assert engine.fire(second, "publish_letter", actor="ofsted", at="2017-05-10T10:00").state == "letter_published"
        assert engine.get(parent).data["visits_completed"] == 2

    def test_reinspection_refused_before_four_visits_unless_an_override_is_recorded(self, make_engine):
        """Next steps ¶2 item 4: "a minimum of four monitoring visits before being re-inspected"; an override is explicit and recorded."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        for notified, first_day, last_day, sent, published in VISITS[:3]:
            visit(engine, parent, notified, first_day, last_day, sent, published)
        assert engine.get(parent).data["visits_completed"] == 3
        before = len(engine.history(parent))
        with pytest.raises(GuardFailed, match="visits_completed ge 4"):
            engine.fire(parent, "decide_reinspection", actor="shmi", at="2017-08-14T10:00")
        with pytest.raises(TriggerNotAllowed):  # and nothing can be arranged before the decision
            engine.fire(parent, "arrange_full_inspection", actor="shmi", at="2017-08-14T10:00")
        assert len(engine.history(parent)) == before  # refused: nothing written

        reason = "DfE and the authority ask for an early re-inspection after three strong visits"
        view = engine.fire(parent, "decide_reinspection", {"override_reason": reason}, actor="hmci", at="2017-08-14T10:00")
        assert view.state == "reinspection_due"
        (decided,) = history_of(engine, parent, "Transitioned", trigger="decide_reinspection")
        assert (decided.details["data"], decided.actor) == ({"override_reason": reason}, "hmci")

    def test_all_areas_inadequate_requires_a_full_inspection(self, make_engine):
        """Focus on weaknesses ¶1, Next steps ¶2 item 5: inadequate in all key judgement areas -> a further full single inspection."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine, ALL_AREAS)
        engine.fire(parent, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
        with pytest.raises(GuardFailed, match="all_key_areas_inadequate"):
            engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00")
        view = engine.fire(parent, "arrange_full_inspection", actor="shmi", at="2016-11-01T11:00")
        child = view.children[-1]["id"]
        assert engine.get(child).data["inspection_type"] == "full"
        # Notice Mon 7 Nov 2016: Tue 8 (1) … Mon 14 (5) -> first day Monday 14 November.
        engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        engine.run_due(until="2016-11-14T09:00")
        # Full single inspection, weeks one to four (Inspection methodology ¶1, Annex A Proposal three; choice: four weeks):
        # 27 days after Monday 14 November is Sunday 11 December 2016.
        assert engine.get(child).deadlines["full_inspection_length"]["due_date"] == "2016-12-11"
        assert engine.get(parent).state == "under_reinspection"

    def test_a_concern_about_progress_from_a_visit_requires_a_full_inspection(self, make_engine):
        """Next steps ¶2 item 5: "a full single inspection if we are concerned about the rate of progress or a possible decline"."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        for index, (notified, first_day, last_day, sent, published) in enumerate(VISITS):
            visit(engine, parent, notified, first_day, last_day, sent, published, progress_concern=index == 3)
        assert engine.get(parent).data["progress_concern"] is True  # copied from visit 4's letter by the reaction
        engine.fire(parent, "decide_reinspection", actor="shmi", at="2017-11-13T10:00")
        with pytest.raises(GuardFailed, match="progress_concern"):
            engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2017-11-13T11:00")
        view = engine.fire(parent, "arrange_full_inspection", actor="shmi", at="2017-11-13T11:00")
        assert engine.get(view.children[-1]["id"]).data["inspection_type"] == "full"

    def test_still_inadequate_ends_this_cycle_and_starts_a_new_one(self, make_engine):
        """Making judgements ¶1 "continues to be inadequate"; Next steps ¶2: monitoring is for inadequate authorities (choice: a new linked cycle)."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        engine.fire(parent, "decide_reinspection", {"override_reason": "test of the outcome"}, actor="hmci", at="2016-11-01T10:00")
        child = engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
        engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        engine.run_due(until="2016-11-14T09:00")
        engine.fire(child, "complete_fieldwork", actor="hmi", at="2016-11-25T16:00")
        engine.fire(
            child,
            "make_judgement",
            {
                "outcome": "continues_to_be_inadequate",
                "progress": "slow",
                "strengths": [],
                "areas_for_improvement": ["a"],
                "inadequate_areas": ["help_and_protection"],
            },
            actor="hmi",
            at="2016-12-12T10:00",
        )
        assert engine.fire(child, "send_letter", actor="ofsted", at="2017-01-09T10:00").state == "continues_inadequate"
        view = engine.get(parent)
        assert (view.state, view.ended) == ("remains_inadequate", True)
        new_cycle = [c for c in view.children if c["workflow"].startswith(f"{MONITORING}@")]
        (new,) = new_cycle
        new_view = engine.get(new["id"])
        assert (new_view.state, new_view.parent) == ("judged_inadequate", str(parent))
        assert new_view.data == {"authority": "Barsetshire", "inadequate_areas": ["help_and_protection"], "all_key_areas_inadequate": False}
        assert [e.status for e in engine.register()] == ["in follow-up"]

    def test_quarterly_windows_report_early_and_late_visits(self, make_engine):
        """Next steps ¶2 item 1 "quarterly" as a window (choice): before 10 weeks early; after 4 months missed, then met late."""
        engine = make_engine(start="2016-07-04T09:00")
        early = judged(engine)
        # Visit on Mon 5 Dec 2016, before the window opens on Mon 12 Dec (3 Oct + 70 days). Notice Mon 28 Nov: Tue 29 (1) … Mon 5 Dec (5).
        visit(engine, early, "2016-11-28", "2016-12-05", "2016-12-06", "2017-01-05", None)
        (met,) = history_of(engine, early, "DeadlineMet", deadline_id="next_monitoring_visit")
        assert (met.details["met_on"], met.details["timing"]) == ("2016-12-05", "early")

        late = judged(engine)
        engine.fire(late, "schedule_visit", actor="shmi", at="2017-02-01T09:00")
        child = engine.get(late).children[-1]["id"]
        # Notice Wed 1 Feb 2017: Thu 2 (1), Fri 3 (2), Mon 6 (3), Tue 7 (4), Wed 8 (5) -> Wednesday 8 February.
        engine.fire(child, "give_notice", {"visit_start": "2017-02-08", "lead_inspector": "HMI"}, actor="ofsted", at="2017-02-01T10:00")
        engine.run_due(until="2017-02-08T09:00")
        # Latest day Fri 3 Feb 2017 (3 Oct + 4 months) passed: missed, then met on Wed 8 Feb, late by Mon 6, Tue 7, Wed 8 = 3 working days.
        (missed,) = history_of(engine, late, "DeadlineMissed", deadline_id="next_monitoring_visit")
        assert missed.details["due_date"] == "2017-02-03"
        (met,) = history_of(engine, late, "DeadlineMet", deadline_id="next_monitoring_visit")
        assert (met.details["met_on"], met.details["timing"], met.details["late_by_working_days"]) == ("2017-02-08", "late", 3)


class TestTimingAndCounts:
    def test_the_24_months_count_from_the_submission_unless_the_case_chooses_the_day_required(self, make_engine):
        """Timing ¶1 ("from the point when the local authority is required to submit an action plan") against Next steps ¶2
        item 4 ("within 24 months of the local authority submitting its action plan"): the decision by default, the
        proposal by parameter (choice in the YAML)."""
        engine = make_engine(start="2016-07-04T09:00")
        plan = {"action_plan_date": "2016-10-03", "action_plan_required_by": "2016-09-26"}
        submitted = engine.start(MONITORING, SOME_AREAS, actor="ofsted", at="2016-07-04T09:00")
        view = engine.fire(submitted, "submit_action_plan", plan, actor="la", at="2016-10-03T10:00")
        # Submitted Monday 3 October 2016 + 24 months = Wednesday 3 October 2018 (the required day plays no part).
        assert view.deadlines["reinspection_within_24_months"]["due_date"] == "2018-10-03"

        proposal = {"reinspection_within": "24 months after action_plan_required_by"}
        required = engine.start(MONITORING, SOME_AREAS, parameters=proposal, actor="ofsted", at="2016-07-04T09:00")
        before = len(engine.history(required))
        with pytest.raises(InvalidData, match="action_plan_required_by"):  # nothing to count from: refused, nothing written
            engine.fire(required, "submit_action_plan", {"action_plan_date": "2016-10-03"}, actor="la", at="2016-10-03T10:00")
        assert len(engine.history(required)) == before
        view = engine.fire(required, "submit_action_plan", plan, actor="la", at="2016-10-03T10:00")
        # Required by Monday 26 September 2016 + 24 months = Wednesday 26 September 2018, a week earlier.
        assert view.deadlines["reinspection_within_24_months"]["due_date"] == "2018-09-26"

    def test_no_caller_sets_the_visit_counts(self, make_engine):
        """Next steps ¶2 item 4, "a minimum of four monitoring visits": the count is not start data, and a number sent is replaced by the count."""
        engine = make_engine(start="2016-07-04T09:00")
        with pytest.raises(InvalidData, match="visits_completed"):
            engine.start(MONITORING, {**SOME_AREAS, "visits_completed": 4}, actor="ofsted", at="2016-07-04T09:00")
        with pytest.raises(InvalidData, match="visits_arranged"):
            engine.start(MONITORING, {**SOME_AREAS, "visits_arranged": 4}, actor="ofsted", at="2016-07-04T09:00")
        assert engine.case_ids() == []
        parent = judged(engine)
        view = engine.fire(parent, "schedule_visit", {"visits_arranged": 4}, actor="shmi", at="2017-01-04T09:00")
        assert view.data["visits_arranged"] == 1
        assert engine.get(view.children[-1]["id"]).data["visit_number"] == 1  # the first visit: its letter stays unpublished
        assert "visits_completed" not in view.data  # counted only when a visit's letter is done

    def test_the_authority_and_the_department_give_views_on_timing_and_nobody_else(self, make_engine):
        """Timing ¶1, ¶3; Annex A Proposal two: the views of the authority and the DfE influence the timing; they are recorded, not binding."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        engine.fire(parent, "record_view_on_timing", {"view_of": "local_authority", "view": "ready by autumn 2017"}, actor="la", at="2017-01-05T10:00")
        view = engine.fire(
            parent,
            "record_view_on_timing",
            {"view_of": "department_for_education", "view": "early re-inspection", "proposed_date": "2017-09-11"},
            actor="dfe",
            at="2017-01-06T10:00",
        )
        assert view.state == "monitoring" and view.data["view_of"] == "department_for_education"
        recorded = history_of(engine, parent, "Transitioned", trigger="record_view_on_timing")
        assert [(h.actor, h.details["data"]["view_of"]) for h in recorded] == [("la", "local_authority"), ("dfe", "department_for_education")]
        with pytest.raises(InvalidData, match="view_of"):
            engine.fire(parent, "record_view_on_timing", {"view_of": "schools", "view": "now"}, actor="x", at="2017-01-07T10:00")
        with pytest.raises(GuardFailed, match="visits_completed ge 4"):  # a view does not decide the re-inspection
            engine.fire(parent, "decide_reinspection", actor="shmi", at="2017-01-07T10:00")


class TestNotifiedDaysKept:
    def test_a_visit_begins_on_the_day_notified_unless_an_override_says_why(self, make_engine):
        """Next steps ¶2 item 1, ¶3: the visit's first day is the day in its notice; earlier only with a recorded reason."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        child = engine.fire(parent, "schedule_visit", actor="shmi", at="2017-01-04T09:00").children[-1]["id"]
        engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        before = (len(engine.history(child)), len(engine.history(parent)))
        with pytest.raises(GuardFailed, match="on_or_after '2017-01-11'"):
            engine.fire(child, "begin_visit", actor="hmi", at="2017-01-09T09:00")
        assert (len(engine.history(child)), len(engine.history(parent))) == before
        engine.run_due(until="2017-01-11T09:00")
        assert engine.get(child).state == "on_site"
        (met,) = history_of(engine, parent, "DeadlineMet", deadline_id="next_monitoring_visit")
        assert met.details["met_on"] == "2017-01-11"  # the quarterly window is met on the notified day, not earlier

        other = judged(engine)
        child = engine.fire(other, "schedule_visit", actor="shmi", at="2017-01-04T09:00").children[-1]["id"]
        engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        view = engine.fire(child, "begin_visit", {"early_start_reason": "the authority asked for Monday"}, actor="hmi", at="2017-01-09T09:00")
        assert view.state == "on_site"
        (met,) = history_of(engine, other, "DeadlineMet", deadline_id="next_monitoring_visit")
        assert met.details["met_on"] == "2017-01-09"

    @pytest.mark.parametrize(
        ("data", "arrange", "begin"),
        [
            (ALL_AREAS, "arrange_full_inspection", "begin_full_inspection"),
            (SOME_AREAS, "arrange_post_monitoring_inspection", "begin_post_monitoring_inspection"),
        ],
    )
    def test_a_reinspection_begins_on_the_day_notified_unless_an_override_says_why(self, make_engine, data, arrange, begin):
        """Annex A Proposal three ("the same short notice period"): the re-inspection's first day is the day in its notice."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine, data)
        engine.fire(parent, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
        child = engine.fire(parent, arrange, actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
        engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        before = len(engine.history(child))
        with pytest.raises(GuardFailed, match="on_or_after '2016-11-14'"):
            engine.fire(child, begin, actor="hmi", at="2016-11-10T09:00")
        assert len(engine.history(child)) == before
        assert engine.fire(child, begin, {"early_start_reason": "agreed with the DCS"}, actor="hmi", at="2016-11-10T09:00").state == "on_site"
        # The parent's 24 months are met on the day it really began.
        assert engine.get(parent).deadlines["reinspection_within_24_months"]["met_on"] == "2016-11-10"


def test_a_first_day_of_a_visit_or_a_reinspection_on_a_non_working_day_is_a_finding(make_engine):
    """Next steps ¶2 item 1, Annex A Proposal three (choice): a notified first day on a weekend or bank holiday is recorded, not refused."""
    engine = make_engine(start="2016-07-04T09:00")
    parent = judged(engine)
    child = engine.fire(parent, "schedule_visit", actor="shmi", at="2016-12-20T09:00").children[-1]["id"]
    # Tuesday 27 December 2016 is the substitute bank holiday for Christmas Day (a Sunday).
    view = engine.fire(child, "give_notice", {"visit_start": "2016-12-27", "lead_inspector": "HMI"}, actor="ofsted", at="2016-12-20T10:00")
    assert [f["id"] for f in view.findings] == ["first_day_not_a_working_day"]
    engine.fire(parent, "record_view_on_timing", {"view_of": "local_authority", "view": "x"}, actor="la", at="2016-12-20T11:00")  # the parent goes on

    other = judged(engine)
    engine.fire(other, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
    reinspection = engine.fire(other, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
    view = engine.fire(reinspection, "give_notice", {"on_site_start": "2016-11-12", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
    assert [f["id"] for f in view.findings] == ["first_day_not_a_working_day"]  # Saturday 12 November 2016
    weekday = engine.fire(
        engine.fire(judged(engine), "decide_reinspection", {"override_reason": "x"}, actor="hmci", at="2016-11-01T10:00").id,
        "arrange_post_monitoring_inspection",
        actor="shmi",
        at="2016-11-01T11:00",
    )
    child = weekday.children[-1]["id"]
    assert engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00").findings == []


def reinspection_to_judgement(engine, parent):
    """Re-inspection decided by override (Tue 1 Nov 2016), noticed Mon 7 Nov for Mon 14 Nov, fieldwork over Fri 25 Nov; returns its id."""
    engine.fire(parent, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
    child = engine.fire(parent, "arrange_post_monitoring_inspection", actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
    engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
    engine.run_due(until="2016-11-14T09:00")
    engine.fire(child, "complete_fieldwork", actor="hmi", at="2016-11-25T16:00")
    return child


STILL_INADEQUATE = {"outcome": "continues_to_be_inadequate", "progress": "slow", "strengths": [], "areas_for_improvement": ["a"]}


class TestKeyJudgementAreas:
    """Footnote 3: "the three key judgement areas" — at most three, each listed once."""

    @pytest.mark.parametrize(
        "areas",
        [
            ["help_and_protection", "leadership_management_governance"],
            ["leadership_management_governance", "looked_after_and_permanence", "help_and_protection"],
        ],
    )
    def test_one_to_three_different_areas_start_both_cases(self, make_engine, areas):
        engine = make_engine(start="2016-07-04T09:00")
        case = engine.start(MONITORING, {"authority": "Barsetshire", "inadequate_areas": areas}, actor="ofsted", at="2016-07-04T09:00")
        assert engine.get(case).data["all_key_areas_inadequate"] is (len(areas) == 3)
        child = engine.start(
            REINSPECTION, {"authority": "Barsetshire", "inspection_type": "full", "inadequate_areas": areas}, actor="ofsted", at="2016-07-04T09:00"
        )
        assert engine.get(child).data["all_key_areas_inadequate"] is (len(areas) == 3)

    @pytest.mark.parametrize(
        ("areas", "says"),
        [
            (["help_and_protection", "help_and_protection"], "repeated: help_and_protection"),
            # Three items, but not "inadequate across all key judgement areas": refused, so the derived flag cannot be fooled.
            (["help_and_protection", "looked_after_and_permanence", "looked_after_and_permanence"], "repeated: looked_after_and_permanence"),
            # A fourth item can only repeat one of the three (choices).
            (
                ["help_and_protection", "looked_after_and_permanence", "leadership_management_governance", "help_and_protection"],
                "repeated: help_and_protection",
            ),
        ],
    )
    @pytest.mark.parametrize("workflow", [MONITORING, REINSPECTION])
    def test_a_repeated_area_or_more_than_three_is_refused_at_the_start(self, make_engine, workflow, areas, says):
        """Start data carry no guards, but the field's own bounds (`max_items: 3`, `unique_items`) refuse; nothing is written."""
        engine = make_engine(start="2016-07-04T09:00")
        data = {"authority": "Barsetshire", "inadequate_areas": areas, **({"inspection_type": "full"} if workflow == REINSPECTION else {})}
        with pytest.raises(InvalidData, match=f"inadequate_areas: .*{says}"):
            engine.start(workflow, data, actor="ofsted", at="2016-07-04T09:00")
        assert engine.case_ids() == []

    def test_an_area_outside_the_three_is_refused_at_the_start(self, make_engine):
        engine = make_engine(start="2016-07-04T09:00")
        with pytest.raises(InvalidData, match="inadequate_areas"):
            engine.start(MONITORING, {"authority": "Barsetshire", "inadequate_areas": ["adoption"]}, actor="ofsted", at="2016-07-04T09:00")
        assert engine.case_ids() == []

    @pytest.mark.parametrize(
        "areas",
        [
            ["help_and_protection", "help_and_protection"],
            ["looked_after_and_permanence", "help_and_protection", "looked_after_and_permanence"],
            ["help_and_protection", "looked_after_and_permanence", "leadership_management_governance", "leadership_management_governance"],
        ],
    )
    def test_the_judgement_refuses_a_repeated_area_and_the_new_cycle_starts_on_the_areas_given(self, make_engine, areas):
        """Making judgements ¶1, footnote 3: the areas still inadequate start the next cycle; a repeat is refused, nothing written."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        child = reinspection_to_judgement(engine, parent)
        before = (len(engine.history(child)), engine.get(child).version)
        with pytest.raises(InvalidData, match="inadequate_areas: each item may be given once; repeated"):
            engine.fire(child, "make_judgement", {**STILL_INADEQUATE, "inadequate_areas": areas}, actor="hmi", at="2016-12-12T10:00")
        assert (len(engine.history(child)), engine.get(child).version) == before
        given = ["leadership_management_governance", "looked_after_and_permanence", "help_and_protection"]
        engine.fire(child, "make_judgement", {**STILL_INADEQUATE, "inadequate_areas": given}, actor="hmi", at="2016-12-12T10:00")
        engine.fire(child, "send_letter", actor="ofsted", at="2017-01-09T10:00")
        (new,) = [c for c in engine.get(parent).children if c["workflow"].startswith(f"{MONITORING}@")]
        new_view = engine.get(new["id"])
        assert (new_view.data["inadequate_areas"], new_view.data["all_key_areas_inadequate"], new_view.findings) == (given, True, [])


class TestLettersSaySomething:
    def test_a_visit_letter_gives_a_narrative_about_progress(self, make_engine):
        """Next steps ¶2 item 3: "Each report will provide a narrative about progress made": a blank one is none, nothing written."""
        engine = make_engine(start="2016-07-04T09:00")
        parent = judged(engine)
        view = engine.fire(parent, "schedule_visit", actor="shmi", at="2017-01-04T09:00")
        child = view.children[-1]["id"]
        engine.fire(child, "give_notice", {"visit_start": "2017-01-11", "lead_inspector": "HMI"}, actor="ofsted", at="2017-01-04T10:00")
        engine.run_due(until="2017-01-11T09:00")
        engine.fire(child, "end_visit", actor="hmi", at="2017-01-12T16:00")
        before = (len(engine.history(child)), engine.get(child).version, len(engine.history(parent)))
        with pytest.raises(InvalidData, match="narrative"):
            engine.fire(child, "send_letter", {"narrative": " \n", "progress_concern": False}, actor="ofsted", at="2017-02-02T10:00")
        assert (len(engine.history(child)), engine.get(child).version, len(engine.history(parent))) == before
        view = engine.fire(child, "send_letter", {"narrative": "plans are in place", "progress_concern": False}, actor="ofsted", at="2017-02-02T10:00")
        assert view.state == "letter_sent"

    def test_the_reinspection_letter_sets_out_the_progress_made(self, make_engine):
        """Making judgements ¶1, Annex A Proposal four: a letter "setting out the progress made since the last inspection"."""
        engine = make_engine(start="2016-07-04T09:00")
        child = reinspection_to_judgement(engine, judged(engine))
        before = (len(engine.history(child)), engine.get(child).version)
        with pytest.raises(InvalidData, match="progress"):
            engine.fire(child, "make_judgement", {**STILL_INADEQUATE, "progress": ""}, actor="hmi", at="2016-12-12T10:00")
        assert (len(engine.history(child)), engine.get(child).version) == before
        assert engine.fire(child, "make_judgement", STILL_INADEQUATE, actor="hmi", at="2016-12-12T10:00").state == "letter_drafted"
