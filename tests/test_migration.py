"""Moving running cases onto a new version of their workflow: plan (writes nothing), apply (idempotent, resumable).

The shipped 2014 versions: a May 2014 case (ofsted-laassi@2) is on site when
the November 2014 revision (ofsted-laassi@3) comes in. Every date expected
below is worked out by hand in the comments, on the England calendar (bank
holidays 25 and 26 December 2014 and 1 January 2015), never taken from the
code's output. Stores are real SQLite files; the CLI runs as a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from laworkflow import Catalog
from laworkflow.audit.replay import replay
from laworkflow.audit.verify import verify
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.calendar.clock import aware as aware_moment
from laworkflow.engine import Engine
from laworkflow.errors import TriggerNotAllowed
from laworkflow.migration import apply, offers, plan
from laworkflow.migration.plan import MigrationError
from laworkflow.service.scheduler import Scheduler
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
MAY, NOVEMBER = "ofsted-laassi@2", "ofsted-laassi@3"
MIGRATED_TOPIC = "laworkflow.cases.migration_events:Migrated"
START = {"authority": "Oxfordshire", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2014-11-03", "schools": ["School A"], "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
PHASE1 = {"schools_inspected": ["School A"], "issues_raised": [], "themes_raised": []}


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    opened: list[Engine] = []
    yield opened
    for engine in opened:
        engine.close()


def open_engine(engines: list[Engine], db: Path, workflows: Path = WORKFLOWS, now: str = "2014-10-20") -> Engine:
    engine = Engine(Catalog.from_directory(workflows), clock=SimulatedClock(now), env=store_env(str(db)))
    engines.append(engine)
    return engine


def on_site_case(engine: Engine, authority: str = "Oxfordshire") -> UUID:
    """A May 2014 case: notice on Monday 27 October 2014, on site from Monday 3 November (the notice timer takes it there)."""
    case = engine.start("ofsted-laassi", {**START, "authority": authority}, version=2, actor="ofsted", at="2014-10-20T09:00")
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2014-10-27T09:00")
    engine.fire(case, "complete_phase1", PHASE1, actor="ofsted", at="2014-10-31T16:00")
    engine.run_due(until="2014-11-03T09:00")
    assert engine.get(case).state == "on_site"
    return case


def event_count(engine: Engine, case: UUID) -> int:
    return len(engine.history(case))


def migrated_per_case(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT originator_id, count(*) FROM stored_events WHERE topic = ? GROUP BY originator_id", (MIGRATED_TOPIC,)).fetchall()
    return {str(UUID(bytes=r[0]) if isinstance(r[0], bytes) else UUID(r[0])): r[1] for r in rows}


def workflows_copy(tmp_path: Path, edit: Any) -> Path:
    """A copy of the shipped workflows with the November 2014 file changed by `edit` (text -> text)."""
    folder = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, folder)
    target = folder / "ofsted-laassi-2014-11.yaml"
    text = target.read_text(encoding="utf-8")
    changed = edit(text)
    assert changed != text
    target.write_text(changed, encoding="utf-8")
    return folder


# ------------------------------------------------------------------- in process


def test_a_may_2014_case_on_site_moves_to_the_november_revision(tmp_path: Path, engines: list[Engine]) -> None:
    engine = open_engine(engines, tmp_path / "store.sqlite")
    case = on_site_case(engine)
    before = event_count(engine, case)

    planned = plan(engine, MAY, NOVEMBER, at="2014-11-04T09:00")
    assert event_count(engine, case) == before  # a plan writes nothing
    [entry] = planned.movable
    assert (entry.source_state, entry.target_state) == ("on_site", "on_site")
    # Version 3 drops the verdict, and with it the parameter saying from which day a judgement gives none.
    assert entry.parameters == [("verdicts_end", "2014-11-01", None)]
    # On site from Monday 3 November; Phase 2 lasts 4 working days: Tue 4, Wed 5, Thu 6, Fri 7 November. Same rule in version 3.
    [deadline] = [c for c in entry.changes if c.kind == "deadline"]
    assert (deadline.name, deadline.action, deadline.old_due, deadline.new_due) == ("on_site_normal_length", "kept", "2014-11-07", "2014-11-07")
    text = planned.text()
    assert "state on_site -> on_site" in text and "on_site_normal_length" in text and "Nothing has been written" in text
    document = planned.to_dict()
    assert document["cases"][0]["deadlines"][0]["old_due"] == "2014-11-07" and document["cannot_migrate"] == []

    done = apply(engine, planned, "ofsted", "November 2014 revision: recommendations only")
    assert done.migrated == [case]
    view = engine.get(case)
    assert (view.version, view.state, view.definition_hash) == (3, "on_site", engine.catalog.get(NOVEMBER).content_hash)
    assert view.deadlines["on_site_normal_length"]["due_date"] == "2014-11-07"
    assert "verdicts_end" not in view.parameters
    [migrated] = [h for h in engine.history(case) if h.type == "Migrated"]
    assert migrated.actor == "ofsted" and migrated.details["reason"] == "November 2014 revision: recommendations only"
    assert (migrated.details["from_version"], migrated.details["to_version"]) == (2, 3)

    # Read across the migration: before it the case was on version 2, after it on 3.
    assert engine.get(case, as_of="2014-11-03T12:00").version == 2
    assert engine.get(case, as_of="2014-11-04T12:00").version == 3
    assert engine.summary(case).version == 3  # type: ignore[union-attr]
    assert engine.register()[0].cases[0]["workflow"] == NOVEMBER

    # Commands now run on version 3: feedback, leaving site, then recommendations — there is no judgement to make.
    engine.fire(case, "give_feedback", {"strengths": ["data"], "weaknesses": ["challenge"]}, actor="ofsted", at="2014-11-06T15:00")
    engine.fire(case, "leave_site", actor="ofsted", at="2014-11-07T12:00")
    # Left site Friday 7 November; 20 working days: 10-14 Nov (5), 17-21 (10), 24-28 (15), 1-5 Dec (20): Friday 5 December.
    assert engine.get(case).deadlines["letter_sent"]["due_date"] == "2014-12-05"
    assert {item.workflow for item in engine.due()} == {NOVEMBER}  # what the timer index lists names the version the case is on
    allowed = {a.trigger for a in engine.allowed_triggers(case, at="2014-11-10")}
    assert "make_recommendations" in allowed and "make_judgement" not in allowed
    with pytest.raises(TriggerNotAllowed):
        engine.fire(case, "make_judgement", {"effective": True}, actor="ofsted", at="2014-11-10")

    # Verified and replayed: events before the migration by version 2, after it by version 3.
    assert verify(engine, case).ok
    report = replay(engine, case)
    assert report.ok, report.findings

    # Idempotent: the same plan again skips the case; a new plan finds nothing left on version 2.
    again = apply(engine, planned, "ofsted", "again")
    assert again.migrated == [] and again.skipped == [(case, f"already on {NOVEMBER}")]
    assert plan(engine, MAY, NOVEMBER, at="2014-11-10").cases == []
    assert migrated_per_case(tmp_path / "store.sqlite") == {str(case): 1}


def test_a_deadline_moved_across_christmas_counts_from_when_it_was_set(tmp_path: Path, engines: list[Engine]) -> None:
    """A revision that allows 23 working days for the letter instead of 20, for a case that left site on Tuesday 25 November 2014."""
    folder = workflows_copy(
        tmp_path,
        lambda t: t.replace("    value: 20 working days\n    description: The report letter", "    value: 23 working days\n    description: The report letter"),
    )
    engine = open_engine(engines, tmp_path / "store.sqlite", folder)
    case = engine.start("ofsted-laassi", START, version=2, actor="ofsted", at="2014-11-10T09:00")
    engine.fire(case, "give_notice", {**NOTICE, "on_site_start": "2014-11-17"}, actor="ofsted", at="2014-11-10T09:00")
    engine.fire(case, "complete_phase1", PHASE1, actor="ofsted", at="2014-11-14T16:00")
    engine.fire(case, "begin_on_site", actor="ofsted", at="2014-11-17T09:00")
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="ofsted", at="2014-11-24T15:00")
    engine.fire(case, "leave_site", actor="ofsted", at="2014-11-25T12:00")
    # 20 working days from Tuesday 25 November: 26-28 Nov (3), 1-5 Dec (8), 8-12 (13), 15-19 (18), 22 (19), 23 (20): Tuesday 23 December.
    assert engine.get(case).deadlines["letter_sent"]["due_date"] == "2014-12-23"
    before = event_count(engine, case)

    planned = plan(engine, MAY, NOVEMBER, at="2014-12-01T09:00")
    assert event_count(engine, case) == before
    changes = {c.name: c for c in planned.movable[0].changes}
    # 23 working days from the same Tuesday 25 November (not from the migration on 1 December): 24 Dec (21),
    # 25 and 26 Dec bank holidays, 27-28 a weekend, 29 (22), 30 (23): Tuesday 30 December.
    moved = changes["letter_sent"]
    assert (moved.action, moved.old_due, moved.new_due) == ("moved", "2014-12-23", "2014-12-30")
    assert moved.counted_from == "2014-11-25T12:00:00+00:00"
    # Publication stays at 25 working days: 23 Dec (20), 24 (21), 29 (22), 30 (23), 31 (24), 1 Jan a bank holiday, 2 Jan (25).
    published = changes["letter_published"]
    assert (published.action, published.new_due) == ("kept", "2015-01-02")
    assert "2014-12-23 -> 2014-12-30" in planned.text()

    apply(engine, planned, "ofsted", "the revision allows 23 working days")
    view = engine.get(case)
    assert view.deadlines["letter_sent"]["due_date"] == "2014-12-30" and view.deadlines["letter_sent"]["status"] == "pending"
    due = {(item.kind, item.name): item for item in engine.due()}
    assert str(due[("deadline", "letter_sent")].detail).startswith("due 2014-12-30")
    assert due[("deadline", "letter_sent")].workflow == NOVEMBER
    assert verify(engine, index=True).ok  # the timer index kept equals one rebuilt from the log
    assert verify(engine, case).ok and replay(engine, case).ok


def test_refusals_say_why_and_write_nothing(tmp_path: Path, engines: list[Engine]) -> None:
    """Ended, missing required data, a state mapped to nothing: each case refused with its reason; nothing recorded."""
    folder = workflows_copy(tmp_path, lambda t: t.replace("data:\n  authority:\n", "data:\n  lead_officer:\n    type: string\n  authority:\n", 1))
    engine = open_engine(engines, tmp_path / "store.sqlite", folder)
    open_case = on_site_case(engine)
    ended = engine.start("ofsted-laassi", {**START, "authority": "Kent"}, version=2, actor="ofsted", at="2014-10-20T09:00")
    engine.fire(ended, "decide_not_to_inspect", {"reason": "risk assessment"}, actor="ofsted", at="2014-10-21T09:00")
    counts = {c: event_count(engine, c) for c in (open_case, ended)}

    planned = plan(engine, MAY, NOVEMBER, at="2014-11-04")
    why = {c.case_id: " ".join(c.refusals) for c in planned.refused}
    assert "requires data the case lacks: lead_officer" in why[open_case]
    assert "it has ended (state 'not_inspected')" in why[ended]
    done = apply(engine, planned, "ofsted", "try")
    assert done.migrated == [] and {c for c, _ in done.refused} == {open_case, ended}
    mapped = plan(engine, MAY, NOVEMBER, cases=[open_case], at="2014-11-04", mapping={"on_site": "nowhere"})
    assert "maps it to 'nowhere', which is not a state of ofsted-laassi@3" in mapped.refused[0].refusals[0]
    assert {c: event_count(engine, c) for c in (open_case, ended)} == counts
    assert migrated_per_case(tmp_path / "store.sqlite") == {}


def test_a_state_mapping_in_the_new_version_and_the_offer_on_its_date(tmp_path: Path, engines: list[Engine]) -> None:
    """The shipped November file applies to running cases from 1 November 2014; a copy of it maps `deferred` onto `phase1_complete`."""
    tail = "\nmigrates_from:\n  2:\n    states:\n      deferred: phase1_complete\n"
    folder = workflows_copy(tmp_path, lambda t: t + tail)
    engine = open_engine(engines, tmp_path / "store.sqlite", folder)
    case = engine.start("ofsted-laassi", START, version=2, actor="ofsted", at="2014-10-20T09:00")
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2014-10-27T09:00")
    engine.fire(case, "complete_phase1", PHASE1, actor="ofsted", at="2014-10-31T10:00")
    engine.fire(case, "defer_inspection", {"deferral_ground": "other", "deferral_reason": "half term"}, actor="ofsted", at="2014-10-31T16:00")
    assert engine.get(case).state == "deferred"
    assert offers(engine, "2014-10-31") == []  # not yet the day
    [offered] = offers(engine, "2014-11-03")  # offered, never applied
    assert offered.movable[0].target_state == "phase1_complete" and engine.get(case).version == 2
    # The service's scheduler looks once a day and puts one notification per case in the outbox; a second look adds none.
    scheduler = Scheduler(engine, threading.RLock())
    scheduler.tick()
    assert [n for n in engine.due_store.outbox() if n["payload"]["kind"] == "migration_offered"] == []  # 20 October: not yet
    engine.clock.advance_to("2014-11-03T09:00")  # type: ignore[attr-defined]
    scheduler.tick()
    scheduler.tick()
    [note] = [n["payload"] for n in engine.due_store.outbox() if n["payload"]["kind"] == "migration_offered"]
    assert (note["case_id"], note["workflow"], note["name"], note["applies_from"]) == (str(case), MAY, NOVEMBER, "2014-11-01")
    assert note["command"] == f"laworkflow migrate plan --from {MAY} --to {NOVEMBER} --case {case}"
    assert engine.get(case).version == 2  # offered, not migrated
    apply(engine, offered, "ofsted", "November 2014 revision")
    view = engine.get(case)
    assert (view.version, view.state) == (3, "phase1_complete")
    assert verify(engine, case).ok and replay(engine, case).ok


# ------------------------------------------------------------------- the CLI


def run(db: Path, *args: str, workflows: Path = WORKFLOWS) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LAWORKFLOW_STORE": str(db), "LAWORKFLOW_WORKFLOWS": str(workflows)}
    return subprocess.run([sys.executable, "-m", "laworkflow.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def many_cases(tmp_path: Path, engines: list[Engine], count: int) -> tuple[Path, list[UUID]]:
    db = tmp_path / "store.sqlite"
    engine = open_engine(engines, db)
    cases = [engine.start("ofsted-laassi", {**START, "authority": f"Authority {n}"}, version=2, actor="ofsted", at="2014-10-20T09:00") for n in range(count)]
    engine.close()
    engines.remove(engine)
    return db, cases


def test_cli_plan_then_apply_the_plan_file(tmp_path: Path, engines: list[Engine]) -> None:
    db, cases = many_cases(tmp_path, engines, 2)
    out = tmp_path / "plan.json"
    shown = run(db, "migrate", "plan", "--from", MAY, "--to", NOVEMBER, "--at", "2014-11-04", "--out", str(out))
    assert shown.returncode == 0, shown.stderr
    assert "2 case(s) can move" in shown.stdout and "verdicts_end: '2014-11-01' -> (none)" in shown.stdout
    assert migrated_per_case(db) == {}
    as_json = json.loads(run(db, "migrate", "plan", "--from", MAY, "--to", NOVEMBER, "--at", "2014-11-04", "--case", str(cases[0]), "--json").stdout)
    assert [c["case"] for c in as_json["cases"]] == [str(cases[0])]
    done = run(db, "migrate", "apply", str(out), "--reason", "November 2014 revision", "--actor", "ofsted", "--json")
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["migrated"]) == sorted(map(str, cases))
    assert run(db, "verify").returncode == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--from", "ofsted-laassi", "--to", NOVEMBER], "must name a workflow and a version"),
        (["plan", "--from", MAY, "--to", MAY], "nothing to migrate"),
        (["plan", "--from", MAY, "--to", "estyn-lges@1"], "name different workflows"),
        (["plan", "--from", MAY, "--to", "ofsted-laassi@9"], "has no version 9"),
        (["plan", "--from", MAY, "--to", NOVEMBER, "--at", "November"], "cannot read 'November'"),
        (["plan", "--from", MAY, "--to", NOVEMBER, "--map", "on_site"], "write OLD=NEW"),
        (["apply", "--from", MAY, "--to", NOVEMBER, "--yes"], "give --reason"),
        (["apply", "--from", MAY, "--to", NOVEMBER, "--reason", "x"], "with --yes"),
        (["apply", "missing.json", "--reason", "x"], "cannot read the plan 'missing.json'"),
        (["apply", "BAD", "--reason", "x"], "is not JSON"),
        (["apply", "DAMAGED", "--reason", "x"], "incomplete or damaged"),
    ],
)
def test_cli_refusals_are_one_line_and_write_nothing(tmp_path: Path, engines: list[Engine], args: list[str], says: str) -> None:
    db, _ = many_cases(tmp_path, engines, 1)
    (tmp_path / "BAD").write_text("{not json", encoding="utf-8")
    (tmp_path / "DAMAGED").write_text(json.dumps({"format": "laworkflow-migration-plan/1", "from": MAY}), encoding="utf-8")
    args = [str(tmp_path / a) if a in ("BAD", "DAMAGED") else a for a in args]
    with closing(sqlite3.connect(db)) as connection:
        before = connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    result = run(db, "migrate", *args)
    assert result.returncode != 0
    assert says in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("SELECT count(*) FROM stored_events").fetchone()[0] == before


def test_an_apply_killed_mid_way_then_run_again_migrates_every_case_exactly_once(tmp_path: Path, engines: list[Engine]) -> None:
    count = 300
    db, cases = many_cases(tmp_path, engines, count)
    out = tmp_path / "plan.json"
    assert run(db, "migrate", "plan", "--from", MAY, "--to", NOVEMBER, "--at", "2014-11-04", "--out", str(out)).returncode == 0
    env = {**os.environ, "LAWORKFLOW_STORE": str(db), "LAWORKFLOW_WORKFLOWS": str(WORKFLOWS)}
    process = subprocess.Popen([sys.executable, "-m", "laworkflow.cli", "migrate", "apply", str(out), "--reason", "November 2014 revision"], env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if sum(migrated_per_case(db).values()) >= 10:
            break
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    first = migrated_per_case(db)
    assert 0 < len(first) < count, f"the kill came after {len(first)} of {count} cases"
    assert set(first.values()) == {1}  # a case is migrated or not, never half

    rerun = run(db, "migrate", "apply", str(out), "--reason", "November 2014 revision", "--json")
    assert rerun.returncode == 0, rerun.stderr
    done = json.loads(rerun.stdout)
    assert len(done["migrated"]) == count - len(first) and len(done["skipped"]) == len(first)
    assert migrated_per_case(db) == {str(c): 1 for c in cases}
    assert run(db, "verify").returncode == 0


def test_export_verify_import_and_replay_read_across_a_migration(tmp_path: Path, engines: list[Engine]) -> None:
    db = tmp_path / "store.sqlite"
    engine = open_engine(engines, db)
    case = on_site_case(engine)
    engine.close()
    engines.remove(engine)
    moved = run(db, "migrate", "apply", "--from", MAY, "--to", NOVEMBER, "--at", "2014-11-04T09:00", "--yes", "--reason", "November 2014 revision")
    assert moved.returncode == 0, moved.stderr
    assert run(db, "fire", str(case), "give_feedback", "--data", '{"strengths": ["a"], "weaknesses": ["b"]}', "--at", "2014-11-06T15:00").returncode == 0
    history = run(db, "history", str(case)).stdout
    assert "migrated from version 2 to 3 in on_site: November 2014 revision" in history
    assert "ofsted-laassi@2" in run(db, "show", str(case), "--as-of", "2014-11-03T12:00").stdout
    assert "ofsted-laassi@3" in run(db, "show", str(case)).stdout

    bundle = tmp_path / "record.zip"
    exported = run(db, "export", "--out", str(bundle))
    assert exported.returncode == 0, exported.stderr
    assert "2 definitions" in exported.stdout  # the version it started on and the one it was migrated to
    checked = run(db, "audit", "verify", str(bundle))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    copy = tmp_path / "imported.sqlite"
    assert run(copy, "import", str(bundle)).returncode == 0
    replayed = run(copy, "audit", "replay", "--json")
    assert replayed.returncode == 0 and json.loads(replayed.stdout)["ok"] is True
    assert run(copy, "verify").returncode == 0


def test_a_withdrawn_case_is_not_migrated(tmp_path: Path, engines: list[Engine]) -> None:
    db, cases = many_cases(tmp_path, engines, 2)
    withdrawn = run(db, "bulk", "withdraw", "--authority", "Authority 0", "--reason", "opened by mistake", "--yes")
    assert withdrawn.returncode == 0, withdrawn.stderr
    planned = json.loads(run(db, "migrate", "plan", "--from", MAY, "--to", NOVEMBER, "--at", "2014-11-04", "--json").stdout)
    assert [c["case"] for c in planned["cases"]] == [str(cases[1])]
    [refused] = planned["cannot_migrate"]
    assert refused["case"] == str(cases[0]) and "it was withdrawn by cli (opened by mistake)" in refused["why"][0]


def test_timers_and_deadlines_added_and_withdrawn(tmp_path: Path, engines: list[Engine]) -> None:
    """A revision that renames the notice timer (firing a working day after the notified first day) and replaces the
    Phase 1 length with a confirmation of the notice within 2 working days."""

    def revise(text: str) -> str:
        text = text.replace(
            "  - id: notice_ends\n    state: phase1_complete\n    due: on on_site_start",
            "  - id: phase2_begins\n    state: phase1_complete\n    due: 1 working day after on_site_start",
        )
        return text.replace(
            "  - id: phase1_normal_length\n    set_by: give_notice\n    met_by: complete_phase1\n    due: $phase_length",
            "  - id: notice_confirmed\n    set_by: give_notice\n    met_by: complete_phase1\n    due: 2 working days",
        )

    engine = open_engine(engines, tmp_path / "store.sqlite", workflows_copy(tmp_path, revise))
    in_phase1 = engine.start("ofsted-laassi", {**START, "authority": "Kent"}, version=2, actor="ofsted", at="2014-10-30T09:00")
    # Notice on Thursday 30 October, first day on site Thursday 6 November; Phase 1 lasts 4 working days: 31 Oct, 3, 4, 5 Nov.
    engine.fire(in_phase1, "give_notice", {**NOTICE, "on_site_start": "2014-11-06"}, actor="ofsted", at="2014-10-30T09:00")
    assert engine.get(in_phase1).deadlines["phase1_normal_length"]["due_date"] == "2014-11-05"
    waiting = engine.start("ofsted-laassi", START, version=2, actor="ofsted", at="2014-10-20T09:00")
    engine.fire(waiting, "give_notice", NOTICE, actor="ofsted", at="2014-10-27T09:00")
    engine.fire(waiting, "complete_phase1", PHASE1, actor="ofsted", at="2014-10-31T16:00")
    # Phase 1 complete: the notice timer fires on the notified first day, Monday 3 November (00:00 UK, GMT then).
    assert engine.get(waiting).timers["notice_ends"]["due_at"].isoformat() == "2014-11-03T00:00:00+00:00"

    planned = plan(engine, MAY, NOVEMBER, at="2014-11-01T09:00")
    by_case = {c.case_id: {(x.kind, x.name): x for x in c.changes} for c in planned.movable}
    gone, confirmed = by_case[in_phase1][("deadline", "phase1_normal_length")], by_case[in_phase1][("deadline", "notice_confirmed")]
    assert (gone.action, gone.old_due, gone.new_due) == ("withdrawn", "2014-11-05", None)
    # Set by the notice on Thursday 30 October and not met: 2 working days, Friday 31 October and Monday 3 November.
    assert (confirmed.action, confirmed.new_due, confirmed.counted_from) == ("added", "2014-11-03", "2014-10-30T09:00:00+00:00")
    old_timer, new_timer = by_case[waiting][("timer", "notice_ends")], by_case[waiting][("timer", "phase2_begins")]
    assert (old_timer.action, old_timer.old_due) == ("withdrawn", "2014-11-03T00:00:00+00:00")
    # A working day after Monday 3 November: Tuesday 4 November, counted from entering phase1_complete.
    assert (new_timer.action, new_timer.new_due) == ("added", "2014-11-04T00:00:00+00:00")
    assert ("deadline", "notice_confirmed") not in by_case[waiting]  # set by the notice, but met since by complete_phase1

    apply(engine, planned, "ofsted", "revision")
    engine.run_due(until="2014-11-04T09:00")
    assert engine.get(waiting).state == "on_site"  # the new timer fired on Tuesday 4 November, the old one not on the Monday
    assert [h.details["timer_id"] for h in engine.history(waiting) if h.type == "TimerFired"] == ["phase2_begins"]
    deadlines = engine.get(in_phase1).deadlines
    assert deadlines["phase1_normal_length"]["status"] == "withdrawn" and deadlines["notice_confirmed"]["status"] == "missed"
    for case in (in_phase1, waiting):
        assert verify(engine, case).ok and replay(engine, case).ok


def test_apply_refuses_a_case_changed_since_the_plan_and_a_plan_whose_target_changed(tmp_path: Path, engines: list[Engine]) -> None:
    db = tmp_path / "store.sqlite"
    engine = open_engine(engines, db)
    moved_on, untouched = on_site_case(engine), on_site_case(engine, "Kent")
    planned = plan(engine, MAY, NOVEMBER, at="2014-11-04T09:00")
    # 9 events when planned: Started; give_notice and its deadline; complete_phase1, the deadline met, the timer armed;
    # the timer fired, the transition to on_site and its deadline. give_feedback is the 10th.
    engine.fire(moved_on, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="ofsted", at="2014-11-04T10:00")
    count = event_count(engine, moved_on)
    done = apply(engine, planned, "ofsted", "November 2014 revision")
    assert done.migrated == [untouched]
    [(case, why)] = done.refused
    assert case == moved_on and "the case changed since the plan (9 events then, 10 now): plan again" in why
    assert event_count(engine, moved_on) == count and engine.get(moved_on).version == 2

    # The November file edited after the plan: nothing is applied, to any case.
    again = plan(engine, MAY, NOVEMBER, at="2014-11-05T09:00")
    engine.close()
    engines.remove(engine)
    folder = workflows_copy(
        tmp_path,
        lambda t: t.replace("    value: 20 working days\n    description: The report letter", "    value: 21 working days\n    description: The report letter"),
    )
    edited = open_engine(engines, db, folder)
    with pytest.raises(MigrationError, match="has changed since the plan was made"):
        apply(edited, again, "ofsted", "November 2014 revision")
    assert event_count(edited, moved_on) == count and migrated_per_case(db) == {str(untouched): 1}


def test_the_web_view_shows_the_plan_and_writes_nothing(tmp_path: Path, engines: list[Engine]) -> None:
    from fastapi.testclient import TestClient

    from laworkflow.http.app import create_app
    from laworkflow.keys import Keys

    engine = open_engine(engines, tmp_path / "store.sqlite")
    case = on_site_case(engine)
    ended = engine.start("ofsted-laassi", {**START, "authority": "Kent"}, version=2, actor="ofsted", at="2014-10-20T09:00")
    engine.fire(ended, "decide_not_to_inspect", {"reason": "risk assessment"}, actor="ofsted", at="2014-10-21T09:00")
    key = Keys(engine).issue("auditor-1", "auditor", by="setup")
    before = sum(1 for _ in engine.recorder.select_notifications(1, 10**6))
    with TestClient(create_app(engine), follow_redirects=False) as client:
        assert client.post("/sign-in", data={"key": key, "next": "/migrations"}).status_code == 303
        assert client.get("/migrations").status_code == 200
        page = client.get("/migrations", params={"from": MAY, "to": NOVEMBER, "at": "2014-11-04T09:00"})
        assert page.status_code == 200
        html = page.text
        assert "1 case(s) can move, 1 cannot, 0 already moved" in html
        assert f"/cases/{case}" in html and "on_site_normal_length" in html and "2014-11-07" in html
        assert "it has ended (state &#39;not_inspected&#39;)" in html
        refused = client.get("/migrations", params={"from": MAY, "to": MAY})
        assert refused.status_code == 400 and "nothing to migrate" in refused.text
    assert sum(1 for _ in engine.recorder.select_notifications(1, 10**6)) == before


def test_replay_finds_a_migration_recorded_without_the_deadline_it_moves(tmp_path: Path, engines: list[Engine]) -> None:
    """A chain-valid record whose migration left the letter deadline where the new version does not put it: replay says so."""
    from laworkflow.cases.migrating import plan_case, record_migration

    folder = workflows_copy(
        tmp_path,
        lambda t: t.replace("    value: 20 working days\n    description: The report letter", "    value: 23 working days\n    description: The report letter"),
    )
    engine = open_engine(engines, tmp_path / "store.sqlite", folder)
    case_id = engine.start("ofsted-laassi", START, version=2, actor="ofsted", at="2014-11-10T09:00")
    engine.fire(case_id, "give_notice", {**NOTICE, "on_site_start": "2014-11-17"}, actor="ofsted", at="2014-11-10T09:00")
    engine.fire(case_id, "complete_phase1", PHASE1, actor="ofsted", at="2014-11-14T16:00")
    engine.fire(case_id, "begin_on_site", actor="ofsted", at="2014-11-17T09:00")
    engine.fire(case_id, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="ofsted", at="2014-11-24T15:00")
    engine.fire(case_id, "leave_site", actor="ofsted", at="2014-11-25T12:00")
    case = engine.repository.get(case_id)
    events = list(engine.events.get(case_id))
    source, target = engine.catalog.get(MAY), engine.catalog.get(NOVEMBER)
    forged = plan_case(case, events, source, target, aware_moment("2014-12-01T09:00"), {}, actor="ofsted", reason="forged")
    forged.events = [e for e in forged.events if e[0] == "Migrated"]  # the letter deadline not moved to 30 December
    record_migration(case, forged)
    engine.save(case)
    assert verify(engine, case_id).ok  # the chain holds: only replay can tell
    report = replay(engine, case_id)
    assert not report.ok
    assert {(f.event, f.kind) for f in report.findings} >= {("DeadlineWithdrawn", "missing"), ("DeadlineSet", "missing")}
