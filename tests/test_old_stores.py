"""A store written before the package had subpackages still loads: its topics name the modules of that layout.

`fixtures/store_before_relayout.sqlite` was written by the code of that layout
(see `fixtures/make_store_before_relayout.py`): its events say
`laworkflow.case:Case.Started`, `laworkflow.risk:Authority.Registered`, and its
snapshot `laworkflow.case:Case`. Today's classes live elsewhere; the topics
registered in `laworkflow.cases.topics` and `laworkflow.risk` make them resolve.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow import engine as engine_module
from laworkflow.audit.verify import verify
from laworkflow.keys import Keys
from laworkflow.risk import RiskRegister
from old_definitions import workflows_as_pinned

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "store_before_relayout.sqlite"
REPO = HERE.parent
OLD_PREFIXES = ("laworkflow.case:", "laworkflow.risk:", "laworkflow.keys:")


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the fixture: opening a store writes to it (tables, positions), and the fixture stays as it was made."""
    path = tmp_path / "old.sqlite"
    shutil.copyfile(FIXTURE, path)
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


def _started(path: Path) -> list[UUID]:
    return [
        UUID(bytes=row[0]) if isinstance(row[0], bytes) else UUID(row[0])
        for row in _rows(path, "SELECT originator_id FROM stored_events WHERE topic = 'laworkflow.case:Case.Started' ORDER BY rowid")
    ]


def _open(path: Path) -> Engine:
    return Engine(Catalog.from_directory(workflows_as_pinned(path.parent)), clock=SimulatedClock("2015-03-02T09:00:00+00:00"), env=store_env(str(path)))


def test_the_fixture_carries_the_topics_of_the_old_layout(old_store):
    topics = {topic for (topic,) in _rows(old_store, "SELECT DISTINCT topic FROM stored_events")}
    assert topics and all(topic.startswith(OLD_PREFIXES) for topic in topics), topics
    snapshots = [json.loads(state)["topic"] for (state,) in _rows(old_store, "SELECT state FROM stored_snapshots")]
    assert snapshots == ["laworkflow.case:Case"]


def test_cases_keys_and_assessments_written_before_load_after(old_store):
    norfolk, suffolk, oxfordshire = _started(old_store)
    engine = _open(old_store)
    try:
        assert set(engine.case_ids()) == {norfolk, suffolk, oxfordshire}
        assert engine.get(norfolk).state == "on_site" and engine.get(norfolk).data["authority"] == "Norfolk"
        busy = engine.get(suffolk)  # loaded from its snapshot, then the events after it
        assert busy.state == "on_site" and len(engine.history(suffolk)) >= 60
        assert engine.get(oxfordshire).state == "concern_raised"
        assert verify(engine).ok, verify(engine)
        assert {item.case_id for item in engine.due("2016-01-01")} >= {norfolk, suffolk}

        assert sorted((k["name"], k["revoked"]) for k in Keys(engine).list()) == [("auditor-1", True), ("backoffice", False)]
        view = RiskRegister(engine).authority("Oxfordshire")
        assert view.case_ids == [str(oxfordshire)] and view.latest["term"] == "2015-spring"

        # The follow-up manager filters the log by topic: the old spellings are among those it reads.
        followed = engine.recorder.select_notifications(1, 1000, topics=engine_module._FOLLOWED_TOPICS)
        assert sum(n.topic == "laworkflow.case:Case.Started" for n in followed) == 3

        # Writing goes on after the old events, under today's topics, and the chain still holds.
        engine.fire(suffolk, "record_evidence", {"notebook": "summary", "entry": "After the move"}, actor="lead-hmi", at="2013-06-12T10:00")
        assert verify(engine, suffolk).ok
    finally:
        engine.close()


def test_the_timer_index_rebuilt_from_old_events_is_the_one_they_built(old_store):
    engine = _open(old_store)
    try:
        before = engine.due("2016-01-01")
    finally:
        engine.close()
    with sqlite3.connect(old_store) as connection:  # projections are conveniences: drop them, they come back from the log
        for table in ("lw_due", "lw_cases", "lw_tracking", "lw_outbox"):
            connection.execute(f"DELETE FROM {table}")
    engine = _open(old_store)
    try:
        assert engine.due("2016-01-01") == before and before
    finally:
        engine.close()


def test_the_cli_reads_an_old_store(old_store):
    norfolk = _started(old_store)[0]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "laworkflow.cli", "--store", str(old_store), "--workflows", str(workflows_as_pinned(old_store.parent)), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=old_store.parent,
        )

    shown = cli("show", str(norfolk), "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["state"] == "on_site"
    history = cli("history", str(norfolk), "--json")
    assert history.returncode == 0 and history.stdout.strip(), history.stderr
    verified = cli("verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True, verified.stdout + verified.stderr
    due = cli("due", "--json")
    assert due.returncode == 0, due.stderr
    keys = cli("keys", "list", "--json")
    assert keys.returncode == 0 and sorted(k["name"] for k in json.loads(keys.stdout)["keys"]) == ["auditor-1", "backoffice"], keys.stderr
