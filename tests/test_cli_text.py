"""What a person reads: `due`, `upcoming` and `register` as tables that name the authority and the case, and progress bars.

Run as a person runs them, in CLI subprocesses. The store holds two authorities'
cases on the same workflow (Norfolk and Kent, both left the site on Friday 14
June 2013), so a line that did not name its authority and case could not be
told from the other. How late things are is worked out by hand: counted from
Monday 15 July 2013, the letter due Friday 12 July is 3 days late and the
publication due Friday 19 July comes in 4 days (README's worked example).

Progress bars: piped (as here, and in any script) a long command prints no bar
at all; under a pseudo-terminal the national simulation draws one on standard
error, and `--json` draws none even there.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from laworkflow.engine import Engine

REPO = Path(__file__).resolve().parents[1]
ENV = {name: value for name, value in os.environ.items() if name not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS", "COLUMNS", "LINES")}
NOTICE = {"on_site_start": "2013-06-10", "lead_inspector": "Lead HMI", "inspectors": ["HMI"]}
PROGRESS_MARKS = ("\r", "\x1b", "━", "%")  # a rich bar redraws its line with a carriage return, escape codes and heavy rules


def left_site(engine: Engine, authority: str) -> str:
    case = engine.start("ofsted-laassi", {"authority": authority, "concerns": ["attainment_below_national"]}, actor="ofsted", at="2013-06-03")
    engine.fire(case, "give_notice", NOTICE, actor="ofsted", at="2013-06-05")
    engine.run_due(until="2013-06-14T12:00")
    engine.fire(case, "give_feedback", {"strengths": ["a"], "weaknesses": ["b"]}, actor="ofsted", at="2013-06-14T12:00")
    engine.fire(case, "leave_site", {}, actor="ofsted", at="2013-06-14T17:00")
    return str(case)


def command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(REPO / "workflows"), *args]


def run(db: Path, *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = ENV if columns is None else {**ENV, "COLUMNS": str(columns)}
    return subprocess.run(command(db, *args), capture_output=True, text=True, cwd=db.parent, env=env, timeout=300)


@pytest.fixture(scope="module")
def two_authorities(tmp_path_factory: pytest.TempPathFactory, catalog: Any) -> tuple[Path, dict[str, str]]:
    from laworkflow.calendar.clock import SimulatedClock
    from laworkflow.store import store_env

    db = tmp_path_factory.mktemp("text") / "events.sqlite"
    engine = Engine(catalog, clock=SimulatedClock("2013-06-03T09:00:00+01:00"), env=store_env(f"sqlite:///{db}"))
    try:
        cases = {name: left_site(engine, name) for name in ("Norfolk", "Kent")}
    finally:
        engine.close()
    return db, cases


def rows_of(text: str, case: str) -> list[str]:
    return [line for line in text.splitlines() if case[:8] in line]


class TestTables:
    def test_upcoming_names_the_authority_the_case_the_workflow_what_and_how_late(self, two_authorities):
        db, cases = two_authorities
        out = run(db, "upcoming", "--from", "2013-07-15", "--weeks", "2", columns=160)
        assert out.returncode == 0, out.stderr
        for authority, case in cases.items():
            rows = rows_of(out.stdout, case)
            assert len(rows) == 4 and all(authority in row and "ofsted-laassi@1" in row for row in rows), out.stdout
            (sent,) = [row for row in rows if "deadline letter_sent" in row]
            (published,) = [row for row in rows if "deadline letter_published" in row]
            assert "2013-07-12" in sent and "3 days late" in sent
            assert "2013-07-19" in published and "in 4 days" in published
        assert out.stdout.split()[:7] == ["due", "late", "authority", "case", "workflow", "what", "detail"]

    def test_due_and_register_name_the_authority_and_the_case(self, two_authorities):
        db, cases = two_authorities
        due = run(db, "due", columns=160)
        register = run(db, "register", columns=160)
        assert due.returncode == 0 and register.returncode == 0, due.stderr + register.stderr
        for authority, case in cases.items():
            assert len(rows_of(due.stdout, case)) == 4 and all(authority in row for row in rows_of(due.stdout, case))
            (row,) = [line for line in register.stdout.splitlines() if line.startswith(authority)]
            assert case[:8] in row and "england" in row and "reminder letter_sent 2013-07-05" in row and "days late" in row

    @pytest.mark.parametrize("columns", [40, 60, 100])
    @pytest.mark.parametrize("args", [["due"], ["upcoming", "--from", "2013-07-15", "--weeks", "2"], ["register"]], ids=lambda a: a[0])
    def test_no_line_is_wider_than_the_terminal(self, two_authorities, args, columns):
        db, _ = two_authorities
        out = run(db, *args, columns=columns)
        assert out.returncode == 0, out.stderr
        widths = [len(line) for line in out.stdout.splitlines()]
        assert widths and max(widths) <= columns, out.stdout

    def test_json_is_unchanged_by_the_tables(self, two_authorities):
        db, cases = two_authorities
        import json

        document = json.loads(run(db, "upcoming", "--from", "2013-07-15", "--weeks", "2", "--json", columns=40).stdout)
        assert set(document) == {"weeks", "items"} and len(document["items"]) == 8
        assert set(document["items"][0]) == {"due_at", "kind", "case_id", "name", "workflow", "detail"}
        assert {item["case_id"] for item in document["items"]} == set(cases.values())

    def test_nothing_due_is_one_line(self, tmp_path):
        out = run(tmp_path / "empty.sqlite", "upcoming", "--from", "2013-07-15")
        assert out.returncode == 0 and out.stdout == "nothing due\n"


def under_a_terminal(db: Path, *args: str) -> tuple[int, str, str]:
    """Run with standard error on a pseudo-terminal (as at a person's terminal), standard output piped."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(command(db, *args), stdout=subprocess.PIPE, stderr=slave, cwd=db.parent, env={**ENV, "TERM": "xterm"})
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    code = proc.wait(timeout=300)
    os.close(master)
    return code, out, b"".join(chunks).decode(errors="replace")


class TestProgress:
    def test_piped_long_commands_print_no_progress(self, two_authorities, tmp_path):
        db, _ = two_authorities
        national = run(tmp_path / "nation.sqlite", "simulate", "--national", "--years", "1")
        bundle = tmp_path / "all.zip"
        export = run(db, "export", "--out", str(bundle))
        imported = run(tmp_path / "copy.sqlite", "import", str(bundle))
        rebuilt = run(db, "index", "rebuild")
        for done in (national, export, imported, rebuilt):
            assert done.returncode == 0, done.stderr
            assert not any(mark in done.stderr + done.stdout for mark in PROGRESS_MARKS[:3]), repr(done.stderr)
            assert done.stderr == ""

    def test_a_terminal_sees_the_national_simulation_progress_and_json_does_not(self, tmp_path):
        code, out, err = under_a_terminal(tmp_path / "nation.sqlite", "simulate", "--national", "--years", "1")
        assert code == 0 and "simulating 1 year" in err and "━" in err and "100%" in err
        assert "authorities" in out and "\x1b" not in out, "the result on standard output stays plain"
        code, out, err = under_a_terminal(tmp_path / "nation-json.sqlite", "simulate", "--national", "--years", "1", "--json")
        assert code == 0 and err == "" and out.startswith("{")

    def test_a_terminal_sees_an_import_step_by_step(self, two_authorities, tmp_path):
        db, _ = two_authorities
        bundle = tmp_path / "all.zip"
        assert run(db, "export", "--out", str(bundle)).returncode == 0
        code, out, err = under_a_terminal(tmp_path / "copy.sqlite", "import", str(bundle))
        assert code == 0 and out.startswith("imported ") and "reading all.zip" in err
