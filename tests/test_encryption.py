"""Encryption at rest (issue 9, item 7): eventsourcing's AES-GCM cipher switched on by LAWORKFLOW_CIPHER_KEY.

On a real SQLite file and the real PostgreSQL: the stored bytes hold none of the
case data, while the commands work with the key; a store and a key that do not
go together are one line, exit 1, and the store is left byte for byte as it was;
the audit tree covers the plaintext, so checkpoints verify the same. The
plaintext is recovered here by hand (AES-GCM with the `cryptography` package, as
the README documents the stored format) and the leaves recomputed by hand, so
nothing expected comes from the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from laworkflow import Catalog
from laworkflow.audit.leaves import log_leaves
from laworkflow.audit.merkle import root
from laworkflow.engine import Engine
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
AUTHORITY = "Northumberland"
INSPECTOR = "Henrietta Quillfeather"
START = {"authority": AUTHORITY, "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2024-03-11", "lead_inspector": INSPECTOR, "inspectors": ["Bartholomew Oakenshield"]}
SECRETS = (AUTHORITY.encode(), INSPECTOR.encode(), b"Bartholomew Oakenshield", b"attainment_below_national")
_CLEARED = ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS", "LAWORKFLOW_CIPHER_KEY", "LAWORKFLOW_CIPHER_KEY_FILE", "CIPHER_KEY", "CIPHER_TOPIC")


def cli(store: str, *args: str, key: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    if key is not None:
        env["LAWORKFLOW_CIPHER_KEY"] = key
    env.update(extra)
    command = [sys.executable, "-m", "laworkflow.cli", "--store", store, "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def ok(store: str, *args: str, key: str | None = None, **extra: str) -> str:
    run = cli(store, *args, key=key, **extra)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def refused(store: str, *args: str, key: str | None = None, says: str, **extra: str) -> str:
    """One line on stderr starting `error:` and saying `says`, exit 1, no traceback, and never the key."""
    run = cli(store, "--log-level", "debug", *args, key=key, **extra)
    assert run.returncode == 1, run.stdout + run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and says in lines[0], run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""
    if key:
        assert key not in run.stderr and key.rstrip("=") not in run.stderr
    return lines[0]


def new_key(size: int = 32) -> str:
    key = ok("memory:", "encryption", "keygen", "--bytes", str(size)).strip()
    assert len(base64.b64decode(key, validate=True)) == size
    return key


def fill(store: str, key: str | None, api_key: str = "auditor-jane") -> str:
    """A case with an authority and inspectors, and an API key: what an attacker with the database would want."""
    started = json.loads(ok(store, "start", "ofsted-laassi@1", "--data", json.dumps(START), "--at", "2024-03-04T09:00", "--json", key=key))
    ok(store, "fire", started["id"], "give_notice", "--data", json.dumps(NOTICE), "--at", "2024-03-04T10:00", key=key)
    ok(store, "keys", "issue", api_key, "--role", "auditor", key=key)
    return str(started["id"])


def file_bytes(db: Path) -> bytes:
    """The SQLite file and whatever journal lies beside it."""
    return b"".join(p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")))


def sqlite_states(db: Path) -> list[tuple[int, str, int, str, bytes]]:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid").fetchall()


def decrypt(key: str, state: bytes) -> bytes:
    """The stored format, by hand: 12-byte nonce, 16-byte tag, then the ciphertext (AES-GCM, no associated data)."""
    return AESGCM(base64.b64decode(key)).decrypt(state[:12], state[28:] + state[12:28], None)


def leaf(notification_id: int, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The README's leaf recipe, by hand: five length-prefixed fields, then SHA-256 with the 0x00 prefix."""
    fields = [str(notification_id).encode(), str(uuid.UUID(str(originator_id))).encode(), str(version).encode(), topic.encode(), state]
    return hashlib.sha256(b"\x00" + b"".join(len(f).to_bytes(8, "big") + f for f in fields)).digest()


# ---------------------------------------------------------------------- SQLite


def test_an_encrypted_sqlite_file_holds_no_case_data_and_every_command_works_with_the_key(tmp_path: Path) -> None:
    key, db = new_key(), tmp_path / "enc.sqlite"
    case = fill(str(db), key)
    raw = file_bytes(db)
    assert not [s for s in SECRETS if s in raw]
    assert all(not state.startswith(b"{") and AUTHORITY.encode() in decrypt(key, state) for *_, state in sqlite_states(db)[:1])

    assert AUTHORITY in ok(str(db), "show", case, "--json", key=key)
    assert INSPECTOR in ok(str(db), "history", case, "--json", key=key)
    assert "ok " in ok(str(db), "verify", key=key)
    assert "auditor-jane" in ok(str(db), "keys", "list", key=key)
    due = json.loads(ok(str(db), "due", "--json", key=key))["items"]
    assert due and all(item["case_id"] == case for item in due)
    ok(str(db), "simulate", "--what-if", "--until", "2024-04-30", key=key)  # the what-if copy reads the encrypted events
    assert "encrypted at rest" in ok(str(db), "encryption", "check", key=key)


def test_the_same_scenario_without_a_key_leaves_the_data_readable_in_the_file(tmp_path: Path) -> None:
    """The control: the check above would see the names if they were stored in clear."""
    db = tmp_path / "plain.sqlite"
    fill(str(db), None)
    raw = file_bytes(db)
    assert all(s in raw for s in SECRETS[:2])
    assert "not encrypted" in ok(str(db), "encryption", "check")


def test_a_key_file_works_like_the_variable_and_keygen_writes_it_private(tmp_path: Path) -> None:
    key_file, db = tmp_path / "store.key", tmp_path / "enc.sqlite"
    ok("memory:", "encryption", "keygen", "--out", str(key_file))
    assert key_file.stat().st_mode & 0o777 == 0o600
    key = key_file.read_text().strip()
    case = fill(str(db), key)
    assert AUTHORITY in ok(str(db), "show", case, "--json", LAWORKFLOW_CIPHER_KEY_FILE=str(key_file))
    again = cli("memory:", "encryption", "keygen", "--out", str(key_file))
    assert again.returncode == 1 and again.stderr.startswith("error:") and key_file.read_text().strip() == key


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, Path]:
    """An encrypted store and its key; and a plaintext store (and a checkpoint signing key beside them)."""
    folder = tmp_path_factory.mktemp("stores")
    key, enc, plain = new_key(), folder / "enc.sqlite", folder / "plain.sqlite"
    ok("memory:", "checkpoint", "keygen", "--out", str(folder / "signing.pem"))
    fill(str(enc), key)
    fill(str(plain), None)
    return enc, key, plain


def unchanged_after(db: Path, run: Callable[[], object]) -> None:
    """`run`, then the store's files (and journal) are byte for byte what they were."""
    before = {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}
    run()
    assert {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")} == before


WRITE = ("start", "ofsted-laassi@1", "--data", json.dumps(START), "--at", "2024-05-01T09:00")


@pytest.mark.parametrize("command", [WRITE, ("due",), ("keys", "issue", "intruder", "--role", "admin"), ("checkpoint", "--out")], ids=lambda c: c[0])
def test_an_encrypted_store_without_the_key_is_refused_and_left_as_it_was(encrypted: tuple[Path, str, Path], command: tuple[str, ...], tmp_path: Path) -> None:
    enc, _, _ = encrypted
    command = (*command, str(tmp_path / "x.checkpoint")) if command[0] == "checkpoint" else command
    unchanged_after(enc, lambda: refused(str(enc), *command, says="encrypted", LAWORKFLOW_CHECKPOINT_KEY=str(enc.parent / "signing.pem")))
    assert not (tmp_path / "x.checkpoint").exists()


def test_an_encrypted_store_with_another_key_is_refused_and_left_as_it_was(encrypted: tuple[Path, str, Path]) -> None:
    enc, _, _ = encrypted
    other = new_key()
    unchanged_after(enc, lambda: refused(str(enc), *WRITE, key=other, says="does not decrypt"))
    unchanged_after(enc, lambda: refused(str(enc), "show", "0", key=new_key(16), says="does not decrypt"))


def test_a_plaintext_store_opened_with_a_key_is_refused_and_left_as_it_was(encrypted: tuple[Path, str, Path]) -> None:
    _, key, plain = encrypted
    unchanged_after(plain, lambda: refused(str(plain), *WRITE, key=key, says="not encrypted"))


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("not base64 at all!", "not a base64 AES key"),
        (base64.b64encode(b"0123456789").decode(), "decodes to 10 bytes"),
        (base64.b64encode(os.urandom(33)).decode(), "decodes to 33 bytes"),
        (base64.b64encode(os.urandom(32)).decode()[:-2] + "*=", "not a base64 AES key"),
    ],
    ids=["text", "10-bytes", "33-bytes", "stray-character"],
)
def test_a_key_that_cannot_be_an_aes_key_is_refused_before_any_store_is_touched(encrypted: tuple[Path, str, Path], tmp_path: Path, bad: str, says: str) -> None:
    enc, _, _ = encrypted
    unchanged_after(enc, lambda: refused(str(enc), *WRITE, key=bad, says=says))
    new = tmp_path / "new.sqlite"
    refused(str(new), *WRITE, key=bad, says=says)
    assert not list(tmp_path.glob("new.sqlite*"))  # not even an empty store was created


def test_serve_refuses_an_encrypted_store_without_its_key_at_start(encrypted: tuple[Path, str, Path]) -> None:
    enc, _, _ = encrypted
    unchanged_after(enc, lambda: refused(str(enc), "serve", "--no-http", says="encrypted"))


def test_both_the_key_and_a_key_file_at_once_is_refused(encrypted: tuple[Path, str, Path], tmp_path: Path) -> None:
    enc, key, _ = encrypted
    key_file = tmp_path / "k"
    key_file.write_text(key)
    unchanged_after(enc, lambda: refused(str(enc), *WRITE, key=key, says="set one of them", LAWORKFLOW_CIPHER_KEY_FILE=str(key_file)))
    unchanged_after(enc, lambda: refused(str(enc), *WRITE, says="cannot read the cipher key file", LAWORKFLOW_CIPHER_KEY_FILE=str(tmp_path / "absent")))


# ------------------------------------------------------------------ audit tree


def test_checkpoint_and_verify_checkpoint_work_on_an_encrypted_store(tmp_path: Path) -> None:
    key, db, signing = new_key(), tmp_path / "enc.sqlite", tmp_path / "checkpoint.pem"
    fill(str(db), key)
    ok(str(db), "checkpoint", "keygen", "--out", str(signing))
    ok(str(db), "checkpoint", "--out", str(tmp_path / "kept.checkpoint"), key=key, LAWORKFLOW_CHECKPOINT_KEY=str(signing))
    fill(str(db), key, api_key="auditor-john")
    out = ok(str(db), "verify", "--checkpoint", str(tmp_path / "kept.checkpoint"), key=key, LAWORKFLOW_CHECKPOINT_KEY=str(signing))
    assert "log extends the checkpoint" in out
    # the kept root is the tree of the first events' plaintext, recomputed here by hand
    size, kept_root = (tmp_path / "kept.checkpoint").read_text().split("\n")[1:3]
    rows = sqlite_states(db)[: int(size)]
    assert base64.b64decode(kept_root) == root([leaf(i, o, v, t, decrypt(key, s)) for i, o, v, t, s in rows])


def test_the_leaves_of_an_encrypted_store_are_those_of_the_plaintext_json(tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    key, db = new_key(), tmp_path / "enc.sqlite"
    fill(str(db), key)
    monkeypatch.setenv("LAWORKFLOW_CIPHER_KEY", key)
    engine = Engine(catalog, env=store_env(str(db)))
    try:
        assert engine.mapper.cipher is not None
        leaves = log_leaves(engine.recorder, engine.mapper)
        # the plaintext the mapper's transcoder produces for each decoded event, as a mapper without a cipher stores it
        notifications = engine.recorder.select_notifications(1, 1000)
        events = [engine.mapper.to_domain_event(n) for n in notifications]
        engine.mapper.cipher = None
        plain = [engine.mapper.to_stored_event(e) for e in events]
    finally:
        engine.close()
    expected = [leaf(n.id, p.originator_id, p.originator_version, p.topic, p.state) for n, p in zip(notifications, plain, strict=True)]
    assert leaves == expected and len(leaves) == len(sqlite_states(db))
    by_hand = [leaf(i, o, v, t, decrypt(key, s)) for i, o, v, t, s in sqlite_states(db)]
    assert leaves == by_hand
    assert all(json.loads(p.state) for p in plain)


# ----------------------------------------------------------------- PostgreSQL


def _pg(store: str, statement: str) -> list[tuple[object, ...]]:
    import psycopg

    with psycopg.connect(store, autocommit=True) as connection:
        return connection.execute(statement).fetchall()


def pg_snapshot(store: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, as stored (bytea as bytes)."""
    tables = [row[0] for row in _pg(store, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    return {str(t): sorted(_pg(store, f'SELECT * FROM "{t}"'), key=repr) for t in tables}


def _contains(value: object, secret: bytes) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return secret in bytes(value)
    return secret.decode() in str(value)


def test_postgresql_rows_hold_no_case_data_the_key_reads_them_and_mismatches_are_refused(postgres_database: str) -> None:
    key = new_key()
    case = fill(postgres_database, key)
    rows = pg_snapshot(postgres_database)
    assert any(t.endswith("_events") for t in rows) and any(rows.values())
    assert not [(t, s) for t, table in rows.items() for row in table for value in row for s in SECRETS if _contains(value, s)]
    assert AUTHORITY in ok(postgres_database, "show", case, "--json", key=key)
    assert INSPECTOR in ok(postgres_database, "history", case, "--json", key=key)
    assert "ok " in ok(postgres_database, "verify", key=key)
    assert "auditor-jane" in ok(postgres_database, "keys", "list", key=key)

    before = pg_snapshot(postgres_database)
    refused(postgres_database, *WRITE, says="encrypted")
    refused(postgres_database, *WRITE, key=new_key(), says="does not decrypt")
    refused(postgres_database, *WRITE, key="%%%", says="not a base64 AES key")
    assert pg_snapshot(postgres_database) == before


def test_a_plaintext_postgresql_store_opened_with_a_key_is_refused_and_unchanged(postgres_database: str) -> None:
    fill(postgres_database, None)
    rows = pg_snapshot(postgres_database)
    assert any(_contains(v, AUTHORITY.encode()) for table in rows.values() for row in table for v in row)  # the control
    refused(postgres_database, *WRITE, key=new_key(), says="not encrypted")
    assert pg_snapshot(postgres_database) == rows
