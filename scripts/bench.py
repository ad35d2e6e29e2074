"""What does laworkflow cost per stored event, over bare `eventsourcing`?

Two applications write the same number of one-event commands to their own
SQLite file (same settings from `laworkflow.store.store_env`, same snapshotting
interval), each loading the aggregate from its repository before every command
and saving after it:

  ours      `laworkflow.Engine` on ofsted-laassi: N cases are started and
            brought to `on_site` (untimed), then each takes E `record_evidence`
            self-transitions, each of which records exactly one event;
  baseline  an `eventsourcing.application.Application` with a minimal
            `Aggregate` whose command records one event carrying a dict of two
            short strings; each aggregate is first given as many events as a
            case has on reaching on_site, so both replay histories of the same
            length.

Both sides write to SQLite files by default; `--store memory` runs both on
eventsourcing's in-memory store instead, so only CPU is compared.

Only the command loop is timed; events are counted from each notification log.
The read cost of `Engine.get` against the baseline `repository.get` is measured
on the same files afterwards. Each side runs --repeats times on fresh files
(alternating which goes first, after an untimed warm-up); medians are reported.
The ratios say how many times dearer one event (or one read) is with the engine:
the price of its checks, hash chain, timers/deadlines bookkeeping and views.

Index rebuild (`--rebuild-cases M`, 0 to skip): M cases of a synthetic workflow
arming TIMERS_PER_CASE timers on start are built with the `Case` aggregate and
saved 200 at a time (M x (1 + TIMERS_PER_CASE) events); timed: the timer index
forgotten and folded again from the whole log (`due_store.reset()` and
`catch_up`). Baseline: the same number of events written by bare
eventsourcing, 200 aggregates a save, on the same store. The ratio is rebuild
time over write time.

    .venv/bin/python scripts/bench.py [--store sqlite|memory] [--cases 20] [--events-per-case 50] [--repeats 3] [--rebuild-cases 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from uuid import UUID, uuid4

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.definitions.loader import load_text

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "ofsted-laassi@1"
START = "2013-06-03"  # a Monday; on site from the following Monday, within 5 working days
READS_PER_CASE = 20
TIMERS_PER_CASE = 10
SAVE_BATCH = 200
BUILD_AT = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)


class Note(Aggregate):
    """The least an aggregate can be: one command, one event, a dict payload."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    @event("Recorded")
    def record(self, data: dict) -> None:
        self.data = {**self.data, **data}


class Baseline(Application[UUID]):
    name = "baseline"
    # Snapshot exactly as the engine does (or not at all if it stops doing so).
    snapshotting_intervals = {Note: Engine.snapshotting_intervals[Case]} if Case in Engine.snapshotting_intervals else {}
    # ...and cache aggregates exactly as the engine does.
    env = dict(Engine.env)

    def record(self, note_id: UUID, data: dict) -> None:
        note: Note = self.repository.get(note_id)
        note.record(data)
        self.save(note)


def payload(i: int) -> dict[str, str]:
    return {"notebook": "evidence", "entry": f"entry {i}"}


def env_for(path: Path, store: str) -> dict[str, str]:
    return store_env("memory:" if store == "memory" else f"sqlite:///{path}")


def run_ours(path: Path, catalog: Catalog, cases: int, per_case: int, store: str = "sqlite") -> dict:
    engine = Engine(catalog, clock=SimulatedClock(START), env=env_for(path, store))
    ids = [engine.start(WORKFLOW, {"authority": f"LA {c}", "concerns": ["other_concern"]}, actor="bench") for c in range(cases)]
    for cid in ids:
        engine.fire(cid, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["I"]}, actor="bench")
    engine.run_due(until="2013-06-10")  # fires each notice_ends timer: begin_on_site
    assert all(engine.get(cid).state == "on_site" for cid in ids)
    before = engine.recorder.max_notification_id() or 0
    t0 = time.perf_counter()
    for cid in ids:
        for i in range(per_case):
            engine.fire(cid, "record_evidence", payload(i), actor="bench")
    seconds = time.perf_counter() - t0
    events = (engine.recorder.max_notification_id() or 0) - before
    setup_events = before // cases
    read = time_reads(lambda cid: engine.get(cid), ids)
    engine.close()
    return {"events": events, "seconds": seconds, "read_seconds_per_call": read, "setup_events_per_case": setup_events}


def run_baseline(path: Path, cases: int, per_case: int, setup_events: int, store: str = "sqlite") -> dict:
    app = Baseline(env=env_for(path, store))
    ids = []
    for _ in range(cases):
        note = Note()
        for i in range(setup_events - 1):  # Note() itself recorded the first
            note.record(payload(-1 - i))
        app.save(note)
        ids.append(note.id)
    before = app.recorder.max_notification_id() or 0
    t0 = time.perf_counter()
    for nid in ids:
        for i in range(per_case):
            app.record(nid, payload(i))
    seconds = time.perf_counter() - t0
    events = (app.recorder.max_notification_id() or 0) - before
    read = time_reads(lambda nid: app.repository.get(nid), ids)
    app.close()
    return {"events": events, "seconds": seconds, "read_seconds_per_call": read}


def timer_workflow() -> str:
    """A workflow whose initial state arms TIMERS_PER_CASE timers, each firing a self-transition."""
    timers = "".join(
        f'  - id: t{i:02d}\n    state: waiting\n    due: {i} days\n    fires: tick\n    cites: {{source: bench, para: "1"}}\n'
        for i in range(1, TIMERS_PER_CASE + 1)
    )
    return (
        "id: bench-timers\nversion: 1\ntitle: Benchmark - timers\ninspectorate: Benchmark\ncalendar: england\n"
        "sources:\n  bench: {file: bench.txt, title: Benchmark}\ndata:\n  name: {type: string}\ninitial: waiting\n"
        'states:\n  waiting: {status: waiting, cites: {source: bench, para: "1"}}\n'
        '  closed: {terminal: true, cites: {source: bench, para: "2"}}\n'
        'transitions:\n  - trigger: tick\n    from: waiting\n    to: waiting\n    cites: {source: bench, para: "1"}\n'
        '  - trigger: close\n    from: waiting\n    to: closed\n    cites: {source: bench, para: "2"}\n'
        f"timers:\n{timers}"
    )


def run_rebuild(path: Path, cases: int, store: str) -> dict:
    """Build the cases (untimed), then time forgetting the index and folding it again from the whole log."""
    catalog = Catalog([load_text(timer_workflow())])
    workflow = catalog.get("bench-timers")
    engine = Engine(catalog, clock=SimulatedClock(BUILD_AT), env=env_for(path, store))
    for first in range(0, cases, SAVE_BATCH):
        batch = [
            Case.begin(workflow, data={"name": f"case {c}"}, parameters=None, actor="bench", at=BUILD_AT, case_id=uuid4())
            for c in range(first, min(cases, first + SAVE_BATCH))
        ]
        engine.save(*batch)
    t0 = time.perf_counter()
    engine.due_store.reset()
    events = engine.due_store.catch_up(engine.recorder, engine.mapper)
    seconds = time.perf_counter() - t0
    rows = len(engine.due_store.due())
    engine.close()
    assert rows == cases * TIMERS_PER_CASE, (rows, cases * TIMERS_PER_CASE)
    return {"events": events, "seconds": seconds, "rows": rows}


def run_baseline_write(path: Path, cases: int, store: str) -> dict:
    """As many events as the rebuild folds, written bare: 1 + TIMERS_PER_CASE per aggregate, SAVE_BATCH aggregates a save."""
    app = Baseline(env=env_for(path, store))
    seconds = 0.0
    for first in range(0, cases, SAVE_BATCH):
        batch = []
        for _ in range(first, min(cases, first + SAVE_BATCH)):
            note = Note()
            for i in range(TIMERS_PER_CASE):
                note.record(payload(i))
            batch.append(note)
        t0 = time.perf_counter()
        app.save(*batch)
        seconds += time.perf_counter() - t0
    events = app.recorder.max_notification_id() or 0
    app.close()
    return {"events": events, "seconds": seconds}


def target(name: str, measured: float, goal: str, met: bool) -> dict:
    """One of issue 13's targets, as measured in this run: what it asks, the figure, and whether it is met."""
    return {"target": name, "measured": round(measured, 3), "goal": goal, "met": met}


def show_targets(targets: list[dict]) -> None:
    print("targets (issue 13):")
    for t in targets:
        print(f"  {'met    ' if t['met'] else 'NOT met'}  {t['target']}: {t['measured']:g} (goal {t['goal']})")


def time_reads(get, ids: list) -> float:
    t0 = time.perf_counter()
    for _ in range(READS_PER_CASE):
        for i in ids:
            get(i)
    return (time.perf_counter() - t0) / (READS_PER_CASE * len(ids))


def summary(runs: list[dict]) -> dict:
    seconds = statistics.median(r["seconds"] for r in runs)
    events = runs[0]["events"]
    assert all(r["events"] == events for r in runs), "event counts differ between repeats"
    return {
        "events": events,
        "seconds": seconds,
        "events_per_second": events / seconds,
        "us_per_event": seconds / events * 1e6,
        "us_per_read": statistics.median(r["read_seconds_per_call"] for r in runs) * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--events-per-case", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "memory"], default="sqlite", help="where both sides keep their events")
    parser.add_argument("--rebuild-cases", type=int, default=0, help="also time an index rebuild over this many cases (0: skip)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    catalog = Catalog.from_directory(REPO / "workflows")
    ours_runs, base_runs = [], []
    with tempfile.TemporaryDirectory(prefix="laworkflow-bench-") as tmp:
        folder = Path(tmp)
        warm = run_ours(folder / "warm-ours.sqlite", catalog, 2, 5, args.store)  # untimed warm-up of both sides
        setup_events = warm["setup_events_per_case"]
        run_baseline(folder / "warm-base.sqlite", 2, 5, setup_events, args.store)
        rebuilds: list[dict] = []
        writes: list[dict] = []
        for r in range(args.repeats):
            sides = [
                lambda r=r: ours_runs.append(run_ours(folder / f"ours-{r}.sqlite", catalog, args.cases, args.events_per_case, args.store)),
                lambda r=r: base_runs.append(run_baseline(folder / f"base-{r}.sqlite", args.cases, args.events_per_case, setup_events, args.store)),
            ]
            if args.rebuild_cases:
                sides += [
                    lambda r=r: rebuilds.append(run_rebuild(folder / f"rebuild-{r}.sqlite", args.rebuild_cases, args.store)),
                    lambda r=r: writes.append(run_baseline_write(folder / f"write-{r}.sqlite", args.rebuild_cases, args.store)),
                ]
            for side in sides if r % 2 == 0 else reversed(sides):
                side()

    ours, base = summary(ours_runs), summary(base_runs)
    assert ours["events"] == base["events"] == args.cases * args.events_per_case, (ours["events"], base["events"])
    figures = {
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "eventsourcing": version("eventsourcing"),
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
        },
        "settings": {
            "cases": args.cases,
            "events_per_case": args.events_per_case,
            "repeats": args.repeats,
            "store": args.store,
            "setup_events_per_case": setup_events,
            "snapshot_interval": Baseline.snapshotting_intervals.get(Note),
            "reads_per_case": READS_PER_CASE,
        },
        "ours": ours,
        "baseline": base,
        "ratio_per_event": ours["us_per_event"] / base["us_per_event"],
        "ratio_per_read": ours["us_per_read"] / base["us_per_read"],
    }
    if rebuilds:
        rebuild = {"cases": args.rebuild_cases, "events": rebuilds[0]["events"], "seconds": statistics.median(r["seconds"] for r in rebuilds)}
        write = {"events": writes[0]["events"], "seconds": statistics.median(w["seconds"] for w in writes)}
        assert rebuild["events"] - write["events"] == 1, (rebuild, write)  # and the record of the definition the cases pin
        figures["rebuild"] = {"ours": rebuild, "baseline_write": write, "ratio": rebuild["seconds"] / write["seconds"]}
    figures["targets"] = targets_of(figures)
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    m, s = figures["machine"], figures["settings"]
    print(f"nproc={m['nproc']}  python {m['python']}  eventsourcing {m['eventsourcing']}  sqlite {m['sqlite']}")
    print(
        f"{s['cases']} cases x {s['events_per_case']} events, median of {s['repeats']}; "
        f"{s['setup_events_per_case']} prior events per aggregate, snapshot every {s['snapshot_interval']}"
    )
    print(f"{'side':<10}{'events':>8}{'seconds':>10}{'events/s':>11}{'us/event':>11}{'us/read':>10}")
    for name, row in (("ours", ours), ("baseline", base)):
        print(f"{name:<10}{row['events']:>8}{row['seconds']:>10.3f}{row['events_per_second']:>11.0f}{row['us_per_event']:>11.0f}{row['us_per_read']:>10.0f}")
    print(f"ours/baseline: {figures['ratio_per_event']:.2f}x per event, {figures['ratio_per_read']:.2f}x per read ({s['store']} store)")
    if "rebuild" in figures:
        rb = figures["rebuild"]
        print(
            f"index rebuild, {rb['ours']['events']} events: {rb['ours']['seconds']:.2f} s; bare write of as many: {rb['baseline_write']['seconds']:.2f} s; "
            f"ratio {rb['ratio']:.2f}x"
        )
    show_targets(figures["targets"])
    return 0


def targets_of(figures: dict) -> list[dict]:
    """The per-event targets this run measures: on SQLite a command at most 1.1x bare; on the memory store at least half bare's rate."""
    ratio, store = figures["ratio_per_event"], figures["settings"]["store"]
    found = (
        [target("one-event command cost vs bare, SQLite", ratio, "<= 1.1x", ratio <= 1.1)]
        if store == "sqlite"
        else [target("commands/s vs bare, memory store", 1 / ratio, ">= 0.5x", 1 / ratio >= 0.5)]
    )
    if "rebuild" in figures:
        rb = figures["rebuild"]["ratio"]
        found.append(target(f"index rebuild time vs writing the events bare, {store}", rb, "<= 1.0x", rb <= 1.0))
    return found


if __name__ == "__main__":
    sys.exit(main())
