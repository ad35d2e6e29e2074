"""The HTTP API as real servers: uvicorn in subprocesses, on an SQLite file or a PostgreSQL database.

- 50 concurrent clients fire triggers on one shared case and on cases of their
  own; every answer is a 2xx or a clean 409, and the store holds exactly one
  Transitioned event per 2xx answer: none lost, none duplicated. Once on one
  server over an SQLite file, once on two servers over one PostgreSQL database
  (where the nodes race on the same case and optimistic concurrency decides).
- schemathesis, run against the live /openapi.json with a bounded number of
  examples: no 5xx, and every response as documented.

Everything is bounded in time and the server is always killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from laworkflow import Catalog, Engine, store_env
from laworkflow.audit.verify import verify
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.keys import Keys

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
OFSTED = "ofsted-laassi"
START = {"authority": "Norfolk", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
FEEDBACK = {"strengths": ["a"], "weaknesses": ["b"]}
EVIDENCE = {"notebook": "evidence", "entry": "interview with the director"}
CLIENTS = 50
ROUNDS = 4
STARTUP_SECONDS = 60
LOAD_SECONDS = 180
CLEAN_409 = {"trigger_not_allowed", "guard_failed", "bad_time", "concurrent_change"}


@dataclass
class Setup:
    store: str
    shared: str  # record_evidence from many clients at once
    closing: str  # record_evidence and leave_site racing: the first leave_site wins, what follows is refused
    own: list[str]  # one case per group of clients
    inspector: str
    admin: str


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _on_site(engine: Engine) -> str:
    """A case given notice, moved on site by its timer (as tests/test_engine.py's on_site())."""
    case = engine.start(OFSTED, START, version=1, actor="setup", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", NOTICE, actor="setup", at="2013-06-05T10:00")
    engine.run_due(until="2013-06-10T09:00")
    assert engine.get(case).state == "on_site"
    return str(case)


def _prepare(store: str) -> Setup:
    """Cases on site and two keys, written through the Python API to the store the servers will open."""
    engine = Engine(Catalog.from_directory(WORKFLOWS), clock=SimulatedClock("2013-06-03T09:00"), env=store_env(store))
    try:
        shared, closing = _on_site(engine), _on_site(engine)
        engine.fire(closing, "give_feedback", FEEDBACK, actor="setup", at="2013-06-12T12:00")  # leave_site's guard
        own = [_on_site(engine) for _ in range(5)]
        keys = Keys(engine)
        inspector = keys.issue("load-client", "inspector", by="setup")
        admin = keys.issue("fuzzer", "admin", by="setup")
    finally:
        engine.close()
    return Setup(store, shared, closing, own, inspector, admin)


@contextmanager
def _servers(store: str, folder: Path, count: int = 1) -> Iterator[list[Server]]:
    """`uvicorn --factory laworkflow.api:app_from_env` on 127.0.0.1 and free ports; killed whatever happens."""
    env = {**os.environ, "LAWORKFLOW_STORE": store, "LAWORKFLOW_WORKFLOWS": str(WORKFLOWS), "LAWORKFLOW_LOG": "warning"}
    servers: list[Server] = []
    try:
        for index in range(count):
            port = _free_port()
            log = folder / f"server-{index}.log"
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "laworkflow.api:app_from_env",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ]
            with log.open("wb") as output:
                process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=folder)
            servers.append(Server(f"http://127.0.0.1:{port}", process, log))
        for server in servers:
            _wait_until_ready(server)
        yield servers
    finally:
        for server in servers:
            _stop(server.process)
    for server in servers:
        text = server.log.read_text(errors="replace")
        crashes = [line for line in text.splitlines() if "request.crashed" in line or "Traceback" in line]
        assert not crashes, f"the server crashed on a request:\n{text}"


def _wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server was not ready within {STARTUP_SECONDS}s:\n{server.log.read_text()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def postgres_store(postgres_database: str) -> str:
    return postgres_database


def _transitions_by(store: str, cases: list[str], actor: str) -> Counter[str]:
    engine = Engine(Catalog.from_directory(WORKFLOWS), env=store_env(store))
    try:
        assert verify(engine).ok, "a hash chain is broken"
        return Counter({case: sum(1 for h in engine.history(case) if h.type == "Transitioned" and h.actor == actor) for case in cases})
    finally:
        engine.close()


def _load(setup: Setup, servers: list[Server]) -> Counter[int]:
    """50 clients (spread over the servers) at once; every answer 2xx or a clean 409; one Transitioned event per 2xx."""
    plan: list[list[tuple[str, str, dict]]] = []
    for index in range(CLIENTS):
        requests = []
        for round_ in range(ROUNDS):
            if index % 10 == 0 and round_ == 0:
                requests.append((setup.closing, "leave_site", {}))
            elif index % 5 == 0:
                requests.append((setup.closing, "record_evidence", EVIDENCE))
            elif (index + round_) % 2:
                requests.append((setup.shared, "record_evidence", EVIDENCE))
            else:
                requests.append((setup.own[index % len(setup.own)], "record_evidence", EVIDENCE))
        plan.append(requests)

    answers: list[tuple[str, str, int, dict]] = []
    failures: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(CLIENTS, timeout=60)

    def client(requests: list[tuple[str, str, dict]], server: Server) -> None:
        try:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {setup.inspector}"}, timeout=60) as http:
                barrier.wait()
                for case, trigger, data in requests:
                    response = http.post(f"/v1/cases/{case}/fire", json={"trigger": trigger, "data": data})
                    body = response.json()
                    with lock:
                        answers.append((case, trigger, response.status_code, body))
        except Exception as error:  # surfaced below, with the others
            with lock:
                failures.append(f"{type(error).__name__}: {error}")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(requests, servers[i % len(servers)]), daemon=True) for i, requests in enumerate(plan)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, LOAD_SECONDS - (time.monotonic() - started)))
    assert not any(thread.is_alive() for thread in threads), f"clients still running after {LOAD_SECONDS}s"
    assert not failures, failures
    assert len(answers) == CLIENTS * ROUNDS

    for case, trigger, status, body in answers:
        if not 200 <= status < 300:
            assert status == 409, (case, trigger, status, body)
            assert set(body) == {"error"} and body["error"]["code"] in CLEAN_409, body
    accepted = Counter(case for case, _, status, _ in answers if 200 <= status < 300)
    refused = Counter(case for case, _, status, _ in answers if status == 409)
    assert sum(1 for _, trigger, status, _ in answers if trigger == "leave_site" and status == 200) == 1
    assert refused[setup.closing] > 0  # what came after the winning leave_site

    cases = [setup.shared, setup.closing, *setup.own]
    recorded = _transitions_by(setup.store, cases, "load-client")
    assert {c: recorded[c] for c in cases} == {c: accepted[c] for c in cases}
    assert sum(recorded.values()) == sum(accepted.values())
    return Counter((case, status, body["error"]["code"] if status >= 400 else "ok") for case, _, status, body in answers)


def test_50_concurrent_clients_on_one_sqlite_server_lose_and_duplicate_no_event(tmp_path: Path):
    """One server on an SQLite file: commands serialised by the app's lock and the database."""
    setup = _prepare(f"sqlite:///{tmp_path / 'events.sqlite'}")
    with _servers(setup.store, tmp_path) as servers:
        outcomes = _load(setup, servers)
    # One node: commands never race, so the only refusals are on the case that left site.
    refusals = {(case, code) for (case, status, code) in outcomes if status >= 400}
    assert refusals == {(setup.closing, "trigger_not_allowed")}


def test_50_concurrent_clients_on_two_postgres_nodes_lose_and_duplicate_no_event(tmp_path: Path, postgres_store: str):
    """Two servers on one PostgreSQL database: the nodes race on the same case; the store's optimistic concurrency decides."""
    setup = _prepare(postgres_store)
    with _servers(setup.store, tmp_path, count=2) as servers:
        outcomes = _load(setup, servers)
    codes = Counter()
    for (case, status, code), count in outcomes.items():
        codes[code] += count
        # Racing nodes: the loser of a race retries; after five losses it answers concurrent_change. A command
        # without `at` takes "now" once, before its retries, so a retry after the other node's later event is
        # refused as bad_time (an engine limitation: see the API report). Both are clean 409s, nothing written.
        assert case == setup.closing or code in ("ok", "concurrent_change", "bad_time"), (case, status, code)
    print(f"two nodes: {dict(codes)}")
    assert codes["ok"] > 0


def test_schemathesis_finds_no_server_error(tmp_path: Path):
    """schemathesis against the live /openapi.json (bounded examples): no 5xx, responses as documented.

    One worker, not two. This test once failed with `SystemError: AST constructor recursion depth
    mismatch` inside hypothesis's lambda-source parsing, then passed: with `--workers 2` schemathesis
    builds and draws strategies in two threads of the `st` process, and hypothesis describes each
    strategy made with a lambda by `ast.parse`-ing the lambda's source. On CPython 3.11 the AST
    constructor keeps its recursion-depth count in per-interpreter state shared by all threads;
    hypothesis's GC-timing callback (Python code run during a garbage collection triggered inside
    the constructor) lets the GIL pass to the other thread, whose own parse resets that count, so
    the first thread's check at the end fails (before=66, after=64). It needs two threads parsing
    at once and a collection at the wrong moment: about one run in five here with two workers,
    never with one. A RecursionError caught earlier in the same thread does not cause it (tried:
    from re, json and plain recursion, then ast.parse). One worker takes the race away; the seed
    and the example count keep the run itself repeatable.
    """
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    if st is None:
        pytest.skip("schemathesis's `st` command is not installed (pip install -e '.[test]')")
    checks = ",".join(
        [
            "not_a_server_error",
            "status_code_conformance",
            "content_type_conformance",
            "response_headers_conformance",
            "response_schema_conformance",
            "negative_data_rejection",
            "ignored_auth",
        ]
    )
    setup = _prepare(f"sqlite:///{tmp_path / 'events.sqlite'}")
    command = [
        st,
        "run",
        "{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {setup.admin}",
        "--max-examples",
        "20",
        "--seed",
        "1",
        "--workers",
        "1",  # one thread: see the docstring
        "--checks",
        checks,
        "--request-timeout",
        "30",
        "--no-color",
    ]
    with _servers(setup.store, tmp_path) as servers:
        command[2] = command[2].format(url=servers[0].url)
        result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode == 0, f"schemathesis failed:\n{result.stdout[-8000:]}\n{result.stderr[-2000:]}"
    assert "API Operations" in result.stdout, result.stdout[-2000:]
