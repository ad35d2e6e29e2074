"""The `laworkflow` command line, end to end: each test runs the real CLI as a
subprocess on its own SQLite file, exactly as a person or a script would.

Expected values come from the framework (Ofsted, May 2013, ref. 130040), the
workflow definition in `workflows/ofsted-laassi-2013.yaml`, or the calendar
worked out by hand in comments — never from the code's own output.

Subprocesses cost about half a second each, so read-only tests share one store
built by running `demo` once; a test that writes works on its own copy.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sqlite_files import copy_store

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
DEFINITION_FILE = WORKFLOWS / "ofsted-laassi-2013.yaml"
WORKFLOW = "ofsted-laassi@1"  # the May 2013 framework, whatever date a test runs at
WORKFLOW_ID = "ofsted-laassi"

CASE_KEYS = {
    "id",
    "workflow",
    "version",
    "definition_hash",
    "state",
    "ended",
    "data",
    "parameters",
    "timers",
    "deadlines",
    "parent",
    "children",
    "events",
    "last_effective_at",
    "as_of",
    "known_on",
    "findings",
    "withdrawn",
    "responsible",
}
EVENT_KEYS = {"version", "type", "effective_at", "recorded_at", "actor", "details", "prev_hash", "digest", "unexpected_fields"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The definition, read independently of the engine, for expectations about its shape.
DEFINITION = yaml.safe_load(DEFINITION_FILE.read_text(encoding="utf-8"))


def _from_states(transition: dict[str, Any]) -> list[str]:
    source = transition["from"]
    return source if isinstance(source, list) else [source]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS"):
        env.pop(name, None)
    return env


ENV = _env()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:  # shown by pytest when an assertion on a Run fails
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def cli(db: Path, *args: str) -> Run:
    """Run `python -m laworkflow.cli --store DB --workflows REPO/workflows ARGS…` in DB's folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=db.parent,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def ok_json(db: Path, *args: str) -> Any:
    """Run a command with --json; it must succeed and print one JSON document."""
    run = cli(db, *args, "--json")
    assert run.code == 0, str(run)
    return run.json()


def stored_rows(db: Path) -> tuple[int, list[tuple[Any, ...]]]:
    """Every stored event row, bytes and all, in insertion order, with the row count."""
    with closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT * FROM stored_events ORDER BY rowid").fetchall()
        count = conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
    return count, rows


def tamper_actor(db: Path, case_id: str, version: int, new_actor: str) -> None:
    """Rewrite the actor inside one stored event's JSON, as someone with file access could."""
    with closing(sqlite3.connect(db)) as conn:
        (state,) = conn.execute(
            "SELECT state FROM stored_events WHERE originator_id = ? AND originator_version = ?",
            (uuid.UUID(case_id).hex, version),
        ).fetchone()
        body = json.loads(bytes(state))
        assert body["actor"] != new_actor
        body["actor"] = new_actor
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (json.dumps(body).encode(), uuid.UUID(case_id).hex, version),
        )
        conn.commit()


def versions_of(db: Path, case_id: str) -> list[int]:
    with closing(sqlite3.connect(db)) as conn:
        return [
            v
            for (v,) in conn.execute(
                "SELECT originator_version FROM stored_events WHERE originator_id = ? ORDER BY originator_version",
                (uuid.UUID(case_id).hex,),
            )
        ]


def assert_refused(db: Path, *args: str) -> str:
    """Exit 1, one `error:` line on stderr, nothing on stdout, no stored event changed; returns the line."""
    before = stored_rows(db)
    run = cli(db, *args)
    assert run.code == 1, str(run)
    assert run.out == "", str(run)
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), str(run)
    assert stored_rows(db) == before
    return lines[0]


# --------------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Demo:
    db: Path
    document: dict[str, Any]

    @property
    def case(self) -> dict[str, Any]:
        return self.document["case"]

    @property
    def case_id(self) -> str:
        return self.case["id"]

    @property
    def child_id(self) -> str:
        return self.document["children"][0]["id"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One store holding the public example (Norfolk, June 2013), built by `demo --json`; read-only."""
    db = tmp_path_factory.mktemp("demo") / "t.sqlite"
    return Demo(db, ok_json(db, "demo"))


@pytest.fixture
def demo_copy(demo: Demo, tmp_path: Path) -> Path:
    """A private copy of the demo store for a test that writes (or tries to)."""
    return copy_store(demo.db, tmp_path / "t.sqlite")


# A case started on Monday 4 March 2024 and given notice that morning of a first
# day on site of Monday 11 March: the fifth working day after the notice, the
# longest notice the framework allows (para 12, read as working days).
NOTICE_DATA = {"on_site_start": "2024-03-11", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
START_DATA = {"authority": "Kent", "concerns": ["attainment_below_national"]}


@dataclass(frozen=True)
class Noticed:
    db: Path
    case_id: str
    started: dict[str, Any]
    fired: dict[str, Any]


@pytest.fixture(scope="module")
def noticed(tmp_path_factory: pytest.TempPathFactory) -> Noticed:
    """One store with one case started by `start` and moved by `fire give_notice`; read-only."""
    db = tmp_path_factory.mktemp("noticed") / "t.sqlite"
    started = ok_json(db, "start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", "2024-03-04T09:00", "--actor", "regional-director")
    fired = ok_json(db, "fire", started["id"], "give_notice", "--data", json.dumps(NOTICE_DATA), "--at", "2024-03-04T10:00", "--actor", "ofsted")
    return Noticed(db, started["id"], started, fired)


@pytest.fixture
def noticed_copy(noticed: Noticed, tmp_path: Path) -> Path:
    return copy_store(noticed.db, tmp_path / "t.sqlite")


# ------------------------------------------------------------------------- demo


def test_demo_ends_with_reinspection_and_both_letter_deadlines_met(demo: Demo) -> None:
    """`demo --json` runs the Norfolk example to a linked re-inspection with the letter deadlines met on time."""
    case = demo.case
    assert set(case) == CASE_KEYS
    assert case["workflow"] == WORKFLOW_ID and case["version"] == 1
    assert case["state"] == "reinspection_arranged"
    assert case["ended"] is True  # terminal in the definition
    assert case["parent"] is None
    # Para 42: letter sent within 20 and published within 25 working days of the
    # end of the inspection, Friday 14 June 2013. No English bank holiday falls
    # between (27 May and 26 August 2013 are outside), so 20 working days is four
    # weeks on, Friday 12 July, and 25 is Friday 19 July.
    deadlines = case["deadlines"]
    assert deadlines["letter_sent"]["due_date"] == "2013-07-12"
    assert deadlines["letter_published"]["due_date"] == "2013-07-19"
    assert deadlines["letter_sent"]["status"] == "met"
    assert deadlines["letter_published"]["status"] == "met"
    # Para 21: on site normally five days from Monday 10 June, i.e. to Friday 14 June.
    assert deadlines["on_site_normal_length"]["due_date"] == "2013-06-14"
    assert deadlines["on_site_normal_length"]["status"] == "met"
    # Para 20, 41: the re-inspection is a new case linked both ways.
    children = demo.document["children"]
    assert len(children) == 1
    assert children[0]["parent"] == case["id"]
    assert children[0]["id"] != case["id"]
    assert [c["id"] for c in case["children"]] == [children[0]["id"]]
    assert children[0]["state"] == DEFINITION["initial"]
    assert children[0]["data"]["concerns"] == ["previous_inspection_not_effective"]
    assert children[0]["data"]["authority"] == "Norfolk"


# ------------------------------------------------------------ start, fire, show


def test_start_then_fire_moves_state_and_show_has_the_documented_shape(noticed: Noticed) -> None:
    """`start` opens a case in the initial state, `fire --data --at` moves it, `show --json` has every documented key."""
    assert noticed.started["state"] == DEFINITION["initial"] == "concern_raised"
    assert noticed.started["data"] == START_DATA
    assert noticed.fired["state"] == "notice_given"
    view = ok_json(noticed.db, "show", noticed.case_id)
    assert set(view) == CASE_KEYS
    assert view["id"] == noticed.case_id
    assert view["workflow"] == WORKFLOW_ID
    assert view["version"] == DEFINITION["version"]
    assert HEX64.match(view["definition_hash"])
    assert view["state"] == "notice_given"
    assert view["ended"] is False
    assert view["data"] == {**START_DATA, **NOTICE_DATA}
    assert {k: p["value"] for k, p in DEFINITION["parameters"].items()} == view["parameters"]
    assert view["parent"] is None and view["children"] == []
    assert view["as_of"] is None
    # --at 2024-03-04T10:00 is UK time; 4 March is in GMT.
    assert view["last_effective_at"] == "2024-03-04T10:00:00+00:00"
    assert isinstance(view["events"], int) and view["events"] >= 2
    # The notice timer is armed for the first day on site (timer notice_ends, "on on_site_start").
    assert view["timers"]["notice_ends"]["due_at"].startswith("2024-03-11T00:00")
    assert view["timers"]["notice_ends"]["trigger"] == "begin_on_site"


def test_allowed_lists_the_triggers_the_definition_allows_from_the_state(noticed: Noticed) -> None:
    """`allowed --json` lists exactly the definition's triggers out of the case's state."""
    document = ok_json(noticed.db, "allowed", noticed.case_id)
    expected = {t["trigger"] for t in DEFINITION["transitions"] if "notice_given" in _from_states(t)}
    assert expected == {"defer_inspection", "begin_on_site", "raise_concern", "resolve_concern"}
    assert document["state"] == "notice_given"
    assert {t["trigger"] for t in document["triggers"]} == expected


def test_show_as_of_gives_the_case_as_it_stood_then(demo: Demo) -> None:
    """`show --as-of 2013-06-12` gives the demo case on site, before the letter deadlines existed."""
    view = ok_json(demo.db, "show", demo.case_id, "--as-of", "2013-06-12")
    assert set(view) == CASE_KEYS
    assert view["state"] == "on_site"  # on site Monday 10 to Friday 14 June
    assert view["ended"] is False
    assert view["as_of"] is not None and view["as_of"].startswith("2013-06-12")
    assert view["children"] == []
    # The letter deadlines are set by leaving the site (14 June): not yet there.
    pending = {"status": "pending"}
    assert view["deadlines"].get("letter_sent", pending)["status"] == "pending"
    assert view["deadlines"].get("letter_published", pending)["status"] == "pending"
    assert view["deadlines"]["on_site_normal_length"]["status"] == "pending"


def test_history_lists_events_in_order_with_an_unbroken_hash_chain(demo: Demo) -> None:
    """`history --json` lists versions 1..n, each with who/when/what, each prev_hash the previous digest."""
    document = ok_json(demo.db, "history", demo.case_id)
    events = document["events"]
    assert document["case_id"] == demo.case_id
    assert len(events) == demo.case["events"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    for event in events:
        assert set(event) == EVENT_KEYS
        assert HEX64.match(event["digest"]) and HEX64.match(event["prev_hash"])
        assert isinstance(event["details"], dict)
    for previous, event in zip(events, events[1:], strict=False):
        assert event["prev_hash"] == previous["digest"]
    assert len({e["digest"] for e in events}) == len(events)
    assert events[0]["type"] == "Started" and events[0]["actor"] == "ofsted-regional-director"
    assert events[0]["effective_at"] == "2013-06-03T09:00:00+01:00"
    # Events are kept in the order they took effect.
    effective = [e["effective_at"] for e in events]
    assert effective == sorted(effective)
    triggers = [e["details"].get("trigger") for e in events if e["type"] == "Transitioned"]
    assert triggers[0] == "give_notice" and triggers[-1] == "arrange_reinspection"


# ----------------------------------------------------------- due and simulate


def test_due_lists_the_notice_timer_and_simulate_fires_it(noticed_copy: Path, noticed: Noticed) -> None:
    """`due --before` lists notice_ends on the first day on site; `simulate --until` fires it; `--all` clears everything."""
    assert ok_json(noticed_copy, "due", "--before", "2024-03-10T23:59")["items"] == []
    items = ok_json(noticed_copy, "due", "--before", "2024-03-11")["items"]
    assert [(i["kind"], i["name"], i["case_id"]) for i in items] == [("timer", "notice_ends", noticed.case_id)]
    assert items[0]["due_at"].startswith("2024-03-11T00:00")

    simulated = ok_json(noticed_copy, "simulate", "--until", "2024-03-11")
    assert [(i["kind"], i["name"]) for i in simulated["handled"]] == [("timer", "notice_ends")]
    assert simulated["count"] == 1

    view = ok_json(noticed_copy, "show", noticed.case_id)
    assert view["state"] == "on_site"
    assert view["timers"] == {}
    # Para 21: five days on site counting the first, Monday 11 to Friday 15 March 2024.
    on_site = view["deadlines"]["on_site_normal_length"]
    assert (on_site["due_date"], on_site["status"]) == ("2024-03-15", "pending")

    everything = ok_json(noticed_copy, "simulate", "--all")
    assert ("deadline", "on_site_normal_length") in [(i["kind"], i["name"]) for i in everything["handled"]]
    assert ok_json(noticed_copy, "due")["items"] == []


def test_an_unmet_letter_deadline_shows_as_missed_once_its_day_is_over(noticed_copy: Path, noticed: Noticed) -> None:
    """A letter not sent by its due day shows as missed after `simulate` passes that day, not before."""
    case = noticed.case_id
    assert ok_json(noticed_copy, "fire", case, "begin_on_site", "--at", "2024-03-11T09:00")["state"] == "on_site"
    feedback = {"strengths": ["early years"], "weaknesses": ["challenge to schools"]}
    ok_json(noticed_copy, "fire", case, "give_feedback", "--data", json.dumps(feedback), "--at", "2024-03-15T12:00")
    left = ok_json(noticed_copy, "fire", case, "leave_site", "--at", "2024-03-15T17:00")
    assert left["state"] == "quality_assurance"
    # End of the inspection Friday 15 March 2024. Working days after it, skipping
    # Good Friday 29 March and Easter Monday 1 April 2024: 18-22 Mar (1-5),
    # 25-28 Mar (6-9), 2-5 Apr (10-13), 8-12 Apr (14-18), 15-16 Apr (19-20),
    # 17-19 Apr (21-23), 22-23 Apr (24-25). So sent by Tue 16 April (20), published by Tue 23 April (25).
    assert left["deadlines"]["letter_sent"]["due_date"] == "2024-04-16"
    assert left["deadlines"]["letter_published"]["due_date"] == "2024-04-23"

    late_on_the_day = ok_json(noticed_copy, "simulate", "--until", "2024-04-16T23:00")
    # Only the reminders (parameter reminder_lead, 5 working days before each deadline):
    # Tue 9 April for the letter (15, 12, 11, 10, 9 April) and Tue 16 April for publication.
    reminders = [(i["kind"], i["name"], i["due_at"][:10]) for i in late_on_the_day["handled"]]
    assert reminders == [("reminder", "letter_sent", "2024-04-09"), ("reminder", "letter_published", "2024-04-16")]

    next_day = ok_json(noticed_copy, "simulate", "--until", "2024-04-17")
    assert [(i["kind"], i["name"]) for i in next_day["handled"]] == [("deadline", "letter_sent")]

    view = ok_json(noticed_copy, "show", case)
    assert view["state"] == "quality_assurance"
    assert view["deadlines"]["letter_sent"]["status"] == "missed"
    assert view["deadlines"]["letter_published"]["status"] == "pending"


def test_simulate_until_before_anything_is_due_reports_that_moment(noticed_copy: Path) -> None:
    """`simulate --until` a moment before anything falls due handles nothing and reports the clock at that moment."""
    document = ok_json(noticed_copy, "simulate", "--until", "2024-03-08")
    assert document["count"] == 0
    assert document["clock"] == "2024-03-08T00:00:00+00:00"


# ---------------------------------------------------------------------- verify


def test_verify_passes_on_an_untouched_store(demo: Demo) -> None:
    """`verify` exits 0 and reports every case ok when no stored event was altered."""
    run = cli(demo.db, "verify")
    assert run.code == 0, str(run)
    assert demo.case_id in run.out and demo.child_id in run.out
    assert "FAIL" not in run.out


def test_verify_names_a_middle_event_altered_in_the_file(demo: Demo, demo_copy: Path) -> None:
    """Changing one actor inside a middle event's stored JSON makes `verify` exit 1 naming that event."""
    versions = versions_of(demo_copy, demo.case_id)
    middle = versions[len(versions) // 2]
    tamper_actor(demo_copy, demo.case_id, middle, "someone-else")
    run = cli(demo_copy, "verify")
    assert run.code == 1, str(run)
    named = set(re.findall(r"event (\d+)", run.out))
    assert named == {str(middle)}, str(run)
    failing = [line for line in run.out.splitlines() if "FAIL" in line]
    assert len(failing) == 1 and demo.case_id in failing[0]


def test_verify_detects_an_altered_last_event(demo: Demo, demo_copy: Path) -> None:
    """Altering the newest event (no later event's chain to break) is caught by its own digest."""
    last = versions_of(demo_copy, demo.case_id)[-1]
    tamper_actor(demo_copy, demo.case_id, last, "someone-else")
    run = cli(demo_copy, "verify")
    assert run.code == 1, str(run)
    assert set(re.findall(r"event (\d+)", run.out)) == {str(last)}, str(run)


def test_verify_json_reports_each_case(demo: Demo) -> None:
    """`verify --json` prints ok and one check per case with its head hash."""
    document = ok_json(demo.db, "verify")
    assert document["ok"] is True
    assert {c["case_id"] for c in document["cases"]} == {demo.case_id, demo.child_id}
    assert all(c["ok"] and HEX64.match(c["head_hash"]) for c in document["cases"])


# ----------------------------------------------------------------- definitions


def test_definitions_list_shows_the_shipped_workflow(demo: Demo) -> None:
    """`definitions list --json` lists every shipped workflow file, the 2013 one with its counts of states and transitions."""
    rows = ok_json(demo.db, "definitions", "list")["definitions"]
    shipped = [path for path in WORKFLOWS.glob("*.yaml")]
    assert len(rows) == len(shipped)
    (row,) = [r for r in rows if (r["id"], r["version"]) == (DEFINITION["id"], DEFINITION["version"])]
    assert row["states"] == len(DEFINITION["states"])
    assert row["transitions"] == len(DEFINITION["transitions"])
    assert row["calendar"] == "england" and row["inspectorate"] == "Ofsted"
    # A case pins the hash of the definition it started on.
    assert row["content_hash"] == demo.case["definition_hash"]


def test_definitions_show_gives_the_definition_in_full(demo: Demo) -> None:
    """`definitions show --json` gives the whole definition and its content hash."""
    document = ok_json(demo.db, "definitions", "show", WORKFLOW)
    definition = document["definition"]
    assert HEX64.match(document["content_hash"])
    assert definition["id"] == WORKFLOW_ID and definition["initial"] == DEFINITION["initial"]
    assert set(definition["states"]) == set(DEFINITION["states"])
    assert [t["trigger"] for t in definition["transitions"]] == [t["trigger"] for t in DEFINITION["transitions"]]
    assert [d["id"] for d in definition["deadlines"]] == [d["id"] for d in DEFINITION["deadlines"]]


def test_definitions_validate_accepts_the_shipped_folder(demo: Demo) -> None:
    """`definitions validate --json` with no files checks the workflows folder and says ok."""
    document = ok_json(demo.db, "definitions", "validate")
    assert document["ok"] is True
    assert f"{WORKFLOW_ID}@{DEFINITION['version']}" in document["definitions"]
    assert len(document["definitions"]) == len(list(WORKFLOWS.glob("*.yaml")))


def test_definitions_diagram_is_a_mermaid_state_diagram(demo: Demo) -> None:
    """`definitions diagram` is Mermaid `stateDiagram-v2` text naming every state."""
    text = ok_json(demo.db, "definitions", "diagram", WORKFLOW)["mermaid"]
    assert text.startswith("stateDiagram-v2")
    for state in DEFINITION["states"]:
        assert re.search(rf"\b{state}\b", text), state


def test_definitions_schema_is_the_committed_schema(demo: Demo) -> None:
    """`definitions schema` prints exactly the committed workflows/schema.json."""
    run = cli(demo.db, "definitions", "schema")
    assert run.code == 0, str(run)
    assert run.out == (WORKFLOWS / "schema.json").read_text(encoding="utf-8")
    json.loads(run.out)


def test_definitions_schema_accepts_json(demo: Demo) -> None:
    """`definitions schema --json` is accepted like every other command and prints JSON."""
    document = ok_json(demo.db, "definitions", "schema")
    assert document == json.loads((WORKFLOWS / "schema.json").read_text(encoding="utf-8"))


BROKEN_YAML = "id: broken\nversion: 1\ntitle: a: b\ninitial: a\n"  # line 3: a second `:` in a plain value


def test_definitions_validate_names_file_and_line_of_broken_yaml(tmp_path: Path) -> None:
    """`definitions validate FILE` on malformed YAML exits 1 with one error line naming the file and the line."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_YAML, encoding="utf-8")
    run = cli(tmp_path / "t.sqlite", "definitions", "validate", str(broken))
    assert run.code == 1, str(run)
    assert run.out == ""
    lines = run.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), str(run)
    assert f"{broken}:3" in lines[0]


def test_definitions_validate_reports_every_broken_file(tmp_path: Path) -> None:
    """`definitions validate A B` reports the problems of both broken files, not only the first."""
    first = tmp_path / "first.yaml"
    first.write_text(BROKEN_YAML, encoding="utf-8")
    second = tmp_path / "second.yaml"
    text = DEFINITION_FILE.read_text(encoding="utf-8")
    second.write_text(text.replace("\ninitial: concern_raised\n", "\ninitial: no_such_state\n"), encoding="utf-8")
    line = text.splitlines().index("initial: concern_raised") + 1
    run = cli(tmp_path / "t.sqlite", "definitions", "validate", str(first), str(second))
    assert run.code == 1, str(run)
    assert f"{first}:3" in run.err and f"{second}:{line}" in run.err, str(run)


# -------------------------------------------------------------- refused commands

# The demo's child case is in concern_raised, its one event at 10:00 on Friday
# 20 September 2013. Notice on Monday 23 September allows a first day on site up
# to Monday 30 September (five working days, para 12; no bank holiday near).
AT = "2013-09-23T10:00"
GOOD_NOTICE = {"on_site_start": "2013-09-30", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}


def _notice(**change: Any) -> str:
    data = {**GOOD_NOTICE, **change}
    return json.dumps({k: v for k, v in data.items() if v is not None})


REFUSALS = [
    pytest.param(lambda d, t: ["fire", str(uuid.uuid4()), "give_notice", "--data", _notice(), "--at", AT], "no case", id="unknown-case"),
    pytest.param(lambda d, t: ["fire", "not-a-case-id", "give_notice", "--data", _notice(), "--at", AT], "not-a-case-id", id="malformed-case-id"),
    pytest.param(lambda d, t: ["fire", d.child_id, "summon_the_minister", "--at", AT], "summon_the_minister", id="unknown-trigger"),
    pytest.param(lambda d, t: ["fire", d.child_id, "publish_letter", "--at", AT], "concern_raised", id="trigger-not-allowed-in-state"),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(on_site_start="2013-10-01"), "--at", AT],
        "on_site_start",
        id="guard-failed-notice-too-long",
    ),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(lead_inspector=None), "--at", AT],
        "lead_inspector",
        id="missing-required-data",
    ),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(lead_inspector=7), "--at", AT],
        "lead_inspector",
        id="wrong-type",
    ),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(catering="sandwiches"), "--at", AT],
        "catering",
        id="unknown-data-key",
    ),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", '{"on_site_start": "2013-09-30",', "--at", AT],
        "--data",
        id="malformed-json",
    ),
    pytest.param(
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", f"@{t / 'missing.json'}", "--at", AT],
        "missing.json",
        id="data-file-missing",
    ),
    pytest.param(
        lambda d, t: ["start", "ofsted-no-such-workflow", "--data", json.dumps(START_DATA), "--at", AT],
        "ofsted-no-such-workflow",
        id="unknown-workflow",
    ),
    pytest.param(lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(), "--at", "next monday"], "next monday", id="at-not-a-date"),
    pytest.param(
        # 09:00 on 19 September, before the child's only event; the data would pass the guard from then.
        lambda d, t: ["fire", d.child_id, "give_notice", "--data", _notice(on_site_start="2013-09-26"), "--at", "2013-09-19T09:00"],
        "before",
        id="at-before-last-event",
    ),
    pytest.param(
        lambda d, t: ["start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", AT, "--param", "inspection_budget=100"],
        "inspection_budget",
        id="unknown-param",
    ),
]


@pytest.mark.parametrize(("make_args", "mentions"), REFUSALS)
def test_refused_command_writes_nothing(demo: Demo, demo_copy: Path, tmp_path: Path, make_args: Any, mentions: str) -> None:
    """A refused command exits 1 with one `error:` line naming what was wrong, no stdout, and no stored event changed."""
    line = assert_refused(demo_copy, *make_args(demo, tmp_path))
    assert mentions in line


def test_the_refusals_baseline_notice_is_accepted(demo: Demo, demo_copy: Path) -> None:
    """The notice the refusal tests vary (five working days' notice) is itself accepted, so each refusal has one cause."""
    view = ok_json(demo_copy, "fire", demo.child_id, "give_notice", "--data", _notice(), "--at", AT)
    assert view["state"] == "notice_given"
    assert view["data"]["on_site_start"] == GOOD_NOTICE["on_site_start"]


def test_start_refuses_a_parameter_value_that_is_not_a_duration(demo: Demo, demo_copy: Path) -> None:
    """`start --param notice_period=banana` is refused up front and writes nothing."""
    line = assert_refused(demo_copy, "start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", AT, "--param", "notice_period=banana")
    assert "banana" in line
