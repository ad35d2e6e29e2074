"""Every way a person or a script can get the command line wrong ends in one line.

Each test runs the real CLI as a subprocess and requires, for a refusal: exit
status 1, exactly one line on stderr starting `error:`, no traceback, nothing
on stdout, and the store unchanged byte for byte. The inputs are the ones
found to crash or mislead the CLI (issue 7): unusable stores, a missing
driver, bytes that are not UTF-8, data nested or sized to exhaust the parser,
dates past the range the engine accepts, a nation the calendar does not know,
and a simulation that would write the future into a real store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from laworkflow.calendar.clock import LONDON
from laworkflow.calendar.working_days import calendar_for

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
WORKFLOW = "ofsted-laassi@1"
START_DATA = {"authority": "Kent", "concerns": ["attainment_below_national"]}
CLI = [sys.executable, "-m", "laworkflow.cli"]
# The CLI run with psycopg made unimportable, as on an install without the `postgres` extra.
NO_PSYCOPG = [sys.executable, "-c", "import sys; sys.modules['psycopg'] = None; from laworkflow.cli import app; app()"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAWORKFLOW_", "POSTGRES_"))}
    env.update(extra)
    return env


def run(store: str | Path | bytes, *args: str | bytes, command: list[str] = CLI, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[bytes]:
    """The CLI on a store, with the shipped workflows; bytes in and out, so nothing is decoded for us."""
    store_arg = store if isinstance(store, bytes) else str(store)
    return subprocess.run(
        [*command, "--workflows", str(WORKFLOWS), "--store", store_arg, *args],
        capture_output=True,
        env=_env(**env),
        cwd=cwd,
        timeout=120,
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "(no file)"


def assert_one_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    """Exit 1, one `error:` line on stderr, nothing on stdout, no traceback; returns the line."""
    err = proc.stderr.decode("utf-8")
    shown = f"exit {proc.returncode}\n--- stdout\n{proc.stdout!r}\n--- stderr\n{err}"
    assert proc.returncode == 1, shown
    assert proc.stdout == b"", shown
    assert "Traceback" not in err, shown
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), shown
    return lines[0]


def refused(db: Path, *args: str | bytes, **kwargs: Any) -> str:
    """A refused command on the store `db`, which must be byte-for-byte unchanged afterwards."""
    before = digest(db)
    line = assert_one_line(run(db, *args, **kwargs))
    assert digest(db) == before, f"the store changed: {line}"
    return line


def ok(db: Path | str, *args: str, **env: str) -> Any:
    proc = run(db, *args, "--json", **env)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def settled(db: Path) -> None:
    """Fold the store's events into its timer index so a read-only command then writes nothing."""
    assert run(db, "due").returncode == 0


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    db = tmp_path_factory.mktemp("demo") / "t.sqlite"
    document = ok(db, "demo")
    settled(db)
    return db, document


@pytest.fixture
def db(demo_store: tuple[Path, dict[str, Any]], tmp_path: Path) -> Path:
    """A private copy of the demo store (the backup API copes with WAL mode)."""
    target = tmp_path / "t.sqlite"
    with closing(sqlite3.connect(demo_store[0])) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    settled(target)
    return target


# --------------------------------------------------------------- unusable stores


def test_a_folder_as_store_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    folder.mkdir()
    line = assert_one_line(run(folder, "due"))
    assert "folder" in line
    assert list(folder.iterdir()) == []


def test_a_text_file_as_store_is_one_line_and_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("shopping: eggs\n", encoding="utf-8")
    line = refused(text, "start", WORKFLOW, "--data", json.dumps(START_DATA))
    assert "not an SQLite database" in line


def test_random_bytes_as_store_are_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(os.urandom(8192))
    refused(junk, "due")


def test_a_truncated_sqlite_store_is_one_line_and_left_alone(db: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.sqlite"
    cut.write_bytes(db.read_bytes()[:3000])  # a valid header, then nothing
    for args in (["due"], ["start", WORKFLOW, "--data", json.dumps(START_DATA)], ["verify"]):
        line = refused(cut, *args)
        assert "damaged" in line or "malformed" in line, line


def test_a_read_only_sqlite_store_refuses_a_write_in_one_line(db: Path) -> None:
    """Tests run as root, whom file modes do not stop; the immutable attribute stops root too (skipped where chattr cannot set it)."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available on this filesystem, and root ignores file modes")
    try:
        line = refused(db, "start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", "2024-03-04")
        assert "read-only" in line
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_an_unreachable_postgres_is_one_line_within_the_connect_timeout() -> None:
    """Port 1 on this machine refuses connections; the default connect timeout is 5 s, not psycopg_pool's 30."""
    began = time.monotonic()
    line = assert_one_line(run("postgresql://inspector:hunter2@127.0.0.1:1/laworkflow", "due"))
    assert time.monotonic() - began < 20
    assert "hunter2" not in line and "inspector:***@127.0.0.1:1" in line
    assert "POSTGRES_CONNECT_TIMEOUT" in line


def test_the_connect_timeout_is_configurable() -> None:
    began = time.monotonic()
    line = assert_one_line(run("postgresql://u@127.0.0.1:1/db", "due", POSTGRES_CONNECT_TIMEOUT="1"))
    assert time.monotonic() - began < 10
    assert "1 s" in line


def test_a_postgres_url_without_the_postgres_extra_is_one_line() -> None:
    line = assert_one_line(run("postgresql://u:hunter2@127.0.0.1:5432/db", "due", command=NO_PSYCOPG))
    assert "pip install 'laworkflow[postgres]'" in line
    assert "hunter2" not in line


def test_an_unknown_scheme_masks_the_password() -> None:
    line = assert_one_line(run("mysql://admin:hunter2@db.example/laworkflow", "verify"))
    assert "hunter2" not in line and "admin:***@" in line


# ------------------------------------------------------------- bytes and sizes


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([b"show", b"\xff\xfe"], id="case-id"),
        pytest.param([b"start", WORKFLOW.encode(), b"--data", b'{"authority": "K\xe9nt", "concerns": []}'], id="data"),
        pytest.param([b"start", WORKFLOW.encode(), b"--actor", b"\xc3", b"--data", json.dumps(START_DATA).encode()], id="actor"),
        pytest.param([b"register", b"--status", b"\x80"], id="option"),
    ],
)
def test_arguments_that_are_not_utf8_are_one_line(db: Path, args: list[bytes]) -> None:
    assert "not UTF-8" in refused(db, *args)


def test_a_store_path_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    proc = run(os.fsencode(tmp_path) + b"/\xff.sqlite", "due")
    assert "not UTF-8" in assert_one_line(proc)
    assert list(tmp_path.iterdir()) == []


def test_a_data_file_that_is_not_utf8_is_one_line(db: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.json"
    data.write_bytes(b'{"authority": "K\xe9nt", "concerns": ["attainment_below_national"]}')
    line = refused(db, "start", WORKFLOW, "--data", f"@{data}")
    assert "not UTF-8" in line and "0xe9" in line


def test_json_nested_100000_deep_is_one_line(db: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"authority": "Kent", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    assert "nests deeper" in refused(db, "start", WORKFLOW, "--data", f"@{deep}")
    assert "nests deeper" in refused(db, "start", WORKFLOW, "--data", '{"x": ' + "[" * 900 + "]" * 900 + "}")


def test_a_lone_surrogate_in_data_is_one_line(db: Path) -> None:
    line = refused(db, "start", WORKFLOW, "--data", '{"authority": "\\ud800", "concerns": ["attainment_below_national"]}')
    assert "surrogate" in line


def test_data_over_the_size_limit_is_refused_before_parsing(db: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({**START_DATA, "padding": "x" * 1_100_000}), encoding="utf-8")
    assert "larger than 1000000 bytes" in refused(db, "start", WORKFLOW, "--data", f"@{big}")
    # An endless file is read only as far as the limit.
    assert "larger than" in refused(db, "start", WORKFLOW, "--data", "@/dev/zero")
    small = json.dumps(START_DATA)
    assert "larger than 20 bytes" in refused(db, "--max-data-bytes", "20", "start", WORKFLOW, "--data", small)
    assert "larger than 20 bytes" in refused(db, "start", WORKFLOW, "--data", small, LAWORKFLOW_MAX_DATA_BYTES="20")


# ------------------------------------------------------------------- the range


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        pytest.param(["upcoming", "--weeks", "99999999"], "99999999", id="weeks-huge"),
        pytest.param(["upcoming", "--weeks", "10000"], "2199-12-31", id="weeks-past-range"),
        pytest.param(["upcoming", "--from", "9999-12-31"], "9999-12-31", id="from-9999"),
        pytest.param(["upcoming", "--weeks", "-1"], "--weeks", id="weeks-negative"),
        pytest.param(["upcoming", "--weeks", "many"], "--weeks", id="weeks-not-a-number"),
        pytest.param(["due", "--before", "0001-01-01"], "0001-01-01", id="before-year-1"),
        pytest.param(["due", "--before", "9999-12-31T23:59:59"], "9999-12-31", id="before-9999"),
        pytest.param(["start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", "2200-01-01"], "2200-01-01", id="at-2200"),
        pytest.param(["start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", "1899-12-31"], "1899-12-31", id="at-1899"),
        pytest.param(["simulate", "--until", "9999-12-31"], "9999-12-31", id="until-9999"),
        pytest.param(["simulate", "--until", "0001-01-01"], "0001-01-01", id="until-year-1"),
        pytest.param(["register", "--nation", "scotland"], "'england', 'wales'", id="nation-scotland"),
        pytest.param(["no-such-command"], "no-such-command", id="unknown-command"),
        pytest.param(["serve", "--port", "70000"], "--port", id="port-out-of-range"),
        pytest.param(["serve", "--gc-threshold", "-1"], "--gc-threshold", id="gc-threshold-negative"),
    ],
)
def test_values_outside_what_the_engine_accepts_are_one_line(db: Path, args: list[str], mentions: str) -> None:
    assert mentions in refused(db, *args)


def test_as_of_outside_the_range_is_one_line(db: Path, demo_store: tuple[Path, dict[str, Any]]) -> None:
    case_id = demo_store[1]["case"]["id"]
    for moment in ("9999-12-31", "0001-01-01T00:00:00+00:00"):
        assert moment[:10] in refused(db, "show", case_id, "--as-of", moment)


def test_the_range_itself_is_accepted(db: Path) -> None:
    """Refusals above have one cause: the first and last days of the range are fine."""
    assert ok(db, "due", "--before", "2199-12-31")["items"] == []
    assert ok(db, "upcoming", "--from", "1900-01-01", "--weeks", "1")["items"] == []
    assert ok(db, "register", "--nation", "Wales")["nation"] == "wales"


def test_validate_json_reports_problems_as_json(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nversion: one\n", encoding="utf-8")
    proc = run(tmp_path / "t.sqlite", "definitions", "validate", str(broken), "--json")
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["ok"] is False and document["problems"]
    assert {"file", "line", "location", "message"} <= set(document["problems"][0])
    assert all(p["file"].endswith("broken.yaml") for p in document["problems"])


def test_schema_to_a_folder_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    line = assert_one_line(run(tmp_path / "t.sqlite", "definitions", "schema", "--output", str(tmp_path / "no" / "schema.json")))
    assert "schema.json" in line


# ------------------------------------------------------------------- case ids


def test_a_unique_prefix_names_a_case_everywhere(db: Path, demo_store: tuple[Path, dict[str, Any]]) -> None:
    case_id = demo_store[1]["case"]["id"]
    prefix = case_id[:6]
    assert ok(db, "show", prefix)["id"] == case_id
    assert ok(db, "history", prefix)["case_id"] == case_id
    assert ok(db, "allowed", prefix)["case_id"] == case_id
    assert [c["case_id"] for c in ok(db, "verify", prefix)["cases"]] == [case_id]


def test_unknown_short_and_ambiguous_prefixes_are_one_line(db: Path, demo_store: tuple[Path, dict[str, Any]]) -> None:
    case_id, child_id = demo_store[1]["case"]["id"], demo_store[1]["children"][0]["id"]
    unknown = next(p for p in ("0000", "ffff", "1234") if not case_id.startswith(p) and not child_id.startswith(p))
    assert "no case id starts with" in refused(db, "show", unknown)
    assert "at least 4" in refused(db, "show", case_id[:3])
    assert "not a case id" in refused(db, "fire", "not-a-case", "give_notice")


def test_an_ambiguous_prefix_names_the_matches() -> None:
    from laworkflow.cli.support import case_id_of
    from laworkflow.errors import UnknownCase

    ids = [UUID("7c1e0000-0000-4000-8000-000000000001"), UUID("7c1e1111-0000-4000-8000-000000000002"), UUID("8d2f0000-0000-4000-8000-000000000003")]

    class Engine:
        def case_ids(self) -> list[UUID]:
            return ids

    assert case_id_of(Engine(), "8d2f") == ids[2]  # type: ignore[arg-type]
    with pytest.raises(UnknownCase, match="ambiguous.*7c1e0000-.*7c1e1111-"):
        case_id_of(Engine(), "7c1e")  # type: ignore[arg-type]
    assert case_id_of(Engine(), "7C1E0000-00") == ids[0]  # longer, any case, dashes or not
    assert case_id_of(Engine(), "7c1e00000000") == ids[0]


def test_history_text_shows_effective_and_recorded_time(db: Path, demo_store: tuple[Path, dict[str, Any]]) -> None:
    case_id = demo_store[1]["case"]["id"]
    events = ok(db, "history", case_id)["events"]
    text = run(db, "history", case_id).stdout.decode().splitlines()
    recorded = datetime.fromisoformat(events[0]["recorded_at"]).astimezone(LONDON)
    assert "2013-06-03 09:00" in text[0]  # the demo's start, as it took effect
    assert f"recorded {recorded:%Y-%m-%d %H:%M}" in text[0]  # and when the CLI wrote it


# ------------------------------------------------------------------- simulate


@pytest.fixture
def future_store(tmp_path: Path) -> tuple[Path, str]:
    """A store whose case has a timer armed after now: notice given yesterday of a first day on site within the week."""
    db = tmp_path / "future.sqlite"
    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    on_site = calendar_for("england").add_working_days(yesterday, 3)
    case = ok(db, "start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", f"{yesterday}T09:00")
    notice = {"on_site_start": on_site.isoformat(), "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
    fired = ok(db, "fire", case["id"], "give_notice", "--data", json.dumps(notice), "--at", f"{yesterday}T10:00")
    assert fired["timers"]["notice_ends"]["due_at"] > datetime.now(LONDON).isoformat()
    settled(db)
    return db, case["id"]


def test_simulate_until_after_now_on_a_real_store_is_refused(future_store: tuple[Path, str]) -> None:
    db, _ = future_store
    until = (date.today() + timedelta(days=60)).isoformat()
    line = refused(db, "simulate", "--until", until)
    assert "--what-if" in line and "--allow-future" in line


def test_simulate_all_that_would_write_the_future_is_refused(future_store: tuple[Path, str]) -> None:
    db, case_id = future_store
    line = refused(db, "simulate", "--all")
    assert "notice_ends" in line and case_id in line


def test_simulate_what_if_shows_what_happens_and_leaves_the_store_untouched(future_store: tuple[Path, str]) -> None:
    db, case_id = future_store
    before = digest(db)
    until = (date.today() + timedelta(days=60)).isoformat()
    document = ok(db, "simulate", "--until", until, "--what-if")
    assert document["what_if"] is True
    fired = [i for i in document["handled"] if i["name"] == "notice_ends"]
    assert fired and fired[0]["state"] == "on_site" and fired[0]["case_id"] == case_id
    text = run(db, "simulate", "--until", until, "--what-if").stdout.decode()
    assert f"notice_ends              fired: case {case_id} (ofsted-laassi@1) now on_site" in text
    assert "nothing was written" in text
    assert digest(db) == before
    assert ok(db, "show", case_id)["state"] == "notice_given"


def test_simulate_allow_future_records_it(future_store: tuple[Path, str]) -> None:
    db, case_id = future_store
    until = (date.today() + timedelta(days=60)).isoformat()
    ok(db, "simulate", "--until", until, "--allow-future")
    assert ok(db, "show", case_id)["state"] == "on_site"


def test_simulate_on_memory_needs_no_flag(future_store: tuple[Path, str]) -> None:
    assert ok("memory:", "simulate", "--until", "2199-01-01")["count"] == 0


def test_what_if_and_allow_future_exclude_each_other(future_store: tuple[Path, str]) -> None:
    db, _ = future_store
    assert "not both" in refused(db, "simulate", "--all", "--what-if", "--allow-future")


# --------------------------------------------------------------------- guards


def test_guards_modules_are_imported_before_definitions_load(tmp_path: Path, db: Path) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "my_guards.py").write_text(
        "import pathlib\nimport laworkflow\n\n"
        f"pathlib.Path({str(marker)!r}).write_text('yes')\n\n"
        "@laworkflow.register_guard('always')\ndef always(context):\n    return True\n",
        encoding="utf-8",
    )
    assert run(db, "--guards", "my_guards", "definitions", "list", PYTHONPATH=str(tmp_path)).returncode == 0
    assert marker.read_text() == "yes"
    marker.unlink()
    assert run(db, "definitions", "list", PYTHONPATH=str(tmp_path), LAWORKFLOW_GUARDS="json,my_guards").returncode == 0
    assert marker.exists()


def test_a_guards_module_that_cannot_be_imported_is_one_line(db: Path) -> None:
    assert "no_such_guards_module" in refused(db, "--guards", "no_such_guards_module", "due")


# --------------------------------------------------------------------- last resort


def test_an_unforeseen_error_is_still_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from laworkflow.cli.support import App

    app = App()

    @app.command()
    def boom() -> None:
        raise RuntimeError("postgresql://u:hunter2@h/db went away")

    @app.command()
    def other() -> None:
        pass

    assert app.run_safely(["boom"], "laworkflow") == 1
    err = capsys.readouterr().err
    assert err == "error: internal error: RuntimeError: postgresql://u:***@h/db went away\n"


def test_masked_hides_every_form_of_password() -> None:
    from laworkflow.store import masked

    assert masked("postgresql://u:p%40ss@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert masked("postgresql://u@h/db") == "postgresql://u@h/db"
    assert masked("host=h password=secret dbname=x") == "host=h password=*** dbname=x"
    assert masked("/var/lib/laworkflow.sqlite") == "/var/lib/laworkflow.sqlite"


def test_simulate_on_postgres_refuses_the_future_and_what_if_writes_nothing(postgres_database: str, tmp_path: Path) -> None:
    """The same guard on a real PostgreSQL store: every table (events, index, positions) is unchanged after a refusal and a what-if."""
    import psycopg

    def snapshot() -> tuple[Any, ...]:
        with psycopg.connect(postgres_database.replace("postgresql://postgres@127.0.0.1:5432/", "host=127.0.0.1 port=5432 user=postgres dbname=")) as conn:
            tables = [t for (t,) in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")]
            assert any(t.endswith("events") for t in tables) and "lw_due" in tables, tables
            return tuple((t, sorted(map(repr, conn.execute(f'SELECT * FROM "{t}"').fetchall()))) for t in tables)

    yesterday = datetime.now(LONDON).date() - timedelta(days=1)
    on_site = calendar_for("england").add_working_days(yesterday, 3)
    case = ok(postgres_database, "start", WORKFLOW, "--data", json.dumps(START_DATA), "--at", f"{yesterday}T09:00")
    notice = {"on_site_start": on_site.isoformat(), "lead_inspector": "HMI Lead", "inspectors": ["HMI Second"]}
    ok(postgres_database, "fire", case["id"], "give_notice", "--data", json.dumps(notice), "--at", f"{yesterday}T10:00")
    assert run(postgres_database, "due").returncode == 0
    before = snapshot()
    until = (date.today() + timedelta(days=60)).isoformat()
    assert "--what-if" in assert_one_line(run(postgres_database, "simulate", "--until", until))
    assert "notice_ends" in assert_one_line(run(postgres_database, "simulate", "--all"))
    assert snapshot() == before
    document = ok(postgres_database, "simulate", "--until", until, "--what-if")
    assert [i["state"] for i in document["handled"] if i["name"] == "notice_ends"] == ["on_site"]
    assert snapshot() == before
