"""The benchmarks run, at tiny sizes, in real subprocesses, and report every target of issue 13 they measure as JSON.

Figures at these sizes mean nothing; what is checked is that the scripts work
from a fresh checkout and that each target is reported with its measured
value, its goal and whether it is met.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from laworkflow.service.collector import DEFAULT_THRESHOLD

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def run(*args: str) -> dict:
    done = subprocess.run([sys.executable, *args, "--json"], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def names(figures: dict) -> set[str]:
    for t in figures["targets"]:
        assert set(t) == {"target", "measured", "goal", "met"} and isinstance(t["met"], bool)
    return {t["target"] for t in figures["targets"]}


def test_bench_reports_the_command_and_rebuild_targets_on_sqlite_and_the_memory_store():
    sqlite = run(str(SCRIPTS / "bench.py"), "--cases", "2", "--events-per-case", "3", "--repeats", "1", "--rebuild-cases", "20")
    memory = run(str(SCRIPTS / "bench.py"), "--cases", "2", "--events-per-case", "3", "--repeats", "1", "--store", "memory")

    assert sqlite["ours"]["events"] == sqlite["baseline"]["events"] == 6
    assert names(sqlite) == {"one-event command cost vs bare, SQLite", "index rebuild time vs writing the events bare, sqlite"}
    assert names(memory) == {"commands/s vs bare, memory store"}


def test_bench_service_reports_the_timer_and_http_targets():
    figures = run(str(SCRIPTS / "bench_service.py"), "--timers", "200", "--cases", "20", "--fire-seconds", "5", "--http-requests", "32", "--skip-postgres")

    assert figures["settings"]["gc_threshold"] == DEFAULT_THRESHOLD  # every process's collector as `serve` sets it
    fired = figures["backends"]["sqlite"]["fire"]
    assert fired["fired"] == 200 and fired["unfired"] == 0  # every timer, once
    assert [level["statuses"] for level in figures["http"]["levels"]] == [{"200": 32}, {"200": 32}]
    assert all(level["floor_requests_per_second"] > 0 for level in figures["http"]["levels"])  # the do-nothing endpoint answered too
    assert names(figures) == {
        "timers fired/s vs bare one-event commands/s, sqlite",
        "index rebuild time vs writing the events bare, sqlite",
        "HTTP commands/s with 16 clients vs bare commands/s",
        "HTTP p99 latency with 16 clients, ms",
        "HTTP commands/s with 1 client vs bare commands/s",
    }


def test_bench_burst_reports_commands_during_a_burst_of_timers_beside_bare_commands():
    figures = run(str(SCRIPTS / "bench_burst.py"), "--cases", "40", "--timers-per-case", "2", "--clients", "0", "2")

    assert [(r["clients"], r["fired"]) for r in figures["runs"]] == [(0, 80), (2, 80)]  # every due timer, once, in each run
    assert figures["runs"][0]["commands"] == 0 and figures["bare_commands_per_second"] > 0
    assert {"wait_p50_ms", "wait_p99_ms", "wait_max_ms", "ratio"} <= set(figures["runs"][1])
