"""Commands while a burst of due timers fires: how long each waits, beside bare eventsourcing's command rate.

On an SQLite file per run: --cases cases of bench_service.py's synthetic workflow,
each with --timers-per-case timers, all due; and one more case per client, whose
timers are not due. The scheduler's `tick()` fires every due timer, a batch at a
time, in one thread, while --clients threads each fire `tick` (a self-transition,
one event) on their own case, one command after another, until the burst is over.
A run with 0 clients times the burst alone.

Measured per run: the burst's seconds, the commands done during it and their
wait (p50, p99, max). Ratio: commands per second during the burst / bare
eventsourcing's one-event commands per second on the same machine in the same
run (load, record, save, as bench_service.py measures them).

    .venv/bin/python scripts/bench_burst.py [--cases 5000] [--timers-per-case 10] [--clients 0 1 8] [--json]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Baseline
from bench_service import BUILD_AT, baseline_commands, baseline_write, build_cases, machine_facts, percentile, print_figures, timer_workflow
from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.definitions.loader import load_text
from laworkflow.service.scheduler import Scheduler


def burst(path: Path, cases: int, per_case: int, clients: int) -> dict:
    """One burst on a fresh file: `cases` x `per_case` due timers, `clients` threads commanding meanwhile."""
    catalog = Catalog([load_text(timer_workflow(per_case))])
    workflow = catalog.get("bench-timers")
    now = BUILD_AT + timedelta(days=per_case + 1)  # every timer of the built cases is due
    engine = Engine(catalog, clock=SimulatedClock(now), env=store_env(f"sqlite:///{path}"))
    try:
        build_cases(engine, workflow, cases)
        mine = [Case.begin(workflow, data={"name": f"client {k}"}, parameters=None, actor="bench", at=now, case_id=uuid.uuid4()) for k in range(clients)]
        if mine:
            engine.save(*mine)
        engine.due()  # the index holds every due timer before the clock starts
        scheduler = Scheduler(engine)
        waits: list[list[float]] = [[] for _ in mine]
        over = threading.Event()

        def client(k: int) -> None:
            while not over.is_set():
                started = time.perf_counter()
                engine.fire(mine[k].id, "tick", {}, actor="bench")
                waits[k].append(time.perf_counter() - started)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for thread in threads:
            thread.start()
        started = time.perf_counter()
        fired = scheduler.tick()
        seconds = time.perf_counter() - started
        over.set()
        for thread in threads:
            thread.join()
    finally:
        engine.close()
    done = [wait for each in waits for wait in each]
    return {
        "clients": clients,
        "fired": fired,
        "seconds": seconds,
        "commands": len(done),
        "commands_per_second": len(done) / seconds,
        "wait_p50_ms": (percentile(done, 50) or 0) * 1000,
        "wait_p99_ms": (percentile(done, 99) or 0) * 1000,
        "wait_max_ms": max(done, default=0) * 1000,
    }


def show(figures: dict) -> None:
    m, s = figures["machine"], figures["settings"]
    print(f"nproc={m['nproc']}  python {m['python']}  eventsourcing {m['eventsourcing']}  load {m['loadavg_at_start']:.2f} at the start")
    print(
        f"{s['cases'] * s['timers_per_case']:,} due timers ({s['cases']:,} cases x {s['timers_per_case']}); bare commands/s {figures['bare_commands_per_second']:,.0f}"
    )
    print(f"{'clients':>8}{'burst s':>9}{'fired':>8}{'commands':>10}{'cmd/s':>8}{'vs bare':>9}{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    for run in figures["runs"]:
        print(
            f"{run['clients']:>8}{run['seconds']:>9.2f}{run['fired']:>8,}{run['commands']:>10,}{run['commands_per_second']:>8.0f}"
            f"{run['ratio']:>8.3f}x{run['wait_p50_ms']:>8.1f}{run['wait_p99_ms']:>8.1f}{run['wait_max_ms']:>8.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--timers-per-case", type=int, default=10)
    parser.add_argument("--clients", type=int, nargs="+", default=[0, 1, 8])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    figures: dict = {"machine": machine_facts(), "settings": {"cases": args.cases, "timers_per_case": args.timers_per_case}, "targets": []}
    with tempfile.TemporaryDirectory(prefix="laworkflow-bench-burst-") as tmp:
        folder = Path(tmp)
        bare = Baseline(env=store_env(f"sqlite:///{folder / 'bare.sqlite'}"))
        try:
            ids = baseline_write(bare, 200, 2)["ids"]
            figures["bare_commands_per_second"] = baseline_commands(bare, ids, 5.0, 100_000)["commands_per_second"]
        finally:
            bare.close()
        figures["runs"] = [burst(folder / f"burst-{clients}.sqlite", args.cases, args.timers_per_case, clients) for clients in args.clients]
    for run in figures["runs"]:
        run["ratio"] = run["commands_per_second"] / figures["bare_commands_per_second"]
    print_figures(figures, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
