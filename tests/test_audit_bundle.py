"""Export, offline verification and import (issue 9, item 3), on real SQLite files and PostgreSQL, through the real CLI.

A store with two Ofsted inspections (Kent, Surrey), an Estyn inspection whose
publication started a linked follow-up case (a child), and an API key is
exported; `laworkflow audit verify` and the standard-library script
`scripts/verify_bundle.py` (run with `python -I -S`, so it cannot see the
venv's packages) must print the same lines and exit the same; tampered
bundles are reported by both; imports into empty stores give the same
leaves, root, histories, views and due items; refusals leave the target as it was.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from laworkflow import Catalog
from laworkflow.audit import bundle as bundle_format
from laworkflow.audit import merkle, offline
from laworkflow.audit.bundle import BundleError
from laworkflow.audit.export import Selection, export
from laworkflow.audit.leaves import log_entries
from laworkflow.audit.verify import verify as verify_store
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.engine import Engine
from laworkflow.errors import InvalidData
from laworkflow.keys import Keys
from laworkflow.store import store_env
from scenarios.test_estyn_follow_up import published_with_concern

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
SCRIPT = REPO / "scripts" / "verify_bundle.py"
KENT = {"authority": "Kent", "concerns": ["attainment_below_national"]}
SURREY = {"authority": "Surrey", "concerns": ["progress_below_national"]}
NOTICE = {"on_site_start": "2024-03-11", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}


def _env(key: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    if key is not None:
        env["LAWORKFLOW_CHECKPOINT_KEY"] = str(key)
    return env


def cli(store: str, *args: str, key: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "laworkflow.cli", "--store", store, "--workflows", str(WORKFLOWS), *args]
    return subprocess.run(command, capture_output=True, text=True, env=_env(key), cwd=cwd, timeout=120)


def script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The stand-alone verifier: isolated (-I) and without site-packages (-S), from a folder outside the project."""
    return subprocess.run([sys.executable, "-I", "-S", str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def both(bundle: Path, *args: str, command: bool = True) -> tuple[int, str]:
    """Run both verifiers; they must agree on exit status and every line printed. Returns (status, stdout).

    `command=False` checks the library's report (`offline.verify`, the lines `audit verify` prints) in
    this process instead of through the command, to keep the suite quick; the command runs elsewhere.
    """
    theirs = script(str(bundle), *args, cwd=bundle.parent)
    assert "Traceback" not in theirs.stderr
    if command:
        ours = cli("memory:", "audit", "verify", str(bundle), *args, cwd=bundle.parent)
        assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), ours.stderr + theirs.stderr
        return ours.returncode, ours.stdout
    key = Path(args[1]).read_bytes() if args else None
    report = offline.verify(bundle_format.read(bundle), key)
    assert (0 if report.ok else 1, "\n".join(report.lines()) + "\n", "") == (theirs.returncode, theirs.stdout, theirs.stderr)
    return theirs.returncode, theirs.stdout


def members_of(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(members: dict[str, bytes], out: Path, *, fix_manifest: bool = True) -> Path:
    """A bundle rewritten as an attacker would: members changed and, unless told not to, the manifest's digests recomputed."""
    members = dict(members)
    if fix_manifest:
        manifest = json.loads(members["manifest.json"])
        manifest["members"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items() if name != "manifest.json"}
        members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    out.write_bytes(buffer.getvalue())
    return out


def lines_of(members: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in members["events.jsonl"].splitlines()]


def with_lines(members: dict[str, bytes], lines: list[dict[str, Any]]) -> dict[str, bytes]:
    return {**members, "events.jsonl": b"".join(json.dumps(line).encode() + b"\n" for line in lines)}


def db_rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        return [(table, *row) for table in tables for row in connection.execute(f"SELECT * FROM {table} ORDER BY 1")]


# ------------------------------------------------------------------------------------------------ the record


class Record:
    def __init__(self, folder: Path, db: Path, key: Path, cases: dict[str, str], bundle: Path, unsigned: Path):
        self.folder, self.db, self.key, self.cases, self.bundle, self.unsigned = folder, db, key, cases, bundle, unsigned


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Record:
    folder = tmp_path_factory.mktemp("bundle")
    db, key = folder / "store.sqlite", folder / "checkpoint-key.pem"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2022-06-01T08:00"), env=store_env(str(db)))
    try:
        inspection, follow_up = published_with_concern(engine)
        kent = engine.start("ofsted-laassi", KENT, version=1, actor="hmi", at="2024-03-04T09:00")
        engine.fire(kent, "give_notice", NOTICE, actor="hmi", at="2024-03-04T10:00")
        surrey = engine.start("ofsted-laassi", SURREY, version=1, actor="hmi", at="2024-05-01T09:00")
        Keys(engine).issue("reader", "auditor", by="admin")
        cases = {"inspection": str(inspection), "follow_up": str(follow_up), "kent": str(kent), "surrey": str(surrey)}
    finally:
        engine.close()
    bundle, unsigned = folder / "record.zip", folder / "unsigned.zip"
    run = cli(str(db), "export", "--out", str(bundle), key=key)
    assert run.returncode == 0, run.stderr
    assert "complete bundle" in run.stdout and "signed checkpoint" in run.stdout
    run = cli(str(db), "export", "--out", str(unsigned), "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["events"] > 0  # --json: one JSON document (the bundle's path as text)
    return Record(folder, db, key, cases, bundle, unsigned)


def public_key(record: Record) -> Path:
    path = record.folder / "operator.pub.pem"
    if not path.exists():
        key = serialization.load_pem_private_key(record.key.read_bytes(), password=None)
        path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


# ------------------------------------------------------------------------------------------------ export and verify


def test_a_complete_bundle_holds_the_whole_log_and_both_verifiers_accept_it(record: Record) -> None:
    members = members_of(record.bundle)
    assert list(members)[:4] == ["manifest.json", "events.jsonl", "checkpoint", "checkpoint.pub.pem"]
    with zipfile.ZipFile(record.bundle) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    engine = Engine(Catalog.from_directory(WORKFLOWS), env=store_env(str(record.db)))
    try:
        entries = list(log_entries(engine.recorder, engine.mapper))
        histories = {name: engine.history(cid) for name, cid in record.cases.items()}
    finally:
        engine.close()
    lines, manifest = lines_of(members), json.loads(members["manifest.json"])
    assert [(line["notification_id"], line["originator_id"], line["version"], line["topic"]) for line in lines] == [
        (e.notification_id, str(e.originator_id), e.version, e.topic) for e in entries
    ]
    assert [base64.b64decode(line["state"]) for line in lines] == [e.state for e in entries]
    assert [line["leaf_hash"] for line in lines] == [e.leaf().hex() for e in entries]
    assert manifest["tree"]["size"] == len(entries) and manifest["tree"]["root"] == merkle.root([e.leaf() for e in entries]).hex()
    assert manifest["complete"] is True and manifest["signed"] is True
    assert {c["id"]: (c["events"], c["head"]) for c in manifest["cases"]} == {
        cid: (len(histories[name]), histories[name][-1].digest) for name, cid in record.cases.items()
    }
    assert {line["originator_id"]: line["digest"] for line in lines if line["digest"]} == {
        cid: histories[name][-1].digest for name, cid in record.cases.items()
    }
    assert sorted(manifest["definitions"].values()) == ["estyn-follow-up@1", "estyn-lges@1", "ofsted-laassi@1"]
    for content_hash in manifest["definitions"]:
        assert hashlib.sha256(members[f"definitions/{content_hash}.json"]).hexdigest() == content_hash
    assert members["events.jsonl"].splitlines()[0] == json.dumps(lines[0], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    status, out = both(record.bundle)
    assert status == 0 and out.startswith(f"bundle OK: {len(entries)} events, 4 cases, 3 definitions; complete bundle")
    assert "the bundle's own key" in out
    status, out = both(record.bundle, "--public-key", str(public_key(record)))
    assert status == 0 and "(the given public key)" in out


def test_the_same_log_exports_to_the_same_bytes(record: Record) -> None:
    again = record.folder / "again.zip"
    assert cli(str(record.db), "export", "--out", str(again), key=record.key).returncode == 0
    assert again.read_bytes() == record.bundle.read_bytes()


def test_an_unsigned_bundle_says_what_it_cannot_prove(record: Record) -> None:
    manifest = json.loads(members_of(record.unsigned)["manifest.json"])
    assert manifest["signed"] is False and "checkpoint.pub.pem" not in members_of(record.unsigned)
    status, out = both(record.unsigned)
    assert status == 0 and "checkpoint unsigned: this proves the bundle's internal consistency only, not who vouches for the root" in out
    status, out = both(record.unsigned, "--public-key", str(public_key(record)))
    assert status == 1 and "problem: checkpoint: not signed, but a public key was given to check it with" in out


# ------------------------------------------------------------------------------------------------ tampering


def _state_byte(members: dict[str, bytes]) -> dict[str, bytes]:
    lines = lines_of(members)
    state = bytearray(base64.b64decode(lines[3]["state"]))
    state[state.index(b"estyn")] = ord("E")
    lines[3]["state"] = base64.b64encode(bytes(state)).decode()
    return with_lines(members, lines)


def _line_removed(members: dict[str, bytes]) -> dict[str, bytes]:
    lines = lines_of(members)
    return with_lines(members, lines[:5] + lines[6:])


def _lines_swapped(members: dict[str, bytes]) -> dict[str, bytes]:
    lines = lines_of(members)
    lines[4], lines[5] = lines[5], lines[4]
    return with_lines(members, lines)


def _proof_forged(members: dict[str, bytes]) -> dict[str, bytes]:
    lines = lines_of(members)
    lines[2]["proof"][0] = "00" * 32
    return with_lines(members, lines)


def _definition_edited(members: dict[str, bytes]) -> dict[str, bytes]:
    name = next(n for n in members if n.startswith("definitions/"))
    return {**members, name: members[name].replace(b'"title":"', b'"title":"Revised ', 1)}


def _definition_replaced(members: dict[str, bytes]) -> dict[str, bytes]:
    """An edited definition under the hash of its new content: then no case's pin finds it."""
    name = next(n for n in members if n.startswith("definitions/"))
    content = members[name].replace(b'"title":"', b'"title":"Revised ', 1)
    rest = {n: d for n, d in members.items() if n != name}
    return {**rest, f"definitions/{hashlib.sha256(content).hexdigest()}.json": content}


def _checkpoint_altered(members: dict[str, bytes]) -> dict[str, bytes]:
    origin, size, rest = members["checkpoint"].decode().split("\n", 2)
    return {**members, "checkpoint": f"{origin}\n{int(size) - 1}\n{rest}".encode()}


def _resigned(members: dict[str, bytes]) -> dict[str, bytes]:
    """The attacker's own key: a truncated log's checkpoint signed and their public key put in the bundle."""
    lines = lines_of(members)[:-1]
    for index, proof in enumerate(merkle.inclusion_proofs([bytes.fromhex(line["leaf_hash"]) for line in lines])[1]):
        lines[index]["proof"] = [p.hex() for p in proof]
    from laworkflow.audit import checkpoint

    key = Ed25519PrivateKey.generate()
    head = checkpoint.Checkpoint("laworkflow", len(lines), merkle.root([bytes.fromhex(line["leaf_hash"]) for line in lines]))
    manifest = json.loads(members["manifest.json"])
    manifest["tree"] = {"origin": "laworkflow", "size": head.size, "root": head.root.hex()}
    manifest["counts"]["events"] = len(lines)
    return {
        **with_lines(members, lines),
        "manifest.json": json.dumps(manifest).encode(),
        "checkpoint": checkpoint.sign(head, key).encode(),
        "checkpoint.pub.pem": checkpoint.public_pem(key),
    }


def _manifest_edited(members: dict[str, bytes]) -> dict[str, bytes]:
    manifest = json.loads(members["manifest.json"])
    manifest["cases"][0]["events"] += 1
    return {**members, "manifest.json": json.dumps(manifest).encode()}


TAMPERINGS = {
    "one byte of a state": (
        _state_byte,
        ["events.jsonl line 4: its leaf hash differs from the hash of its fields", "its decoded event differs from its state"],
    ),
    "a line removed": (_line_removed, ["a complete bundle must hold the tree's", "the root of all the leaves differs from the checkpoint's"]),
    "two lines swapped": (_lines_swapped, ["events.jsonl line 6: out of log order", "the root of all the leaves differs"]),
    "a forged proof": (_proof_forged, ["events.jsonl line 3: its inclusion proof does not lead to the checkpoint's root"]),
    "a definition edited": (_definition_edited, ["its content does not hash to its name", "which the bundle does not hold"]),
    "a definition replaced": (_definition_replaced, ["which the bundle does not hold"]),
    "the checkpoint altered": (
        _checkpoint_altered,
        ["checkpoint: no valid signature by laworkflow", "manifest: its tree size or root differs from the checkpoint's"],
    ),
    "the manifest edited": (_manifest_edited, ["the manifest says otherwise"]),
}


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_both_verifiers_report_each_tampering(record: Record, name: str) -> None:
    tamper, expected = TAMPERINGS[name]
    bad = rezip(tamper(members_of(record.bundle)), record.folder / f"tampered-{name.replace(' ', '-')}.zip")
    status, out = both(bad, command=name == "one byte of a state")
    assert status == 1 and out.rstrip().splitlines()[-1].startswith("bundle FAILED:")
    for text in expected:
        assert text in out, out


def test_a_member_changed_without_its_manifest_digest_is_reported(record: Record) -> None:
    bad = rezip(_state_byte(members_of(record.bundle)), record.folder / "stale-digest.zip", fix_manifest=False)
    status, out = both(bad, command=False)
    assert status == 1 and "problem: events.jsonl: its SHA-256 differs from the manifest's" in out


def test_a_bundle_resigned_by_another_key_fails_against_the_operators_key(record: Record) -> None:
    bad = rezip(_resigned(members_of(record.bundle)), record.folder / "resigned.zip")
    status, out = both(bad, command=False)  # self-consistent: only the fingerprint shows it is not the operator's key
    assert status == 0 and "the bundle's own key" in out
    assert out.split("signed by key ")[1][:64] != both(record.bundle, command=False)[1].split("signed by key ")[1][:64]
    status, out = both(bad, "--public-key", str(public_key(record)))
    assert status == 1 and "problem: checkpoint: no valid signature by laworkflow with the given public key" in out


def test_a_file_that_is_not_a_bundle_is_one_error_line_from_both(record: Record) -> None:
    status, out = both(record.key)
    assert status == 1 and out == ""
    run = script(str(record.key), cwd=record.folder)
    assert run.stderr.startswith("error: checkpoint-key.pem is not a readable bundle") and len(run.stderr.splitlines()) == 1


# ------------------------------------------------------------------------------------------------ filtered exports


def _export(record: Record, name: str, *filters: str) -> tuple[Path, dict[str, Any], str]:
    out = record.folder / f"{name}.zip"
    run = cli(str(record.db), "export", "--out", str(out), *filters, key=record.key)
    assert run.returncode == 0, run.stderr
    return out, json.loads(members_of(out)["manifest.json"]), run.stdout


def _export_here(record: Record, name: str, *filters: str) -> Path:
    """An export in this process (the command's options read into a Selection), signed with the operator's key."""
    options = dict(zip(filters[::2], filters[1::2], strict=True))
    day = lambda option: date.fromisoformat(options[option]) if option in options else None  # noqa: E731
    selection = Selection((), options.get("--authority"), options.get("--workflow"), day("--from"), day("--to"))
    out = record.folder / f"{name}.zip"
    engine = Engine(Catalog.from_directory(WORKFLOWS), env=store_env(str(record.db)))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("LAWORKFLOW_CHECKPOINT_KEY", str(record.key))
            export(engine, out, selection)
    finally:
        engine.close()
    return out


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (("--case", "kent", "--case", "follow_up"), {"kent", "follow_up"}),
        (("--authority", "ceredigion"), {"inspection", "follow_up"}),
        (("--workflow", "ofsted-laassi@1"), {"kent", "surrey"}),
        (("--workflow", "estyn-follow-up"), {"follow_up"}),
        (("--from", "2024-03-04", "--to", "2024-04-30"), {"kent"}),
        (("--from", "2022-11-14"), {"follow_up", "kent", "surrey"}),
        (("--authority", "Kent", "--workflow", "estyn-lges"), set()),
    ],
)
def test_filtered_exports_hold_exactly_the_chosen_cases_and_verify(record: Record, filters: tuple[str, ...], expected: set[str]) -> None:
    args = [record.cases[f][:8] if f in record.cases else f for f in filters]  # --case by unique prefix
    if not expected:
        with pytest.raises(BundleError, match="no case matches"):
            _export_here(record, "none", *args)
        assert not (record.folder / "none.zip").exists()
        return
    name = "filtered-" + "-".join(filters).replace("@", "-")
    if "--case" in filters:
        out, manifest, _ = _export(record, name, *args)
    else:
        out, manifest = _export_here(record, name, *args), {}
        manifest = json.loads(members_of(out)["manifest.json"])
    assert manifest["complete"] is False
    assert {c["id"] for c in manifest["cases"]} == {record.cases[name] for name in expected}
    lines = lines_of(members_of(out))
    assert {line["originator_id"] for line in lines} == {record.cases[name] for name in expected}
    engine = Engine(Catalog.from_directory(WORKFLOWS), env=store_env(str(record.db)))
    try:
        for name in expected:
            assert [line["version"] for line in lines if line["originator_id"] == record.cases[name]] == list(
                range(1, len(engine.history(record.cases[name])) + 1)
            )
    finally:
        engine.close()
    status, text = both(out, "--public-key", str(public_key(record)), command="--case" in filters)
    assert status == 0 and "filtered bundle" in text and "that no other event was left out cannot be proved" in text


def test_a_filtered_bundle_missing_an_event_inside_a_case_is_reported(record: Record) -> None:
    out, _, _ = _export(record, "one-case", "--case", record.cases["inspection"])
    members = members_of(out)
    lines = lines_of(members)
    bad = rezip(with_lines(members, lines[:3] + lines[4:]), record.folder / "one-case-gap.zip")
    status, text = both(bad)
    assert status == 1 and f"case {record.cases['inspection']} event 5: chain broken" in text and "its versions are not 1 to" in text


def test_bad_filters_are_one_line_and_write_nothing(record: Record) -> None:
    for args, says in [
        (("--workflow", "ofsted-laassi@x", "--from", "2024-13-01"), "--from takes a date"),
        (("--case", "zzzz"), "is not a case id"),
    ]:
        run = cli(str(record.db), "export", "--out", str(record.folder / "bad.zip"), *args, key=record.key)
        assert run.returncode == 1 and run.stderr.startswith("error: ") and says in run.stderr and len(run.stderr.splitlines()) == 1
        assert not (record.folder / "bad.zip").exists()
    for args, says in [
        (("--workflow", "ofsted-laassi@x"), "--workflow takes ID or ID@VERSION"),
        (("--from", "2024-05-01", "--to", "2024-04-01"), "is after --to"),
    ]:
        with pytest.raises(InvalidData, match=says):
            _export_here(record, "bad", *args)
        assert not (record.folder / "bad.zip").exists()


# ------------------------------------------------------------------------------------------------ import


def _state_of(store: str, cases: dict[str, str]) -> dict[str, Any]:
    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2025-01-01T09:00"), env=store_env(store))
    try:
        entries = list(log_entries(engine.recorder, engine.mapper))
        return {
            "leaves": [(e.notification_id, e.leaf()) for e in entries],
            "root": merkle.root([e.leaf() for e in entries]),
            "histories": {name: engine.history(cid) for name, cid in cases.items()},
            "views": {name: engine.get(cid) for name, cid in cases.items()},
            "due": engine.due(),
            "verify": verify_store(engine).ok,
        }
    finally:
        engine.close()


@pytest.fixture(params=["sqlite", "postgres"])
def empty_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "imported.sqlite")
    return str(request.getfixturevalue("postgres_database"))


def test_import_into_an_empty_store_restores_the_same_record(record: Record, empty_store: str) -> None:
    run = cli(empty_store, "import", str(record.bundle), "--public-key", str(public_key(record)))
    assert run.returncode == 0, run.stderr
    before, after = _state_of(str(record.db), record.cases), _state_of(empty_store, record.cases)
    assert after["verify"] is True and after["due"], "the timer index rebuilt from the imported log"
    assert after == before
    again = Path(empty_store).parent / "re-exported.zip" if not empty_store.startswith("postgresql") else record.folder / "re-exported-pg.zip"
    assert cli(empty_store, "export", "--out", str(again), key=record.key).returncode == 0
    assert again.read_bytes() == record.bundle.read_bytes()


def test_import_refuses_a_store_with_events_and_changes_nothing(record: Record, tmp_path: Path) -> None:
    target = tmp_path / "busy.sqlite"
    assert cli(str(target), "start", "ofsted-laassi@1", "--data", json.dumps(KENT), "--at", "2024-03-04T09:00").returncode == 0
    before = db_rows(target)
    run = cli(str(target), "import", str(record.bundle))
    assert run.returncode == 1 and run.stderr == "error: the store already holds events: import only into an empty store; nothing was imported\n"
    assert db_rows(target) == before


@pytest.mark.parametrize("which", ["filtered", "tampered"])
def test_import_refuses_a_filtered_or_failing_bundle_and_writes_nothing(record: Record, tmp_path: Path, which: str) -> None:
    if which == "filtered":
        bundle, _, _ = _export(record, "for-import", "--authority", "Kent")
        says = "the bundle is filtered"
    else:
        bundle = rezip(_state_byte(members_of(record.bundle)), tmp_path / "bad.zip")
        says = "the bundle does not verify"
    target = tmp_path / "empty.sqlite"
    run = cli(str(target), "import", str(bundle))
    assert run.returncode == 1 and run.stderr.startswith(f"error: {says}") and len(run.stderr.splitlines()) == 1
    assert not target.exists() or [row for row in db_rows(target) if row[0] == "stored_events"] == []


def test_import_keeps_notification_ids_across_a_gap_of_the_postgres_sequence(postgres_database: str, tmp_path: Path) -> None:
    """A PostgreSQL log can skip ids (a rolled-back insert's sequence value); the leaves cover the ids, so they must be kept."""
    import psycopg

    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2024-03-01T09:00"), env=store_env(postgres_database))
    try:
        first = engine.start("ofsted-laassi", KENT, version=1, actor="hmi", at="2024-03-04T09:00")
        with psycopg.connect(postgres_database, autocommit=True) as connection:
            connection.execute("SELECT nextval(pg_get_serial_sequence('public.laworkflow_events', 'notification_id'))")
        second = engine.start("ofsted-laassi", SURREY, version=1, actor="hmi", at="2024-03-05T09:00")
    finally:
        engine.close()
    bundle = tmp_path / "gap.zip"
    assert cli(postgres_database, "export", "--out", str(bundle)).returncode == 0
    ids = [line["notification_id"] for line in lines_of(members_of(bundle))]
    assert ids != list(range(1, len(ids) + 1)), "the sequence skipped an id"
    target = str(tmp_path / "gap.sqlite")
    run = cli(target, "import", str(bundle))
    assert run.returncode == 0, run.stderr
    cases = {"first": str(first), "second": str(second)}
    assert _state_of(target, cases) == _state_of(postgres_database, cases)


# ------------------------------------------------------------------------------------------------ the script itself


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("verify_bundle", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_imports_the_standard_library_only() -> None:
    import ast

    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    names = {a.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert names - {"__future__"} <= set(sys.stdlib_module_names), names


def test_the_scripts_ed25519_agrees_with_rfc8032_and_cryptography() -> None:
    ed = _load_script()
    # RFC 8032 §7.1, TEST 1 and TEST 2
    vectors = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ]
    for secret, public, message, signature in vectors:
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret))
        assert key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex() == public
        assert key.sign(bytes.fromhex(message)).hex() == signature
        assert ed.ed25519_verify(bytes.fromhex(public), bytes.fromhex(message), bytes.fromhex(signature))
    for size in (0, 1, 33, 200):
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        message = os.urandom(size)
        signature = key.sign(message)
        assert ed.ed25519_verify(raw, message, signature)
        assert not ed.ed25519_verify(raw, message + b"x", signature)
        assert not ed.ed25519_verify(raw, message, signature[:-1] + bytes([signature[-1] ^ 1]))
        assert not ed.ed25519_verify(raw, message, bytes([signature[0] ^ 1]) + signature[1:])
        other = Ed25519PrivateKey.generate().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        assert not ed.ed25519_verify(other, message, signature)
        pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert ed.raw_public_key(pem) == raw


def test_import_into_an_encrypted_store_encrypts_with_its_key_and_keeps_the_tree(record: Record, tmp_path: Path) -> None:
    """The leaves cover the plaintext: the target's cipher encrypts what is inserted, and a re-export is the same bundle."""
    target = str(tmp_path / "encrypted.sqlite")
    cipher = base64.b64encode(os.urandom(32)).decode()
    run = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", target, "--workflows", str(WORKFLOWS), "import", str(record.bundle)],
        capture_output=True,
        text=True,
        env={**_env(None), "LAWORKFLOW_CIPHER_KEY": cipher},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    plain = [base64.b64decode(line["state"]) for line in lines_of(members_of(record.bundle))]
    with closing(sqlite3.connect(target)) as connection:
        stored = [bytes(row[0]) for row in connection.execute("SELECT state FROM stored_events ORDER BY rowid")]
    assert len(stored) == len(plain) and all(s != p and b'"actor"' not in s for s, p in zip(stored, plain, strict=True))
    again = tmp_path / "from-encrypted.zip"
    run = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", target, "--workflows", str(WORKFLOWS), "export", "--out", str(again)],
        capture_output=True,
        text=True,
        env={**_env(record.key), "LAWORKFLOW_CIPHER_KEY": cipher},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert again.read_bytes() == record.bundle.read_bytes()
