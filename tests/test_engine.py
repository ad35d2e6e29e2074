"""The engine end to end in Python: the Ofsted 2013 inspection, timers, deadlines, links, audit."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from laworkflow import (
    BadTime,
    ConcurrentChange,
    GuardFailed,
    InvalidData,
    TriggerNotAllowed,
    UnknownCase,
    UnknownDefinition,
)
from laworkflow.audit.verify import verify
from laworkflow.cases.case import Case
from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.loader import load_file
from laworkflow.errors import DefinitionChanged

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
RECIPIENTS = {"recipients": ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]}
JUDGEMENT = {"strengths": ["a"], "weaknesses": ["b"], "recommendations": ["c"]}


def on_site(engine, *, start="2013-06-10"):
    """A Norfolk case through notice to the first day on site, the timer firing it."""
    case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": start, **TEAM}, actor="ofsted", at="2013-06-05T10:00")
    engine.run_due(until=f"{start}T09:00")
    return case


def judged(engine, *, effective=False):
    """The case after leaving site on Friday 14 June 2013 and the judgement."""
    case = on_site(engine)
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="lead", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
    engine.fire(case, "make_judgement", {"effective": effective, **JUDGEMENT}, actor="qa", at="2013-06-28")
    return case


def answered(engine, *, effective):
    """The case after the letter is sent and published and the statement of action received (para 40, 42)."""
    case = judged(engine, effective=effective)
    engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-10")
    engine.fire(case, "publish_letter", actor="ofsted", at="2013-07-11")
    engine.fire(case, "receive_statement_of_action", {"actions": ["x"], "timetable": "y"}, actor="la", at="2013-09-01")
    return case


def stored(engine):
    """Every notification in the store: what 'unchanged' is measured against."""
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in engine.recorder.select_notifications(1, 1_000_000)]


class TestInspection:
    def test_timer_moves_the_case_on_site_on_the_day_given_in_the_notice(self, make_engine, store):
        """Para 12: the notice names the first day on site; the timer fires begin_on_site that day."""
        engine = make_engine(store)
        case = on_site(engine)
        view = engine.get(case)
        assert view.state == "on_site"
        fired = [h for h in engine.history(case) if h.type == "TimerFired"]
        assert len(fired) == 1
        assert fired[0].effective_at.date() <= date(2013, 6, 10)
        assert engine.get(case, as_of="2013-06-09T23:00:00+01:00").state == "notice_given"

    def test_norfolk_letter_deadlines_count_working_days_from_the_last_day_on_site(self, make_engine, store):
        """Para 42: sent within 20 and published within 25 working days of Friday 14 June 2013."""
        engine = make_engine(store)
        case = judged(engine)
        deadlines = engine.get(case).deadlines
        assert deadlines["letter_sent"]["due_date"] == "2013-07-12"
        assert deadlines["letter_published"]["due_date"] == "2013-07-19"

    def test_publishing_on_18_july_meets_the_deadline(self, make_engine, store):
        """Public example: publication on Thursday 18 July 2013 is within 25 working days."""
        engine = make_engine(store)
        case = judged(engine)
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-12T10:00")
        view = engine.fire(case, "publish_letter", actor="ofsted", at="2013-07-18T10:00")
        assert view.deadlines["letter_sent"]["status"] == "met"
        assert view.deadlines["letter_published"] == {
            "due_date": "2013-07-19",
            "met_by": "publish_letter",
            "status": "met",
            "met_on": "2013-07-18",
            "late_by_working_days": 0,
        }

    def test_a_late_letter_is_recorded_missed_and_how_late_without_stopping_the_process(self, make_engine, store):
        """Para 42: sent Tuesday 16 July, two working days after Friday 12 July (Mon 15, Tue 16)."""
        engine = make_engine(store)
        case = judged(engine)
        engine.run_due(until="2013-07-16T09:00")
        assert engine.get(case).deadlines["letter_sent"]["status"] == "missed"
        view = engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-16T10:00")
        assert view.state == "letter_sent"
        assert view.deadlines["letter_sent"]["status"] == "met_late"
        assert view.deadlines["letter_sent"]["late_by_working_days"] == 2
        kinds = [h.type for h in engine.history(case)]
        assert kinds.count("DeadlineMissed") == 1

    def test_a_missed_deadline_is_caught_up_by_the_next_command_without_a_scheduler(self, make_engine):
        """Missed is recorded even when nothing ran at the deadline: the next command catches up first."""
        engine = make_engine()
        case = judged(engine)
        engine.fire(case, "send_letter", RECIPIENTS, actor="ofsted", at="2013-07-15T10:00")
        history = engine.history(case)
        missed = [h for h in history if h.type == "DeadlineMissed"]
        assert [m.details["deadline_id"] for m in missed] == ["letter_sent"]
        assert history.index(missed[0]) < [h.type for h in history].index("Transitioned", history.index(missed[0]))

    def test_leaving_a_state_cancels_its_timer(self, make_engine):
        """A timer ends with the state that armed it: arriving early cancels the notice timer."""
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="ofsted", at="2013-06-05")
        assert [i.name for i in engine.due()] == ["notice_ends"]
        engine.fire(case, "begin_on_site", {"early_start_reason": "the authority asked to start on Friday"}, actor="lead", at="2013-06-07")
        cancelled = [h for h in engine.history(case) if h.type == "TimerCancelled"]
        assert [c.details["timer_id"] for c in cancelled] == ["notice_ends"]
        assert all(i.kind != "timer" for i in engine.due())

    def test_ending_a_case_withdraws_its_standing_deadlines(self, make_engine):
        """A deadline stands until met or the case ends: closing ends it, and says so."""
        engine = make_engine()
        case = answered(engine, effective=True)
        view = engine.fire(case, "close", actor="hmci", at="2013-09-02")
        assert view.ended
        assert engine.due() == []

    def test_reinspection_starts_a_new_case_linked_both_ways(self, make_engine, store):
        """Para 20, 41: not effective → a further inspection, a new case; each link is recorded."""
        engine = make_engine(store)
        case = answered(engine, effective=False)
        view = engine.fire(case, "arrange_reinspection", actor="hmci", at="2013-09-20")
        assert view.state == "reinspection_arranged"
        (child,) = view.children
        child_view = engine.get(child["id"])
        assert child_view.parent == str(case)
        assert child_view.state == "concern_raised"
        assert child_view.data == {"authority": "Norfolk", "concerns": ["previous_inspection_not_effective"]}

    def test_reinspection_is_refused_when_the_arrangements_were_effective(self, make_engine):
        """Para 20: re-inspection is considered only where the standard is not met."""
        engine = make_engine()
        case = answered(engine, effective=True)
        with pytest.raises(GuardFailed, match="effective"):
            engine.fire(case, "arrange_reinspection", actor="hmci", at="2013-09-20")

    def test_a_secretary_of_state_request_cannot_be_declined(self, make_engine):
        """Para 8, 11: the Secretary of State may require an inspection."""
        engine = make_engine()
        case = engine.start(OFSTED, {"authority": "X", "concerns": ["secretary_of_state_request"]}, actor="dfe")
        with pytest.raises(GuardFailed):
            engine.fire(case, "decide_not_to_inspect", {"reason": "no"}, actor="hmci")

    def test_incomplete_inspection_returns_for_a_further_visit_and_recounts_the_deadlines(self, make_engine):
        """Para 35: a further visit; the letter deadlines then count from its last day."""
        engine = make_engine()
        case = judged(engine)
        engine.fire(case, "declare_incomplete", {"reason": "evidence insufficient"}, actor="qa", at="2013-07-01")
        with pytest.raises(TriggerNotAllowed):  # not before the authority is told the inspection is incomplete
            engine.fire(case, "begin_on_site", {}, actor="lead", at="2013-07-08")
        engine.fire(case, "notify_incomplete", {"notification": "letter to the DCS"}, actor="qa", at="2013-07-02")
        engine.fire(case, "begin_on_site", {}, actor="lead", at="2013-07-08")
        engine.fire(case, "leave_site", actor="lead", at="2013-07-09T17:00")
        # 20 working days after Tuesday 9 July 2013 (no bank holiday until 26 August): Tuesday 6 August.
        assert engine.get(case).deadlines["letter_sent"]["due_date"] == "2013-08-06"


class TestParameters:
    def test_a_case_can_override_a_parameter_and_keeps_it(self, make_engine):
        """'Notice of up to five days' read as calendar days for one case, recorded in its start."""
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03", parameters={"notice_period": "5 days"})
        assert engine.get(case).parameters["notice_period"] == "5 days"
        # 5 calendar days after Wednesday 5 June is Monday 10 June; Tuesday 11 June is beyond it.
        with pytest.raises(GuardFailed):
            engine.fire(case, "give_notice", {"on_site_start": "2013-06-11", **TEAM}, actor="o", at="2013-06-05")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")

    def test_an_unknown_parameter_is_refused(self, make_engine):
        engine = make_engine()
        with pytest.raises(InvalidData, match="notice_period"):
            engine.start(OFSTED, START, actor="hmci", parameters={"notice_days": "3"})


class TestRejectedCommandsChangeNothing:
    @pytest.mark.parametrize(
        "command",
        [
            pytest.param(lambda e, c: e.fire(c, "publish_letter", actor="x"), id="trigger-not-allowed"),
            pytest.param(lambda e, c: e.fire(c, "no_such_trigger", actor="x"), id="unknown-trigger"),
            pytest.param(lambda e, c: e.fire(c, "give_feedback", {"strengths": "not a list", "weaknesses": []}, actor="x"), id="wrong-type"),
            pytest.param(lambda e, c: e.fire(c, "give_feedback", {"strengths": []}, actor="x"), id="missing-field"),
            pytest.param(lambda e, c: e.fire(c, "give_feedback", {"strengths": [], "weaknesses": [], "colour": 1}, actor="x"), id="unknown-field"),
            pytest.param(lambda e, c: e.fire(c, "record_evidence", {"notebook": "diary", "entry": "x"}, actor="x"), id="bad-choice"),
            pytest.param(lambda e, c: e.fire(c, "leave_site", actor="x"), id="guard-failed"),
            pytest.param(lambda e, c: e.fire(c, "give_feedback", {"strengths": [], "weaknesses": []}, actor="x", at="2013-06-01"), id="before-last-event"),
            pytest.param(lambda e, c: e.fire(c, "give_feedback", {"strengths": [], "weaknesses": []}, actor="x", at="14/06/2013"), id="bad-time"),
            pytest.param(lambda e, c: e.fire("00000000-0000-0000-0000-000000000000", "leave_site", actor="x"), id="unknown-case"),
            pytest.param(lambda e, c: e.fire("not-a-uuid", "leave_site", actor="x"), id="malformed-case-id"),
            pytest.param(lambda e, c: e.start("no-such-workflow", {}, actor="x"), id="unknown-workflow"),
            pytest.param(lambda e, c: e.start(OFSTED, {"authority": "X"}, actor="x"), id="bad-start-data"),
            pytest.param(lambda e, c: e.start(OFSTED, {"authority": "X", "concerns": []}, actor="x"), id="empty-required-list"),
            pytest.param(lambda e, c: e.start(OFSTED, START, version=9, actor="x"), id="unknown-version"),
            pytest.param(lambda e, c: e.fire_timer(c, "notice_ends", at="2013-06-11"), id="timer-no-longer-armed"),
        ],
    )
    def test_refused_command_writes_no_event(self, make_engine, store, command):
        """Every kind of bad input raises a typed error (or is a no-op) and the store is byte-for-byte unchanged."""
        engine = make_engine(store)
        case = on_site(engine)
        before = stored(engine)
        result = None
        try:
            result = command(engine, case)
        except (TriggerNotAllowed, InvalidData, GuardFailed, BadTime, UnknownCase, UnknownDefinition):
            pass
        assert result in (None, False), "a command that is not refused must be a no-op here"
        assert stored(engine) == before


class TestAudit:
    def test_every_event_records_actor_effective_and_recorded_time_and_chains_to_the_last(self, make_engine):
        engine = make_engine()
        case = judged(engine)
        history = engine.history(case)
        assert [h.version for h in history] == list(range(1, len(history) + 1))
        assert history[0].prev_hash == "0" * 64
        for previous, entry in zip(history, history[1:], strict=False):
            assert entry.prev_hash == previous.digest
            assert entry.effective_at >= previous.effective_at
        assert {h.actor for h in history} >= {"hmci", "ofsted", "lead", "qa", "timer:notice_ends"}
        assert verify(engine, case).ok

    def test_as_of_replays_only_what_had_taken_effect(self, make_engine):
        engine = make_engine()
        case = judged(engine)
        assert engine.get(case, as_of="2013-06-04").state == "concern_raised"
        assert engine.get(case, as_of="2013-06-12").state == "on_site"
        assert "letter_sent" not in engine.get(case, as_of="2013-06-12").deadlines
        assert engine.get(case, as_of="2013-06-20").state == "quality_assurance"
        with pytest.raises(UnknownCase):
            engine.get(case, as_of="2013-06-01")

    def test_no_snapshot_is_taken_and_a_case_is_its_events(self, make_engine, sqlite_store):
        """Snapshots live outside the audited log, so none is taken (past the old interval of 50) nor read; the case is a full replay."""
        engine = make_engine(sqlite_store)
        case = on_site(engine)
        for i in range(60):
            engine.fire(case, "record_evidence", {"notebook": "evidence", "entry": f"meeting {i}"}, actor="lead", at="2013-06-11")
        assert engine.snapshots is None and engine.repository.snapshot_store is None
        replayed = None
        for event in engine.events.get(case):
            replayed = event.mutate(replayed)
        assert vars(engine.repository.get(case)) == vars(replayed)

    def test_a_case_refuses_a_definition_file_edited_after_it_started(self, make_engine, tmp_path, catalog):
        """Definitions are immutable once used: an edited file must become a new version (tests/test_definitions_kept.py: reads go on)."""
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03")
        text = (WORKFLOWS / "ofsted-laassi-2013.yaml").read_text().replace("value: 5 working days", "value: 6 working days")
        edited = tmp_path / "ofsted-laassi-2013.yaml"
        edited.write_text(text)
        engine.catalog = Catalog([load_file(edited)])
        with pytest.raises(DefinitionChanged, match="changed since this case started"):
            engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")


class TestTimersFireOnce:
    def test_firing_a_timer_twice_records_it_once(self, make_engine):
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
        assert engine.fire_timer(case, "notice_ends", at="2013-06-10T08:00") is True
        assert engine.fire_timer(case, "notice_ends", at="2013-06-10T08:01") is False
        assert [h.type for h in engine.history(case)].count("TimerFired") == 1

    def test_a_timer_is_not_fired_before_it_is_due(self, make_engine):
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
        with pytest.raises(BadTime):
            engine.fire_timer(case, "notice_ends", at="2013-06-09T12:00")

    def test_a_late_timer_records_its_lateness_and_takes_effect_when_due(self, make_engine):
        """After downtime a timer fires at once; the event says how late, the state changed on the due day."""
        engine = make_engine()
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03")
        engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
        engine.fire_timer(case, "notice_ends", at="2013-06-10T06:00:00+01:00")
        (fired,) = [h for h in engine.history(case) if h.type == "TimerFired"]
        assert fired.details["lateness_seconds"] == 6 * 3600
        assert engine.get(case, as_of="2013-06-10T00:00:00+01:00").state == "on_site"

    def test_a_writer_that_lost_the_race_gets_a_concurrent_change_and_the_retry_is_a_no_op(self, make_engine, sqlite_store):
        """Two nodes on one SQLite file fire the same timer: one event, the loser's retry finds it gone."""
        first, second = make_engine(sqlite_store), make_engine(sqlite_store)
        case = first.start(OFSTED, START, actor="hmci", at="2013-06-03")
        first.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
        stale: Case = second.repository.get(case)
        workflow = second.catalog.get(OFSTED, 1)
        assert first.fire_timer(case, "notice_ends", at="2013-06-10T08:00") is True
        assert stale.fire_timer(workflow, "notice_ends", at=second._moment("2013-06-10T08:00")) is True
        with pytest.raises(ConcurrentChange):
            second._save(stale)
        assert second.fire_timer(case, "notice_ends", at="2013-06-10T08:00") is False
        assert [h.type for h in first.history(case)].count("TimerFired") == 1


def test_views_are_json_ready(make_engine):
    engine = make_engine()
    case = judged(engine)
    view = engine.get(case).to_dict()
    assert set(view) == {f.name for f in dataclasses.fields(type(engine.get(case)))}
    assert isinstance(view["last_effective_at"], str)
