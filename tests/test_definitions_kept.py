"""Definitions kept with the record: a case whose YAML file was edited or removed can still be read, but takes no new command.

Every test runs on a real SQLite file and on a copy of the workflows folder,
which it edits or deletes as an operator would.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.errors import ConcurrentChange, DefinitionChanged, UnknownDefinition
from laworkflow.http.app import create_app
from laworkflow.keys import Keys
from old_definitions import workflows_as_pinned

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKFLOWS = REPO / "workflows"
FIXTURE = HERE / "fixtures" / "store_before_relayout.sqlite"
FILE = "ofsted-laassi-2013.yaml"
OFSTED = "ofsted-laassi@1"
START = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
RECORD_TOPIC = "%DefinitionRecord.Recorded"
# Written out here, not imported: a record's id must not change with the code (uuid5 of this namespace and the content hash).
NAMESPACE = uuid.UUID("5b0d6f3e-9a41-5c1e-8f2d-3c7a1e4b9d60")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    return copy


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite"


def engine_on(db: Path, folder: Path, start: str = "2013-06-03T09:00:00+01:00") -> Engine:
    return Engine(Catalog.from_directory(folder), clock=SimulatedClock(start), env=store_env(str(db)))


def edit_description(folder: Path) -> None:
    path = folder / FILE
    text = path.read_text()
    assert "\ndescription: >\n" in text
    path.write_text(text.replace("\ndescription: >\n", "\ndescription: >\n  Edited after cases started on it.\n", 1))


def edit_behaviour(folder: Path) -> None:
    """A change of behaviour, not of words (a state's register label): commands on running cases are refused."""
    path = folder / FILE
    text = path.read_text()
    assert "\n    status: concern raised\n" in text
    path.write_text(text.replace("\n    status: concern raised\n", "\n    status: concern under review\n", 1))


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute(sql, params).fetchall()


def records(db: Path) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT originator_id, state FROM stored_events WHERE topic LIKE ?", RECORD_TOPIC)


def digest(db: Path) -> str:
    """Everything in the file, table by table: what 'unchanged' is measured against."""
    with closing(sqlite3.connect(db)) as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def cli(db: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(folder), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=db.parent, timeout=120)


def ok(db: Path, folder: Path, *args: str) -> str:
    run = cli(db, folder, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def started_case(db: Path, folder: Path) -> tuple[str, str]:
    """A case given notice (two commands), and its pinned content hash."""
    view = json.loads(ok(db, folder, "start", OFSTED, "--data", json.dumps(START), "--at", "2013-06-03T09:00", "--json"))
    ok(db, folder, "fire", view["id"], "give_notice", "--data", json.dumps(NOTICE), "--at", "2013-06-05T10:00")
    return view["id"], view["definition_hash"]


# ------------------------------------------------------------------ what is stored, and when


def test_the_first_case_on_a_content_saves_its_record_once_and_the_record_is_that_content(db, folder):
    engine = engine_on(db, folder)
    try:
        cases = [engine.start(OFSTED, START, actor="hmci") for _ in range(6)]
        pinned = {engine.get(case).definition_hash for case in cases}
    finally:
        engine.close()
    assert len(pinned) == 1
    (content_hash,) = pinned
    kept = records(db)
    assert len(kept) == 1
    record_id, state = kept[0]
    assert (uuid.UUID(bytes=record_id) if isinstance(record_id, bytes) else uuid.UUID(record_id)) == uuid.uuid5(NAMESPACE, content_hash)
    stored = json.loads(state)
    canonical = json.dumps(stored["content"], sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canonical).hexdigest() == content_hash  # the content whose hash the cases pinned, in full
    assert (stored["definition_id"], stored["definition_version"], stored["content_hash"]) == ("ofsted-laassi", 1, content_hash)
    assert stored["content"]["title"].startswith("Ofsted inspection of local authority arrangements")


def test_the_record_is_written_in_the_same_atomic_save_as_the_case(db, folder, tmp_path):
    engine = engine_on(db, folder)
    try:
        engine.start(OFSTED, START, actor="hmci")
    finally:
        engine.close()
    topics = [topic for (topic,) in rows(db, "SELECT topic FROM stored_events ORDER BY rowid")]
    assert topics[-1].endswith("DefinitionRecord.Recorded") and all(topic.startswith("laworkflow.cases.case:Case.") for topic in topics[:-1])

    # A store with no record yet (written before records existed): a start whose case cannot be saved writes no record either.
    old = tmp_path / "old.sqlite"
    shutil.copyfile(FIXTURE, old)
    (taken,) = rows(old, "SELECT originator_id FROM stored_events WHERE topic = 'laworkflow.case:Case.Started' ORDER BY rowid LIMIT 1")
    taken_id = uuid.UUID(bytes=taken[0]) if isinstance(taken[0], bytes) else uuid.UUID(taken[0])
    engine = Engine(Catalog.from_directory(workflows_as_pinned(tmp_path)), clock=SimulatedClock("2015-03-02T09:00:00+00:00"), env=store_env(str(old)))
    try:
        before = digest(old)
        with pytest.raises(ConcurrentChange):
            engine.start(OFSTED, START, actor="hmci", case_id=taken_id)
        assert records(old) == [] and digest(old) == before
    finally:
        engine.close()


def test_two_engines_racing_on_one_sqlite_file_keep_one_record(db, folder):
    engines = [engine_on(db, folder), engine_on(db, folder)]
    barrier = threading.Barrier(len(engines))
    started: list[Any] = []
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            barrier.wait()
            for _ in range(10):
                started.append(engine.start(OFSTED, START, actor="hmci"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.close()
    assert not errors, errors
    assert len(started) == 20
    assert len(rows(db, "SELECT 1 FROM stored_events WHERE topic LIKE '%Case.Started'")) == 20
    assert len(records(db)) == 1


# ------------------------------------------------------------------ a changed file blocks commands, not reads


def test_an_edited_description_leaves_show_history_verify_and_as_of_working_on_the_cli(db, folder):
    case, content_hash = started_case(db, folder)
    before_show = json.loads(ok(db, folder, "show", case, "--json"))
    edit_description(folder)
    assert Catalog.from_directory(folder).get(OFSTED).content_hash != content_hash

    shown = json.loads(ok(db, folder, "show", case, "--json"))
    assert shown == before_show
    assert shown["definition_hash"] == content_hash and shown["state"] == "notice_given" and shown["ended"] is False
    earlier = json.loads(ok(db, folder, "show", case, "--as-of", "2013-06-04", "--json"))
    assert (earlier["state"], earlier["events"]) == ("concern_raised", 1)
    history = ok(db, folder, "history", case, "--json")
    assert history.count('"digest"') == 3
    verified = json.loads(ok(db, folder, "verify", "--json"))
    assert verified["ok"] is True
    allowed = ok(db, folder, "allowed", case, "--json")
    assert "begin_on_site" in allowed


def test_fire_on_a_case_whose_file_changed_is_one_error_line_and_writes_nothing(db, folder):
    case, content_hash = started_case(db, folder)
    edit_behaviour(folder)
    new_hash = Catalog.from_directory(folder).get(OFSTED).content_hash
    before = digest(db)
    refused = cli(db, folder, "fire", case, "begin_on_site", "--at", "2013-06-11T10:00")
    assert refused.returncode == 1 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), refused.stderr
    assert "ofsted-laassi@1" in lines[0] and content_hash[:12] in lines[0] and new_hash[:12] in lines[0]
    assert "migrat" in lines[0] and "laworkflow migrate" in lines[0]
    assert digest(db) == before


def test_a_deleted_file_still_shows_and_refuses_commands(db, folder):
    case, content_hash = started_case(db, folder)
    (folder / FILE).unlink()
    shown = json.loads(ok(db, folder, "show", case, "--json"))
    assert shown["state"] == "notice_given" and shown["definition_hash"] == content_hash
    before = digest(db)
    refused = cli(db, folder, "fire", case, "begin_on_site", "--at", "2013-06-11T10:00")
    assert refused.returncode == 1 and "no longer in the catalog" in refused.stderr and content_hash[:12] in refused.stderr
    assert digest(db) == before


def test_the_engine_reads_from_the_record_and_refuses_every_kind_of_command(db, folder):
    engine = engine_on(db, folder)
    try:
        case = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
        engine.fire(case, "give_notice", NOTICE, actor="lead", at="2013-06-05T10:00")
        view = engine.get(case)
    finally:
        engine.close()
    edit_behaviour(folder)
    engine = engine_on(db, folder)
    try:
        assert engine.get(case) == view
        assert engine.get(case, as_of="2013-06-04").state == "concern_raised"
        assert [a.trigger for a in engine.allowed_triggers(case)] == ["begin_on_site", "begin_on_site", "defer_inspection", "raise_concern", "resolve_concern"]
        assert engine.pinned("ofsted-laassi", 1, view.definition_hash).content_hash == view.definition_hash
        assert [row.authority for row in engine.register()] == ["Kent"]
        before = digest(db)
        with pytest.raises(DefinitionChanged) as fired:
            engine.fire(case, "begin_on_site", actor="lead", at="2013-06-11T10:00")
        assert fired.value.code == "definition_changed"
        with pytest.raises(DefinitionChanged):
            engine.fire_timer(case, "notice_ends", at="2013-06-10T09:00")
        with pytest.raises(DefinitionChanged):
            engine.record_missed_deadlines(case, at="2014-06-10T09:00")
        assert digest(db) == before
        with pytest.raises(UnknownDefinition):
            engine.pinned("ofsted-laassi", 1, "0" * 64)
    finally:
        engine.close()


def test_the_scheduler_sets_aside_a_timer_of_a_changed_case_and_goes_on(db, folder):
    engine = engine_on(db, folder)
    try:
        old = engine.start(OFSTED, START, actor="hmci", at="2013-06-03T09:00")
        engine.fire(old, "give_notice", NOTICE, actor="lead", at="2013-06-05T10:00")
    finally:
        engine.close()
    edit_behaviour(folder)
    engine = engine_on(db, folder, start="2013-06-05T11:00:00+01:00")
    try:
        new = engine.start(OFSTED, START, actor="hmci", at="2013-06-05T11:00")
        engine.fire(new, "give_notice", NOTICE, actor="lead", at="2013-06-05T12:00")
        engine.run_due(until="2013-06-10T09:00")
        assert engine.get(new).state == "on_site"  # the case on today's content went on
        assert engine.get(old).state == "notice_given"  # the other was not moved
        quarantined = [q for q in engine.quarantined() if q.case_id == old]
        assert len(quarantined) == 1 and quarantined[0].kind == "timer"
        assert "has changed since this case started" in quarantined[0].error and "laworkflow migrate" in quarantined[0].error
    finally:
        engine.close()


def test_a_changed_case_over_http_is_read_and_refused_with_409(db, folder):
    case, content_hash = started_case(db, folder)
    edit_behaviour(folder)
    engine = engine_on(db, folder)
    try:
        with TestClient(create_app(engine)) as client:
            keys = Keys(engine)
            reader = {"Authorization": f"Bearer {keys.issue('auditor-1', 'auditor', by='setup')}"}
            writer = {"Authorization": f"Bearer {keys.issue('backoffice', 'inspector', by='setup')}"}
            shown = client.get(f"/v1/cases/{case}", headers=reader)
            assert shown.status_code == 200 and shown.json()["definition_hash"] == content_hash
            before = digest(db)
            refused = client.post(f"/v1/cases/{case}/fire", json={"trigger": "begin_on_site", "at": "2013-06-11T10:00"}, headers=writer)
            assert refused.status_code == 409, refused.text
            body = refused.json()
            assert set(body) == {"error"} and body["error"]["code"] == "definition_changed"
            assert content_hash[:12] in body["error"]["message"] and "laworkflow migrate" in body["error"]["message"]
            assert digest(db) == before
    finally:
        engine.close()


def test_a_record_altered_in_the_store_is_not_trusted(db, folder):
    case, content_hash = started_case(db, folder)
    edit_description(folder)
    with closing(sqlite3.connect(db)) as connection:
        (state,) = connection.execute("SELECT state FROM stored_events WHERE topic LIKE ?", (RECORD_TOPIC,)).fetchone()
        stored = json.loads(state)
        stored["content"]["title"] = "A forged title"
        connection.execute("UPDATE stored_events SET state = ? WHERE topic LIKE ?", (json.dumps(stored).encode(), RECORD_TOPIC))
        connection.commit()
    refused = cli(db, folder, "show", case)
    assert refused.returncode == 1 and "altered in the store" in refused.stderr, refused.stderr


# ------------------------------------------------------------------ stores written before records existed


def test_an_old_store_loads_without_records_and_gets_one_on_its_first_command(tmp_path):
    old = tmp_path / "old.sqlite"
    shutil.copyfile(FIXTURE, old)
    assert records(old) == []
    started = rows(old, "SELECT originator_id FROM stored_events WHERE topic = 'laworkflow.case:Case.Started' ORDER BY rowid")
    suffolk = uuid.UUID(bytes=started[1][0]) if isinstance(started[1][0], bytes) else uuid.UUID(started[1][0])
    engine = Engine(Catalog.from_directory(workflows_as_pinned(tmp_path)), clock=SimulatedClock("2015-03-02T09:00:00+00:00"), env=store_env(str(old)))
    try:
        view = engine.get(suffolk)
        assert records(old) == []  # reading writes nothing
        engine.fire(suffolk, "record_evidence", {"notebook": "summary", "entry": "After records"}, actor="lead-hmi", at="2013-06-12T10:00")
        kept = records(old)
        assert len(kept) == 1 and json.loads(kept[0][1])["content_hash"] == view.definition_hash
        engine.fire(suffolk, "record_evidence", {"notebook": "summary", "entry": "Again"}, actor="lead-hmi", at="2013-06-12T11:00")
        assert len(records(old)) == 1
    finally:
        engine.close()
