"""Do several scheduler nodes on one PostgreSQL database fire more timers per second than one?

Issue 13, part 3. One run, against the PostgreSQL server at 127.0.0.1:5432
(user postgres; every database is created here, named lw_nodes_*, and dropped
at the end; the run stops with the reason when the server cannot be reached):

  1. Timer firing with K = 1 and K = 3 nodes, as shipped; then, unless
     --no-experiments, K = 3 with eventsourcing's table lock switched off in
     the node processes only (nothing under src/ is changed). For each, a
     fresh database gets N pending timers across M cases, built with
     `scripts/bench_service.py`'s builders (its `timer_workflow`: N/M timers
     armed in one state, each firing a self-transition; `build_cases`: saved
     200 cases a save), and the timer index is caught up. Then K real
     subprocesses each open an engine on it (as `laworkflow serve` does,
     `startup.open_engine`) with a SimulatedClock past every due date, follow
     up reactions (untimed), say they are ready, and on a common "go" run the
     service's loop, `Scheduler.tick()`, again and again until --seconds have
     passed or no timer is left in the index.
     As shipped (`PostgresDueStore.claim`), a node claims whole cases: due
     rows count, in due order, only if their case's transaction-scoped
     advisory lock can be had (`pg_try_advisory_xact_lock`), and then every
     due row of those cases is taken (`FOR UPDATE SKIP LOCKED`), so two nodes
     never decide one case at once and a backlog of timers on a case is fired
     with one load and one save of it. A batch asks once which of its cached
     cases another node has saved past (`store.latest_versions`) and brings
     only those up to date; its events are committed in one transaction.
     Counted afterwards from the log: every TimerFired event, per (case,
     timer): fired = distinct timers, duplicates = events beyond one per timer
     (exactly-once holds when it is 0), and the rows left in the index must be
     N - fired. Fires/s = fired / (last node's end - go).
     While the nodes run, the parent samples pg_stat_activity every 20 ms:
     how many of the database's backends are running a statement, waiting for
     a lock on the events table (`LOCK TABLE ... IN EXCLUSIVE MODE`, a
     relation lock), waiting for a row or transaction lock, waiting on WAL I/O,
     or idle in a transaction (the node's Python working with a claim open),
     and the CPU those backends use (/proc). /proc/stat gives the machine's
     busy fraction over the window, and each node reports its own CPU seconds
     and counts the scheduler's log events (timer.fired, batch.conflict, ...):
     CPU per timer fired, of the machine, the nodes and the database, says
     where the time goes. Other processes' CPU over the window (from /proc,
     every process alive at its start and end) and the number of processes
     started meanwhile say how much other work shared the machine; a process
     that began and ended inside the window is not counted, so the machine's
     figure can exceed the sum of the parts.

  2. Bare eventsourcing on a fresh database of its own, 1 and 3 subprocesses
     at once, for --bare-seconds each (all start on a common "go"):
     - one-event commands (`bench.Baseline.record`: load, record one event,
       save), each process on its own aggregates written as
       `bench_service.baseline_write` writes them (1 + N/M events each); the
       1-process rate is the baseline the firing rates are divided by;
     - saves of one new one-event aggregate per transaction, with the table
       lock (as shipped) and without it (the recorder's lock statements
       emptied in that process only): the lock's cost is what 3 processes gain
       without it over what they gain with it.

  The target (issue 13): 3 nodes fire at least 2x as many timers per second
  as 1 node.

    .venv/bin/python scripts/bench_nodes.py [--timers 20000] [--cases 2000] [--seconds 20]
        [--bare-seconds 5] [--batch N] [--no-experiments] [--json]

Machine facts printed with the figures: nproc, the 1-minute load average at
the start and the end, versions, PostgreSQL's synchronous_commit and fsync, and
how much faster a pure-Python loop runs in 2 processes than in 1, at the start
and the end (2.0: two free cores; less: other work is using them).

Node and worker processes are this script run with --node / --bare-worker.
eventsourcing's PostgreSQL recorder locks the events table of the application
(here `laworkflow_events`, or `baseline_events` for the bare app) in EXCLUSIVE
mode in every transaction that inserts events, so that notification ids are
committed in the order they are issued; it blocks other inserts into that table
(by any node), not reads. Switching it off is for measurement only: a reader
tailing the log could then miss an event committed after a later one.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import structlog
from eventsourcing.utils import get_topic

from laworkflow import Catalog, SimulatedClock, store_env
from laworkflow.calendar.bounds import LATEST_MOMENT
from laworkflow.cases.case import Case
from laworkflow.definitions.loader import load_text
from laworkflow.service.scheduler import Scheduler
from laworkflow.startup import open_engine

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Baseline, Note, target
from bench_service import (
    BUILD_AT,
    PG_ADMIN,
    NoPostgres,
    baseline_commands,
    baseline_write,
    build_cases,
    machine_facts,
    postgres_backend,
    print_figures,
    timer_workflow,
)

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parents[1]
SAMPLE_SECONDS = 0.02
READY_TIMEOUT = 300.0
BARE_AGGREGATES = 200  # aggregates each bare command worker writes (untimed) and then loads round-robin


def source_facts() -> dict[str, Any]:
    """Which laworkflow was measured: this checkout's commit, whether its src/ has uncommitted changes, and whether it was imported from here."""
    import laworkflow

    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *argv], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "src_modified": bool(git("status", "--porcelain", "--", "src")),
        "imported_from_this_checkout": Path(laworkflow.__file__).resolve().is_relative_to(REPO),
    }


def quiet_logs() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


LOGGED: Counter[str] = Counter()


def count_logs() -> None:
    """Structured log events counted by name (info and up), not printed: what a node's batches ran into."""

    def count(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
        LOGGED[str(event_dict.get("event"))] += 1
        raise structlog.DropEvent

    structlog.configure(processors=[count], wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))


# ------------------------------------------------------------------ databases


@contextmanager
def fresh_database(tag: str) -> Iterator[str]:
    """A new database lw_nodes_<tag>_<random>, dropped afterwards; raises NoPostgres when there is no server."""
    with postgres_backend(f"lw_nodes_{tag}") as backend:
        yield backend["store"]


def server_facts() -> dict[str, str]:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        return {
            setting: str(admin.execute(f"SHOW {setting}").fetchone()[0])  # type: ignore[index]
            for setting in ("server_version", "synchronous_commit", "fsync", "max_connections", "shared_buffers")
        }


def unlock_table(recorder: Any) -> None:
    """Drop eventsourcing's `SET LOCAL lock_timeout` + `LOCK TABLE ... IN EXCLUSIVE MODE` from this process's recorder."""
    assert hasattr(recorder, "lock_table_statements"), type(recorder)
    recorder.lock_table_statements = []


# ------------------------------------------------------------------ sampling


def cpu_jiffies() -> tuple[int, int, int]:
    """(busy, total) jiffies of the whole machine and the processes started since boot, from /proc/stat (zeros where there is none)."""
    try:
        lines = Path("/proc/stat").read_text().splitlines()
    except OSError:
        return 0, 0, 0
    fields = [int(x) for x in lines[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    forks = next((int(line.split()[1]) for line in lines if line.startswith("processes ")), 0)
    return sum(fields[:8]) - idle, sum(fields[:8]), forks


def backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of a local process, from /proc; None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> dict[int, tuple[str, float]]:
    """Every process's command name and CPU seconds so far (user + system), from /proc."""
    found: dict[int, tuple[str, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 1 :].split()
        found[int(entry.name)] = (name, (int(rest[11]) + int(rest[12])) / tick)
    return found


def others(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], ours: set[int]) -> dict[str, Any]:
    """CPU the rest of the machine used between two snapshots: every process but ours (the run's processes, the database's
    backends, this one), by command name. A process that ended in between is missed; one that began is counted whole."""
    by_name: dict[str, float] = {}
    for pid, (name, used) in after.items():
        if pid not in ours:
            by_name[name] = by_name.get(name, 0.0) + used - before.get(pid, (name, 0.0))[1]
    top = sorted(by_name.items(), key=lambda pair: -pair[1])[:5]
    return {"cpu_seconds": sum(by_name.values()), "top": {name: round(seconds, 2) for name, seconds in top if seconds >= 0.05}}


def parallelism(seconds: float = 1.0) -> dict[str, float]:
    """A pure-Python loop in 1 process, then in 2 at once: how many cores this machine gives a parallel job right now."""
    spin = (
        "import sys, time\nn, end = 0, time.perf_counter() + float(sys.argv[1])\n"
        "while time.perf_counter() < end:\n    for _ in range(1000):\n        n += 1\nprint(n)"
    )

    def run(count: int) -> int:
        procs = [subprocess.Popen([sys.executable, "-c", spin, str(seconds)], stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return sum(int(proc.communicate()[0]) for proc in procs)

    one, two = run(1), run(2)
    return {"one_process": one, "two_processes": two, "two_over_one": two / one}


class Sampler:
    """pg_stat_activity of one database every SAMPLE_SECONDS, in a thread: what its client backends are doing."""

    KINDS = ("running", "table_lock_wait", "row_lock_wait", "other_lock_wait", "wal_io", "other_wait", "idle_in_transaction", "idle")

    def __init__(self, store: str):
        import psycopg

        self.connection = psycopg.connect(store, autocommit=True)
        self.samples = 0
        self.counts: Counter[str] = Counter()
        self.any_table_wait = 0
        self.cpu: dict[int, list[float]] = {}  # backend pid: [CPU seconds when first seen, when last seen]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _classify(self, state: str | None, wait_type: str | None, wait: str | None) -> str:
        if wait_type == "Lock":
            return {"relation": "table_lock_wait", "transactionid": "row_lock_wait", "tuple": "row_lock_wait"}.get(wait or "", "other_lock_wait")
        if state == "active":
            if wait_type is None:
                return "running"
            if wait_type == "IO" and (wait or "").startswith("WAL") or wait_type == "LWLock" and (wait or "").startswith("WAL"):
                return "wal_io"
            return "other_wait"
        if state == "idle in transaction":
            return "idle_in_transaction"
        return "idle"

    def _run(self) -> None:
        query = (
            "SELECT pid, state, wait_event_type, wait_event FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        while not self.stopping.is_set():
            rows = self.connection.execute(query).fetchall()
            kinds = [self._classify(*row[1:]) for row in rows]
            for row in rows:
                used = backend_cpu(row[0])
                if used is not None:
                    self.cpu.setdefault(row[0], [used, used])[1] = used
            self.counts.update(kinds)
            self.any_table_wait += "table_lock_wait" in kinds
            self.samples += 1
            self.stopping.wait(SAMPLE_SECONDS)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> dict[str, Any]:
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()
        self.connection.close()
        n = max(1, self.samples)
        return {
            "samples": self.samples,
            "mean_backends": {kind: self.counts[kind] / n for kind in self.KINDS},
            "share_of_samples_with_a_table_lock_wait": self.any_table_wait / n,
            # CPU of the database's client backends while sampled (a backend's first 20 ms and last 20 ms may be missed)
            "backend_cpu_seconds": sum(last - first for first, last in self.cpu.values()),
        }


# ------------------------------------------------------------------ processes


def spawn(argv: list[str], errors: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(SCRIPT), *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True)


def run_together(argvs: list[list[str]], on_go: Any = None) -> tuple[list[dict[str, Any]], float]:
    """Start the processes one after another, each once the last says ready; send them all "go" at once; their results and the go time.

    One at a time because eventsourcing's recorders create their tables (and a PostgreSQL function) on start, and
    concurrent DDL races in PostgreSQL's catalogue. Their stderr goes to temporary files, read when one fails.
    """
    procs: list[tuple[subprocess.Popen[str], Any]] = []

    def failed(proc: subprocess.Popen[str], errors: Any, what: str) -> RuntimeError:
        errors.seek(0)
        return RuntimeError(f"{what}: {errors.read()[-3000:]}")

    try:
        for argv in argvs:
            errors = tempfile.TemporaryFile("w+")
            proc = spawn(argv, errors)
            procs.append((proc, errors))
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != "ready":
                proc.wait(timeout=READY_TIMEOUT)
                raise failed(proc, errors, f"a process did not start ({line!r})")
        if on_go is not None:
            on_go()
        go = time.time()
        for proc, _ in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc, errors in procs:
            out, _ = proc.communicate(timeout=READY_TIMEOUT)
            if proc.returncode != 0:
                raise failed(proc, errors, f"a process failed (exit {proc.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results, go
    finally:
        for proc, errors in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            errors.close()


def count_calls(owner: Any, method: str) -> Counter[str]:
    """Count the calls of one of an object's methods (in this process): the counter's "calls"."""
    counter: Counter[str] = Counter()
    original = getattr(owner, method)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter["calls"] += 1
        return original(*args, **kwargs)

    setattr(owner, method, counted)
    return counter


def wait_for_go() -> None:
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        raise SystemExit("no go")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def node_main(args: argparse.Namespace) -> int:
    """One node: the scheduler's loop until --seconds have passed or the index holds no timer due."""
    count_logs()
    catalog = Catalog([load_text(timer_workflow(args.per_case))])
    engine = open_engine(catalog, args.node, clock=SimulatedClock(BUILD_AT + timedelta(days=args.per_case + 1)))
    try:
        if args.unlocked:
            unlock_table(engine.recorder)
        engine.follow_up()  # the reactions follower's catch-up over the whole log, untimed (as bench_service.fire)
        reconstructed = count_calls(engine.repository, "_reconstruct_aggregate")  # a case loaded not from this node's cache
        scheduler = Scheduler(engine, threading.RLock(), **({"batch": args.batch} if args.batch else {}))
        wait_for_go()
        LOGGED.clear()
        reconstructed.clear()
        cpu0, t0 = cpu_seconds(), time.time()
        stopper = threading.Timer(args.seconds, scheduler.stop)
        stopper.start()
        ticks = empty = errors = 0
        profile = cProfile.Profile(time.process_time) if args.profile else None  # CPU time: what the node spends, not what it waits
        if profile is not None:
            profile.enable()
        while not scheduler.stopping.is_set():
            try:
                handled = scheduler.tick()
            except Exception:  # the loop counts and goes on, as Scheduler.run does
                errors += 1
                continue
            ticks += 1
            if handled == 0:
                if engine.due_store.first(LATEST_MOMENT) is None:
                    break  # nothing left to fire
                empty += 1
                time.sleep(0.005)  # what is left is claimed by other nodes
        t1 = time.time()
        stopper.cancel()
        if profile is not None:
            profile.disable()
            profile.dump_stats(str(Path(args.profile) / f"node-{os.getpid()}.pstats"))
        print(
            json.dumps(
                {
                    "handled": scheduler.fired,
                    "quarantined": scheduler.quarantined,
                    "errors": errors,
                    "ticks": ticks,
                    "empty_ticks": empty,
                    "start": t0,
                    "end": t1,
                    "cpu_seconds": cpu_seconds() - cpu0,
                    "batch": scheduler.batch,
                    "logged": dict(LOGGED),
                    "reconstructs": reconstructed["calls"],
                    "pid": os.getpid(),
                }
            ),
            flush=True,
        )
    finally:
        engine.close()
    return 0


def bare_worker_main(args: argparse.Namespace) -> int:
    """One bare eventsourcing process: `save` new one-event aggregates, or `command` on aggregates of its own."""
    quiet_logs()
    app = Baseline(env=store_env(args.bare_worker))
    try:
        if args.unlocked:
            unlock_table(app.recorder)
        ids = baseline_write(app, BARE_AGGREGATES, 1 + args.per_case)["ids"] if args.mode == "command" else []
        app.save(Note())  # a warm connection
        wait_for_go()
        cpu0, t0 = cpu_seconds(), time.time()
        if args.mode == "command":
            done = baseline_commands(app, ids, args.seconds, 10**9)["commands"]
        else:
            done, deadline = 0, time.perf_counter() + args.seconds
            while time.perf_counter() < deadline:
                app.save(Note())  # one new aggregate, one event, one transaction
                done += 1
        t1 = time.time()
        print(json.dumps({"done": done, "start": t0, "end": t1, "cpu_seconds": cpu_seconds() - cpu0, "pid": os.getpid()}), flush=True)
    finally:
        app.close()
    return 0


# ------------------------------------------------------------------ the runs


def count_fired(store: str, per_case: int, timers: int) -> dict[str, Any]:
    """TimerFired events in the log per (case, timer), and the rows left in the index."""
    catalog = Catalog([load_text(timer_workflow(per_case))])
    engine = open_engine(catalog, store, clock=SimulatedClock(BUILD_AT))
    try:
        topic = get_topic(Case.TimerFired)
        per_timer: Counter[tuple[Any, str]] = Counter()
        start = 1
        while True:
            page = engine.recorder.select_notifications(start, 5000, topics=[topic])
            for n in page:
                event = engine.mapper.to_domain_event(n)
                assert isinstance(event, Case.TimerFired), event
                per_timer[(event.originator_id, event.timer_id)] += 1
            if len(page) < 5000:
                break
            start = page[-1].id + 1
        left = sum(1 for item in engine.due_store.due() if item.kind == "timer")
    finally:
        engine.close()
    events = sum(per_timer.values())
    return {"fired": len(per_timer), "timer_fired_events": events, "duplicates": events - len(per_timer), "left_in_index": left, "timers": timers}


def measured(store: str, argvs: list[list[str]]) -> tuple[list[dict[str, Any]], float, dict[str, Any]]:
    """Run the processes together (`run_together`) while the database's activity is sampled: their results, the go time,
    and what the machine did from go to the last one's end (the database's backends, the CPU, other processes)."""
    sampler = Sampler(store)
    cpu: list[tuple[int, int, int]] = []
    snapshots: list[dict[int, tuple[str, float]]] = []

    def go() -> None:
        snapshots.append(process_cpu())
        cpu.append(cpu_jiffies())
        sampler.start()

    try:
        results, started = run_together(argvs, on_go=go)
    finally:
        cpu.append(cpu_jiffies())
        snapshots.append(process_cpu())
        activity = sampler.stop()
    rest = others(snapshots[0], snapshots[-1], {os.getpid(), *sampler.cpu, *(r["pid"] for r in results)})
    busy, total = cpu[-1][0] - cpu[0][0], cpu[-1][1] - cpu[0][1]
    rest["processes_started"] = cpu[-1][2] - cpu[0][2]  # by anyone: a run starts none of its own meanwhile
    return results, started, {"activity": activity, "other_processes": rest, "busy_jiffies": busy, "machine_busy_share": busy / total if total else None}


def run_nodes(nodes: int, args: argparse.Namespace, per_case: int, *, unlocked: bool = False) -> dict[str, Any]:
    timers = per_case * args.cases
    with fresh_database(f"k{nodes}{'u' if unlocked else ''}") as store:
        catalog = Catalog([load_text(timer_workflow(per_case))])
        engine = open_engine(catalog, store, clock=SimulatedClock(BUILD_AT))
        try:
            t0 = time.perf_counter()
            built = build_cases(engine, catalog.get("bench-timers"), args.cases)
            engine.due_store.catch_up(engine.recorder, engine.mapper)
            pending = sum(1 for item in engine.due_store.due() if item.kind == "timer")
            assert pending == timers, (pending, timers)
            engine.follow_up()
            build_seconds = time.perf_counter() - t0
        finally:
            engine.close()

        argv = ["--node", store, "--per-case", str(per_case), "--seconds", str(args.seconds), *(["--batch", str(args.batch)] if args.batch else [])]
        argv += (["--unlocked"] if unlocked else []) + (["--profile", str(Path(args.profile).resolve())] if args.profile else [])
        results, started, machine = measured(store, [argv] * nodes)
        seconds = max(r["end"] for r in results) - started
        counted = count_fired(store, per_case, timers)
    assert counted["fired"] + counted["left_in_index"] == timers, counted
    fired = counted["fired"]

    def per_fire(cpu_seconds: float) -> float | None:
        return cpu_seconds / fired if fired else None

    return {
        "nodes": nodes,
        "table_lock": not unlocked,
        "events_built": built["events"],
        "build_seconds": build_seconds,
        **counted,
        "exactly_once": counted["duplicates"] == 0,
        "seconds": seconds,
        "fires_per_second": fired / seconds,
        "per_node": [{k: r[k] for k in ("handled", "quarantined", "errors", "ticks", "empty_ticks", "cpu_seconds", "reconstructs", "logged")} for r in results],
        "node_cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "node_cpu_seconds_per_fire": per_fire(sum(r["cpu_seconds"] for r in results)),
        "postgres_cpu_seconds_per_fire": per_fire(machine["activity"].get("backend_cpu_seconds", 0)),
        "other_cpu_seconds_per_fire": per_fire(machine["other_processes"]["cpu_seconds"]),
        "other_processes": machine["other_processes"],
        "logged": dict(sum((Counter(r["logged"]) for r in results), Counter())),
        "reconstructs": sum(r["reconstructs"] for r in results),  # cases loaded from the store, not a node's cache
        "machine_busy_share": machine["machine_busy_share"],
        # CPU seconds the whole machine (nodes, PostgreSQL, anything else running) spent per timer fired
        "machine_cpu_seconds_per_fire": per_fire(machine["busy_jiffies"] / os.sysconf("SC_CLK_TCK")),
        "activity": machine["activity"],
        "batch": results[0]["batch"],
    }


def run_bare(store: str, mode: str, processes: int, args: argparse.Namespace, per_case: int, *, unlocked: bool = False) -> dict[str, Any]:
    argv = ["--bare-worker", store, "--mode", mode, "--per-case", str(per_case), "--seconds", str(args.bare_seconds), *(["--unlocked"] if unlocked else [])]
    results, started, machine = measured(store, [argv] * processes)
    seconds = max(r["end"] for r in results) - started
    done = sum(r["done"] for r in results)
    return {
        "mode": mode,
        "processes": processes,
        "table_lock": not unlocked,
        "done": done,
        "seconds": seconds,
        "per_second": done / seconds,
        "events_per_second": done / seconds,  # one event a command, one a save
        "cpu_seconds": sum(r["cpu_seconds"] for r in results),
        "machine_busy_share": machine["machine_busy_share"],
        "other_processes": machine["other_processes"],
        "activity": machine["activity"],
    }


def bare(args: argparse.Namespace, per_case: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with fresh_database("bare") as store:
        Baseline(env=store_env(store)).close()  # its tables, created once: concurrent CREATE TABLE IF NOT EXISTS race in PostgreSQL's catalogue
        for processes in (1, 3):
            out[f"commands_{processes}"] = run_bare(store, "command", processes, args, per_case)
        for unlocked in (False, True):
            for processes in (1, 3):
                out[f"saves_{processes}{'_unlocked' if unlocked else ''}"] = run_bare(store, "save", processes, args, per_case, unlocked=unlocked)
    locked = out["saves_3"]["per_second"] / out["saves_1"]["per_second"]
    free = out["saves_3_unlocked"]["per_second"] / out["saves_1_unlocked"]["per_second"]
    out["saves_3_over_1_with_lock"] = locked
    out["saves_3_over_1_without_lock"] = free
    out["saves_3_unlocked_over_locked"] = out["saves_3_unlocked"]["per_second"] / out["saves_3"]["per_second"]
    out["commands_3_over_1"] = out["commands_3"]["per_second"] / out["commands_1"]["per_second"]
    return out


# ------------------------------------------------------------------ output


def show(figures: dict[str, Any]) -> None:
    m, s = figures["machine"], figures["settings"]
    print(f"nproc={m['nproc']}  python {m['python']}  eventsourcing {m['eventsourcing']}  PostgreSQL {m['postgres']['server_version']}  {m['platform']}")
    src = m["laworkflow"]
    print(
        f"laworkflow at {src['commit']}"
        + (" (src/ of this checkout imported, with uncommitted changes)" if src["src_modified"] and src["imported_from_this_checkout"] else "")
        + ("" if src["imported_from_this_checkout"] else " (imported from elsewhere: PYTHONPATH)")
    )
    print(
        f"synchronous_commit={m['postgres']['synchronous_commit']} fsync={m['postgres']['fsync']}; "
        f"1-minute load average {m['loadavg_at_start']:.2f} at the start, {m['loadavg_at_end']:.2f} at the end"
    )
    print(
        f"a pure-Python loop runs {m['parallelism_at_start']['two_over_one']:.2f}x as fast in 2 processes as in 1 at the start, "
        f"{m['parallelism_at_end']['two_over_one']:.2f}x at the end (2.0 = two free cores)"
    )
    print(
        f"{s['timers']:,} pending timers across {s['cases']:,} cases, all due; a fresh database per run; window {s['seconds']:g} s; "
        f"as shipped, whole cases claimed, up to {figures['runs'][0]['batch']} rows a claim"
    )
    b = figures["bare"]
    base = b["commands_1"]["per_second"]
    one = figures["runs"][0]["fires_per_second"]
    head = "pg: run/tbl/row/wal/txn"
    print()
    print(
        f"{'timer firing, whole cases':<30}{'fired':>7}{'s':>6}{'fires/s':>9}{'/1 node':>8}{'/bare':>7}{'dup':>4}{'busy':>6}{'cpu ms/fire: all/nodes/pg/other':>32}  {head}"
    )
    for r in figures["runs"]:
        label = f"{r['nodes']} node{'s' if r['nodes'] > 1 else ''}{'' if r['table_lock'] else ', table lock off*'}"
        keys = ("machine_cpu_seconds_per_fire", "node_cpu_seconds_per_fire", "postgres_cpu_seconds_per_fire", "other_cpu_seconds_per_fire")
        per_fire = "/".join(f"{(r[key] or 0) * 1000:.2f}" for key in keys)
        print(
            f"{label:<30}{r['fired']:>7,}{r['seconds']:>6.1f}{r['fires_per_second']:>9.1f}{r['fires_per_second'] / one:>7.2f}x{r['fires_per_second'] / base:>6.2f}x"
            f"{r['duplicates']:>4}{(r['machine_busy_share'] or 0) * 100:>5.0f}%{per_fire:>32}  {activity(r['activity'])}"
        )
        logged = r["logged"]
        print(
            f"{'':<30}logged: {logged.get('timer.fired', 0):,} timer.fired, {logged.get('timer.skipped', 0):,} timer.skipped, "
            f"{logged.get('batch.conflict', 0):,} batch.conflict, {logged.get('scheduler.item_retry', 0):,} scheduler.item_retry; "
            f"{r['reconstructs']:,} cases loaded not from a node's cache; "
            f"other processes' CPU {r['other_processes']['cpu_seconds']:.1f} s {r['other_processes']['top']}, "
            f"{r['other_processes']['processes_started']} processes started meanwhile"
        )
    print()
    print(f"{'bare eventsourcing':<30}{'done':>7}{'s':>6}{'per s':>9}{'/1 proc':>8}{'':>11}{'busy':>6}{'other cpu s':>32}  {head}")
    for one_key, key in (("commands_1", "commands_1"), ("commands_1", "commands_3"), ("saves_1", "saves_1"), ("saves_1", "saves_3")) + (
        ("saves_1_unlocked", "saves_1_unlocked"),
        ("saves_1_unlocked", "saves_3_unlocked"),
    ):
        r = b[key]
        what = "commands" if r["mode"] == "command" else "saves" + ("" if r["table_lock"] else ", lock off")
        label = f"{what}, {r['processes']} proc"
        print(
            f"{label:<30}{r['done']:>7,}{r['seconds']:>6.1f}{r['per_second']:>9.1f}{r['per_second'] / b[one_key]['per_second']:>7.2f}x{'':>11}"
            f"{(r['machine_busy_share'] or 0) * 100:>5.0f}%{r['other_processes']['cpu_seconds']:>32.1f}  {activity(r['activity'])}"
        )
    print()
    print(
        f"3 nodes / 1 node, as shipped (whole cases claimed): {figures['nodes_3_over_1']:.2f}x (target 2x); "
        f"1 node / bare commands {figures['nodes_1_over_bare']:.2f}x, 3 nodes {figures['nodes_3_over_bare']:.2f}x"
    )
    if "nodes_3_table_lock_off_over_on" in figures:
        print(f"* experiment, in the node processes only: 3 nodes with eventsourcing's table lock off / on {figures['nodes_3_table_lock_off_over_on']:.2f}x")
    print(
        f"bare saves, 3 processes without the table lock / with it: {b['saves_3_unlocked_over_locked']:.2f}x; "
        f"exactly once (no timer fired twice): {figures['exactly_once']}"
    )
    print("commands = bare one-event load+record+save; saves = one new one-event aggregate a transaction; busy = the machine's CPU;")
    print("cpu ms/fire = CPU per timer fired: the whole machine's / the nodes' / the database's client backends' / every other process's")
    print("(PostgreSQL's background processes, other databases' backends, anything else running on the machine).")
    print("pg = mean number of the database's client backends, sampled every 20 ms: running a statement / waiting for the events")
    print("table's EXCLUSIVE lock / for a row lock / on WAL I/O / idle in a transaction (the client's Python working with one open).")


def activity(a: dict[str, Any]) -> str:
    m = a.get("mean_backends", {})
    return "/".join(f"{m.get(kind, 0):.2f}" for kind in ("running", "table_lock_wait", "row_lock_wait", "wal_io", "idle_in_transaction"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=20_000, help="pending timers in all (rounded down to a multiple of --cases)")
    parser.add_argument("--cases", type=int, default=2_000, help="the cases the timers are spread across")
    parser.add_argument("--seconds", type=float, default=20.0, help="the firing window (or a bare worker's), at most")
    parser.add_argument("--bare-seconds", type=float, default=5.0, help="each bare eventsourcing measurement")
    parser.add_argument("--batch", type=int, default=0, help="the scheduler's largest claim (default: the Scheduler's own)")
    parser.add_argument("--no-experiments", action="store_true", help="only 1 and 3 nodes as shipped: no run with the table lock off")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--profile", metavar="DIR", help="each node writes a cProfile of its loop to DIR (slows them down)")
    parser.add_argument("--node", help=argparse.SUPPRESS)
    parser.add_argument("--bare-worker", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("save", "command"), help=argparse.SUPPRESS)
    parser.add_argument("--per-case", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--unlocked", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.node:
        return node_main(args)
    if args.bare_worker:
        return bare_worker_main(args)
    quiet_logs()
    per_case = max(1, args.timers // args.cases)

    figures: dict[str, Any] = {
        "machine": {
            **machine_facts(),
            "psycopg": version("psycopg"),
            "laworkflow": source_facts(),
            "parallelism_at_start": parallelism(),
        },
        "settings": {
            "timers": per_case * args.cases,
            "cases": args.cases,
            "timers_per_case": per_case,
            "seconds": args.seconds,
            "bare_seconds": args.bare_seconds,
            "claim": "whole cases",  # as shipped: PostgresDueStore.claim
            "experiments": [] if args.no_experiments else ["3 nodes, table lock off"],
        },
    }
    try:
        figures["machine"]["postgres"] = server_facts()
        runs = [run_nodes(1, args, per_case), run_nodes(3, args, per_case)]
        if not args.no_experiments:
            runs.append(run_nodes(3, args, per_case, unlocked=True))
        figures["runs"] = runs
        figures["bare"] = bare(args, per_case)
    except NoPostgres as error:
        print(f"skipped: {error}", file=sys.stderr)
        return 2
    figures["machine"]["loadavg_at_end"] = os.getloadavg()[0]
    figures["machine"]["parallelism_at_end"] = parallelism()
    base = figures["bare"]["commands_1"]["per_second"]
    figures["nodes_1_fires_per_second"] = runs[0]["fires_per_second"]
    figures["nodes_3_fires_per_second"] = runs[1]["fires_per_second"]
    figures["nodes_3_over_1"] = runs[1]["fires_per_second"] / runs[0]["fires_per_second"]
    figures["bare_commands_per_second"] = base
    figures["nodes_1_over_bare"] = runs[0]["fires_per_second"] / base
    figures["nodes_3_over_bare"] = runs[1]["fires_per_second"] / base
    figures["exactly_once"] = all(r["exactly_once"] for r in runs)
    if not args.no_experiments:
        figures["nodes_3_table_lock_off_over_on"] = runs[2]["fires_per_second"] / runs[1]["fires_per_second"]
    ratio = figures["nodes_3_over_1"]
    figures["targets"] = [target("3 PostgreSQL nodes fire vs 1 node", ratio, ">= 2x", ratio >= 2)]
    print_figures(figures, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
