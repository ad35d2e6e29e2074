"""The tamper suite (issue 9): each tampering the issue names, done to a real store the way an attacker with write access would
(sqlite3 on the file; psycopg on PostgreSQL), and exactly what each check reports afterwards.

Every test asserts four columns, the README's detection matrix ("What verify detects"):
plain `verify` (no kept checkpoint), `verify --checkpoint` (a checkpoint kept before the
tampering), `verify --index` (the timer index against the log) and `audit replay`
(conformance to the pinned definitions).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from laworkflow import Catalog
from laworkflow.cases.case import stored_digest
from laworkflow.engine import Engine
from laworkflow.keys import KEYRING_ID, Keys, Unauthenticated, digest
from laworkflow.store import store_env
from sqlite_files import copy_store, sql

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
WORKFLOW = "ofsted-laassi@1"  # started inside its window (from June 2013), so a case records no out_of_force finding
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
ATTACKER_KEY = "lw_reader_" + "A" * 43  # a key the attacker made up, for the name of the issued auditor key


@dataclasses.dataclass(frozen=True)
class Base:
    folder: Path
    key: Path
    checkpoint: Path
    db: Path
    older: Path
    cases: tuple[str, str]  # A (with a snapshot), B
    reader: str  # the auditor key issued before the checkpoint


def run(store: str, key: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}
    env["LAWORKFLOW_CHECKPOINT_KEY"] = str(key)
    command = [sys.executable, "-m", "laworkflow.cli", "--store", store, "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=key.parent, timeout=120)


def ok(store: str, key: Path, *args: str) -> str:
    done = run(store, key, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def due_cases(store: str, key: Path) -> set[str]:
    """The cases with something due, as `due --json` names them (its text shows an id's prefix only)."""
    return {item["case_id"] for item in json.loads(ok(store, key, "due", "--json"))["items"]}


def start_case(store: str, key: Path, authority: str) -> str:
    data = json.dumps({"authority": authority, "concerns": ["attainment_below_national"]})
    started = json.loads(ok(store, key, "start", WORKFLOW, "--data", data, "--at", "2013-06-03T09:00", "--json"))
    ok(store, key, "fire", started["id"], "give_notice", "--data", json.dumps(NOTICE), "--at", "2013-06-03T10:00")
    return str(started["id"])


def open_engine(store: str, **env: str) -> Engine:
    return Engine(Catalog.from_directory(WORKFLOWS), env={**store_env(store), **env})


def take_snapshot(store: str, case: str) -> None:
    """A snapshot row as an engine before this version wrote them (every 50 events), for the checks of stored snapshots."""
    engine = open_engine(store, IS_SNAPSHOTTING_ENABLED="y")
    try:
        engine.take_snapshot(uuid.UUID(case))
    finally:
        engine.close()


def build(store: str, key: Path, folder: Path, older: Path | None = None, db: Path | None = None) -> tuple[tuple[str, str], str]:
    a = start_case(store, key, "Kent")
    if older is not None and db is not None:
        copy_store(db, older)
    b = start_case(store, key, "Surrey")
    issued = ok(store, key, "keys", "issue", "reader", "--role", "auditor").strip().splitlines()
    reader = next(word for line in issued for word in line.split() if word.startswith("lw_reader_"))
    ok(store, key, "due")  # the timer index caught up, as a running service keeps it
    ok(store, key, "checkpoint", "--out", str(folder / "kept.checkpoint"))
    return (a, b), reader


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    folder = tmp_path_factory.mktemp("tamper")
    key, db, older = folder / "checkpoint-key.pem", folder / "store.sqlite", folder / "older.sqlite"
    ok(str(db), key, "checkpoint", "keygen", "--out", str(key))
    cases, reader = build(str(db), key, folder, older, db)
    return Base(folder, key, folder / "kept.checkpoint", db, older, cases, reader)


@pytest.fixture
def db(base: Base, tmp_path: Path) -> Path:
    return copy_store(base.db, tmp_path / "store.sqlite")


@dataclasses.dataclass
class Seen:
    """What each check said about a store."""

    plain: dict[str, Any]
    plain_exit: int
    checkpoint: str  # "extends" or the one error line
    checkpoint_exit: int
    index: dict[str, Any]
    replay: dict[str, Any]

    def plain_problems(self) -> list[str]:
        return [p for c in self.plain["cases"] for p in c["problems"]] + self.plain["log"] + [p for s in self.plain["snapshots"] for p in s["problems"]]


def look(store: str, base: Base) -> Seen:
    plain = run(store, base.key, "verify", "--json")
    assert plain.returncode in (0, 1) and not plain.stderr, plain.stderr
    proved = run(store, base.key, "verify", "--checkpoint", str(base.checkpoint))
    if proved.returncode == 0 or "log extends the checkpoint" in proved.stdout:
        said = "extends"
    else:
        lines = proved.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), proved.stderr
        said = lines[0]
    indexed = json.loads(run(store, base.key, "verify", "--index", "--json").stdout)["index"]
    replayed = run(store, base.key, "audit", "replay", "--json")
    assert replayed.returncode in (0, 1), replayed.stderr
    return Seen(json.loads(plain.stdout), plain.returncode, said, proved.returncode, indexed, json.loads(replayed.stdout))


def findings(seen: Seen) -> list[tuple[str, int | None, str, str]]:
    return [(f["case"], f["version"], f["event"], f["kind"]) for f in seen.replay["findings"]]


def index_rows(index: dict[str, Any]) -> dict[str, list[tuple[str, str, str]]]:
    return {kind: [(r["case_id"], r["kind"], r["name"]) for r in index[kind]] for kind in ("missing", "extra", "changed")}


NO_INDEX_ROWS: dict[str, list[tuple[str, str, str]]] = {"missing": [], "extra": [], "changed": []}


def case_events(db: Path, case: str) -> list[tuple[Any, ...]]:
    return sql(db, "SELECT rowid, originator_version, topic FROM stored_events WHERE originator_id = ? ORDER BY originator_version", uuid.UUID(case).hex)


def rechain(db: Path, case: str, change: Any) -> None:
    """The careful forger: `change(events)` returns the case's events as they should read; every digest and link is recomputed and written back."""
    engine = open_engine(str(db))
    try:
        events = change(list(engine.events.get(uuid.UUID(case))))
        rewritten, previous = [], "0" * 64
        for version, event in enumerate(events, start=1):
            forged = dataclasses.replace(event, originator_version=version, prev_hash=previous)
            forged = dataclasses.replace(forged, digest=stored_digest(forged))
            rewritten.append(engine.mapper.to_stored_event(forged))
            previous = forged.digest
    finally:
        engine.close()
    stored = {int(v) for _, v, _ in case_events(db, case)}
    for record in rewritten:
        if record.originator_version in stored:
            sql(
                db,
                "UPDATE stored_events SET topic = ?, state = ? WHERE originator_id = ? AND originator_version = ?",
                record.topic,
                record.state,
                uuid.UUID(case).hex,
                record.originator_version,
            )
        else:  # appended: takes the next notification id
            sql(
                db,
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
                uuid.UUID(case).hex,
                record.originator_version,
                record.topic,
                record.state,
            )
    sql(db, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version > ?", uuid.UUID(case).hex, len(rewritten))


# ------------------------------------------------------------------ the untampered store


def test_the_untampered_store_passes_every_check(base: Base, db: Path) -> None:
    seen = look(str(db), base)
    assert (seen.plain_exit, seen.plain["ok"], seen.plain_problems()) == (0, True, [])
    assert [c["events"] for c in seen.plain["cases"]] == [3, 3]
    assert seen.checkpoint == "extends" and seen.checkpoint_exit == 0
    assert seen.index["ok"] and seen.index["rows"] == 2 and index_rows(seen.index) == NO_INDEX_ROWS
    assert seen.replay["ok"] and seen.replay["cases"] == 2


# ------------------------------------------------------------------ the log: deleted, added, edited


def test_last_event_of_a_case_deleted(base: Base, db: Path) -> None:
    a = base.cases[0]
    sql(db, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 3", uuid.UUID(a).hex)  # its TimerArmed
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []  # a shorter chain is still a chain
    assert seen.checkpoint.startswith("error: log truncated")
    assert index_rows(seen.index) == {"missing": [], "extra": [(a, "timer", "notice_ends")], "changed": []}  # a timer no event arms
    assert findings(seen) == [(a, 2, "TimerArmed", "missing")]  # give_notice arms the timer


def test_middle_event_deleted(base: Base, db: Path) -> None:
    a = base.cases[0]
    sql(db, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 2", uuid.UUID(a).hex)
    seen = look(str(db), base)
    assert seen.plain_exit == 1
    assert seen.plain_problems() == ["event 3: event 2 is missing", "event 3: chain broken (prev_hash does not match event 2)"]
    assert seen.checkpoint.startswith("error: log truncated")
    assert seen.index["ok"]  # the timer is still armed by an event
    assert findings(seen) == [(a, 3, "TimerArmed", "unexpected")]  # armed by no command


def test_middle_event_deleted_with_the_chain_recomputed(base: Base, db: Path) -> None:
    a = base.cases[0]
    rechain(db, a, lambda events: [e for e in events if e.originator_version != 2])  # the give_notice transition, gone
    assert [v for _, v, _ in case_events(db, a)] == [1, 2]
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []
    assert seen.checkpoint.startswith("error: log truncated")
    assert seen.index["ok"]
    assert findings(seen) == [(a, 2, "TimerArmed", "unexpected")]  # a timer armed by no command


def test_event_edited_with_the_chain_recomputed(base: Base, db: Path) -> None:
    a = base.cases[0]
    rechain(db, a, lambda events: [dataclasses.replace(e, actor="someone-else") if e.originator_version == 2 else e for e in events])
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []
    assert seen.checkpoint.startswith("error: log rewritten")
    assert seen.index["ok"]
    # Who gave notice is an input of the command, but the timer the same command armed still names the real actor.
    assert findings(seen) == [(a, 3, "TimerArmed", "differs")] and "someone-else" in seen.replay["findings"][0]["message"]


def test_event_appended_with_the_chain_recomputed(base: Base, db: Path) -> None:
    """Legitimate growth to a consistency proof; a transition the machine does not take by hand, to replay."""
    a = base.cases[0]

    def forge(events: list[Any]) -> list[Any]:
        last = events[-1]
        moved = dataclasses.replace(
            events[1],
            trigger="begin_on_site",
            source="notice_given",
            target="on_site",
            data={},
            actor="cli",
            effective_at=last.effective_at + timedelta(hours=1),
        )
        return [*events, moved]

    rechain(db, a, forge)
    assert ok(str(db), base.key, "show", a, "--json").count('"on_site"') == 1  # the forged state is what the store now says
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []
    assert seen.checkpoint == "extends" and seen.checkpoint_exit == 0
    assert seen.index["ok"]
    # The forged first day on site is a week before the day the notice gave: the definition refuses the transition itself.
    assert findings(seen) == [(a, 4, "Transitioned", "unexpected")]


def test_a_whole_case_deleted(base: Base, db: Path) -> None:
    b = base.cases[1]
    sql(db, "DELETE FROM stored_events WHERE originator_id = ?", uuid.UUID(b).hex)
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and [c["case_id"] for c in seen.plain["cases"]] == [base.cases[0]]
    assert seen.checkpoint.startswith("error: log truncated")
    assert index_rows(seen.index) == {"missing": [], "extra": [(b, "timer", "notice_ends")], "changed": []}
    assert seen.replay["ok"] and seen.replay["cases"] == 1


def test_the_events_table_emptied(base: Base, db: Path) -> None:
    sql(db, "DELETE FROM stored_events")
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain["cases"] == [] and seen.plain_problems() == []
    assert seen.checkpoint.startswith("error: log truncated: 0 events now")
    assert not seen.index["ok"] and "beyond the end of the log (0)" in seen.index["problems"][0]
    assert sorted(index_rows(seen.index)["extra"]) == sorted((c, "timer", "notice_ends") for c in base.cases)
    assert seen.replay["ok"] and seen.replay["cases"] == 0


def test_the_store_rolled_back_to_an_older_copy(base: Base, tmp_path: Path) -> None:
    rolled = copy_store(base.older, tmp_path / "store.sqlite")
    seen = look(str(rolled), base)
    assert seen.plain_exit == 0 and [c["case_id"] for c in seen.plain["cases"]] == [base.cases[0]]
    assert seen.checkpoint.startswith("error: log truncated")
    assert seen.index["ok"] and seen.replay["ok"]  # the older copy agrees with itself


def test_a_middle_event_with_one_byte_edited(base: Base, db: Path) -> None:
    a = base.cases[0]
    sql(db, "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), 'HMI Lead', 'HMI Leaf') AS BLOB) WHERE originator_id = ?", uuid.UUID(a).hex)
    seen = look(str(db), base)
    assert seen.plain_exit == 1 and seen.plain_problems() == ["event 2: content altered (digest does not match its fields)"]
    assert seen.checkpoint.startswith("error: log rewritten")
    assert seen.index["ok"] and seen.replay["ok"]


def test_extra_fields_added_to_a_stored_event(base: Base, db: Path) -> None:
    a = base.cases[0]
    sql(
        db,
        'UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), \'"trigger":"give_notice"\', \'"trigger":"give_notice","approved_by":"HMCI"\') AS BLOB) '
        "WHERE originator_id = ? AND originator_version = 2",
        uuid.UUID(a).hex,
    )
    history = json.loads(ok(str(db), base.key, "history", a, "--json"))["events"][1]
    assert "approved_by" not in history["details"] and history["unexpected_fields"] == ["approved_by"]  # flagged, never shown as real
    assert "TAMPERED" in ok(str(db), base.key, "history", a)
    seen = look(str(db), base)
    assert seen.plain_exit == 1 and seen.plain_problems() == ["event 2: fields its type Transitioned does not have: approved_by"]
    assert seen.checkpoint.startswith("error: log rewritten")
    assert seen.index["ok"] and findings(seen) == [(a, 2, "Transitioned", "differs")]


# ------------------------------------------------------------------ outside the log: snapshots, the timer index


def test_a_snapshot_edited(base: Base, db: Path) -> None:
    a = base.cases[0]
    take_snapshot(str(db), a)  # outside the log: taking it after the checkpoint changes no root
    (count,) = sql(db, "SELECT count(*) FROM stored_snapshots WHERE originator_id = ?", uuid.UUID(a).hex)[0]
    assert count == 1
    sql(db, "UPDATE stored_snapshots SET state = CAST(replace(CAST(state AS TEXT), '\"notice_given\"', '\"on_site\"') AS BLOB)")
    shown = json.loads(ok(str(db), base.key, "show", a, "--json"))
    as_of = json.loads(ok(str(db), base.key, "show", a, "--as-of", "2013-06-04", "--json"))
    assert shown["state"] == as_of["state"] == "notice_given"  # the forged snapshot is never what the engine acts on
    refused = run(str(db), base.key, "fire", a, "leave_site", "--at", "2013-06-04")
    assert refused.returncode == 1 and "notice_given" in refused.stderr  # fire sees the real state too
    seen = look(str(db), base)
    assert seen.plain_exit == 1 and sorted(seen.plain_problems()) == [f"snapshot at version 3 disagrees with the events on {f}" for f in ("state", "timers")]
    assert seen.checkpoint_exit == 1 and seen.checkpoint == "extends"  # the log is intact; the plain part reports the snapshot
    assert seen.index["ok"] and seen.replay["ok"]
    repaired = run(str(db), base.key, "verify", "--repair")
    assert repaired.returncode == 1 and f"deleted the snapshot of {a} at version 3" in repaired.stdout
    assert sql(db, "SELECT count(*) FROM stored_snapshots")[0][0] == 0
    assert json.loads(ok(str(db), base.key, "verify", "--json"))["ok"]


def test_rows_deleted_from_the_timer_index(base: Base, db: Path) -> None:
    a, b = base.cases
    sql(db, "DELETE FROM lw_due WHERE case_id = ?", a)
    due = due_cases(str(db), base.key)
    assert a not in due and b in due  # that timer would never fire
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.checkpoint == "extends" and seen.replay["ok"]  # the log is untouched
    assert index_rows(seen.index) == {"missing": [(a, "timer", "notice_ends")], "extra": [], "changed": []}
    repaired = run(str(db), base.key, "verify", "--index", "--repair")
    assert repaired.returncode == 1 and "rebuilt the timer index from the log: 2 rows" in repaired.stdout
    assert a in due_cases(str(db), base.key) and json.loads(ok(str(db), base.key, "verify", "--index", "--json"))["index"]["ok"]


def test_a_timer_index_row_changed(base: Base, db: Path) -> None:
    a = base.cases[0]
    sql(db, "UPDATE lw_due SET due_at = '2030-01-01T00:00:00.000000Z' WHERE case_id = ?", a)
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.checkpoint == "extends"
    assert index_rows(seen.index) == {"missing": [], "extra": [], "changed": [(a, "timer", "notice_ends")]}


# ------------------------------------------------------------------ the key ring


def keyring_state_edit(db: Path, old: str, new: str) -> None:
    sql(db, "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), ?, ?) AS BLOB) WHERE topic LIKE '%KeyIssued'", old, new)


def authenticates(store: str, key: str) -> str | None:
    engine = open_engine(store)
    try:
        return Keys(engine).authenticate(key).role
    except Unauthenticated:
        return None
    finally:
        engine.close()


def test_a_key_role_changed_from_auditor_to_admin(base: Base, db: Path) -> None:
    keyring_state_edit(db, '"role":"auditor"', '"role":"admin"')
    assert authenticates(str(db), base.reader) == "admin"  # the running service cannot tell: only a kept checkpoint can
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []
    assert seen.checkpoint.startswith("error: log rewritten")
    assert seen.index["ok"] and seen.replay["ok"]


def test_an_attackers_key_digest_swapped_in(base: Base, db: Path) -> None:
    keyring_state_edit(db, digest(base.reader), digest(ATTACKER_KEY))
    assert authenticates(str(db), ATTACKER_KEY) == "auditor" and authenticates(str(db), base.reader) is None
    seen = look(str(db), base)
    assert seen.plain_exit == 0 and seen.plain_problems() == []
    assert seen.checkpoint.startswith("error: log rewritten")


def test_a_forged_key_ring_snapshot_is_never_read(base: Base, db: Path) -> None:
    """A snapshot table row is outside the log: before this version it made any key an admin, unseen by any checkpoint."""
    forge_keyring_snapshot(str(db))
    assert authenticates(str(db), ATTACKER_KEY) is None
    seen = look(str(db), base)
    assert seen.plain_exit == 1 and seen.plain_problems() == [
        "snapshot at version 99 claims version 99, but the log holds 2 events of " + str(KEYRING_ID) + " up to it"
    ]
    assert seen.checkpoint == "extends" and seen.checkpoint_exit == 1


def forge_keyring_snapshot(store: str) -> None:
    """Write, as an attacker would, a key-ring snapshot at a high version that makes ATTACKER_KEY an admin."""
    engine = open_engine(store, IS_SNAPSHOTTING_ENABLED="y")
    try:
        assert engine.snapshots is not None
        ring: Any = engine.repository.get(KEYRING_ID)
        ring.keys["reader"] = {**ring.keys["reader"], "role": "admin", "digest": digest(ATTACKER_KEY)}
        from eventsourcing.domain import Snapshot

        snapshot = Snapshot.take(ring)
        engine.snapshots.put([dataclasses.replace(snapshot, originator_version=99)])
    finally:
        engine.close()


# ------------------------------------------------------------------ PostgreSQL: the key ring and snapshots


@pytest.fixture
def postgres(postgres_database: str, tmp_path: Path) -> Iterator[tuple[Base, str]]:
    key = tmp_path / "checkpoint-key.pem"
    ok(postgres_database, key, "checkpoint", "keygen", "--out", str(key))
    cases, reader = build(postgres_database, key, tmp_path)
    yield Base(tmp_path, key, tmp_path / "kept.checkpoint", tmp_path / "unused", tmp_path / "unused", cases, reader), postgres_database


def pg(url: str, statement: str, *params: object) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(statement, params)


def test_postgres_key_role_changed_and_digest_swapped(postgres: tuple[Base, str]) -> None:
    base, url = postgres
    assert look(url, base).plain_exit == 0
    pg(
        url,
        "UPDATE laworkflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), '\"role\":\"auditor\"', '\"role\":\"admin\"'), 'UTF8') WHERE topic LIKE '%%KeyIssued'",
    )
    assert authenticates(url, base.reader) == "admin"
    seen = look(url, base)
    assert seen.plain_exit == 0 and seen.checkpoint.startswith("error: log rewritten")
    pg(
        url,
        "UPDATE laworkflow_events SET state = convert_to(replace(convert_from(state, 'UTF8'), %s, %s), 'UTF8') WHERE topic LIKE '%%KeyIssued'",
        digest(base.reader),
        digest(ATTACKER_KEY),
    )
    assert authenticates(url, ATTACKER_KEY) == "admin" and authenticates(url, base.reader) is None
    assert run(url, base.key, "verify", "--checkpoint", str(base.checkpoint)).stderr.startswith("error: log rewritten")


def test_postgres_snapshots_edited_or_forged(postgres: tuple[Base, str]) -> None:
    base, url = postgres
    a = base.cases[0]
    take_snapshot(url, a)
    pg(url, "UPDATE laworkflow_snapshots SET state = convert_to(replace(convert_from(state, 'UTF8'), '\"notice_given\"', '\"on_site\"'), 'UTF8')")
    forge_keyring_snapshot(url)
    assert authenticates(url, ATTACKER_KEY) is None
    assert json.loads(ok(url, base.key, "show", a, "--json"))["state"] == "notice_given"
    seen = look(url, base)
    assert seen.plain_exit == 1 and sorted(seen.plain_problems()) == sorted(
        [
            "snapshot at version 3 disagrees with the events on state",
            "snapshot at version 3 disagrees with the events on timers",
            f"snapshot at version 99 claims version 99, but the log holds 2 events of {KEYRING_ID} up to it",
        ]
    )
    assert seen.checkpoint == "extends" and seen.index["ok"] and seen.replay["ok"]
    repaired = run(url, base.key, "verify", "--repair")
    assert repaired.returncode == 1 and repaired.stdout.count("deleted the snapshot") == 2
    assert json.loads(ok(url, base.key, "verify", "--json"))["ok"]


def test_a_rebuilt_index_keeps_the_outbox_and_other_positions_and_resends_nothing(tmp_path: Path, base: Base) -> None:
    """index rebuild: reset keeps the outbox and the reactions position; reminders already sent are not due again."""
    db = copy_store(base.db, tmp_path / "store.sqlite")
    ok(str(db), base.key, "simulate", "--until", "2013-06-11")  # the notice timer fires: a notification in the outbox
    before_outbox = sql(db, "SELECT id, delivered_at FROM lw_outbox ORDER BY id")
    sql(db, "UPDATE lw_outbox SET delivered_at = '2013-06-11T00:00:00Z'")
    positions = dict(sql(db, "SELECT name, position FROM lw_tracking"))
    rows = sql(db, "SELECT case_id, kind, name, due_at FROM lw_due ORDER BY 1, 2, 3")
    out = ok(str(db), base.key, "index", "rebuild")
    assert out.strip() == f"timer index rebuilt from the log: {len(rows)} rows"
    assert sql(db, "SELECT case_id, kind, name, due_at FROM lw_due ORDER BY 1, 2, 3") == rows
    assert dict(sql(db, "SELECT name, position FROM lw_tracking")) == positions
    after = sql(db, "SELECT id, delivered_at FROM lw_outbox ORDER BY id")
    assert [i for i, _ in after] == [i for i, _ in before_outbox] and all(d is not None for _, d in after)  # nothing new, nothing to send again
    assert len(before_outbox) >= 2


def test_verify_with_index_over_http(base: Base, db: Path) -> None:
    from fastapi.testclient import TestClient

    from laworkflow.http.app import create_app

    sql(db, "DELETE FROM lw_due WHERE case_id = ?", base.cases[0])
    engine = open_engine(str(db))
    try:
        admin = Keys(engine).issue("boss", "admin", by="test")
        with TestClient(create_app(engine)) as client:
            plain = client.get("/v1/verify", headers={"X-API-Key": admin}).json()
            indexed = client.get("/v1/verify", params={"index": "true"}, headers={"X-API-Key": admin}).json()
    finally:
        engine.close()
    assert plain["ok"] and plain["index"] is None and plain["snapshots"] == [] and plain["log"] == []
    assert not indexed["ok"] and [(r["case_id"], r["name"]) for r in indexed["index"]["missing"]] == [(base.cases[0], "notice_ends")]


def test_memory_reset_keeps_other_positions() -> None:
    from laworkflow.projections.backends import MemoryDueStore

    store = MemoryDueStore()
    store.set_position("reactions", 7)
    store.set_position("due-index", 9)
    store.enqueue([{"id": "n1"}])
    store.reset()
    assert (store.position("reactions"), store.position(), [n["id"] for n in store.outbox()]) == (7, 0, ["n1"])
