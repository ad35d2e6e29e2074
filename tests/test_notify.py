"""Telling people: notifications derived from events, kept in an outbox, delivered at least once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from laworkflow.calendar.clock import SimulatedClock, aware
from laworkflow.engine import Engine
from laworkflow.service.notify import LogSink, WebhookSink, deliver_pending
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = "ofsted-laassi@1"
START = {"authority": "Anytown", "concerns": ["other_concern"]}
TEAM = {"lead_inspector": "Lead HMI", "inspectors": ["HMI"]}


class Receiver:
    """A real HTTP server on loopback that refuses the first `failures` posts."""

    def __init__(self, failures: int = 0):
        self.failures = failures
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append(body)
                refused = receiver.failures > 0
                receiver.failures -= 1
                self.send_response(500 if refused else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(failures: int = 0) -> Receiver:
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for r in made:
        r.close()


def left_site(engine: Engine):
    """A case that left site on Friday 14 June 2013: letter due 12 July, publication 19 July."""
    case = engine.start(WORKFLOW, START, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
    engine.run_due(until="2013-06-10T09:00")
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="lead", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", actor="lead", at="2013-06-14T17:00")
    return case


def kinds(engine: Engine) -> list[tuple[str, str]]:
    return [(n["payload"]["kind"], n["payload"]["name"]) for n in engine.due_store.outbox()]


def test_timers_missed_and_approaching_deadlines_each_give_one_notification(make_engine, store):
    engine = make_engine(store)
    case = left_site(engine)
    # Reminders 5 working days before: Fri 5 July (letter, due 12 July) and Fri 12 July (publication, due 19 July).
    reminders = [(i.name, i.due_at.astimezone(aware("2013-01-01").tzinfo).date().isoformat()) for i in engine.due() if i.kind == "reminder"]
    assert reminders == [("letter_sent", "2013-07-05"), ("letter_published", "2013-07-12")]
    engine.run_due(until="2013-07-13T09:00")  # both reminders, then the letter deadline passes unmet
    assert sorted(kinds(engine)) == sorted(
        [
            ("timer_fired", "notice_ends"),
            ("deadline_approaching", "letter_sent"),
            ("deadline_approaching", "letter_published"),
            ("deadline_missed", "letter_sent"),
        ]
    )
    engine.due_store.reset()  # a rebuilt index must not notify twice
    engine.due_store.catch_up(engine.recorder, engine.mapper)
    assert len(kinds(engine)) == 4
    assert all(n["payload"]["case_id"] == str(case) for n in engine.due_store.outbox())


def test_a_meeting_trigger_ends_the_reminder(make_engine):
    engine = make_engine()
    case = left_site(engine)
    engine.fire(case, "make_judgement", {"effective": True, "strengths": [], "weaknesses": [], "recommendations": []}, actor="qa", at="2013-06-28")
    engine.fire(
        case,
        "send_letter",
        {"recipients": ["chief_executive", "director_of_childrens_services", "lead_member_for_childrens_services", "secretary_of_state"]},
        actor="o",
        at="2013-07-01",
    )
    assert [(i.kind, i.name) for i in engine.due() if i.name == "letter_sent"] == []


def test_a_failing_webhook_is_retried_with_back_off_until_it_takes_it(make_engine, receiver):
    hook = receiver(failures=2)
    engine = make_engine()
    left_site(engine)
    now = aware("2013-06-20T09:00")
    sinks = [LogSink(), WebhookSink(hook.url, timeout=5)]
    assert deliver_pending(engine.due_store, sinks, now) == (0, 1)
    assert deliver_pending(engine.due_store, sinks, now + timedelta(seconds=1)) == (0, 0), "not before its back-off"
    assert deliver_pending(engine.due_store, sinks, now + timedelta(seconds=2)) == (0, 1)
    assert deliver_pending(engine.due_store, sinks, now + timedelta(seconds=5)) == (0, 0), "the second back-off is longer"
    assert deliver_pending(engine.due_store, sinks, now + timedelta(seconds=6)) == (1, 0)
    (record,) = engine.due_store.outbox()
    assert record["attempts"] == 2 and record["delivered_at"] is not None
    assert [r["id"] for r in hook.received] == [record["id"]] * 3, "at least once: the same id each time"


def test_undelivered_notifications_survive_a_restart(tmp_path, catalog):
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(store))
    left_site(engine)
    engine.due()  # catch up: the timer's notification is in the outbox
    engine.close()
    again = Engine(catalog, env=store_env(store))
    pending = [n for n in again.due_store.outbox() if n["delivered_at"] is None]
    assert [n["payload"]["kind"] for n in pending] == ["timer_fired"]
    again.close()


def test_serve_posts_to_a_webhook(tmp_path, catalog, receiver):
    hook = receiver()
    store = f"sqlite:///{tmp_path / 'events.sqlite'}"
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03"), env=store_env(store))
    case = engine.start(WORKFLOW, START, actor="hmci", at="2013-06-03T09:00")
    engine.fire(case, "give_notice", {"on_site_start": "2013-06-10", **TEAM}, actor="o", at="2013-06-05")
    engine.close()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "laworkflow.cli",
            "--store",
            store,
            "--workflows",
            str(REPO / "workflows"),
            "serve",
            "--no-http",
            "--poll",
            "0.2",
            "--webhook",
            hook.url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "LAWORKFLOW_LOG": "warning"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r["kind"] == "timer_fired" for r in hook.received):
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    fired = [r for r in hook.received if r["kind"] == "timer_fired"]
    assert fired and fired[0]["case_id"] == str(case) and fired[0]["name"] == "notice_ends"
