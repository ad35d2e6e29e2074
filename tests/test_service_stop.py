"""`laworkflow serve` stops cleanly and says where it is; /readyz fails once its scheduler has stopped.

Real processes (`laworkflow --store FILE serve`): SIGTERM and SIGINT, with
HTTP and without, end in exit 0 after `service.stopped` is logged and the
engine is closed. The stop used to be exit 143: uvicorn catches the signal,
shuts down, then puts back the handlers it found and raises the signal again,
which with the default handler kills the process before anything after
`server.run()` runs. And a real app with a real scheduler: /readyz is 503 once
the scheduler thread is stopped or its passes fail.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import httpx
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from laworkflow.http.app import create_app
from laworkflow.service.collector import DEFAULT_THRESHOLD
from laworkflow.service.process import readiness
from laworkflow.service.scheduler import Scheduler

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60


def _laworkflow() -> str:
    command = shutil.which("laworkflow", path=str(Path(sys.executable).parent)) or shutil.which("laworkflow")
    if command is None:
        pytest.skip("the `laworkflow` command is not installed (pip install -e .)")
    return command


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_line(log: Path, process: subprocess.Popen, text: str) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        lines = [line for line in log.read_text(errors="replace").splitlines() if text in line]
        if lines:
            return lines[0]
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode} before saying {text!r}:\n{log.read_text()}")
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"serve did not say {text!r} within {STARTUP_SECONDS}s:\n{log.read_text()}")


@pytest.mark.parametrize("http", [True, False], ids=["http", "no-http"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_in_order_and_it_exits_0(tmp_path, signum, http):
    store = tmp_path / "events.sqlite"
    port = _free_port()
    log = tmp_path / "serve.log"
    command = [
        _laworkflow(),
        "--store",
        str(store),
        "--workflows",
        str(REPO / "workflows"),
        "--log-level",
        "info",
        "serve",
        "--port",
        str(port),
        "--poll",
        "0.2",
        *([] if http else ["--no-http"]),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAWORKFLOW_")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=output, cwd=tmp_path, env=env)
    try:
        if http:
            line = _wait_for_line(log, process, "laworkflow serving on")
            assert line == f"laworkflow serving on http://127.0.0.1:{port} (store: sqlite:///{store})"
            assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json() == {"status": "ready"}
        else:
            _wait_for_line(log, process, "laworkflow scheduling without HTTP")
        process.send_signal(signum)
        assert process.wait(timeout=40) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    events = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert [e for e in events if e.get("event") == "service.stopped"], log.read_text()
    settled = [e for e in events if e.get("event") == "service.collector"]  # the process set as a service's (service.collector)
    assert [e["threshold"] for e in settled] == [DEFAULT_THRESHOLD] and settled[0]["frozen"] > 10_000, log.read_text()
    assert not Path(f"{store}-wal").exists(), "the engine was not closed: SQLite removes its WAL when the last connection closes"
    assert "Traceback" not in log.read_text()


def test_serve_says_where_it_listens_at_the_default_log_level_without_a_password(tmp_path):
    """At warning (the default) the one line still shows; a PostgreSQL store would show user@host:port/db, never its password."""
    from laworkflow.startup import where

    class Env:
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_USER": "lw",
            "POSTGRES_PASSWORD": "s3cret",
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "5432",
            "POSTGRES_DBNAME": "laworkflow",
        }

    assert where(Env()) == "postgresql://lw@db:5432/laworkflow"  # type: ignore[arg-type]
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LAWORKFLOW_")}
    with log.open("wb") as output:
        process = subprocess.Popen(
            [_laworkflow(), "--store", str(tmp_path / "events.sqlite"), "--workflows", str(REPO / "workflows"), "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=output,
            cwd=tmp_path,
            env=env,
        )
    try:
        _wait_for_line(log, process, f"laworkflow serving on http://127.0.0.1:{port}")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = log.read_text().splitlines()
    # besides it, only the warning that no checkpoints are recorded (no LAWORKFLOW_CHECKPOINT_KEY here)
    assert [line for line in lines if not line.startswith("{")] == [
        f"laworkflow serving on http://127.0.0.1:{port} (store: sqlite:///{tmp_path / 'events.sqlite'})"
    ]
    assert [json.loads(line)["event"] for line in lines if line.startswith("{")] == ["checkpoint.off"]


# ------------------------------------------------------------------ readiness


def _eventually(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def service(make_engine, tmp_path):
    """A real app and a real scheduler thread over one SQLite file, sharing one lock, as `serve` builds them."""
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
    scheduler = Scheduler(engine, engine.lock, poll_seconds=0.05)
    thread = scheduler.start_in_thread()
    with TestClient(create_app(engine, ready=readiness(scheduler, thread))) as client:
        _eventually(lambda: client.get("/readyz").status_code == 200)
        yield engine, scheduler, thread, client
    scheduler.stop()
    thread.join(timeout=20)


def test_readyz_fails_once_the_scheduler_thread_has_stopped(service):
    engine, scheduler, thread, client = service
    scheduler.stop()
    thread.join(timeout=20)
    assert not thread.is_alive()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "scheduler_unhealthy"
    assert client.get("/healthz").status_code == 200  # the process is up; it is just not doing its job


def test_readyz_fails_while_the_schedulers_passes_fail_and_recovers(service, monkeypatch):
    engine, scheduler, thread, client = service

    def broken(*args, **kwargs):
        raise RuntimeError("the index cannot be read")

    monkeypatch.setattr(engine, "follow_up", broken)
    _eventually(lambda: client.get("/readyz").status_code == 503)
    assert client.get("/readyz").json()["error"]["code"] == "scheduler_unhealthy"
    monkeypatch.undo()
    _eventually(lambda: client.get("/readyz").status_code == 200)


def test_readyz_fails_when_the_scheduler_thread_dies(make_engine, tmp_path):
    """A thread that ended without being asked to (here its loop is replaced by one that just returns)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'events.sqlite'}")
    scheduler = Scheduler(engine, threading.RLock(), poll_seconds=0.05)
    scheduler.run = lambda: None  # type: ignore[method-assign]
    thread = scheduler.start_in_thread()
    thread.join(timeout=10)
    with TestClient(create_app(engine, ready=readiness(scheduler, thread))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["error"]["code"] == "scheduler_unhealthy"
