"""One log, one tree (issue 9, item 1): signed checkpoints and `verify --checkpoint` against a tampered SQLite file.

The tampering is done the way an attacker with write access to the database
would: with sqlite3, straight on the store file. Each test also asserts what
plain `verify` (the per-case chains) says, to document what a kept checkpoint adds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from laworkflow import Catalog
from laworkflow.cases.case import stored_digest
from laworkflow.engine import Engine
from laworkflow.store import store_env
from sqlite_files import copy_store, sql

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
WORKFLOW = "ofsted-laassi@1"
START = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2024-03-11", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}


def _env(key: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}
    env["LAWORKFLOW_CHECKPOINT_KEY"] = str(key)
    return env


def cli(db: Path, key: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(key), cwd=db.parent, timeout=120)


def ok(db: Path, key: Path, *args: str) -> str:
    run = cli(db, key, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def start_case(db: Path, key: Path) -> str:
    started = json.loads(ok(db, key, "start", WORKFLOW, "--data", json.dumps(START), "--at", "2024-03-04T09:00", "--json"))
    ok(db, key, "fire", started["id"], "give_notice", "--data", json.dumps(NOTICE), "--at", "2024-03-04T10:00")
    return str(started["id"])


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """A store with two cases and an auditor key, its signed checkpoint, and an older copy of the store."""
    folder = tmp_path_factory.mktemp("audit")
    key, db = folder / "checkpoint-key.pem", folder / "store.sqlite"
    ok(db, key, "checkpoint", "keygen", "--out", str(key))
    assert key.stat().st_mode & 0o777 == 0o600
    start_case(db, key)
    older = copy_store(db, folder / "older.sqlite")
    start_case(db, key)
    ok(db, key, "keys", "issue", "reader", "--role", "auditor")
    ok(db, key, "checkpoint", "--out", str(folder / "kept.checkpoint"))
    return db, key, folder / "kept.checkpoint", older


@pytest.fixture
def store(kept: tuple[Path, Path, Path, Path], tmp_path: Path) -> Path:
    return copy_store(kept[0], tmp_path / "store.sqlite")


def case_rows(db: Path) -> list[tuple[object, ...]]:
    return sql(db, "SELECT rowid, originator_id, originator_version FROM stored_events WHERE topic LIKE 'laworkflow.cases.case:%' ORDER BY rowid")


def caught(db: Path, kept: tuple[Path, Path, Path, Path], *plain_says: str) -> str:
    """`verify --checkpoint` fails with one line; returns it. Plain `verify` exits 0 unless `plain_says` (then 1, with that text)."""
    _, key, checkpoint, _ = kept
    plain = cli(db, key, "verify")
    if plain_says:
        assert plain.returncode == 1, plain.stdout + plain.stderr
        assert all(s in plain.stdout for s in plain_says), plain.stdout
    else:
        assert plain.returncode == 0, plain.stdout + plain.stderr
    proved = cli(db, key, "verify", "--checkpoint", str(checkpoint))
    assert proved.returncode == 1, proved.stdout + proved.stderr
    lines = proved.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), proved.stderr
    return lines[0]


def test_the_untampered_store_extends_its_checkpoint_after_more_events(kept: tuple[Path, Path, Path, Path], store: Path, tmp_path: Path) -> None:
    _, key, checkpoint, _ = kept
    start_case(store, key)  # consistency, not equality: the log grew since the checkpoint
    public = tmp_path / "public.pem"
    ok(store, key, "checkpoint", "public-key", "--out", str(public))
    out = ok(store, tmp_path / "no-private-key.pem", "verify", "--checkpoint", str(checkpoint), "--public-key", str(public))
    assert "log extends the checkpoint" in out
    document = json.loads(ok(store, key, "verify", "--checkpoint", str(checkpoint), "--json"))
    assert document["checkpoint"]["now"]["size"] > document["checkpoint"]["kept"]["size"]


def test_the_checkpoint_is_a_signed_note(kept: tuple[Path, Path, Path, Path]) -> None:
    origin, size, root, blank, signature = kept[2].read_text(encoding="utf-8").split("\n")[:5]
    assert (origin, blank) == ("laworkflow", "") and int(size) == len(sql(kept[0], "SELECT rowid FROM stored_events"))
    assert len(root) == 44 and signature.startswith("\u2014 laworkflow ")


def test_deleting_the_last_event_of_a_case_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    _, case, version = max(case_rows(store), key=lambda r: (str(r[1]), int(str(r[2]))))
    sql(store, "DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?", case, version)
    assert "log truncated" in caught(store, kept)  # plain verify: the shorter chain is still a valid chain


def test_deleting_a_middle_event_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    rowid = case_rows(store)[1][0]
    sql(store, "DELETE FROM stored_events WHERE rowid = ?", rowid)
    assert "log truncated" in caught(store, kept, "FAIL", "chain broken")


def test_editing_one_byte_of_a_stored_event_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    rowid = case_rows(store)[0][0]
    sql(store, "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), 'Kent', 'Kenu') AS BLOB) WHERE rowid = ?", rowid)
    assert "log rewritten" in caught(store, kept, "FAIL", "content altered")


def test_changing_a_key_role_in_the_key_ring_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    sql(
        store,
        'UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), \'"role":"auditor"\', \'"role":"admin"\') AS BLOB) WHERE topic LIKE \'%KeyIssued\'',
    )
    assert "log rewritten" in caught(store, kept)  # plain verify: every case chain is fine, the ring is in none


def test_truncating_the_log_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    sql(store, "DELETE FROM stored_events")
    assert "log truncated: 0 events now" in caught(store, kept)


def test_rolling_the_store_back_to_an_older_copy_is_caught(kept: tuple[Path, Path, Path, Path], tmp_path: Path) -> None:
    rolled_back = copy_store(kept[3], tmp_path / "store.sqlite")
    assert "log truncated" in caught(rolled_back, kept)


def test_a_checkpoint_with_a_bad_signature_is_refused(kept: tuple[Path, Path, Path, Path], store: Path, tmp_path: Path) -> None:
    origin, size, *rest = kept[2].read_text(encoding="utf-8").split("\n")
    forged = tmp_path / "forged.checkpoint"
    forged.write_text("\n".join([origin, str(int(size) - 1), *rest]), encoding="utf-8")
    run = cli(store, kept[1], "verify", "--checkpoint", str(forged))
    assert run.returncode == 1 and run.stderr.strip().count("\n") == 0
    assert "signature" in run.stderr and "does not verify" in run.stderr


def rewrite_with_chain_recomputed(db: Path, case: str) -> None:
    """The careful forger: change who acted on a case's first event, then recompute every digest and link after it."""
    engine = Engine(Catalog.from_directory(WORKFLOWS), env=store_env(str(db)))
    try:
        rewritten, previous = [], "0" * 64
        for event in engine.events.get(uuid.UUID(case)):
            changes: dict[str, object] = {"prev_hash": previous}
            if event.originator_version == 1:
                changes["actor"] = "someone-else"
            forged = dataclasses.replace(event, **changes)
            forged = dataclasses.replace(forged, digest=stored_digest(forged))
            rewritten.append(engine.mapper.to_stored_event(forged))
            previous = forged.digest
    finally:
        engine.close()
    for stored in rewritten:
        sql(
            db,
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            stored.state,
            stored.originator_id.hex,
            stored.originator_version,
        )


def test_an_event_edited_with_its_chain_recomputed_is_caught(kept: tuple[Path, Path, Path, Path], store: Path) -> None:
    case = str(uuid.UUID(str(case_rows(store)[0][1])))
    rewrite_with_chain_recomputed(store, case)
    assert "someone-else" in ok(store, kept[1], "history", case)
    assert "log rewritten" in caught(store, kept)  # plain verify: the forged chain is a valid chain


def test_checkpoint_json_and_its_refusals(kept: tuple[Path, Path, Path, Path], store: Path, tmp_path: Path) -> None:
    document = json.loads(ok(store, kept[1], "checkpoint", "--json"))
    assert document["size"] == len(sql(store, "SELECT rowid FROM stored_events")) and document["note"].startswith("laworkflow\n")
    missing = cli(store, tmp_path / "no-such-key.pem", "checkpoint")
    assert missing.returncode == 1 and missing.stderr.startswith("error:") and missing.stderr.count("\n") == 1
    again = cli(store, kept[1], "checkpoint", "keygen", "--out", str(kept[1]))
    assert again.returncode == 1 and "cannot create" in again.stderr  # never overwrites a key
