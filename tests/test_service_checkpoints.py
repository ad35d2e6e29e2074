"""Checkpoints recorded by `serve` (issue 9, item 1): at start, every --checkpoint-every seconds, and at a clean stop.

Real `laworkflow serve` processes on a temporary SQLite file, events added by
the CLI while they run: the files appear, named so they sort by size, each one
logged as `checkpoint.recorded`, and `verify --checkpoint FILE --public-key PEM`
accepts every one after more events are added. A key that cannot be loaded or a
folder that cannot be written is logged and the service serves on; no key at all
is one warning. The running root (`audit.frontier`) is checked against
`merkle.root` recomputed from every leaf.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest

from laworkflow.audit.frontier import Frontier
from laworkflow.audit.merkle import leaf_hash, root
from laworkflow.service.checkpoints import CheckpointConflict, write_checkpoint

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
START = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NAME = re.compile(r"^laworkflow-(\d{20})\.checkpoint$")
SECONDS = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    env.update(extra)
    return env


def cli(db: Path, *args: str, **extra: str) -> str:
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args]
    run = subprocess.run(command, capture_output=True, text=True, env=_env(**extra), timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def start_case(db: Path) -> None:
    cli(db, "start", "ofsted-laassi@1", "--data", json.dumps(START), "--at", "2024-03-04T09:00")


def events_in(db: Path) -> int:
    with closing(sqlite3.connect(db)) as connection:
        return int(connection.execute("SELECT count(*) FROM stored_events").fetchone()[0])


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_events(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text(errors="replace").splitlines() if line.startswith("{")]


def wait_for(what: str, check: object, log: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode} before {what}:\n{log.read_text()}")
        time.sleep(0.1)
    pytest.fail(f"not within {SECONDS}s: {what}\n{log.read_text()}")


@contextmanager
def serving(db: Path, log: Path, *args: str, **extra: str) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """`laworkflow serve` on `db`; SIGTERM at the end, which must be a clean exit 0."""
    port = free_port()
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), "serve", "--port", str(port), "--poll", "0.2", *args]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=output, cwd=db.parent, env=_env(**extra))
    try:
        wait_for("it listened", lambda: "laworkflow serving on" in log.read_text(errors="replace"), log, process)
        yield process, port
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=SECONDS) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text()


def sizes(folder: Path) -> list[int]:
    names = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert all(NAME.match(n) for n in names), names  # no temporary file left behind
    return [int(NAME.match(n)[1]) for n in names]  # type: ignore[index]


def test_serve_records_signed_checkpoints_at_start_periodically_and_at_stop_and_each_verifies_later(tmp_path: Path) -> None:
    db, key, public, folder, log = tmp_path / "s.sqlite", tmp_path / "k.pem", tmp_path / "k.pub", tmp_path / "kept", tmp_path / "serve.log"
    cli(db, "checkpoint", "keygen", "--out", str(key))
    cli(db, "checkpoint", "public-key", "--out", str(public), LAWORKFLOW_CHECKPOINT_KEY=str(key))
    start_case(db)
    first = events_in(db)
    settings = {"LAWORKFLOW_CHECKPOINT_KEY": str(key), "LAWORKFLOW_LOG": "info"}

    with serving(db, log, "--checkpoint-dir", str(folder), "--checkpoint-every", "0.5", **settings) as (process, _):
        wait_for("the start checkpoint", lambda: sizes(folder) == [first], log, process)
        time.sleep(1.5)  # rounds with nothing new: no more files
        assert sizes(folder) == [first]
        start_case(db)
        second = events_in(db)
        wait_for("a periodic checkpoint", lambda: sizes(folder) == [first, second], log, process)

    # a second service, rounds an hour apart: the start finds its checkpoint kept already, the stop records the new events
    with serving(db, tmp_path / "again.log", "--checkpoint-every", "3600", **settings, LAWORKFLOW_CHECKPOINT_DIR=str(folder)):
        start_case(db)
        third = events_in(db)
        time.sleep(0.5)
    assert sizes(folder) == [first, second, third] and first < second < third

    recorded = [e for e in log_events(log) + log_events(tmp_path / "again.log") if e.get("event") == "checkpoint.recorded"]
    assert [e["size"] for e in recorded] == [first, second, third] and [e["reason"] for e in recorded] == ["start", "interval", "stop"]
    for event, path in zip(recorded, sorted(folder.iterdir()), strict=True):
        assert event["origin"] == "laworkflow" and event["note"] == path.read_text(encoding="utf-8") and event["file"] == str(path)
        assert path.read_text().split("\n")[1] == str(event["size"])

    start_case(db)  # the log grows on; every kept checkpoint is a prefix of it
    for path in sorted(folder.iterdir()):
        out = cli(db, "verify", "--checkpoint", str(path), "--public-key", str(public))
        assert "log extends the checkpoint" in out, out


def test_at_start_a_log_that_no_longer_extends_the_newest_kept_checkpoint_is_an_error_and_the_file_is_kept(tmp_path: Path) -> None:
    db, key, folder = tmp_path / "s.sqlite", tmp_path / "k.pem", tmp_path / "kept"
    cli(db, "checkpoint", "keygen", "--out", str(key))
    start_case(db)
    start_case(db)
    settings = {"LAWORKFLOW_CHECKPOINT_KEY": str(key), "LAWORKFLOW_CHECKPOINT_DIR": str(folder)}
    with serving(db, tmp_path / "first.log", **settings) as (process, _):
        wait_for("the start checkpoint", lambda: sizes(folder) == [events_in(db)], tmp_path / "first.log", process)
    kept = {p.name: p.read_text() for p in folder.iterdir()}

    with closing(sqlite3.connect(db)) as connection:  # an attacker edits the first case's authority in place
        connection.execute("UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), 'Kent', 'Kont') AS BLOB) WHERE rowid = 1")
        connection.commit()
    with serving(db, tmp_path / "second.log", **settings) as (process, port):
        wait_for("the check", lambda: "checkpoint.failed" in (tmp_path / "second.log").read_text(), tmp_path / "second.log", process)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json() == {"status": "ready"}
    events = log_events(tmp_path / "second.log")
    assert [e["problem"] for e in events if e.get("event") == "checkpoint.log_not_extended"] == [
        f"log rewritten: its first {len(sqlite_rows(db))} events no longer hash to the root kept in {next(iter(kept))}"
    ]
    assert "already holds another checkpoint" in str(next(e for e in events if e.get("event") == "checkpoint.failed")["error"])
    assert {p.name: p.read_text() for p in folder.iterdir()} == kept  # never overwritten

    with closing(sqlite3.connect(db)) as connection:  # then the last event goes
        connection.execute("DELETE FROM stored_events WHERE rowid = (SELECT max(rowid) FROM stored_events)")
        connection.commit()
    with serving(db, tmp_path / "third.log", **settings) as (process, _):
        wait_for("the check", lambda: "checkpoint.log_not_extended" in (tmp_path / "third.log").read_text(), tmp_path / "third.log", process)
    problems = [e["problem"] for e in log_events(tmp_path / "third.log") if e.get("event") == "checkpoint.log_not_extended"]
    assert len(problems) == 1 and str(problems[0]).startswith("log truncated")


def sqlite_rows(db: Path) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT rowid FROM stored_events").fetchall()


def test_a_checkpoint_key_that_cannot_be_loaded_is_logged_and_the_service_serves_on(tmp_path: Path) -> None:
    db, log, folder = tmp_path / "s.sqlite", tmp_path / "serve.log", tmp_path / "kept"
    start_case(db)
    with serving(db, log, "--checkpoint-dir", str(folder), LAWORKFLOW_CHECKPOINT_KEY=str(tmp_path / "missing.pem")) as (_, port):
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json() == {"status": "ready"}
    unusable = [e for e in log_events(log) if e.get("event") == "checkpoint.key_unusable"]
    assert len(unusable) == 1 and unusable[0]["level"] == "error" and "missing.pem" in str(unusable[0]["error"])
    assert not folder.exists()


def test_without_a_key_serve_says_once_that_it_records_no_checkpoints(tmp_path: Path) -> None:
    db, log = tmp_path / "s.sqlite", tmp_path / "serve.log"
    with serving(db, log):  # the default log level: warnings only
        pass
    off = [e for e in log_events(log) if e.get("event") == "checkpoint.off"]
    assert len(off) == 1 and "LAWORKFLOW_CHECKPOINT_KEY" in str(off[0]["reason"]) and "cannot be detected" in str(off[0]["reason"])
    assert not (tmp_path / "checkpoints").exists()


def test_a_folder_that_cannot_be_written_is_logged_each_round_and_the_service_serves_on(tmp_path: Path) -> None:
    db, key, log = tmp_path / "s.sqlite", tmp_path / "k.pem", tmp_path / "serve.log"
    cli(db, "checkpoint", "keygen", "--out", str(key))
    start_case(db)
    (tmp_path / "a-file").write_text("not a folder")
    blocked = tmp_path / "a-file" / "kept"
    with serving(db, log, "--checkpoint-dir", str(blocked), "--checkpoint-every", "0.3", LAWORKFLOW_CHECKPOINT_KEY=str(key)) as (process, port):
        wait_for("two failed rounds", lambda: log.read_text().count("checkpoint.failed") >= 2, log, process)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json() == {"status": "ready"}
    failed = [e for e in log_events(log) if e.get("event") == "checkpoint.failed"]
    assert failed[0]["level"] == "error" and failed[0]["reason"] == "start" and failed[-1]["reason"] == "stop"


# ---------------------------------------------------------------- in process


def test_the_running_root_equals_the_tree_recomputed_from_every_leaf() -> None:
    leaves = [leaf_hash(str(i).encode()) for i in range(130)]
    frontier = Frontier()
    assert frontier.root() == root([])
    for n, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert (frontier.size, frontier.root()) == (n, root(leaves[:n])), n


def test_a_kept_checkpoint_of_the_same_size_is_never_overwritten(tmp_path: Path) -> None:
    assert write_checkpoint(tmp_path / "kept", "laworkflow-00000000000000000003.checkpoint", "one\n")
    assert not write_checkpoint(tmp_path / "kept", "laworkflow-00000000000000000003.checkpoint", "one\n")  # the same text: nothing to do
    with pytest.raises(CheckpointConflict):
        write_checkpoint(tmp_path / "kept", "laworkflow-00000000000000000003.checkpoint", "two\n")
    assert [p.read_text() for p in (tmp_path / "kept").iterdir()] == ["one\n"]
