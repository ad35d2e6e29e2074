"""Scenario: each guard of the Ofsted workflows refuses what it is there to refuse, and only that.

One test per guard (a family parametrized): the case is driven to the state where
the guard applies, the trigger is fired with data or on a day that only that
guard refuses, the refusal leaves the store as it was, and the same trigger is
accepted once the condition holds. Dates are worked out by hand beside them;
working days skip weekends and English bank holidays (none in June 2014 or
November 2016).

Sources: the May 2013 framework (seed 000, "2013 para N"), the Oxfordshire report
on the 2014 revisions (seed 002, "¶N"), the 2016 re-inspection arrangements
(seed 003, cited by section and ordinal as in the workflows).
"""

from __future__ import annotations

import pytest

from laworkflow import GuardFailed

from .test_ofsted_laassi_2013 import FEEDBACK, JUDGEMENT, on_site
from .test_ofsted_laassi_2014 import CARRIED, FINDINGS, MAY_2014, OFSTED, SCHOOLS, START, TEAM, phase2_on_site, reported
from .test_ofsted_monitoring import ALL_AREAS, SOME_AREAS, judged

REQUIRED_RECIPIENTS = ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]


def stored(engine, case):
    """What the store holds for a case: its events and its version (a refusal changes neither)."""
    return len(engine.history(case)), engine.get(case).version


def letter_drafted_2013(engine):
    """Version 1: on site Monday 10 June 2013, left Friday 14 June, judged Friday 28 June."""
    case = on_site(engine)
    engine.fire(case, "give_feedback", FEEDBACK, actor="lead", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
    engine.fire(case, "make_judgement", JUDGEMENT, actor="qa", at="2013-06-28T10:00")
    return case, "2013-07-10T10:00"


def letter_drafted_may_2014(engine):
    """Version 2: Phase 2 from Monday 16 June 2014, left Friday 20 June, judged (a verdict) Tuesday 1 July."""
    case = phase2_on_site(engine, **MAY_2014)
    reported(engine, case, leave="2014-06-20")
    engine.fire(case, "make_judgement", {"effective": True, **FINDINGS}, actor="qa", at="2014-07-01T10:00")
    return case, "2014-07-18T10:00"


def letter_drafted_november_2014(engine):
    """Version 3: Phase 2 from Monday 16 March 2015, left Friday 20 March, recommendations Wednesday 1 April."""
    run = CARRIED[3]
    case = phase2_on_site(engine, **{k: run[k] for k in ("version", "concern", "notice", "phase2", "phase1_end")})
    reported(engine, case, leave="2015-03-20")
    engine.fire(case, "make_recommendations", FINDINGS, actor="qa", at="2015-04-01T10:00")
    return case, "2015-04-21T10:00"


DRAFTED = {
    1: ("2013-06-03T09:00", letter_drafted_2013),
    2: ("2014-06-02T09:00", letter_drafted_may_2014),
    3: ("2015-03-02T09:00", letter_drafted_november_2014),
}


class TestTheLetterGoesToEveryPrescribedRecipient:
    """2013 para 43 (carried over to both 2014 revisions): the letter is copied to the chief executive, the Director of
    Children's Services, the lead member for children's services and the Secretary of State."""

    @pytest.mark.parametrize("version", [1, 2, 3])
    @pytest.mark.parametrize("missing", REQUIRED_RECIPIENTS)
    def test_a_letter_without_one_of_them_is_refused(self, make_engine, version, missing):
        start, drafted = DRAFTED[version]
        engine = make_engine(start=start)
        case, day = drafted(engine)
        assert (engine.get(case).version, engine.get(case).state) == (version, "letter_drafted")
        without = [r for r in REQUIRED_RECIPIENTS if r != missing] + ["other_prescribed_persons"]
        before = stored(engine, case)
        with pytest.raises(GuardFailed, match=f"recipients contains '{missing}'"):
            engine.fire(case, "send_letter", {"recipients": without}, actor="ofsted", at=day)
        assert stored(engine, case) == before and engine.get(case).state == "letter_drafted"
        assert engine.get(case).deadlines["letter_sent"]["status"] != "met"  # a refused letter meets no deadline

        every = [*without, missing]
        view = engine.fire(case, "send_letter", {"recipients": every}, actor="ofsted", at=day)
        assert (view.state, view.data["recipients"]) == ("letter_sent", every)
        assert view.deadlines["letter_sent"]["status"] == "met"


class TestMay2014Selection:
    """Version 2 (May 2014): the rules of selection and notice, on a version-2 case."""

    def test_a_secretary_of_state_request_cannot_be_declined(self, make_engine):
        """¶5 criterion 8: "Where the SoS requires an inspection" (2013 para 8, 11: s136(3))."""
        engine = make_engine(start="2014-06-02T09:00")
        requested = {"authority": "Barsetshire", "concerns": ["attainment_below_national", "secretary_of_state_request"]}
        case = engine.start(OFSTED, requested, version=2, actor="dfe", at="2014-06-02T09:00")
        before = stored(engine, case)
        with pytest.raises(GuardFailed, match="concerns not_contains 'secretary_of_state_request'"):
            engine.fire(case, "decide_not_to_inspect", {"reason": "green trend"}, actor="regional-director", at="2014-06-03T10:00")
        assert stored(engine, case) == before and engine.get(case).state == "concern_raised"

        other = engine.start(OFSTED, START, version=2, actor="regional-director", at="2014-06-02T09:00")
        view = engine.fire(other, "decide_not_to_inspect", {"reason": "green trend"}, actor="regional-director", at="2014-06-03T10:00")
        assert (view.version, view.state, view.ended) == (2, "not_inspected", True)

    def test_phase_2_is_notified_five_working_days_ahead_at_most(self, make_engine):
        """¶15 "five days' notice": notice Monday 9 June 2014; Tue 10 (1), Wed 11 (2), Thu 12 (3), Fri 13 (4), Mon 16 (5)."""
        engine = make_engine(start="2014-06-02T09:00")
        case = engine.start(OFSTED, START, version=2, actor="regional-director", at="2014-06-02T09:00")
        before = stored(engine, case)
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(case, "give_notice", {"on_site_start": "2014-06-17", **SCHOOLS, **TEAM}, actor="ofsted", at="2014-06-09T10:00")
        assert stored(engine, case) == before and engine.get(case).state == "concern_raised"
        view = engine.fire(case, "give_notice", {"on_site_start": "2014-06-16", **SCHOOLS, **TEAM}, actor="ofsted", at="2014-06-09T10:00")
        assert (view.version, view.state, view.data["on_site_start"]) == (2, "phase1_schools", "2014-06-16")


def reinspection_arranged(engine, kind):
    """A monitoring case judged inadequate (4 July 2016) whose re-inspection is decided and arranged on Tuesday 1 November 2016."""
    parent = judged(engine, ALL_AREAS if kind == "full" else SOME_AREAS)
    engine.fire(parent, "decide_reinspection", {"override_reason": "serious decline reported"}, actor="hmci", at="2016-11-01T10:00")
    arrange = "arrange_full_inspection" if kind == "full" else "arrange_post_monitoring_inspection"
    child = engine.fire(parent, arrange, actor="shmi", at="2016-11-01T11:00").children[-1]["id"]
    assert (engine.get(child).state, engine.get(child).data["inspection_type"]) == ("arranged", kind)
    return child


class TestReinspectionNotice:
    """Annex A, Proposal three: "the same short notice period" (five working days, the workflow's choice), for either kind.

    Notice on Monday 7 November 2016: Tue 8 (1), Wed 9 (2), Thu 10 (3), Fri 11 (4), Mon 14 (5): Monday 14 November, not Tuesday 15.
    """

    @pytest.mark.parametrize(("kind", "noticed"), [("full", "notice_given_full"), ("post_monitoring", "notice_given_post_monitoring")])
    def test_the_first_day_is_five_working_days_ahead_at_most(self, make_engine, kind, noticed):
        engine = make_engine(start="2016-07-04T09:00")
        child = reinspection_arranged(engine, kind)
        before = stored(engine, child)
        with pytest.raises(GuardFailed, match="on_site_start within"):
            engine.fire(child, "give_notice", {"on_site_start": "2016-11-15", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        assert stored(engine, child) == before and engine.get(child).state == "arranged"
        view = engine.fire(child, "give_notice", {"on_site_start": "2016-11-14", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        assert (view.state, view.data["on_site_start"]) == (noticed, "2016-11-14")

    @pytest.mark.parametrize(("kind", "other"), [("full", "post_monitoring"), ("post_monitoring", "full")])
    def test_a_refused_notice_says_the_other_kind_of_inspection_is_not_this_one(self, make_engine, kind, other):
        """Next steps ¶2, items 5-6: a full or a post-monitoring inspection, as arranged. A notice refused for its date says, of the
        form for the other kind, that the case is not of that kind: the back office is not sent looking for a second window."""
        engine = make_engine(start="2016-07-04T09:00")
        child = reinspection_arranged(engine, kind)
        before = stored(engine, child)
        with pytest.raises(GuardFailed) as refused:
            engine.fire(child, "give_notice", {"on_site_start": "2016-11-15", "lead_inspector": "HMI"}, actor="ofsted", at="2016-11-07T10:00")
        assert stored(engine, child) == before
        reasons = str(refused.value).split("refused by guard: ", 1)[1].split(" | ")
        assert len(reasons) == 2 and all("on_site_start within" in reason for reason in reasons)
        assert [f"inspection_type eq '{other}'" in reason for reason in reasons] == ([False, True] if kind == "full" else [True, False])
