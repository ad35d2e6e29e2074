"""scripts/bench_nodes.py at tiny sizes: one real run on the local PostgreSQL server, 1 and 3 node processes.

Not a measurement (200 timers, a 2 s window): it checks that the script runs
end to end, that its JSON has the figures the README quotes and the target
(3 nodes vs 1), and that no timer fired twice when three nodes shared the index.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "bench_nodes.py"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        psycopg.connect(PG_ADMIN).close()
    except Exception as error:  # no driver or no server
        return f"PostgreSQL at 127.0.0.1:5432 is not reachable ({type(error).__name__}: {error})"
    return None


def test_three_nodes_fire_each_timer_once() -> None:
    reason = reachable()
    if reason:
        pytest.skip(reason)
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--timers", "200", "--cases", "20", "--seconds", "2", "--bare-seconds", "0.3", "--no-experiments", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(run.stdout)

    for key in ("nodes_1_fires_per_second", "nodes_3_fires_per_second", "nodes_3_over_1", "bare_commands_per_second", "nodes_1_over_bare", "nodes_3_over_bare"):
        assert figures[key] > 0, key
    assert {"nproc", "loadavg_at_start", "loadavg_at_end", "eventsourcing", "postgres", "laworkflow"} <= set(figures["machine"])
    assert figures["settings"]["claim"] == "whole cases" and figures["settings"]["experiments"] == []
    assert [(r["nodes"], r["table_lock"]) for r in figures["runs"]] == [(1, True), (3, True)]
    for r in figures["runs"]:
        assert r["duplicates"] == 0 and r["exactly_once"], r
        assert r["fired"] + r["left_in_index"] == r["timers"] == 200, r
        assert r["timer_fired_events"] == r["fired"], r
        assert len(r["per_node"]) == r["nodes"]
    assert figures["exactly_once"] is True
    assert "nodes_3_table_lock_off_over_on" not in figures  # --no-experiments
    (found,) = figures["targets"]
    assert set(found) == {"target", "measured", "goal", "met"}
    assert found["target"] == "3 PostgreSQL nodes fire vs 1 node" and found["goal"] == ">= 2x"
    assert found["measured"] == round(figures["nodes_3_over_1"], 3) and found["met"] == (figures["nodes_3_over_1"] >= 2)
    bare = figures["bare"]
    for key in ("commands_1", "commands_3", "saves_1", "saves_3", "saves_1_unlocked", "saves_3_unlocked"):
        assert bare[key]["done"] > 0, key
    assert bare["saves_3_unlocked_over_locked"] > 0
