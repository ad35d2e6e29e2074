"""Conformance replay (issue 9, item 4): `audit replay` catches forged events that carry a valid digest and chain.

The forger here has write access to the SQLite file and knows the digest
recipe: each forgery recomputes every digest and link of the case after the
change (as tests/test_audit_log.py does), so plain `verify` says ok. Replay
must name the forged event; and every case the shipped scenarios, the linked
cases, the demo and the national simulation produce must replay clean.

The workflows in tests/fixtures/replay/ are written for these tests: one
review with a parameter, a timer whose trigger has a guard (so it can be
refused when due), a deadline with a window, a counter, a child case it
starts and a reaction to that child.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from laworkflow import Catalog
from laworkflow.audit.replay import replay
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.cases.case import GENESIS, Case, stored_digest
from laworkflow.engine import Engine
from laworkflow.simulation import demo
from laworkflow.simulation.national import simulate_nation
from laworkflow.store import store_env
from old_definitions import workflows_as_pinned
from sqlite_files import copy_store, sql

REPO = Path(__file__).resolve().parents[1]
FLOWS = REPO / "tests" / "fixtures" / "replay"
ESTYN = "estyn"
Edit = Callable[[list[Any]], list[Any]]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}


def cli(db: Path, *args: str, workflows: Path = FLOWS) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(workflows), *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(), cwd=db.parent, timeout=120)


def cli_together(db: Path, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
    """Several read-only commands on one store, run at the same time (each as `cli` would)."""
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(FLOWS), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=db.parent,
        )
        for args in commands
    ]
    done = []
    for args, process in zip(commands, runs, strict=True):
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return done


def build(db: Path) -> dict[str, str]:
    """The review store: every kind of command, clean. Returns the cases by name."""
    engine = Engine(Catalog.from_directory(FLOWS), clock=SimulatedClock("2024-03-04T09:00"), env=store_env(str(db)))
    try:
        # one: a parameter overridden at start, its deadline missed by the scheduler and met late, the timer refused when
        # due (the team not ready), begun by hand, two meetings counted, a child whose finishing the parent takes, letter early.
        one = engine.start("review", {"authority": "Kent"}, actor=ESTYN, at="2024-03-04T09:00", parameters={"notice_within": "3 working days"})
        engine.run_due(until="2024-03-12T09:00")
        engine.fire(one, "give_notice", {"visit_date": "2024-03-18"}, actor=ESTYN, at="2024-03-12T10:00")
        engine.run_due(until="2024-03-18T12:00")
        engine.fire(one, "confirm_team", {"ready": True}, actor=ESTYN, at="2024-03-18T13:00")
        engine.fire(one, "begin_visit", actor=ESTYN, at="2024-03-18T14:00")
        engine.fire(one, "hold_meeting", actor=ESTYN, at="2024-03-19T10:00")
        engine.fire(one, "hold_meeting", actor=ESTYN, at="2024-03-19T11:00")
        one_child = engine.fire(one, "request_check", actor=ESTYN, at="2024-03-19T12:00").children[-1]["id"]
        engine.fire(one_child, "note", {"text": "seen"}, actor="checker", at="2024-03-19T15:00")
        engine.fire(one_child, "finish", {"outcome": "sound"}, actor="checker", at="2024-03-19T16:00")
        engine.fire(one, "send_letter", {"recipients": ["chief_executive"]}, actor=ESTYN, at="2024-03-20T10:00")
        # two: the timer fires, the letter deadline is missed and caught up by the next command, met late; the child reports after the end.
        two = engine.start("review", {"authority": "Essex"}, actor=ESTYN, at="2024-03-04T09:00")
        engine.fire(two, "give_notice", {"visit_date": "2024-03-25", "ready": True}, actor=ESTYN, at="2024-03-05T10:00")
        engine.run_due(until="2024-03-25T09:00")
        two_child = engine.fire(two, "request_check", actor=ESTYN, at="2024-03-26T09:00").children[-1]["id"]
        engine.fire(two, "send_letter", {"recipients": ["chief_executive", "director"]}, actor=ESTYN, at="2024-04-29T10:00")
        engine.fire(two_child, "finish", {"outcome": "unsound"}, actor="checker", at="2024-04-30T10:00")
        # three: notice given, its timer armed for June; four: only started.
        three = engine.start("review", {"authority": "Surrey"}, actor=ESTYN, at="2024-03-04T09:00")
        engine.fire(three, "give_notice", {"visit_date": "2024-06-03", "ready": True}, actor=ESTYN, at="2024-03-05T10:00")
        four = engine.start("review", {"authority": "Kent"}, actor=ESTYN, at="2024-03-04T09:30")
        kinds = {h.type: h for case in (one, two) for h in engine.history(case)}
        assert {"DeadlineMissed", "TimerFired", "ChildReported", "ChildLinked"} <= set(kinds)
        timings = {h.details["timing"] for case in (one, two) for h in engine.history(case) if h.type == "DeadlineMet"}
        assert timings == {"early", "late", "on_time"}
        assert any(h.type == "TimerCancelled" and h.details["reason"].startswith("refused when due") for h in engine.history(one))
        return {"one": str(one), "one_child": str(one_child), "two": str(two), "two_child": str(two_child), "three": str(three), "four": str(four)}
    finally:
        engine.close()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("replay") / "store.sqlite"
    return db, build(db)


@pytest.fixture
def store(base: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    return copy_store(base[0], tmp_path / "store.sqlite")


def forge(db: Path, case: str, edit: Edit) -> None:
    """The careful forger: `edit` returns the case's events as wanted (changed, added, dropped); versions, links and digests are recomputed."""
    engine = Engine(Catalog.from_directory(FLOWS), env=store_env(str(db)))
    try:
        wanted = edit(list(engine.events.get(UUID(case))))
        rows, previous = [], GENESIS
        for version, event in enumerate(wanted, start=1):
            event = dataclasses.replace(event, originator_version=version, prev_hash=previous)
            event = dataclasses.replace(event, digest=stored_digest(event))
            previous = event.digest
            rows.append(engine.mapper.to_stored_event(event))
    finally:
        engine.close()
    hex_id = UUID(case).hex
    sql(db, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version > ?", hex_id, len(rows))
    kept = {version for (version,) in sql(db, "SELECT originator_version FROM stored_events WHERE originator_id = ?", hex_id)}
    for row in rows:
        if row.originator_version in kept:
            sql(
                db,
                "UPDATE stored_events SET topic = ?, state = ? WHERE originator_id = ? AND originator_version = ?",
                row.topic,
                row.state,
                hex_id,
                row.originator_version,
            )
        else:
            sql(
                db,
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                hex_id,
                row.originator_version,
                row.topic,
                row.state,
            )


def new(kind: type[Case.Event], after: Any, at: str, actor: str, **fields: Any) -> Any:
    """A forged event of `kind`, to follow `after` (its version, link and digest are set by `forge`)."""
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
    base_fields = {"originator_id": after.originator_id, "originator_version": 0, "timestamp": moment, "prev_hash": "", "digest": ""}
    return kind(**base_fields, actor=actor, effective_at=moment, **fields)


def changed(version: int, **fields: Any) -> Edit:
    return lambda events: [dataclasses.replace(e, **fields) if e.originator_version == version else e for e in events]


def appended(*make: Callable[[Any], Any]) -> Edit:
    def edit(events: list[Any]) -> list[Any]:
        for factory in make:
            events.append(factory(events[-1]))
        return events

    return edit


def findings(db: Path, *case: str) -> list[dict[str, Any]]:
    """`verify` passes (the forged chain is a valid chain); `audit replay --json` exits 1 with the findings."""
    plain, run = cli_together(db, ["verify"], ["audit", "replay", *case, "--json"])
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert run.returncode == 1, run.stdout + run.stderr
    document = json.loads(run.stdout)
    assert document["ok"] is False and document["findings"]
    found: list[dict[str, Any]] = document["findings"]
    return found


FORGERIES: list[tuple[str, str, Callable[[], Edit], int, str, str]] = [
    (  # the notice "met" with no give_notice: appended after the start
        "deadline-met-with-no-trigger",
        "four",
        lambda: appended(
            lambda last: new(
                Case.DeadlineMet, last, "2024-03-05T10:00", ESTYN, deadline_id="notice", met_on="2024-03-05", late_by_working_days=0, timing="on_time"
            )
        ),
        3,
        "DeadlineMet",
        "would not record it here",
    ),
    (  # the letter sent while the case waits for the visit
        "transition-the-machine-forbids",
        "three",
        lambda: appended(
            lambda last: new(
                Case.Transitioned,
                last,
                "2024-03-06T10:00",
                ESTYN,
                trigger="send_letter",
                source="notified",
                target="closed",
                data={"recipients": ["chief_executive"]},
            )
        ),
        6,
        "Transitioned",
        "trigger 'send_letter' is not allowed in state 'notified'",
    ),
    (  # the letter's recipients rewritten: the guard wants the chief executive among them
        "guard-fails-on-the-data-of-the-time",
        "two",
        lambda: changed(12, data={"recipients": ["director"]}),
        12,
        "Transitioned",
        "refused by guard: recipients contains 'chief_executive'",
    ),
    (  # the visit begun by its timer a month before the visit date
        "timer-fired-before-it-was-due",
        "three",
        lambda: appended(
            lambda last: new(
                Case.TimerFired,
                last,
                "2024-05-01T00:00",
                "timer:visit_day",
                timer_id="visit_day",
                due_at=datetime(2024, 5, 1, tzinfo=UTC),
                lateness_seconds=0.0,
            ),
            lambda last: new(
                Case.Transitioned, last, "2024-05-01T00:00", "timer:visit_day", trigger="begin_visit", source="notified", target="visiting", data={}
            ),
        ),
        6,
        "TimerFired",
        "timer 'visit_day' is not due until 2024-06-02T23:00:00+00:00",
    ),
    (  # a timer that was never armed
        "timer-never-armed",
        "four",
        lambda: appended(
            lambda last: new(
                Case.TimerFired,
                last,
                "2024-03-20T00:00",
                "timer:visit_day",
                timer_id="visit_day",
                due_at=datetime(2024, 3, 20, tzinfo=UTC),
                lateness_seconds=0.0,
            ),
            lambda last: new(
                Case.Transitioned, last, "2024-03-20T00:00", "timer:visit_day", trigger="begin_visit", source="raised", target="visiting", data={}
            ),
        ),
        3,
        "TimerFired",
        "timer 'visit_day' was not armed",
    ),
    (  # five working days from Monday 4 March 2024 is Monday 11 March, not Tuesday 12
        "deadline-date-the-calendar-does-not-give",
        "three",
        lambda: changed(2, due_date="2024-03-12"),
        2,
        "DeadlineSet",
        'due_date: the definition gives "2024-03-11", stored "2024-03-12"',
    ),
    (  # the parent "reacts" to the child's note, which is no change of state
        "child-reported-for-a-state-it-never-reached",
        "one",
        lambda: changed(15, child_version=2),
        15,
        "ChildReported",
        "is a Transitioned, not a change of state",
    ),
    (  # a deadline the case never had "met": the aggregate itself cannot take it; replay says so and goes on
        "deadline-the-case-never-had",
        "four",
        lambda: appended(
            lambda last: new(
                Case.DeadlineMet, last, "2024-03-05T10:00", ESTYN, deadline_id="letter", met_on="2024-03-05", late_by_working_days=0, timing="on_time"
            )
        ),
        3,
        "DeadlineMet",
        "would not record it here",
    ),
    (  # the child's outcome typed in by a person: its ChildReported dropped, the reaction's transition recorded as "estyn"'s
        "internal-trigger-taken-by-a-person",
        "one",
        lambda: lambda events: [dataclasses.replace(e, actor=ESTYN) if e.originator_version == 16 else e for e in events if e.originator_version != 15],
        15,
        "Transitioned",
        "trigger 'check_done' of review@1 is taken only by the engine, never by a person's command",
    ),
    (  # a derived value rewritten: the letter went to two, the stored count says one
        "derived-value-the-data-does-not-give",
        "two",
        lambda: changed(12, data={"recipients": ["chief_executive", "director"], "letters_to": 1}),
        12,
        "Transitioned",
        '"letters_to": 2',
    ),
    (  # the letter's DeadlineMet dropped
        "expected-event-missing",
        "two",
        lambda: lambda events: [e for e in events if e.originator_version != 13],
        12,
        "DeadlineMet",
        'the definition also records DeadlineMet (deadline_id="letter")',
    ),
]


@pytest.mark.parametrize(("case", "edit", "version", "event", "says"), [f[1:] for f in FORGERIES], ids=[f[0] for f in FORGERIES])
def test_a_forged_event_with_a_valid_chain_is_reported(
    base: tuple[Path, dict[str, str]], store: Path, case: str, edit: Callable[[], Edit], version: int, event: str, says: str
) -> None:
    case_id = base[1][case]
    forge(store, case_id, edit())
    found = findings(store)
    assert {f["case"] for f in found} == {case_id}, found  # the other cases, and the forged case's other commands, stay clean
    named = [f for f in found if (f["version"], f["event"]) == (version, event)]
    assert named and says in named[0]["message"], found


def test_a_forgery_is_reported_once_and_later_commands_replay_from_the_stored_state(base: tuple[Path, dict[str, str]], store: Path) -> None:
    """The first meeting's counter forged to 5 and the second's to 6: only the first is reported (the second follows from the stored 5)."""
    forge(store, base[1]["one"], lambda events: changed(12, data={"meetings": 6})(changed(11, data={"meetings": 5})(events)))
    found = findings(store, base[1]["one"][:8])
    assert [(f["version"], f["event"], f["kind"]) for f in found] == [(11, "Transitioned", "differs")]
    text = cli(store, "audit", "replay")
    assert text.returncode == 1
    lines = text.stdout.strip().splitlines()
    assert lines == [
        f'{base[1]["one"]} event 11 Transitioned (differs): data: the definition gives {{"meetings": 1}}, stored {{"meetings": 5}}',
        "FAIL replayed 6 cases, 44 events, 24 commands: 1 finding",
    ]


def test_a_plausible_command_written_into_the_database_is_not_caught(base: tuple[Path, dict[str, str]], store: Path) -> None:
    """What replay cannot see, said plainly in the README: an event the definition WOULD have produced."""
    forge(
        store,
        base[1]["three"],
        appended(
            lambda last: new(
                Case.Transitioned, last, "2024-03-06T10:00", "someone", trigger="confirm_team", source="notified", target="notified", data={"ready": False}
            )
        ),
    )
    assert cli(store, "verify").returncode == 0
    run = cli(store, "audit", "replay")
    assert run.returncode == 0 and run.stdout.strip().endswith("0 findings"), run.stdout + run.stderr


def test_the_clean_store_replays_clean(base: tuple[Path, dict[str, str]]) -> None:
    db, cases = base
    run = cli(db, "audit", "replay")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == "ok   replayed 6 cases, 44 events, 24 commands: 0 findings\n"  # counted by hand from build()
    one = json.loads(cli(db, "audit", "replay", cases["one"], "--json").stdout)
    assert one == {"ok": True, "cases": 1, "events": 18, "commands": 10, "findings": []}


def test_an_unknown_case_is_one_error_line_and_the_store_is_unchanged(store: Path) -> None:
    before = sql(store, "SELECT originator_id, originator_version, state FROM stored_events ORDER BY rowid")
    run, full = cli_together(store, ["audit", "replay", "ffffffff"], ["audit", "replay", "ffffffff-0000-4000-8000-000000000000"])
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.startswith("error: no case id starts with 'ffffffff'") and run.stderr.count("\n") == 1
    assert full.returncode == 1 and full.stdout == ""
    assert full.stderr == "error: no case ffffffff-0000-4000-8000-000000000000\n"
    assert sql(store, "SELECT originator_id, originator_version, state FROM stored_events ORDER BY rowid") == before


def test_the_demo_and_a_national_simulation_replay_clean(tmp_path: Path) -> None:
    """Two simulated years of every English and Welsh authority, and the Norfolk demo, on SQLite files."""
    catalog = Catalog.from_directory(REPO / "workflows")
    demo_engine = Engine(catalog, clock=SimulatedClock(demo.START), env=store_env(str(tmp_path / "demo.sqlite")))
    national = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(str(tmp_path / "national.sqlite")))
    try:
        demo.run(demo_engine)
        summary = simulate_nation(national, seed=3, start=date(2013, 6, 3), years=2)
        shown, simulated = replay(demo_engine), replay(national)
    finally:
        demo_engine.close()
        national.close()
    assert shown.ok and shown.cases == 2, [f.line() for f in shown.findings]
    assert simulated.findings == [] and simulated.cases == sum(summary.cases_started.values()) > 50
    kinds = Counter(type(e).__name__ for cid in national_ids(tmp_path / "national.sqlite") for e in cid)
    assert kinds["ChildReported"] and kinds["TimerFired"] and kinds["DeadlineMissed"] and kinds["ChildLinked"], kinds


def national_ids(db: Path) -> list[list[Any]]:
    engine = Engine(Catalog.from_directory(REPO / "workflows"), env=store_env(str(db)))
    try:
        return [list(engine.events.get(cid)) for cid in engine.case_ids()]
    finally:
        engine.close()


def test_every_case_the_scenarios_and_linked_cases_produce_replays_clean(tmp_path: Path) -> None:
    """tests/scenarios and tests/test_linked_cases.py run with a plugin that replays each engine's store before it closes.

    Their memory and SQLite stores (PostgreSQL holds the same events; creating its databases is what would make this slow).
    """
    report = tmp_path / "replays.jsonl"
    env = {**_env(), "LAWORKFLOW_REPLAY_REPORT": str(report), "PYTHONPATH": str(REPO / "tests")}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "replay_every_engine",
        "-p",
        "no:cacheprovider",
        "-k",
        "not postgres",
        "tests/scenarios",
        "tests/test_linked_cases.py",
    ]
    run = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    replays = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    assert len(replays) >= 80 and sum(r["cases"] for r in replays) >= 150, len(replays)
    assert [r for r in replays if r["findings"]] == []


def test_a_store_written_before_the_relayout_replays_clean(tmp_path: Path) -> None:
    """Events under the old topics (tests/fixtures/store_before_relayout.sqlite, a copy) split and replay like new ones."""
    db = copy_store(REPO / "tests" / "fixtures" / "store_before_relayout.sqlite", tmp_path / "old.sqlite")
    engine = Engine(Catalog.from_directory(workflows_as_pinned(tmp_path)), env=store_env(str(db)))
    try:
        report = replay(engine)
    finally:
        engine.close()
    ((cases, events),) = sql(db, "SELECT SUM(topic LIKE '%Case.Started'), COUNT(*) FROM stored_events WHERE topic LIKE 'laworkflow.case:Case.%'")
    assert report.ok and (report.cases, report.events) == (cases, events), [f.line() for f in report.findings]
