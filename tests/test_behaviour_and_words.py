"""Behaviour versus words: editing a description, a title or a citation's choice leaves running cases running.

A case pins the content hash of its definition; `Definition.behaviour_hash`
leaves the words out. The first half checks the hash against edits written
by hand, one field at a time: each word field leaves it as it was, each
behaviour field changes it (and both change the content hash). The second
half edits the YAML file of a copy of the workflows folder as an operator
would, on a real SQLite file, and runs the CLI in subprocesses: after a
words-only edit the case takes its next command and shows, verifies,
replays, exports and imports; after an edit of a guard or a timer the
command is refused and nothing is written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
import zipfile
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from laworkflow import Catalog, Engine, SimulatedClock, store_env
from laworkflow.definitions.model import Definition
from laworkflow.errors import DefinitionChanged
from old_definitions import workflows_as_pinned

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE.parent / "workflows"
OLD_STORE = HERE / "fixtures" / "store_before_relayout.sqlite"
FILE = "ofsted-laassi-2013.yaml"
OFSTED = "ofsted-laassi@1"
START = {"authority": "Kent", "concerns": ["attainment_below_national"]}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
RECORD_TOPIC = "%DefinitionRecord.Recorded"

# ------------------------------------------------------------------ the hash, field by field

CATALOG = Catalog.from_directory(WORKFLOWS)


def edited(definition: Definition, path: tuple[Any, ...], value: Any) -> Definition:
    """The definition with one value replaced; a path step `key=value` picks the item of a list that has it."""
    dumped = definition.model_dump(mode="json", by_alias=True)
    node: Any = dumped
    for step in path[:-1]:
        if isinstance(step, str) and "=" in step:
            key, wanted = step.split("=", 1)
            node = next(item for item in node if item[key] == wanted)
        else:
            node = node[step]
    node[path[-1]] = value
    return Definition.model_validate(dumped)


GIVE_NOTICE = "trigger=give_notice"
TEAM = "id=team_larger_than_two_hmi"
# (workflow, path, new value): written by hand from the YAML files. Each is a word: the behaviour hash must not move.
WORDS = [
    (OFSTED, ("title",), "Another title"),
    (OFSTED, ("inspectorate",), "Office for Standards in Education"),
    (OFSTED, ("description",), "Reworded."),
    (OFSTED, ("sources", "laassi2013", "title"), "The framework, retitled"),
    (OFSTED, ("sources", "laassi2013", "file"), "renamed.pdf"),
    (OFSTED, ("in_force_cites", "choice"), "Another reading of the preface."),
    (OFSTED, ("parameters", "notice_period", "description"), "Notice, reworded."),
    (OFSTED, ("parameters", "notice_period", "cites", "choice"), "Another reading."),
    (OFSTED, ("data", "authority", "description"), "The council."),
    (OFSTED, ("states", "concern_raised", "description"), "Reworded."),
    (OFSTED, ("states", "concern_raised", "cites", "para"), "9"),
    (OFSTED, ("transitions", GIVE_NOTICE, "description"), "Reworded."),
    (OFSTED, ("transitions", GIVE_NOTICE, "weight"), 0.25),
    (OFSTED, ("transitions", GIVE_NOTICE, "cites", "choice"), "A choice written later."),
    (OFSTED, ("transitions", GIVE_NOTICE, "guards", 0, "cites", "para"), "12-13"),
    (OFSTED, ("transitions", GIVE_NOTICE, "data", "on_site_start", "description"), "Reworded."),
    (OFSTED, ("timers", "id=notice_ends", "description"), "Reworded."),
    (OFSTED, ("timers", "id=notice_ends", "cites", "choice"), "A choice written later."),
    (OFSTED, ("deadlines", "id=letter_sent", "description"), "Reworded."),
    (OFSTED, ("deadlines", "id=letter_sent", "cites", "para"), "42-43"),
    (OFSTED, ("findings", TEAM, "message"), "Three or more HMI."),
    (OFSTED, ("findings", TEAM, "cites", "choice"), "Reworded."),
    (OFSTED, ("findings", TEAM, "when", 0, "cites"), {"source": "laassi2013", "para": "15"}),
    ("ofsted-monitoring@1", ("reactions", "id=visit_on_site", "description"), "Reworded."),
    ("ofsted-monitoring@1", ("reactions", "id=visit_on_site", "cites", "para"), "Next steps"),
    ("ofsted-monitoring@1", ("data", "all_key_areas_inadequate", "derived", "cites", "para"), "footnote 4"),
    ("ofsted-monitoring@1", ("data", "all_key_areas_inadequate", "derived", "all", 0, "cites"), {"source": "reinspection2016", "para": "3"}),
]
# Each is behaviour: the behaviour hash must change.
BEHAVIOUR = [
    (OFSTED, ("calendar",), "wales"),
    (OFSTED, ("initial",), "notice_given"),
    (OFSTED, ("in_force_until",), "2014-05-31"),
    (OFSTED, ("parameters", "notice_period", "value"), "5 days"),
    (OFSTED, ("data", "concerns", "required"), False),
    (OFSTED, ("states", "concern_raised", "status"), "concern noted"),
    (OFSTED, ("states", "not_inspected", "terminal"), False),
    (OFSTED, ("transitions", GIVE_NOTICE, "to"), "on_site"),
    (OFSTED, ("transitions", GIVE_NOTICE, "from"), ["deferred"]),
    (OFSTED, ("transitions", GIVE_NOTICE, "guards", 0, "value"), "10 working days"),
    (OFSTED, ("transitions", GIVE_NOTICE, "data", "on_site_start", "type"), "string"),
    (OFSTED, ("transitions", GIVE_NOTICE, "data", "inspectors", "min_items"), 2),
    (OFSTED, ("transitions", GIVE_NOTICE, "internal"), True),
    (OFSTED, ("timers", "id=notice_ends", "due"), "2 working days"),
    (OFSTED, ("timers", "id=notice_ends", "fires"), "defer_inspection"),
    (OFSTED, ("deadlines", "id=letter_sent", "due"), "21 working days"),
    (OFSTED, ("deadlines", "id=letter_sent", "met_by"), ["publish_letter"]),
    (OFSTED, ("findings", TEAM, "on"), ["begin_on_site"]),
    (OFSTED, ("findings", TEAM, "when", 0, "value"), 3),
    ("ofsted-monitoring@1", ("reactions", "id=visit_on_site", "reaches"), ["letter_published"]),
    ("ofsted-monitoring@1", ("data", "all_key_areas_inadequate", "derived", "all", 0, "value"), "looked_after_and_permanence"),
    # Reference data is behaviour, even under a key named `title`: words are left out by where they are, not by name.
    ("ofsted-laassi@2", ("reference", "reporting_areas", "corporate_leadership", "title"), "Corporate leadership"),
]


def _definition(key: str) -> Definition:
    workflow_id, version = key.split("@")
    return CATALOG.get(workflow_id, int(version)).definition


@pytest.mark.parametrize(("key", "path", "value"), WORDS, ids=["/".join(map(str, p)) for _, p, _ in WORDS])
def test_a_word_changes_the_content_hash_and_not_the_behaviour_hash(key: str, path: tuple[Any, ...], value: Any) -> None:
    original = _definition(key)
    changed = edited(original, path, value)
    assert changed.content_hash() != original.content_hash()
    assert changed.behaviour_hash() == original.behaviour_hash()


@pytest.mark.parametrize(("key", "path", "value"), BEHAVIOUR, ids=["/".join(map(str, p)) for _, p, _ in BEHAVIOUR])
def test_a_rule_changes_the_behaviour_hash(key: str, path: tuple[Any, ...], value: Any) -> None:
    original = _definition(key)
    changed = edited(original, path, value)
    assert changed.content_hash() != original.content_hash()
    assert changed.behaviour_hash() != original.behaviour_hash()


def test_the_behaviour_hash_is_sha256_of_the_canonical_json_without_the_words() -> None:
    """Worked out independently of the model: the dump with the words deleted by hand, hashed with the content hash's recipe."""
    definition = _definition(OFSTED)
    dumped = definition.model_dump(mode="json", by_alias=True)
    for key in ("title", "inspectorate", "description", "in_force_cites", "sources"):
        dumped.pop(key, None)
    for group in ("parameters", "states"):
        for item in dumped[group].values():
            item.pop("description", None), item.pop("cites", None)
    for spec in dumped["data"].values():
        spec.pop("description", None)
    for transition in dumped["transitions"]:
        for key in ("description", "weight", "cites"):
            transition.pop(key, None)
        for spec in transition["data"].values():
            spec.pop("description", None)
        for guard in transition["guards"]:
            guard.pop("cites", None)
    for group in ("timers", "deadlines", "reactions"):
        for item in dumped[group]:
            item.pop("description", None), item.pop("cites", None)
    for finding in dumped["findings"]:
        finding.pop("message"), finding.pop("cites")
        for condition in finding["when"]:
            condition.pop("cites", None)
    text = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    assert definition.behaviour_hash() == hashlib.sha256(text.encode()).hexdigest()
    for word in ('"description"', '"cites"', '"choice"', '"para"', '"message"', '"weight"', '"title"', '"sources"'):
        assert word not in text


# ------------------------------------------------------------------ a running case, its file edited


def edit(folder: Path, old: str, new: str, file: str = FILE) -> None:
    path = folder / file
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


# Text edits of the YAML file, as an operator would make them.
WORD_EDITS = {
    "description": ("\ndescription: >\n", "\ndescription: >\n  Edited after cases started on it.\n"),
    "citation choice": ('"Notice of up to five days" is read as five working days', '"Notice of up to five days" is read, on reflection, as five working days'),
    "title": ("supporting school improvement (May 2013)\n", "supporting school improvement (framework of May 2013)\n"),
}
BEHAVIOUR_EDITS = {
    "guard": ("        value: $notice_period\n", "        value: 10 working days\n"),
    "timer due": ("    due: on on_site_start\n", "    due: 2 working days\n"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    return copy


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite"


def cli(db: Path | str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    command = [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(folder), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=folder.parent, timeout=120)


def ok(db: Path | str, folder: Path, *args: str) -> str:
    run = cli(db, folder, *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def digest(db: Path) -> str:
    """Everything in the file, table by table: what 'nothing was written' is measured against."""
    with closing(sqlite3.connect(db)) as connection:
        return hashlib.sha256("\n".join(connection.iterdump()).encode()).hexdigest()


def records(db: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT state FROM stored_events WHERE topic LIKE ? ORDER BY rowid", (RECORD_TOPIC,)).fetchall()
    return [json.loads(state) for (state,) in rows]


def started_case(db: Path, folder: Path, notice: dict[str, Any] = NOTICE) -> tuple[str, str]:
    """A case given notice (two commands, before any edit), and its pinned content hash."""
    view = json.loads(ok(db, folder, "start", OFSTED, "--data", json.dumps(START), "--at", "2013-06-03T09:00", "--json"))
    ok(db, folder, "fire", view["id"], "give_notice", "--data", json.dumps(notice), "--at", "2013-06-05T10:00")
    return view["id"], view["definition_hash"]


@pytest.mark.parametrize("which", list(WORD_EDITS))
def test_after_a_words_only_edit_the_case_goes_on_and_its_record_holds(db: Path, folder: Path, tmp_path: Path, which: str) -> None:
    case, pinned = started_case(db, folder)
    edit(folder, *WORD_EDITS[which])
    assert Catalog.from_directory(folder).get("ofsted-laassi", 1).content_hash != pinned

    moved = json.loads(ok(db, folder, "fire", case, "begin_on_site", "--at", "2013-06-10T09:30", "--json"))
    assert moved["state"] == "on_site" and moved["definition_hash"] == pinned  # still pinned to the content it started on
    shown = json.loads(ok(db, folder, "show", case, "--json"))
    assert (shown["state"], shown["events"], shown["definition_hash"]) == ("on_site", moved["events"], pinned)
    earlier = json.loads(ok(db, folder, "show", case, "--as-of", "2013-06-04", "--json"))
    assert earlier["state"] == "concern_raised"
    assert len(json.loads(ok(db, folder, "history", case, "--json"))["events"]) == moved["events"]
    assert json.loads(ok(db, folder, "verify", "--json"))["ok"] is True
    replayed = json.loads(ok(db, folder, "audit", "replay", "--json"))
    assert replayed["ok"] is True and replayed["findings"] == [] and replayed["cases"] == 1

    bundle = tmp_path / "bundle.zip"
    ok(db, folder, "export", "--out", str(bundle))
    with zipfile.ZipFile(bundle) as members:  # the bundle ships the content the case pinned, word for word
        assert json.loads(members.read("manifest.json"))["definitions"] == {pinned: OFSTED}
        assert hashlib.sha256(members.read(f"definitions/{pinned}.json")).hexdigest() == pinned
    checked = json.loads(ok("memory:", folder, "audit", "verify", str(bundle), "--json"))
    assert checked["ok"] is True
    imported = tmp_path / "imported.sqlite"
    ok(imported, folder, "import", str(bundle))
    again = json.loads(ok(imported, folder, "show", case, "--json"))
    assert (again["state"], again["definition_hash"]) == ("on_site", pinned)
    assert len(records(db)) == 1  # no record for the edited content: no case pins it


def test_reads_show_the_new_words_and_the_exact_content_stays_the_pinned_one(db: Path, folder: Path) -> None:
    case, pinned = started_case(db, folder)
    edit(folder, *WORD_EDITS["title"])
    engine = Engine(Catalog.from_directory(folder), clock=SimulatedClock("2013-06-06T09:00:00+01:00"), env=store_env(str(db)))
    try:
        shown = engine.pinned("ofsted-laassi", 1, pinned)
        assert shown.definition.title == "Ofsted inspection of local authority arrangements for supporting school improvement (framework of May 2013)"
        exact = engine.definitions.exact("ofsted-laassi", 1, pinned)
        assert exact.content_hash == pinned
        assert exact.definition.title == "Ofsted inspection of local authority arrangements for supporting school improvement (May 2013)"
        assert engine.get(case).state == "notice_given"
    finally:
        engine.close()


def test_after_a_words_only_edit_the_scheduler_fires_the_timer_and_allowed_gives_the_new_words(db: Path, folder: Path) -> None:
    _, pinned = started_case(db, folder)
    edit(folder, "description: The notice period is over; inspectors arrive on the day given in the notice.", "description: Notice is over; the team arrives.")
    engine = Engine(Catalog.from_directory(folder), clock=SimulatedClock("2013-06-06T09:00:00+01:00"), env=store_env(str(db)))
    try:
        (case,) = engine.case_ids()
        offered = [a.description for a in engine.allowed_triggers(case, at="2013-06-07T09:00") if a.trigger == "begin_on_site"]
        assert "Notice is over; the team arrives." in offered
        engine.run_due(until="2013-06-10T09:00")  # notice_ends falls due on the first day on site, 10 June
        view = engine.get(case)
        assert (view.state, view.definition_hash) == ("on_site", pinned)
        assert engine.quarantined() == []
    finally:
        engine.close()


def test_a_new_case_after_a_words_edit_pins_the_new_content_and_keeps_its_record(db: Path, folder: Path) -> None:
    _, pinned = started_case(db, folder)
    edit(folder, *WORD_EDITS["description"])
    now = Catalog.from_directory(folder).get("ofsted-laassi", 1).content_hash
    view = json.loads(ok(db, folder, "start", OFSTED, "--data", json.dumps(START), "--at", "2013-06-04T09:00", "--json"))
    assert view["definition_hash"] == now != pinned
    kept = records(db)
    assert [record["content_hash"] for record in kept] == [pinned, now]
    assert kept[1]["content"]["description"].startswith("Edited after cases started on it.")


def test_a_finding_recorded_after_its_message_was_edited_replays_clean(db: Path, folder: Path) -> None:
    """The finding's message is words: the command after the edit records the new message, and replay accepts it."""
    view = json.loads(ok(db, folder, "start", OFSTED, "--data", json.dumps(START), "--at", "2013-06-03T09:00", "--json"))
    edit(folder, "The team is larger than the two HMI an inspection normally has", "The team is larger than the usual two HMI")
    larger = {**NOTICE, "inspectors": ["HMI Second", "HMI Third"]}
    shown = json.loads(ok(db, folder, "fire", view["id"], "give_notice", "--data", json.dumps(larger), "--at", "2013-06-05T10:00", "--json"))
    assert [f["message"] for f in shown["findings"]] == ["The team is larger than the usual two HMI (the lead inspector and one other)."]
    replayed = json.loads(ok(db, folder, "audit", "replay", "--json"))
    assert replayed["ok"] is True, replayed["findings"]


@pytest.mark.parametrize("which", list(BEHAVIOUR_EDITS))
def test_after_a_behaviour_edit_a_command_is_refused_and_nothing_is_written(db: Path, folder: Path, which: str) -> None:
    case, pinned = started_case(db, folder)
    edit(folder, *BEHAVIOUR_EDITS[which])
    now = Catalog.from_directory(folder).get("ofsted-laassi", 1).content_hash
    before = digest(db)
    refused = cli(db, folder, "fire", case, "begin_on_site", "--at", "2013-06-10T09:30")
    assert refused.returncode == 1 and refused.stdout == ""
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), refused.stderr
    assert "not only in words" in lines[0] and pinned[:12] in lines[0] and now[:12] in lines[0] and "migrat" in lines[0]
    assert digest(db) == before
    engine = Engine(Catalog.from_directory(folder), clock=SimulatedClock("2013-06-06T09:00:00+01:00"), env=store_env(str(db)))
    try:
        with pytest.raises(DefinitionChanged):
            engine.fire(case, "begin_on_site", actor="lead", at="2013-06-10T09:30")
        with pytest.raises(DefinitionChanged):
            engine.fire_timer(case, "notice_ends", at="2013-06-10T09:00")
        assert engine.pinned("ofsted-laassi", 1, pinned).content_hash == pinned  # reads: the content kept in the store
        assert engine.get(case).state == "notice_given"
    finally:
        engine.close()
    assert digest(db) == before
    assert json.loads(ok(db, folder, "show", case, "--json"))["state"] == "notice_given"


def test_an_old_store_without_the_pinned_content_still_refuses_a_words_only_edit(tmp_path: Path) -> None:
    """Nothing kept to compare the words with: today's rule holds (a command refused, nothing written)."""
    old = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_STORE, old)
    assert records(old) == []
    folder = workflows_as_pinned(tmp_path)
    with closing(sqlite3.connect(old)) as connection:
        started = connection.execute("SELECT originator_id FROM stored_events WHERE topic = 'laworkflow.case:Case.Started' ORDER BY rowid").fetchall()
    suffolk = uuid.UUID(bytes=started[1][0]) if isinstance(started[1][0], bytes) else uuid.UUID(started[1][0])
    edit(folder, *WORD_EDITS["description"])
    engine = Engine(Catalog.from_directory(folder), clock=SimulatedClock("2015-03-02T09:00:00+00:00"), env=store_env(str(old)))
    before = digest(old)  # once open: opening brings the timer index's own tables up to date (an index of this version)
    try:
        with pytest.raises(DefinitionChanged) as refused:
            engine.fire(suffolk, "record_evidence", {"notebook": "summary", "entry": "After the edit"}, actor="lead-hmi", at="2013-06-12T10:00")
        assert "keeps no copy" in str(refused.value)
    finally:
        engine.close()
    assert digest(old) == before
