"""What does the service cost — timer index, scheduler, HTTP — over bare `eventsourcing`?

Issue 4, item 8. One run measures, on an SQLite file and on a fresh PostgreSQL
database (127.0.0.1:5432, user postgres; created here, dropped at the end;
skipped with the reason printed when the server cannot be reached):

  1. Index rebuild. N pending timers across M cases. The shipped workflows
     arm one timer per state, so a synthetic workflow defined below arms N/M
     timers on entering its initial state, each `due: K days` (K = 1..N/M) and
     each firing `tick`, a self-transition, so firing one arms nothing new.
     The cases are built with the `Case` aggregate and saved 200 at a time
     (as `tests/test_service.py::arm_timers` does): M x (1 + N/M) events.
     Timed: `due_store.reset()` + `due_store.catch_up(...)`, the rebuild of
     the index from the whole log.
     Baseline: the same number of events written by bare eventsourcing — a
     minimal `Aggregate` given as many events as a case, 200 aggregates a
     save, on the same backend. Ratio = rebuild time / baseline write time:
     how many times longer it takes to rebuild the index than to write the
     log it is rebuilt from.

  2. Firing throughput and lag. With the index built, the engine's
     SimulatedClock is moved past every due date and the real service loop,
     `Scheduler.tick()`, runs for at most --fire-seconds (or until every timer
     has fired). Fires/s = TimerFired events in the log / seconds. Lag of a
     fired timer = the wall time its TimerFired event was recorded minus the
     wall time at which it became due in this run; every timer becomes due at
     the start, so the lag is the time the queue takes to drain to it, not a
     scheduling delay (timers left unfired when the window closes have no lag
     and are reported as unfired).
     Baseline: bare eventsourcing one-event commands — load the aggregate from
     its repository, record one event, save — on the aggregates written in 1,
     for at most min(--fire-seconds, 10) s. Ratio = our fires/s ÷ bare
     commands/s. (A fire is one command that saves two events: TimerFired and
     the self-transition.)

  3. HTTP (SQLite only). `laworkflow.api.create_app(engine)` served
     by uvicorn in a subprocess exactly as `laworkflow serve` configures it;
     an `inspector` key issued with `laworkflow.keys.Keys`; 64 Ofsted cases
     brought to `on_site`; clients (the standard library's http.client, one
     thread and one keep-alive connection each: httpx cost the machine about
     0.7 ms a request, which it then lacked for the server) POST
     /v1/cases/{id}/fire `record_evidence` (a self-transition, one event) on
     their own cases, with 1 and with 16 clients, --http-requests requests
     each (and at most 60 s). Ratio = our commands/s ÷ the bare eventsourcing
     command rate on SQLite measured in 2. The floor: the same clients against
     an endpoint of the same shape that does nothing (FLOOR_SERVER), on the
     same server settings; "of floor" = our commands/s ÷ its requests/s.

Every process of the run (this one, which also runs bare eventsourcing, and
the two servers) sets its garbage collector as `laworkflow serve` sets its own
(`laworkflow.service.collector.settle`, --gc-threshold); --python-gc leaves
them as Python sets them, as runs before 2026-12-07 did.

    .venv/bin/python scripts/bench_service.py [--timers 100000] [--cases 10000]
        [--fire-seconds 30] [--http-requests 2000] [--skip-postgres] [--gc-threshold 50000 | --python-gc] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import structlog
from eventsourcing.utils import get_topic

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.cases.case import Case
from laworkflow.definitions.loader import load_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Baseline, Note, show_targets, target
from laworkflow.service.collector import DEFAULT_THRESHOLD, settle
from laworkflow.service.scheduler import Scheduler
from laworkflow.startup import open_engine

REPO = Path(__file__).resolve().parents[1]
BUILD_AT = datetime(2020, 1, 6, 9, 0, tzinfo=UTC)  # when the synthetic cases start; timers due 1..K days later
SAVE_BATCH = 200  # aggregates per save, as arm_timers
BASELINE_MAX_SECONDS = 10.0
HTTP_CASES = 64
HTTP_MAX_SECONDS = 60.0
HTTP_AT = "2013-06-10T12:00:00+01:00"  # on site since 00:00 that day; no deadline has passed yet
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def timer_workflow(per_case: int) -> str:
    """A workflow whose initial state arms `per_case` timers, each firing a self-transition."""
    timers = "".join(
        f'  - id: t{i:04d}\n    state: waiting\n    due: {i} days\n    fires: tick\n    cites: {{source: bench, para: "1"}}\n' for i in range(1, per_case + 1)
    )
    return f"""
id: bench-timers
version: 1
title: Benchmark - many timers in one state
inspectorate: Benchmark
calendar: england
sources:
  bench: {{file: bench.txt, title: Benchmark}}
data:
  name: {{type: string}}
initial: waiting
states:
  waiting: {{status: waiting, cites: {{source: bench, para: "1"}}}}
  closed: {{terminal: true, cites: {{source: bench, para: "2"}}}}
transitions:
  - trigger: tick
    from: waiting
    to: waiting
    cites: {{source: bench, para: "1"}}
  - trigger: close
    from: waiting
    to: closed
    cites: {{source: bench, para: "2"}}
timers:
{timers}"""


# ------------------------------------------------------------------ baseline


def payload(i: int) -> dict[str, str]:
    return {"notebook": "evidence", "entry": f"entry {i}"}


def baseline_write(app: Baseline, aggregates: int, events_each: int) -> dict:
    """`aggregates` x `events_each` events, saved SAVE_BATCH aggregates at a time; only the saves are timed."""
    ids: list[UUID] = []
    seconds, batch = 0.0, []
    for _ in range(aggregates):
        note = Note()
        for i in range(events_each - 1):  # Note() recorded the first
            note.record(payload(i))
        batch.append(note)
        if len(batch) == SAVE_BATCH:
            t0 = time.perf_counter()
            app.save(*batch)
            seconds += time.perf_counter() - t0
            ids += [n.id for n in batch]
            batch = []
    if batch:
        t0 = time.perf_counter()
        app.save(*batch)
        seconds += time.perf_counter() - t0
        ids += [n.id for n in batch]
    events = app.recorder.max_notification_id() or 0
    return {"ids": ids, "events": events, "seconds": seconds, "events_per_second": events / seconds}


def baseline_commands(app: Baseline, ids: list[UUID], seconds: float, limit: int) -> dict:
    """Load, record one event, save — round the aggregates — for `seconds` or `limit` commands."""
    for i in range(min(20, len(ids))):  # warm-up, untimed
        app.record(ids[i], payload(-1))
    done, t0 = 0, time.perf_counter()
    while done < limit and time.perf_counter() - t0 < seconds:
        app.record(ids[done % len(ids)], payload(done))
        done += 1
    elapsed = time.perf_counter() - t0
    return {"commands": done, "seconds": elapsed, "commands_per_second": done / elapsed}


# ------------------------------------------------------------------- ours


def build_cases(engine: Engine, workflow: Any, cases: int) -> dict:
    """The cases, built with the aggregate and saved SAVE_BATCH at a time; build and save timed apart."""
    build = save = 0.0
    batch: list[Case] = []
    for c in range(cases):
        t0 = time.perf_counter()
        batch.append(Case.begin(workflow, data={"name": f"case {c}"}, parameters=None, actor="bench", at=BUILD_AT, case_id=uuid.uuid4()))
        build += time.perf_counter() - t0
        if len(batch) == SAVE_BATCH or c == cases - 1:
            t0 = time.perf_counter()
            engine.save(*batch)
            save += time.perf_counter() - t0
            batch = []
    events = engine.recorder.max_notification_id() or 0
    return {"events": events, "build_seconds": build, "save_seconds": save, "events_per_second_saved": events / save}


def rebuild(engine: Engine) -> dict:
    t0 = time.perf_counter()
    engine.due_store.reset()
    folded = engine.due_store.catch_up(engine.recorder, engine.mapper)
    seconds = time.perf_counter() - t0
    pending = sum(1 for item in engine.due_store.due() if item.kind == "timer")
    return {"events": folded, "seconds": seconds, "events_per_second": folded / seconds, "pending_timers": pending}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(p / 100 * len(ordered))) - 1)]


def fire(engine: Engine, per_case: int, timers: int, window: float) -> dict:
    """Run Scheduler.tick() with every timer due, for at most `window` seconds."""
    # The cases were saved without commands, so the engine's child-reaction follower has never
    # run; the first command would fold the whole log. Do that here, untimed, and report it.
    t0 = time.perf_counter()
    engine.follow_up()
    follower_seconds = time.perf_counter() - t0

    scheduler = Scheduler(engine, threading.RLock())
    start_id = engine.recorder.max_notification_id() or 0
    engine.clock.advance_to(BUILD_AT + timedelta(days=per_case + 1))  # every timer is due from now on
    stopper = threading.Timer(window, scheduler.stop)
    due_wall = datetime.now(UTC)
    t0 = time.perf_counter()
    stopper.start()
    handled = scheduler.tick()
    seconds = time.perf_counter() - t0
    stopper.cancel()

    topic = get_topic(Case.TimerFired)
    lags = [
        (engine.mapper.to_domain_event(n).timestamp - due_wall).total_seconds()
        for n in engine.recorder.select_notifications(start_id + 1, 10 * timers + 10, topics=[topic])
    ]
    fired = len(lags)
    return {
        "handled": handled,
        "batch": scheduler.batch,
        "fired": fired,
        "unfired": timers - fired,
        "seconds": seconds,
        "fires_per_second": fired / seconds,
        "lag_p50": percentile(lags, 50),
        "lag_p99": percentile(lags, 99),
        "lag_max": max(lags) if lags else None,
        "reactions_follower_seconds": follower_seconds,
    }


# ------------------------------------------------------------------- backends


@contextmanager
def sqlite_backend(folder: Path) -> Iterator[dict]:
    yield {
        "name": "sqlite",
        "store": f"sqlite:///{folder / 'events.sqlite'}",
        "baseline": f"sqlite:///{folder / 'baseline.sqlite'}",
        "version": sqlite3.sqlite_version,
    }


class NoPostgres(Exception):
    """The PostgreSQL server cannot be reached: the reason is printed, the backend skipped."""


@contextmanager
def postgres_backend(prefix: str = "laworkflow_bench") -> Iterator[dict]:
    """A fresh database <prefix>_<random> (dropped afterwards); raises NoPostgres with the reason when there is no server."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except Exception as error:  # no driver or no server
        raise NoPostgres(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({type(error).__name__}: {error})") from None
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = admin.execute("SHOW server_version").fetchone()[0]
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        store = f"postgresql://postgres@127.0.0.1:5432/{name}"
        yield {"name": "postgres", "store": store, "baseline": store, "version": server}  # tables apart: laworkflow_events, baseline_events
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run_backend(backend: dict, args: argparse.Namespace, per_case: int) -> dict:
    catalog = Catalog([load_text(timer_workflow(per_case))])
    workflow = catalog.get("bench-timers")
    timers = per_case * args.cases

    engine = open_engine(catalog, backend["store"], clock=SimulatedClock(BUILD_AT))
    try:
        built = build_cases(engine, workflow, args.cases)
        rebuilt = rebuild(engine)
        assert rebuilt["pending_timers"] == timers, (rebuilt["pending_timers"], timers)
        fired = fire(engine, per_case, timers, args.fire_seconds)
    finally:
        engine.close()

    app = Baseline(env=store_env(backend["baseline"]))
    try:
        written = baseline_write(app, args.cases, 1 + per_case)
        commands = baseline_commands(app, written.pop("ids"), min(args.fire_seconds, BASELINE_MAX_SECONDS), timers)
    finally:
        app.close()
    # Ours holds one event more: the record of the workflow definition the cases pin, stored with the first save.
    assert written["events"] == built["events"] - 1, (written["events"], built["events"])

    return {
        "version": backend["version"],
        "build": built,
        "rebuild": rebuilt,
        "baseline_write": written,
        "rebuild_over_baseline_write": rebuilt["seconds"] / written["seconds"],
        "fire": fired,
        "baseline_commands": commands,
        "fires_over_baseline_commands": fired["fires_per_second"] / commands["commands_per_second"],
    }


# ------------------------------------------------------------------- HTTP

SERVER = r"""
import logging, sys
import structlog, uvicorn
from laworkflow import Catalog
from laworkflow.http.app import create_app
from laworkflow.service.collector import settle
from laworkflow.startup import open_engine

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
store, workflows, port, threshold = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
engine = open_engine(Catalog.from_directory(workflows), store)
if threshold >= 0:
    settle(threshold)  # as `laworkflow serve --gc-threshold` does
config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_config=None, lifespan="on")
try:
    uvicorn.Server(config).run()  # as `laworkflow serve` configures it
finally:
    engine.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_setup(path: Path) -> tuple[list[str], str]:
    """Ofsted cases on site (as scripts/bench.py) and an inspector key, on an SQLite file."""
    from laworkflow.keys import Keys

    engine = Engine(Catalog.from_directory(REPO / "workflows"), clock=SimulatedClock("2013-06-03"), env=store_env(f"sqlite:///{path}"))
    try:
        ids = [engine.start("ofsted-laassi@1", {"authority": f"LA {c}", "concerns": ["other_concern"]}, actor="bench") for c in range(HTTP_CASES)]
        for cid in ids:
            engine.fire(cid, "give_notice", {"on_site_start": "2013-06-10", "lead_inspector": "L", "inspectors": ["I"]}, actor="bench")
        engine.run_due(until="2013-06-10")
        assert all(engine.get(cid).state == "on_site" for cid in ids)
        key = Keys(engine).issue("bench", "inspector", by="bench")
    finally:
        engine.close()
    return [str(cid) for cid in ids], key


FLOOR_SERVER = r"""
import sys, uvicorn
from typing import Annotated, Any
from fastapi import Depends, FastAPI, Header
from pydantic import BaseModel
from laworkflow.service.collector import settle

class Fire(BaseModel):
    trigger: str
    data: dict[str, Any] = {}
    at: str | None = None

async def writer(authorization: Annotated[str, Header()]) -> str:  # as laworkflow's key check: on the event loop
    return authorization

app = FastAPI()

@app.get("/readyz")
async def ready() -> dict:
    return {}

@app.post("/v1/cases/{case}/fire")
def fire(case: str, body: Fire, who: Annotated[str, Depends(writer)]) -> dict[str, Any]:
    return {"id": case, "state": "on_site", "data": body.data}

port, threshold = int(sys.argv[1]), int(sys.argv[2])
if threshold >= 0:
    settle(threshold)  # the same collector settings as the server measured
uvicorn.run(app, host="127.0.0.1", port=port, log_config=None)
"""
"""The floor: an endpoint of the same shape (path, JSON body, a header dependency on the event loop, the endpoint in a
worker thread) that does nothing, served by uvicorn with the same settings. No command over FastAPI on this machine can answer faster than this."""


def http_load(base: str, key: str, ids: list[str], clients: int, requests: int) -> dict:
    """`clients` threads, each with one keep-alive connection (the standard library's: a client that costs the machine
    little, so the figure is the server's), POSTing `requests` fires between them."""
    url = urlsplit(base)
    share = [requests // clients + (1 if c < requests % clients else 0) for c in range(clients)]
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: list[dict[int, int]] = [{} for _ in range(clients)]
    start = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client(c: int) -> None:
        mine = ids[c::clients] or ids
        http = HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
        try:
            http.request("GET", "/healthz")
            http.getresponse().read()
            start.wait()
            t_end = time.perf_counter() + HTTP_MAX_SECONDS
            for i in range(share[c]):
                if time.perf_counter() > t_end:
                    break
                body = json.dumps({"trigger": "record_evidence", "data": payload(i), "at": HTTP_AT})
                t0 = time.perf_counter()
                http.request("POST", f"/v1/cases/{mine[i % len(mine)]}/fire", body, headers)
                response = http.getresponse()
                response.read()
                latencies[c].append(time.perf_counter() - t0)
                statuses[c][response.status] = statuses[c].get(response.status, 0) + 1
        finally:
            http.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    all_latencies = [x for xs in latencies for x in xs]
    merged: dict[int, int] = {}
    for s in statuses:
        for code, n in s.items():
            merged[code] = merged.get(code, 0) + n
    ok = sum(n for code, n in merged.items() if 200 <= code < 300)
    return {
        "clients": clients,
        "requests": len(all_latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(merged.items())},
        "seconds": seconds,
        "commands_per_second": ok / seconds,
        "latency_p50_ms": (percentile(all_latencies, 50) or 0) * 1000,
        "latency_p99_ms": (percentile(all_latencies, 99) or 0) * 1000,
    }


@contextmanager
def serving(argv: list[str], port: int) -> Iterator[str]:
    """A server subprocess, until its /readyz answers 200; stopped (SIGTERM, then SIGKILL) on the way out."""
    server = subprocess.Popen([sys.executable, "-c", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "LAWORKFLOW_LOG": "warning"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                probe = HTTPConnection("127.0.0.1", port, timeout=1)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start: {server.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_http(folder: Path, requests: int, threshold: int) -> dict:
    path = folder / "http.sqlite"
    ids, key = http_setup(path)
    port = free_port()
    with serving([SERVER, f"sqlite:///{path}", str(REPO / "workflows"), str(port), str(threshold)], port) as base:
        http_load(base, key, ids, 4, 40)  # warm-up, untimed
        levels = [http_load(base, key, ids, clients, requests) for clients in (1, 16)]
    port = free_port()
    with serving([FLOOR_SERVER, str(port), str(threshold)], port) as base:
        http_load(base, key, ids, 4, 40)
        for level in levels:
            floor = http_load(base, key, ids, level["clients"], requests)
            level["floor_requests_per_second"] = floor["commands_per_second"]
            level["of_floor"] = level["commands_per_second"] / floor["commands_per_second"]
    return {"levels": levels}


# ------------------------------------------------------------------- output


def show(figures: dict) -> None:
    m, s = figures["machine"], figures["settings"]
    print(f"nproc={m['nproc']}  python {m['python']}  eventsourcing {m['eventsourcing']}  {m['platform']}")
    print(
        f"1-minute load average {m['loadavg_at_start']:.2f} at the start, {m['loadavg_at_end']:.2f} at the end (other work on the machine skews every figure)"
    )
    print(
        f"{s['timers']:,} pending timers across {s['cases']:,} cases ({s['timers_per_case']} per case, one state), "
        f"saved {SAVE_BATCH} cases a save; firing window {s['fire_seconds']:g} s"
    )
    if s["gc_threshold"] < 0:
        print("every process's collector as Python sets it (--python-gc), not as `serve` sets its own")
    else:
        print(f"every process's collector as `serve --gc-threshold {s['gc_threshold']}` sets it (service.collector), bare eventsourcing's included")
    for name, b in figures["backends"].items():
        print()
        if "skipped" in b:
            print(f"== {name}: skipped ({b['skipped']})")
            continue
        r, w, f, c, bu = b["rebuild"], b["baseline_write"], b["fire"], b["baseline_commands"], b["build"]
        print(f"== {name} {b['version']}")
        print(f"{'':<44}{'ours':>14}{'bare eventsourcing':>22}{'ratio':>10}")
        print(f"{'index rebuild: seconds (baseline: write)':<44}{r['seconds']:>14.2f}{w['seconds']:>22.2f}{b['rebuild_over_baseline_write']:>9.2f}x")
        print(f"{'  events folded / written':<44}{r['events']:>14,}{w['events']:>22,}")
        print(f"{'  events/s':<44}{r['events_per_second']:>14,.0f}{w['events_per_second']:>22,.0f}")
        print(f"{'  (building the cases: aggregate / save s)':<44}{bu['build_seconds']:>7.2f} / {bu['save_seconds']:<5.2f}")
        print(
            f"{'timer firing: fires/s (baseline: commands/s)':<44}{f['fires_per_second']:>14,.1f}{c['commands_per_second']:>22,.1f}{b['fires_over_baseline_commands']:>9.3f}x"
        )
        print(f"{'  fired / commands, in seconds':<44}{f['fired']:>8,} {f['seconds']:>4.1f}s{c['commands']:>15,} {c['seconds']:>4.1f}s")
        if f["unfired"]:
            print(f"{'  timers left unfired when the window closed':<44}{f['unfired']:>14,}")
        if f["fired"]:
            print(f"{'  lag p50 / p99 / max, s (queue drain)':<44}{f['lag_p50']:>7.2f} / {f['lag_p99']:.2f} / {f['lag_max']:.2f}")
        print(f"{'  (reactions follower catch-up, untimed)':<44}{f['reactions_follower_seconds']:>13.2f}s")
    print()
    print("lag = wall time a TimerFired event was recorded - wall time its timer became due in the run; all")
    print("became due at once when the window opened, so the lag measures how long the queue takes to drain.")
    print("ratios: rebuild time / time to write the same events; fires/s / one-event load+save commands/s.")
    batches = {b["fire"]["batch"] for b in figures["backends"].values() if "fire" in b}
    if batches:
        print(f"Scheduler.tick() checks for a stop between batches of {max(batches)} items, so a window can overrun by up to one batch.")
    h = figures["http"]
    print()
    if "skipped" in h:
        print(f"HTTP: skipped ({h['skipped']})")
        return
    base = h["baseline_commands_per_second"]
    print(f"== HTTP (SQLite, uvicorn subprocess, POST /v1/cases/{{id}}/fire record_evidence, {HTTP_CASES} cases)")
    print(
        f"{'clients':>8}{'requests':>10}{'2xx':>7}{'seconds':>9}{'cmd/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'bare cmd/s':>12}{'ratio':>8}{'floor/s':>9}{'of floor':>10}  statuses"
    )
    for level in h["levels"]:
        print(
            f"{level['clients']:>8}{level['requests']:>10}{level['ok']:>7}{level['seconds']:>9.2f}{level['commands_per_second']:>9.1f}"
            f"{level['latency_p50_ms']:>8.1f}{level['latency_p99_ms']:>8.1f}{base:>12.1f}{level['ratio']:>7.3f}x"
            f"{level['floor_requests_per_second']:>9.1f}{level['of_floor']:>9.3f}x  {level['statuses']}"
        )
    print("floor: an endpoint of the same shape that does nothing, on the same server settings and client (FLOOR_SERVER).")


def targets_of(figures: dict) -> list[dict]:
    """Issue 13's targets for the service, from this run's figures (each ratio against bare eventsourcing in the same run)."""
    found = []
    for name, b in figures["backends"].items():
        if "skipped" in b:
            continue
        ratio = b["fires_over_baseline_commands"]
        found.append(target(f"timers fired/s vs bare one-event commands/s, {name}", ratio, ">= 3x", ratio >= 3))
        rebuild = b["rebuild_over_baseline_write"]
        found.append(target(f"index rebuild time vs writing the events bare, {name}", rebuild, "<= 1.0x", rebuild <= 1.0))
    sqlite = figures["backends"].get("sqlite", {})
    if "fire" in sqlite and figures["settings"]["fire_seconds"] >= 30:
        f = sqlite["fire"]
        found.append(
            target(
                f"of {figures['settings']['timers']:,} timers due at once, fired within 30 s, SQLite",
                f["fired"],
                "all",
                f["unfired"] == 0 and f["seconds"] <= 30,
            )
        )
    for level in figures["http"].get("levels", []):
        if level["clients"] == 16:
            found.append(target("HTTP commands/s with 16 clients vs bare commands/s", level["ratio"], ">= 1.5x", level["ratio"] >= 1.5))
            found.append(target("HTTP p99 latency with 16 clients, ms", level["latency_p99_ms"], "< 100", level["latency_p99_ms"] < 100))
        elif level["clients"] == 1:
            found.append(target("HTTP commands/s with 1 client vs bare commands/s", level["ratio"], ">= 0.5x", level["ratio"] >= 0.5))
    return found


def machine_facts() -> dict[str, Any]:
    """The machine and versions a run was measured on, and the 1-minute load average at its start."""
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "eventsourcing": version("eventsourcing"),
        "platform": platform.platform(),
        "loadavg_at_start": os.getloadavg()[0],
    }


def print_figures(figures: dict, show: Callable[[dict], None], *, as_json: bool) -> None:
    """The figures as JSON, or as `show` prints them followed by their targets."""
    if as_json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        show(figures)
        print()
        show_targets(figures["targets"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=100_000, help="pending timers in all (rounded down to a multiple of --cases)")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--fire-seconds", type=float, default=30.0, help="the firing window, at most")
    parser.add_argument("--http-requests", type=int, default=2000, help="requests per client count")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--gc-threshold",
        type=int,
        default=DEFAULT_THRESHOLD,
        help="the collector as `laworkflow serve --gc-threshold` sets it, in every process (700: Python's own)",
    )
    parser.add_argument("--python-gc", action="store_true", help="leave every process's collector as Python sets it (as runs before 2026-12-07 did)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.python_gc:
        args.gc_threshold = -1
    else:
        settle(args.gc_threshold)  # this process fires the timers and runs bare eventsourcing: both as `serve` sets a process
    per_case = max(1, args.timers // args.cases)

    figures: dict[str, Any] = {
        "machine": machine_facts(),
        "settings": {
            "timers": per_case * args.cases,
            "cases": args.cases,
            "timers_per_case": per_case,
            "fire_seconds": args.fire_seconds,
            "http_requests": args.http_requests,
            "save_batch": SAVE_BATCH,
            "gc_threshold": args.gc_threshold,
        },
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="laworkflow-bench-service-") as tmp:
        folder = Path(tmp)
        with sqlite_backend(folder) as backend:
            figures["backends"]["sqlite"] = run_backend(backend, args, per_case)
        if args.skip_postgres:
            figures["backends"]["postgres"] = {"skipped": "--skip-postgres"}
        else:
            try:
                with postgres_backend() as backend:
                    figures["backends"]["postgres"] = run_backend(backend, args, per_case)
            except NoPostgres as error:
                figures["backends"]["postgres"] = {"skipped": str(error)}
        if not (REPO / "src" / "laworkflow" / "api.py").exists():
            figures["http"] = {"skipped": "no api"}
        else:
            try:
                figures["http"] = run_http(folder, args.http_requests, args.gc_threshold)
            except Exception as error:  # keep the figures above; say why this part has none
                figures["http"] = {"skipped": f"failed: {type(error).__name__}: {error}"}
            else:
                base = figures["backends"]["sqlite"]["baseline_commands"]["commands_per_second"]
                figures["http"]["baseline_commands_per_second"] = base
                for level in figures["http"]["levels"]:
                    level["ratio"] = level["commands_per_second"] / base

    figures["machine"]["loadavg_at_end"] = os.getloadavg()[0]
    figures["targets"] = targets_of(figures)
    print_figures(figures, show, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
