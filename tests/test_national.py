"""The national simulation: every authority, seeded, consistent with its own event log."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

from laworkflow.audit.verify import verify
from laworkflow.simulation.national import INSPECTIONS, authorities, simulate_nation

REPO = Path(__file__).resolve().parents[1]


def test_reference_data_has_every_authority_once():
    population = authorities()
    assert Counter(a.nation for a in population) == {"england": 152, "wales": 22}
    assert len({a.code for a in population}) == len(population)


def test_two_years_are_consistent_with_the_event_log(make_engine):
    engine = make_engine(start="2013-06-03")
    summary = simulate_nation(engine, seed=3, start=date(2013, 6, 3), years=2)
    views = [engine.get(case) for case in engine.case_ids()]
    assert summary.cases_started == dict(Counter(v.workflow for v in views))
    # The log holds every case's events and, once per content hash a case pinned, that definition's record.
    assert summary.events == sum(v.events for v in views) + len({v.definition_hash for v in views})
    assert summary.cases_started.get(INSPECTIONS["wales"], 0) == 22, "each Welsh authority is inspected once in the cycle"
    assert all(v.last_effective_at is None or v.last_effective_at.date() <= date(2015, 6, 3) for v in views)
    assert verify(engine).ok


def test_the_same_seed_tells_the_same_story(make_engine):
    first = simulate_nation(make_engine(start="2013-06-03"), seed=11, start=date(2013, 6, 3), years=1).to_dict()
    second = simulate_nation(make_engine(start="2013-06-03"), seed=11, start=date(2013, 6, 3), years=1).to_dict()
    assert first == second


def test_cli_prints_a_summary_as_json(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "laworkflow.cli",
            "--store",
            "memory:",
            "--workflows",
            str(REPO / "workflows"),
            "simulate",
            "--national",
            "--years",
            "1",
            "--seed",
            "5",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["authorities"] == {"england": 152, "wales": 22}
    assert summary["events"] > 0
