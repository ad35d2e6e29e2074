"""Scenario: Ofsted LAASSI as revised in May 2014 (version 2) and November 2014 (version 3).

Source: the Oxfordshire County Council report of April 2015 (seed 002, cited
"¶N"), with the rules it leaves unchanged carried over from the May 2013
framework (seed 000, cited "2013 para N"). Every date asserted here was worked
out by hand from the documents; the calculation is written beside it.
Working days skip weekends and English bank holidays (Good Friday 3 April and
Easter Monday 6 April 2015; none between 26 May and 25 August 2014).
The authority, Barsetshire, is fictional.
"""

from __future__ import annotations

from datetime import date

import pytest

from laworkflow import GuardFailed, InvalidData, TriggerNotAllowed

OFSTED = "ofsted-laassi"
THEMES = [
    "corporate_strategic_leadership",
    "policy_and_strategy",
    "knowledge_of_schools",
    "underperforming_schools",
    "impact_over_time",
    "brokering_support",
    "leadership_and_management",
    "governance",
    "use_of_funding",
]
START = {"authority": "Barsetshire", "concerns": ["pupil_premium_gap", "attainment_below_national"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
SCHOOLS = {"schools": ["Barchester Primary", "Plumstead Academy"]}
RECIPIENTS = {"recipients": ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]}
FINDINGS = {
    "strengths": ["governor support"],
    "weaknesses": ["use of timely performance data"],
    "recommendations": ["share performance data with schools each term"],
    "recommendation_themes": ["knowledge_of_schools", "governance"],
}


def history_of(engine, case, kind):
    return [h for h in engine.history(case) if h.type == kind]


def phase2_on_site(engine, *, version, concern, notice, phase2, phase1_end):
    """A case from the concern to the first day of Phase 2, the timer firing it."""
    case = engine.start(OFSTED, START, version=version, actor="regional-director", at=f"{concern}T09:00")
    engine.fire(case, "give_notice", {"on_site_start": phase2, **SCHOOLS, **TEAM}, actor="ofsted", at=f"{notice}T10:00")
    engine.fire(
        case,
        "record_school_evidence",
        {"school": "Barchester Primary", "theme": "governance", "entry": "governors unaware of the LA's strategy"},
        actor="hmi",
        at=f"{notice}T15:00",
    )
    engine.fire(
        case,
        "complete_phase1",
        {"schools_inspected": SCHOOLS["schools"], "issues_raised": ["late data"], "themes_raised": ["knowledge_of_schools"]},
        actor="lead",
        at=phase1_end,
    )
    engine.run_due(until=f"{phase2}T09:00")
    return case


MAY_2014 = {"version": 2, "concern": "2014-06-02", "notice": "2014-06-09", "phase2": "2014-06-16", "phase1_end": "2014-06-13T17:00"}


def reported(engine, case, *, leave="2015-03-20"):
    """Feedback and the end of Phase 2 on the Friday (2013 para 36, 42)."""
    engine.fire(case, "record_evidence", {"theme": "corporate_strategic_leadership", "entry": "scrutiny committee interview"}, actor="hmi", at=f"{leave}T10:00")
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="lead", at=f"{leave}T12:00")
    return engine.fire(case, "leave_site", actor="lead", at=f"{leave}T17:00")


class TestVersions:
    def test_the_two_2014_revisions_are_versions_2_and_3_and_november_is_the_latest(self, catalog):
        """¶1: "May and November 2014 saw two sets of revisions to this Framework"."""
        assert catalog.get(OFSTED, 2).definition.title.endswith("(revised May 2014)")
        assert catalog.get(OFSTED, 3).definition.title.endswith("(revised November 2014)")
        assert catalog.get(OFSTED).definition.version == 3
        # A case naming no version runs on the version in force on its first day.
        assert [catalog.get(OFSTED, on=date.fromisoformat(day)).definition.version for day in ("2014-04-30", "2014-06-02", "2015-03-02")] == [1, 2, 3]

    @pytest.mark.parametrize("version", [2, 3])
    def test_start_stays_compatible_with_version_1(self, catalog, version):
        """Version 1's re-inspection starts the version in force: same initial state, same start fields, one more trigger (¶5 criterion 6)."""
        old, new = catalog.get(OFSTED, 1).definition, catalog.get(OFSTED, version).definition
        assert new.initial == old.initial == "concern_raised"
        assert set(new.data) == set(old.data)
        assert new.data["authority"].type == "string"
        assert set(new.data["concerns"].choices) == set(old.data["concerns"].choices) | {"pupil_premium_gap"}

    @pytest.mark.parametrize("version", [2, 3])
    def test_nine_themes_in_four_reporting_areas(self, catalog, version):
        """¶6: four reporting areas; ¶7: nine themes; grouped by order and wording (see the YAML comment)."""
        reference = catalog.get(OFSTED, version).definition.reference
        areas, themes = reference["reporting_areas"], reference["themes"]
        assert [a["number"] for a in areas.values()] == [1, 2, 3, 4]
        assert list(themes) == THEMES and [t["number"] for t in themes.values()] == list(range(1, 10))
        for theme_id, theme in themes.items():
            assert theme_id in areas[theme["area"]]["themes"]
        assert sorted(t for a in areas.values() for t in a["themes"]) == sorted(THEMES)
        assert {t: themes[t]["area"] for t in ("policy_and_strategy", "brokering_support", "governance", "use_of_funding")} == {
            "policy_and_strategy": "corporate_leadership",
            "brokering_support": "monitoring_challenge_intervention_support",
            "governance": "leadership_management_governance",
            "use_of_funding": "use_of_resources",
        }
        assert reference["grade_descriptors"] == 87  # ¶7

    @pytest.mark.parametrize("version", [2, 3])
    def test_evidence_and_recommendations_point_to_the_themes(self, catalog, version):
        """¶7, ¶14: evidence and recommendations are set against the nine themes."""
        definition = catalog.get(OFSTED, version).definition
        pointing = {
            (t.trigger, name): spec.choices
            for t in definition.transitions
            for name, spec in t.data.items()
            if name in ("theme", "themes_raised", "recommendation_themes")
        }
        # Version 2 judges with a verdict before November 2014, with recommendations only from then on (parameter verdicts_end).
        judgements = ["make_judgement", "make_recommendations"] if version == 2 else ["make_recommendations"]
        assert set(pointing) == {
            ("record_school_evidence", "theme"),
            ("record_evidence", "theme"),
            ("complete_phase1", "themes_raised"),
            *((judgement, "recommendation_themes") for judgement in judgements),
        }
        assert all(choices == THEMES for choices in pointing.values())

    def test_the_pupil_premium_gap_is_a_trigger_only_from_2014(self, make_engine):
        """¶5 criterion 6 adds the pupil premium gap to the seven triggers of 2013 para 11."""
        engine = make_engine(start="2015-03-02T09:00")
        for version in (2, 3):
            engine.start(OFSTED, START, version=version, actor="regional-director", at="2015-03-02T09:00")
        with pytest.raises(InvalidData, match="concerns"):
            engine.start(OFSTED, START, version=1, actor="regional-director", at="2015-03-02T09:00")


class TestNovember2014:
    def test_full_run_recommendations_only(self, make_engine):
        """The whole November 2014 process, date by date, for a concern raised on Monday 2 March 2015."""
        engine = make_engine(start="2015-03-02T09:00")
        case = engine.start(OFSTED, START, actor="regional-director", at="2015-03-02T09:00")
        view = engine.get(case)
        assert (view.version, view.state) == (3, "concern_raised")  # in force since November 2014; ¶4-5: selection is risk led

        # ¶15 five days' notice: notice on Monday 9 March; 5 working days after it are
        # Tue 10 (1), Wed 11 (2), Thu 12 (3), Fri 13 (4), Mon 16 (5) -> Phase 2 may start Monday 16 March, not Tuesday 17.
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(case, "give_notice", {"on_site_start": "2015-03-17", **SCHOOLS, **TEAM}, actor="ofsted", at="2015-03-09T10:00")
        view = engine.fire(case, "give_notice", {"on_site_start": "2015-03-16", **SCHOOLS, **TEAM}, actor="ofsted", at="2015-03-09T10:00")
        assert view.state == "phase1_schools"  # ¶4: Phase 1, the focused school inspections, begins with the notice
        # ¶4 "Phase 1 (1 week duration)": 4 working days after Monday 9 March is Friday 13 March.
        assert view.deadlines["phase1_normal_length"]["due_date"] == "2015-03-13"
        assert engine.register(status="inspection")[0].authority == "Barsetshire"  # the register lists the inspection

        engine.fire(case, "record_school_evidence", {"school": "Barchester Primary", "theme": "governance", "entry": "x"}, actor="hmi", at="2015-03-10T15:00")
        with pytest.raises(InvalidData, match="theme"):  # ¶7: only the nine themes
            engine.fire(
                case, "record_school_evidence", {"school": "Barchester Primary", "theme": "ofsted_grades", "entry": "x"}, actor="hmi", at="2015-03-10T15:00"
            )
        view = engine.fire(
            case,
            "complete_phase1",
            {"schools_inspected": SCHOOLS["schools"], "issues_raised": ["late data"], "themes_raised": ["knowledge_of_schools"]},
            actor="lead",
            at="2015-03-13T17:00",
        )
        assert view.state == "phase1_complete"
        assert view.deadlines["phase1_normal_length"]["status"] == "met"  # ¶4: one week, met on Friday 13 March
        # ¶4, ¶15: Phase 2 begins on the day in the notice, Monday 16 March, by the timer.
        assert view.timers["notice_ends"]["due_at"].date().isoformat() == "2015-03-16"
        engine.run_due(until="2015-03-16T09:00")
        assert engine.get(case, as_of="2015-03-15T23:00").state == "phase1_complete"
        view = engine.get(case)
        assert view.state == "on_site"
        # ¶4 "Phase 2 (1 week duration)": 4 working days after Monday 16 March is Friday 20 March.
        assert view.deadlines["on_site_normal_length"]["due_date"] == "2015-03-20"

        view = reported(engine, case)
        assert view.state == "quality_assurance"
        assert view.deadlines["on_site_normal_length"]["status"] == "met"
        # 2013 para 42 (carried over): sent within 20 working days of Friday 20 March 2015:
        # Mar 23-27 (1-5), Mar 30-Apr 2 (6-9), [Good Friday 3 Apr, Easter Monday 6 Apr], Apr 7-10 (10-13),
        # Apr 13-17 (14-18), Mon 20 (19), Tue 21 (20) -> Tuesday 21 April 2015.
        assert view.deadlines["letter_sent"]["due_date"] == "2015-04-21"
        # Published within 25: Wed 22 (21), Thu 23 (22), Fri 24 (23), Mon 27 (24), Tue 28 (25) -> Tuesday 28 April 2015.
        assert view.deadlines["letter_published"]["due_date"] == "2015-04-28"

        # ¶8: "Under the current Framework Ofsted now only make a set of recommendations" — no verdict.
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "make_judgement", {"effective": False, **FINDINGS}, actor="qa", at="2015-04-01")
        with pytest.raises(InvalidData, match="effective"):
            engine.fire(case, "make_recommendations", {"effective": False, **FINDINGS}, actor="qa", at="2015-04-01")
        with pytest.raises(InvalidData, match="recommendation_themes"):  # ¶7: recommendations point to the themes
            engine.fire(case, "make_recommendations", {**FINDINGS, "recommendation_themes": ["data"]}, actor="qa", at="2015-04-01")
        view = engine.fire(case, "make_recommendations", FINDINGS, actor="qa", at="2015-04-01T10:00")
        assert view.state == "letter_drafted"
        assert "effective" not in view.data

        view = engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2015-04-21T10:00")
        assert view.deadlines["letter_sent"]["status"] == "met"  # on the due day, Tuesday 21 April
        view = engine.fire(case, "publish_letter", actor="ofsted", at="2015-04-27T10:00")
        assert view.deadlines["letter_published"]["status"] == "met"  # Monday 27 April, a day inside 28 April
        view = engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "2015-17"}, actor="la", at="2015-05-29")
        # No verdict, so no re-inspection to arrange (¶8; choice in the YAML): the inspection closes.
        assert "arrange_reinspection" not in [t.trigger for t in engine.allowed_triggers(case)]
        view = engine.fire(case, "close", actor="hmci", at="2015-06-01")
        assert (view.state, view.ended) == ("closed", True)
        assert engine.register(status="inspection") == []

    def test_phase_1_finished_late_starts_phase_2_at_once_and_records_the_lateness(self, make_engine):
        """¶4: Phase 2 explores what schools raised in Phase 1, so it waits for Phase 1; a late Phase 1 is recorded."""
        engine = make_engine(start="2015-03-02T09:00")
        case = engine.start(OFSTED, START, actor="regional-director", at="2015-03-02T09:00")
        engine.fire(case, "give_notice", {"on_site_start": "2015-03-16", **SCHOOLS, **TEAM}, actor="ofsted", at="2015-03-09T10:00")
        engine.run_due(until="2015-03-16T09:00")
        assert engine.get(case).state == "phase1_schools"  # no Phase 2 without Phase 1's issues
        assert engine.get(case).deadlines["phase1_normal_length"]["status"] == "missed"  # due Friday 13 March
        engine.fire(
            case,
            "complete_phase1",
            {"schools_inspected": ["a"], "issues_raised": [], "themes_raised": []},
            actor="lead",
            at="2015-03-17T10:00",
        )
        # Late by Mon 16, Tue 17 March = 2 working days after Friday 13 March.
        assert engine.get(case).deadlines["phase1_normal_length"]["late_by_working_days"] == 2
        engine.run_due(until="2015-03-17T11:00")
        assert engine.get(case).state == "on_site"
        (fired,) = history_of(engine, case, "TimerFired")
        assert fired.effective_at.isoformat() == "2015-03-17T10:00:00+00:00"  # at once, after the case's last event

    def test_a_secretary_of_state_request_cannot_be_declined(self, make_engine):
        """¶5 criterion 8: "Where the SoS requires an inspection" (2013 para 8, 11)."""
        engine = make_engine(start="2015-03-02T09:00")
        case = engine.start(OFSTED, {"authority": "Barsetshire", "concerns": ["secretary_of_state_request"]}, actor="dfe", at="2015-03-02")
        with pytest.raises(GuardFailed, match="secretary_of_state_request"):
            engine.fire(case, "decide_not_to_inspect", {"reason": "no"}, actor="regional-director", at="2015-03-03")
        other = engine.start(OFSTED, START, actor="regional-director", at="2015-03-02")
        assert engine.fire(other, "decide_not_to_inspect", {"reason": "green trend"}, actor="regional-director", at="2015-03-03").ended


class TestMay2014:
    def test_full_run_with_the_verdict_and_a_reinspection_on_the_version_in_force(self, make_engine):
        """May 2014: the same two phases (¶4, ¶15) but the verdict, effective or ineffective, still given (¶8)."""
        engine = make_engine(start="2014-06-02T09:00")
        case = phase2_on_site(engine, **MAY_2014)
        # ¶15: notice Monday 9 June 2014; Tue 10 (1) … Mon 16 (5); Phase 1 due 4 working days after: Friday 13 June.
        assert engine.get(case, as_of="2014-06-15T12:00").deadlines["phase1_normal_length"]["due_date"] == "2014-06-13"
        view = engine.get(case)
        assert (view.version, view.state) == (2, "on_site")
        view = reported(engine, case, leave="2014-06-20")
        # 2013 para 42: 20 working days after Friday 20 June 2014 (no bank holiday until 25 August):
        # Jun 23-27 (1-5), Jun 30-Jul 4 (6-10), Jul 7-11 (11-15), Jul 14-18 (16-20) -> Friday 18 July; +5 -> Friday 25 July.
        assert view.deadlines["letter_sent"]["due_date"] == "2014-07-18"
        assert view.deadlines["letter_published"]["due_date"] == "2014-07-25"

        with pytest.raises(GuardFailed, match="on_or_after '2014-11-01'"):  # recommendations only are November's (verdicts_end)
            engine.fire(case, "make_recommendations", FINDINGS, actor="qa", at="2014-07-01")
        with pytest.raises(InvalidData, match="effective"):  # ¶8: one of the two outcomes is required
            engine.fire(case, "make_judgement", FINDINGS, actor="qa", at="2014-07-01")
        view = engine.fire(case, "make_judgement", {"effective": False, **FINDINGS}, actor="qa", at="2014-07-01T10:00")
        assert view.data["effective"] is False and view.data["recommendation_themes"] == ["knowledge_of_schools", "governance"]
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2014-07-18T10:00")
        engine.fire(case, "publish_letter", actor="ofsted", at="2014-07-25T10:00")
        view = engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2014-09-01")
        assert view.deadlines["letter_sent"]["status"] == "met" and view.deadlines["letter_published"]["status"] == "met"

        # 2013 para 20, 41 (carried over): "ineffective" -> a further inspection, on the version in force on 1 December 2014 (November 2014).
        view = engine.fire(case, "arrange_reinspection", actor="hmci", at="2014-12-01T10:00")
        assert (view.state, view.ended) == ("reinspection_arranged", True)
        (child,) = view.children
        child_view = engine.get(child["id"])
        assert (child_view.version, child_view.state, child_view.parent) == (3, "concern_raised", str(case))
        assert child_view.data == {"authority": "Barsetshire", "concerns": ["previous_inspection_not_effective"]}

    def test_no_reinspection_after_an_effective_verdict(self, make_engine):
        """2013 para 20 via ¶8: re-inspection only follows "ineffective"."""
        engine = make_engine(start="2014-06-02T09:00")
        case = phase2_on_site(engine, **MAY_2014)
        reported(engine, case, leave="2014-06-20")
        engine.fire(case, "make_judgement", {"effective": True, **FINDINGS}, actor="qa", at="2014-07-01")
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2014-07-18")
        engine.fire(case, "publish_letter", actor="ofsted", at="2014-07-25")
        engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2014-09-01")
        with pytest.raises(GuardFailed, match="effective"):
            engine.fire(case, "arrange_reinspection", actor="hmci", at="2014-12-01")
        assert engine.fire(case, "close", actor="hmci", at="2014-12-01").state == "closed"


class TestVersion1Reinspection:
    @pytest.mark.parametrize(("arranged", "version"), [("2014-07-01T10:00", 2), ("2015-02-23T10:00", 3)])
    def test_a_version_1_reinspection_runs_on_the_2014_revision_in_force(self, make_engine, arranged, version):
        """A 2013 "not effective" case (2013 para 20, 41) starts its re-inspection on the revision in force that day, which runs."""
        engine = make_engine()
        case = engine.start(OFSTED, {"authority": "Norfolk", "concerns": ["attainment_below_national"]}, version=1, actor="hmci", at="2013-06-03T09:00")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="ofsted", at="2013-06-05T10:00")
        engine.run_due(until="2013-06-10T09:00")
        engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="lead", at="2013-06-14T12:00")
        engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
        engine.fire(case, "make_judgement", {"effective": False, "strengths": [], "weaknesses": [], "recommendations": []}, actor="qa", at="2013-06-28")
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-10")
        engine.fire(case, "publish_letter", actor="ofsted", at="2013-07-11")
        engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2013-09-01")
        (child,) = engine.fire(case, "arrange_reinspection", actor="hmci", at=arranged).children
        child_view = engine.get(child["id"])
        assert (child_view.workflow, child_view.version, child_view.state) == (OFSTED, version, "concern_raised")
        assert child_view.data == {"authority": "Norfolk", "concerns": ["previous_inspection_not_effective"]}
        # The re-inspection proceeds under the revision: ¶15 notice Monday 2 March 2015 -> Phase 2 by Monday 9 March
        # (Tue 3 (1), Wed 4 (2), Thu 5 (3), Fri 6 (4), Mon 9 (5)).
        view = engine.fire(child["id"], "give_notice", {"on_site_start": "2015-03-09", **SCHOOLS, **TEAM}, actor="ofsted", at="2015-03-02T10:00")
        assert view.state == "phase1_schools"


# Per version: the May 2014 run (MAY_2014) and a November 2014 run with the same shape, a new notice on the Monday
# Phase 2 was due (5 working days: Tue (1) ... Mon (5) a week later), and the judgement's trigger.
CARRIED = {
    2: {**MAY_2014, "renew": "2014-06-16", "new_phase2": "2014-06-23", "too_late": "2014-06-24", "new_week_end": "2014-06-27", "judge": "make_judgement"},
    3: {
        "version": 3,
        "concern": "2015-03-02",
        "notice": "2015-03-09",
        "phase2": "2015-03-16",
        "phase1_end": "2015-03-13T17:00",
        "renew": "2015-03-16",
        "new_phase2": "2015-03-23",
        "too_late": "2015-03-24",
        "new_week_end": "2015-03-27",
        "judge": "make_recommendations",
    },
}


def phase1_complete(engine, *, version, concern, notice, phase2, phase1_end, **_):
    """A case whose Phase 1 is complete, Phase 2 due on `phase2` (the steps of phase2_on_site before the timer)."""
    case = engine.start(OFSTED, START, version=version, actor="regional-director", at=f"{concern}T09:00")
    engine.fire(case, "give_notice", {"on_site_start": phase2, **SCHOOLS, **TEAM}, actor="ofsted", at=f"{notice}T10:00")
    engine.fire(case, "complete_phase1", {"schools_inspected": SCHOOLS["schools"], "issues_raised": [], "themes_raised": []}, actor="lead", at=phase1_end)
    return case


@pytest.mark.parametrize("version", [2, 3])
class TestCarriedOverFrom2013:
    def test_phase_2_deferred_needs_a_new_notice_and_counts_from_the_new_first_day(self, make_engine, version):
        """2013 para 29 (deferral) and para 12 / ¶15 (five days' notice), carried over: Phase 2, not Phase 1, is deferred."""
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = phase1_complete(engine, **run)
        view = engine.fire(
            case, "defer_inspection", {"deferral_ground": "other", "deferral_reason": "council elections"}, actor="hmci", at=f"{run['phase1_end']}:30"
        )
        assert (view.state, view.timers) == ("deferred", {})
        engine.run_due(until=f"{run['phase2']}T09:00")
        assert engine.get(case).state == "deferred"  # nobody arrives on the old day
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(case, "renew_notice", {"on_site_start": run["too_late"]}, actor="ofsted", at=f"{run['renew']}T10:00")
        engine.fire(case, "renew_notice", {"on_site_start": run["new_phase2"]}, actor="ofsted", at=f"{run['renew']}T10:00")
        engine.run_due(until=f"{run['new_phase2']}T09:00")
        view = engine.get(case)
        assert view.state == "on_site"
        assert view.deadlines["on_site_normal_length"]["due_date"] == run["new_week_end"]  # ¶4: one week, from the new Monday

    def test_the_further_visit_waits_until_the_authority_is_told(self, make_engine, version):
        """2013 para 35, carried over."""
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = phase2_on_site(engine, **{k: run[k] for k in ("version", "concern", "notice", "phase2", "phase1_end")})
        leave = run["new_week_end"]  # any Friday after Phase 2 began
        reported(engine, case, leave=run["phase2"])
        engine.fire(case, "declare_incomplete", {"reason": "seriously flawed"}, actor="qa", at=f"{leave}T10:00")
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, "begin_on_site", actor="lead", at=f"{leave}T11:00")
        engine.fire(case, "notify_incomplete", {"notification": "letter to the DCS"}, actor="qa", at=f"{leave}T11:00")
        assert engine.fire(case, "begin_on_site", actor="lead", at=f"{leave}T12:00").state == "on_site"

    def test_feedback_on_a_return_visit_before_the_findings(self, make_engine, version):
        """2013 para 36-37, carried over: leaving without feedback needs the reason; the findings wait for the return."""
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = phase2_on_site(engine, **{k: run[k] for k in ("version", "concern", "notice", "phase2", "phase1_end")})
        with pytest.raises(GuardFailed, match="strengths present"):
            engine.fire(case, "leave_site", actor="lead", at=f"{run['new_week_end']}T17:00")
        engine.fire(case, "leave_site", {"feedback_return_reason": "data to analyse"}, actor="lead", at=f"{run['new_week_end']}T17:00")
        judgement = {"effective": True, **FINDINGS} if version == 2 else FINDINGS
        with pytest.raises(TriggerNotAllowed):
            engine.fire(case, run["judge"], judgement, actor="qa", at=f"{run['new_week_end']}T18:00")
        view = engine.fire(case, "give_feedback_on_return", {"strengths": ["a"], "weaknesses": ["b"]}, actor="lead", at=f"{run['new_week_end']}T18:00")
        assert view.state == "quality_assurance"
        assert engine.fire(case, run["judge"], judgement, actor="qa", at=f"{run['new_week_end']}T19:00").state == "letter_drafted"

    def test_findings_the_directors_absence_and_a_phase_2_first_day_on_a_saturday(self, make_engine, version):
        """2013 para 29 ("will not normally be grounds") and para 12, 21 (choice), carried over: recorded, not refused."""
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = phase1_complete(engine, **run)
        assert engine.get(case).findings == []
        ground = {"deferral_ground": "director_of_childrens_services_absent", "deferral_reason": "DCS on leave"}
        view = engine.fire(case, "defer_inspection", ground, actor="hmci", at=f"{run['phase1_end']}:30")
        assert [f["id"] for f in view.findings] == ["deferred_for_the_directors_absence"]
        saturday = date.fromisoformat(run["new_phase2"]).replace(day=date.fromisoformat(run["new_phase2"]).day - 2).isoformat()  # the Saturday before
        view = engine.fire(case, "renew_notice", {"on_site_start": saturday}, actor="ofsted", at=f"{run['renew']}T10:00")
        assert [f["id"] for f in view.findings] == ["deferred_for_the_directors_absence", "first_day_not_a_working_day"]

    def test_a_team_larger_than_two_hmi_is_a_finding(self, make_engine, version):
        """2013 para 13, 15 carried over: at least one other inspector (a bound), normally two HMI (a finding)."""
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = engine.start(OFSTED, START, version=version, actor="regional-director", at=f"{run['concern']}T09:00")
        notice = {"on_site_start": run["phase2"], **SCHOOLS, "lead_inspector": "Lead HMI"}
        with pytest.raises(InvalidData, match="inspectors"):
            engine.fire(case, "give_notice", {**notice, "inspectors": []}, actor="ofsted", at=f"{run['notice']}T10:00")
        view = engine.fire(case, "give_notice", {**notice, "inspectors": ["HMI", "Additional Inspector"]}, actor="ofsted", at=f"{run['notice']}T10:00")
        assert [f["id"] for f in view.findings] == ["team_larger_than_two_hmi"]


class TestJudgedAfterNovember2014:
    """¶8: "Prior to the November 2014 Ofsted Framework revisions there were only 2 possible outcomes ... Under the
    current Framework Ofsted now only make a set of recommendations". A version-2 case (started in October 2014,
    in the May 2014 window) judged on Wednesday 3 December 2014 gets recommendations only: the rule is decided by
    the day of the judgement (parameter verdicts_end, 1 November 2014), not by the day the case started."""

    def on_site_in_october(self, make_engine, **parameters):
        engine = make_engine(start="2014-10-06T08:00:00+01:00")
        case = engine.start(OFSTED, START, actor="regional-director", at="2014-10-06T09:00", parameters=parameters or None)
        engine.fire(case, "give_notice", {"on_site_start": "2014-10-20", **SCHOOLS, **TEAM}, actor="ofsted", at="2014-10-13T10:00")
        engine.fire(
            case,
            "complete_phase1",
            {"schools_inspected": SCHOOLS["schools"], "issues_raised": ["late data"], "themes_raised": ["governance"]},
            actor="lead",
            at="2014-10-17T17:00",
        )
        engine.run_due(until="2014-10-20T09:00")
        assert reported(engine, case, leave="2014-10-24").state == "quality_assurance"
        assert engine.get(case).version == 2
        return engine, case

    def test_no_verdict_in_december_only_recommendations(self, make_engine):
        engine, case = self.on_site_in_october(make_engine)
        events = len(engine.history(case))
        with pytest.raises(GuardFailed, match=r"before '2014-11-01' \(is '2014-12-03'"):
            engine.fire(case, "make_judgement", {"effective": False, **FINDINGS}, actor="qa", at="2014-12-03T10:00")
        assert len(engine.history(case)) == events, "a refused verdict writes nothing"
        view = engine.fire(case, "make_recommendations", FINDINGS, actor="qa", at="2014-12-03T10:00")
        assert (view.version, view.state) == (2, "letter_drafted") and "effective" not in view.data
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2014-12-04T10:00")
        engine.fire(case, "publish_letter", actor="ofsted", at="2014-12-05T10:00")
        engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2015-01-12")
        with pytest.raises(GuardFailed, match="effective"):  # no "not effective" verdict, so no re-inspection (2013 para 20, 41)
            engine.fire(case, "arrange_reinspection", actor="ofsted", at="2015-01-13")

    def test_judged_on_31_october_the_verdict_is_still_given(self, make_engine):
        engine, case = self.on_site_in_october(make_engine)
        with pytest.raises(GuardFailed, match="on_or_after '2014-11-01'"):
            engine.fire(case, "make_recommendations", FINDINGS, actor="qa", at="2014-10-31T10:00")
        assert engine.fire(case, "make_judgement", {"effective": True, **FINDINGS}, actor="qa", at="2014-10-31T10:00").data["effective"] is True

    def test_the_day_is_a_parameter(self, make_engine):
        engine, case = self.on_site_in_october(make_engine, verdicts_end="2015-01-01")
        assert engine.fire(case, "make_judgement", {"effective": False, **FINDINGS}, actor="qa", at="2014-12-03T10:00").state == "letter_drafted"


# Ten items among the nine themes: one theme twice.
TEN_THEMES = [*THEMES, "governance"]


class TestNineThemesAtMost:
    """¶7 "There are nine themes explored during the inspection process": a list of themes holds nine at most."""

    @pytest.mark.parametrize("version", [2, 3])
    def test_the_themes_raised_in_phase_1_are_nine_at_most(self, make_engine, version):
        run = CARRIED[version]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = engine.start(OFSTED, START, version=version, actor="regional-director", at=f"{run['concern']}T09:00")
        engine.fire(case, "give_notice", {"on_site_start": run["phase2"], **SCHOOLS, **TEAM}, actor="ofsted", at=f"{run['notice']}T10:00")
        phase1 = {"schools_inspected": SCHOOLS["schools"], "issues_raised": ["late data"]}
        before = (len(engine.history(case)), engine.get(case).version)
        with pytest.raises(GuardFailed, match="themes_raised max_items 9"):
            engine.fire(case, "complete_phase1", {**phase1, "themes_raised": TEN_THEMES}, actor="lead", at=run["phase1_end"])
        assert (len(engine.history(case)), engine.get(case).version) == before
        view = engine.fire(case, "complete_phase1", {**phase1, "themes_raised": THEMES}, actor="lead", at=run["phase1_end"])
        assert (view.state, view.data["themes_raised"]) == ("phase1_complete", THEMES)

    @pytest.mark.parametrize(
        ("version", "judge", "verdict", "at"),
        [
            (2, "make_judgement", {"effective": False}, "2014-10-31T10:00"),  # version 2 before November 2014: the verdict
            (2, "make_recommendations", {}, "2014-12-03T10:00"),  # version 2 judged from November 2014: recommendations only
        ],
    )
    def test_the_themes_of_the_recommendations_are_nine_at_most_in_version_2(self, make_engine, version, judge, verdict, at):
        engine, case = TestJudgedAfterNovember2014().on_site_in_october(make_engine)
        self.refused_with_ten_accepted_with_nine(engine, case, judge, verdict, at)

    def test_the_themes_of_the_recommendations_are_nine_at_most_in_version_3(self, make_engine):
        run = CARRIED[3]
        engine = make_engine(start=f"{run['concern']}T09:00")
        case = phase2_on_site(engine, **{k: run[k] for k in ("version", "concern", "notice", "phase2", "phase1_end")})
        reported(engine, case)
        self.refused_with_ten_accepted_with_nine(engine, case, "make_recommendations", {}, "2015-04-01T10:00")

    @staticmethod
    def refused_with_ten_accepted_with_nine(engine, case, judge, verdict, at):
        before = (len(engine.history(case)), engine.get(case).version)
        with pytest.raises(GuardFailed, match="recommendation_themes max_items 9"):
            engine.fire(case, judge, {**verdict, **FINDINGS, "recommendation_themes": TEN_THEMES}, actor="qa", at=at)
        assert (len(engine.history(case)), engine.get(case).version) == before
        view = engine.fire(case, judge, {**verdict, **FINDINGS, "recommendation_themes": THEMES}, actor="qa", at=at)
        assert (view.state, view.data["recommendation_themes"]) == ("letter_drafted", THEMES)


def published_2014(engine, version):
    """Phase 2 of the CARRIED run ends on its Friday; judged, sent and published within the next two weeks."""
    run = CARRIED[version]
    case = phase2_on_site(engine, **{k: run[k] for k in ("version", "concern", "notice", "phase2", "phase1_end")})
    friday = date.fromisoformat(run["phase2"]).toordinal() + 4
    reported(engine, case, leave=date.fromordinal(friday).isoformat())
    judgement = {"effective": False, **FINDINGS} if version == 2 else FINDINGS
    engine.fire(case, run["judge"], judgement, actor="qa", at=f"{date.fromordinal(friday + 3).isoformat()}T10:00")
    engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at=f"{date.fromordinal(friday + 10).isoformat()}T10:00")
    assert engine.fire(case, "publish_letter", actor="ofsted", at=f"{date.fromordinal(friday + 11).isoformat()}T10:00").state == "published"
    return case, date.fromordinal(friday + 14).isoformat()


@pytest.mark.parametrize("version", [2, 3])
class TestAfterTheLetterCarriedOver:
    def test_the_statement_of_action_sets_out_a_timetable(self, make_engine, version):
        """2013 para 40, carried over: a written statement of the actions "and setting out a timetable": a blank one is none."""
        engine = make_engine(start=f"{CARRIED[version]['concern']}T09:00")
        case, later = published_2014(engine, version)
        before = (len(engine.history(case)), engine.get(case).version)
        with pytest.raises(InvalidData, match="timetable"):
            engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": ""}, actor="la", at=f"{later}T10:00")
        assert (len(engine.history(case)), engine.get(case).version) == before
        assert engine.fire(
            case, "receive_statement_of_action", {"actions": ["x"], "timetable": "by the summer term"}, actor="la", at=f"{later}T10:00"
        ).state == ("statement_of_action_received")

    def test_a_complaint_with_no_concern_raised_first_is_a_finding(self, make_engine, version):
        """2013 para 44-45, carried over (choice): a concern raised with the lead inspector first, a formal complaint after."""
        engine = make_engine(start=f"{CARRIED[version]['concern']}T09:00")
        complaint = {"complaint": "the letter misreads our data", "complainant": "the Director of Children's Services"}
        direct, later = published_2014(engine, version)
        assert [f["id"] for f in engine.fire(direct, "lodge_complaint", complaint, actor="la", at=f"{later}T10:00").findings] == [
            "complaint_without_a_concern_raised_first"
        ]
        case = phase1_complete(engine, **CARRIED[version])
        engine.fire(
            case, "raise_concern", {"concern": "schools chosen without notice", "raised_by": "the DCS"}, actor="la", at=f"{CARRIED[version]['phase1_end']}:30"
        )
        engine.run_due(until=f"{CARRIED[version]['phase2']}T09:00")
        assert engine.fire(case, "lodge_complaint", complaint, actor="la", at=f"{CARRIED[version]['phase2']}T10:00").findings == []


@pytest.mark.parametrize(("explained", "flagged"), [({}, True), ({"reinspection_implications_explained": True}, False)])
def test_may_2014_a_reinspection_arranged_when_the_feedback_did_not_explain_its_implications_is_a_finding(make_engine, explained, flagged):
    """2013 para 36, carried over (choice): the authority clear at feedback "where relevant, about the implications of ... re-inspection"."""
    engine = make_engine(start="2014-06-02T09:00")
    case = phase2_on_site(engine, **MAY_2014)
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"], **explained}, actor="lead", at="2014-06-20T12:00")
    engine.fire(case, "leave_site", actor="lead", at="2014-06-20T17:00")
    engine.fire(case, "make_judgement", {"effective": False, **FINDINGS}, actor="qa", at="2014-07-01T10:00")
    engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2014-07-18T10:00")
    engine.fire(case, "publish_letter", actor="ofsted", at="2014-07-25T10:00")
    engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2014-09-01T10:00")
    view = engine.fire(case, "arrange_reinspection", actor="hmci", at="2014-09-08T10:00")
    assert view.state == "reinspection_arranged"
    assert [f["id"] for f in view.findings] == (["reinspection_implications_not_explained"] if flagged else [])
