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

Only the command loop is timed; events are counted from each notification log.
The read cost of `Engine.get` against the baseline `repository.get` is measured
on the same files afterwards. Each side runs --repeats times on fresh files
(alternating which goes first, after an untimed warm-up); medians are reported.
The ratios say how many times dearer one event (or one read) is with the engine:
the price of its checks, hash chain, timers/deadlines bookkeeping and views.

    .venv/bin/python scripts/bench.py [--cases 20] [--events-per-case 50] [--repeats 3] [--json]
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
from importlib.metadata import version
from pathlib import Path
from uuid import UUID

import structlog
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "ofsted-laassi@1"
START = "2013-06-03"  # a Monday; on site from the following Monday, within 5 working days
READS_PER_CASE = 20


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


def run_ours(path: Path, catalog: Catalog, cases: int, per_case: int) -> dict:
    engine = Engine(catalog, clock=SimulatedClock(START), env=store_env(f"sqlite:///{path}"))
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


def run_baseline(path: Path, cases: int, per_case: int, setup_events: int) -> dict:
    app = Baseline(env=store_env(f"sqlite:///{path}"))
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
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    catalog = Catalog.from_directory(REPO / "workflows")
    ours_runs, base_runs = [], []
    with tempfile.TemporaryDirectory(prefix="laworkflow-bench-") as tmp:
        folder = Path(tmp)
        warm = run_ours(folder / "warm-ours.sqlite", catalog, 2, 5)  # untimed warm-up of both sides
        setup_events = warm["setup_events_per_case"]
        run_baseline(folder / "warm-base.sqlite", 2, 5, setup_events)
        for r in range(args.repeats):
            sides = [
                lambda r=r: ours_runs.append(run_ours(folder / f"ours-{r}.sqlite", catalog, args.cases, args.events_per_case)),
                lambda r=r: base_runs.append(run_baseline(folder / f"base-{r}.sqlite", args.cases, args.events_per_case, setup_events)),
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
            "setup_events_per_case": setup_events,
            "snapshot_interval": Baseline.snapshotting_intervals.get(Note),
            "reads_per_case": READS_PER_CASE,
        },
        "ours": ours,
        "baseline": base,
        "ratio_per_event": ours["us_per_event"] / base["us_per_event"],
        "ratio_per_read": ours["us_per_read"] / base["us_per_read"],
    }
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
    print(f"ours/baseline: {figures['ratio_per_event']:.2f}x per event, {figures['ratio_per_read']:.2f}x per read")
    return 0


if __name__ == "__main__":
    sys.exit(main())
