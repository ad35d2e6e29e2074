"""Defence in depth: whatever the index cannot handle is set aside, and every other timer still fires.

The bad events here are written the way old code wrote them: through the Case
aggregate, past the checks commands now make, into the real store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from laworkflow.cases.case import Case
from laworkflow.errors import NotQuarantined, StillQuarantined
from laworkflow.service.scheduler import Scheduler

OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
REPO = Path(__file__).resolve().parents[1]


def noticed(engine, *, on_site="2013-06-10"):
    """A case with its notice given: the timer notice_ends is armed for the first day on site."""
    case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": on_site, **TEAM}, actor="ofsted", at="2013-06-05T10:00")
    return case


def write_bad_deadline(engine, case_id, due_date="9999-12-31", remind_on=None):
    """A DeadlineSet as the code before the bounds could record it: straight through the aggregate, no checks."""
    case, _ = engine._load(case_id)
    case._record(
        Case.DeadlineSet,
        actor="old-code",
        effective_at=case.effective_at,
        deadline_id="bad",
        due_date=due_date,
        met_by="never",
        target_date=None,
        earliest_date=None,
        remind_on=remind_on,
    )
    engine._save(case)


def state(engine, case):
    return engine.get(case).state


class TestCatchUp:
    @pytest.mark.parametrize("due_date", ["9999-12-31", "0001-01-01"])
    def test_an_event_the_index_cannot_fold_in_is_set_aside_and_a_timer_armed_after_it_still_fires(self, make_engine, store, due_date):
        engine = make_engine(store)
        bad = noticed(engine)
        write_bad_deadline(engine, bad, due_date)
        good = noticed(engine, on_site="2013-06-11")  # armed after the bad event, on another case

        handled = engine.run_due(until="2013-06-12T09:00")

        assert state(engine, good) == "on_site" and state(engine, bad) == "on_site"
        assert handled == 2
        (entry,) = engine.quarantined()
        assert (entry.source, entry.case_id, entry.kind, entry.name, entry.version) == ("event", bad, "DeadlineSet", "bad", 4)
        assert entry.position is not None and "OutOfRange" in entry.error and due_date in entry.error
        outbox = [n["payload"] for n in engine.due_store.outbox() if n["payload"]["kind"] == "item_quarantined"]
        assert [(n["quarantine_id"], n["case_id"]) for n in outbox] == [(entry.id, str(bad))]

    def test_the_scheduler_tick_goes_past_a_set_aside_event(self, make_engine, sqlite_store):
        engine = make_engine(sqlite_store)
        bad = noticed(engine)
        write_bad_deadline(engine, bad)
        good = noticed(engine, on_site="2013-06-11")
        engine.clock.advance_to("2013-06-11T09:00")
        scheduler = Scheduler(engine, threading.RLock(), poll_seconds=0.05)
        assert scheduler.tick() == 2
        assert state(engine, good) == "on_site" and len(engine.quarantined()) == 1

    def test_release_tries_the_event_again_and_keeps_it_while_it_still_fails(self, make_engine, store):
        engine = make_engine(store)
        bad = noticed(engine)
        write_bad_deadline(engine, bad)
        (entry,) = engine.quarantined()
        with pytest.raises(StillQuarantined, match="set aside again: OutOfRange"):
            engine.release(entry.id)
        assert [e.id for e in engine.quarantined()] == [entry.id]
        with pytest.raises(NotQuarantined):
            engine.release("event:nothing")

    def test_a_rebuild_sets_the_same_event_aside_again_once(self, make_engine, store):
        engine = make_engine(store)
        bad = noticed(engine)
        write_bad_deadline(engine, bad)
        first = engine.quarantined()
        engine.due_store.reset()
        assert [e.id for e in engine.quarantined()] == [e.id for e in first]
        assert [i.name for i in engine.due()] == ["notice_ends"]


class TestStoredRows:
    def test_a_row_an_older_version_wrote_unpadded_is_set_aside_not_raised(self, make_engine, tmp_path):
        """Year 1 was stamped "1-01-02T…" on SQLite: it sorted first and would not read back."""
        path = tmp_path / "events.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        good = noticed(engine)
        engine.due()
        with sqlite3.connect(path) as connection:
            connection.execute(
                "INSERT INTO lw_due (case_id, kind, name, due_at, workflow, detail) VALUES (?, 'deadline', 'bad', '1-01-02T00:01:15.000000Z', 'x@1', 'd')",
                (str(good),),
            )
        assert engine.run_due(until="2013-06-10T09:00") == 1
        assert state(engine, good) == "on_site"
        (entry,) = engine.quarantined()
        assert (entry.source, entry.kind, entry.name, entry.due_at) == ("item", "deadline", "bad", None)
        assert "'1-01-02T00:01:15.000000Z'" in entry.detail


class TestScheduler:
    def test_an_item_whose_handling_raises_anything_is_quarantined_and_the_loop_goes_on(self, make_engine, store, monkeypatch):
        engine = make_engine(store)
        broken = noticed(engine)
        later = noticed(engine, on_site="2013-06-11")
        real = Case.fire_timer

        def fire_timer(case, workflow, timer_id, **kwargs):  # the decision, taken alike in a batch and one item at a time
            if case.id == broken:
                raise RuntimeError("a bug, not a refusal")
            return real(case, workflow, timer_id, **kwargs)

        monkeypatch.setattr(Case, "fire_timer", fire_timer)
        engine.clock.advance_to("2013-06-11T09:00")
        scheduler = Scheduler(engine, threading.RLock())
        assert scheduler.tick() == 1
        assert state(engine, later) == "on_site" and state(engine, broken) == "notice_given"
        (entry,) = engine.quarantined()
        assert (entry.source, entry.kind, entry.case_id, entry.name) == ("item", "timer", broken, "notice_ends")
        assert "RuntimeError: a bug, not a refusal" in entry.error
        assert scheduler.tick() == 0  # set aside: not retried for ever

        monkeypatch.setattr(Case, "fire_timer", real)  # the fix
        assert engine.release(entry.id) == entry
        assert scheduler.tick() == 1
        assert state(engine, broken) == "on_site" and engine.quarantined() == []

    def test_a_lost_race_is_put_back_not_quarantined(self, make_engine, monkeypatch):
        from laworkflow.errors import ConcurrentChange

        engine = make_engine()
        case = noticed(engine)
        monkeypatch.setattr(Case, "fire_timer", lambda *a, **k: (_ for _ in ()).throw(ConcurrentChange("lost")))
        engine.clock.advance_to("2013-06-10T09:00")
        scheduler = Scheduler(engine, threading.RLock())
        assert scheduler.tick() == 0
        assert engine.quarantined() == [] and [i.name for i in engine.due()] == ["notice_ends"]
        assert state(engine, case) == "notice_given"

    def test_run_survives_a_pass_that_raises_and_says_it_is_unhealthy_meanwhile(self, make_engine, monkeypatch):
        engine = make_engine()
        scheduler = Scheduler(engine, threading.RLock(), poll_seconds=0.02)
        assert not scheduler.healthy()  # not running yet
        failing = threading.Event()
        failing.set()
        real = scheduler.tick

        def tick():
            if failing.is_set():
                raise sqlite3.OperationalError("database is locked")
            return real()

        monkeypatch.setattr(scheduler, "tick", tick)
        thread = scheduler.start_in_thread()
        try:
            _wait(lambda: scheduler.errors >= 2)
            assert thread.is_alive() and not scheduler.healthy()
            assert "database is locked" in (scheduler.last_error or "")
            failing.clear()
            _wait(scheduler.healthy)
        finally:
            scheduler.stop()
            thread.join(5)
        assert not thread.is_alive() and not scheduler.healthy()


def _wait(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class TestCommandLine:
    def cli(self, store, *args):
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        return subprocess.run([sys.executable, "-m", "laworkflow.cli", "--store", store, *args], capture_output=True, text=True, env=env, timeout=120, cwd=REPO)

    def test_quarantine_list_shows_what_was_set_aside_and_release_refuses_in_one_line(self, make_engine, tmp_path):
        path = tmp_path / "events.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        bad = noticed(engine)
        write_bad_deadline(engine, bad)
        engine.close()

        listed = self.cli(str(path), "quarantine", "list")
        assert listed.returncode == 0, listed.stderr
        (line,) = listed.stdout.strip().splitlines()
        entry_id = f"event:{bad}:4"
        assert line.startswith(entry_id) and "DeadlineSet bad" in line and "9999-12-31" in line

        as_json = self.cli(str(path), "quarantine", "list", "--json")
        (item,) = json.loads(as_json.stdout)["items"]
        assert (item["id"], item["case_id"], item["source"]) == (entry_id, str(bad), "event")

        again = self.cli(str(path), "quarantine", "release", entry_id)
        assert again.returncode == 1 and again.stderr.strip().splitlines()[-1].startswith(f"error: {entry_id} was tried again")
        unknown = self.cli(str(path), "quarantine", "release", "nope")
        assert unknown.returncode == 1 and "error: nothing quarantined has the id 'nope'" in unknown.stderr
