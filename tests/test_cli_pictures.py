"""`laworkflow diagram`, `laworkflow timeline` and `laworkflow definitions diagram --format`, run as subprocesses.

One store is built by running `demo` (the public Norfolk case) once; each test
writes its pictures into a folder of its own and reads them back with xml.etree.
Every refusal is one line on stderr, a non-zero exit, and no file written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
SVG = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ENV = {k: v for k, v in os.environ.items() if k not in ("LAWORKFLOW_LOG", "LAWORKFLOW_STORE", "LAWORKFLOW_WORKFLOWS")}


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def cli(db: Path, cwd: Path, *args: str) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", str(db), "--workflows", str(WORKFLOWS), *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=120,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class Norfolk:
    db: Path
    case: str  # the full id of the Norfolk case


@pytest.fixture(scope="module")
def norfolk(tmp_path_factory: pytest.TempPathFactory) -> Norfolk:
    folder = tmp_path_factory.mktemp("store")
    db = folder / "demo.sqlite"
    run = cli(db, folder, "demo")
    assert run.code == 0, str(run)
    case = re.search(r"Norfolk.*— case ([0-9a-f-]{36})", run.out)
    assert case, run.out
    return Norfolk(db, case.group(1))


def refused(run: Run, folder: Path, message: str) -> None:
    """One readable line on stderr, a non-zero exit, nothing written."""
    assert run.code != 0, str(run)
    assert run.err.count("\n") == 1 and run.err.startswith("error: ") and message in run.err, str(run)
    assert "Traceback" not in run.err
    assert list(folder.iterdir()) == []


def svg_root(path: Path) -> ET.Element:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<svg")
    return ET.fromstring(text)


def hooks(root: ET.Element, kind: str, attribute: str) -> list[str]:
    return [g.get(attribute, "") for g in root.iter(f"{SVG}g") if kind in (g.get("class") or "").split()]


def test_diagram_writes_the_default_svg_and_prints_its_path(norfolk: Norfolk, tmp_path: Path) -> None:
    run = cli(norfolk.db, tmp_path, "diagram", norfolk.case[:6])
    assert run.code == 0, str(run)
    name = f"{norfolk.case[:8]}-diagram.svg"
    assert run.out.strip() == name
    assert [p.name for p in tmp_path.iterdir()] == [name]
    root = svg_root(tmp_path / name)
    assert hooks(root, "current", "data-state") == ["reinspection_arranged"]
    assert "arrange_reinspection" in hooks(root, "taken", "data-triggers")
    assert "Norfolk" in "".join(root.find(f"{SVG}title").itertext())  # type: ignore[union-attr]


def test_diagram_and_timeline_as_png(norfolk: Norfolk, tmp_path: Path) -> None:
    for command in ("diagram", "timeline"):
        out = tmp_path / f"{command}.png"
        run = cli(norfolk.db, tmp_path, command, norfolk.case, "--out", str(out))
        assert run.code == 0, str(run)
        assert run.out.strip() == str(out)
        assert out.read_bytes()[:8] == PNG_MAGIC


def test_timeline_rows_are_the_norfolk_dates(norfolk: Norfolk, tmp_path: Path) -> None:
    """Letter due 2013-07-12 and sent that day; publication due 2013-07-19, done 2013-07-18 (as `show` prints them)."""
    run = cli(norfolk.db, tmp_path, "timeline", norfolk.case[:8], "--out", "t.svg")
    assert run.code == 0, str(run)
    root = svg_root(tmp_path / "t.svg")
    rows = {g.get("data-deadline"): (g.get("data-due"), g.get("data-met-on")) for g in root.iter(f"{SVG}g") if "deadline" in (g.get("class") or "").split()}
    assert rows == {
        "on_site_normal_length": ("2013-06-14", "2013-06-14"),
        "letter_sent": ("2013-07-12", "2013-07-12"),
        "letter_published": ("2013-07-19", "2013-07-18"),
    }
    assert hooks(root, "today", "data-date") == []  # the case has ended: nothing waits on today, which is years later
    assert [w for w in root.iter(f"{SVG}text") if "is outside the dates shown" in "".join(w.itertext())]
    show = cli(norfolk.db, tmp_path, "show", norfolk.case)
    assert "deadline letter_sent: due 2013-07-12 — met on 2013-07-12" in show.out
    assert "deadline letter_published: due 2013-07-19 — met on 2013-07-18" in show.out


def test_timeline_at_a_past_day(norfolk: Norfolk, tmp_path: Path) -> None:
    """--at 2013-07-01: the letter not yet sent, that day marked as today; the milestones only up to then."""
    run = cli(norfolk.db, tmp_path, "timeline", norfolk.case, "--at", "2013-07-01", "--out", "then.svg")
    assert run.code == 0, str(run)
    root = svg_root(tmp_path / "then.svg")
    assert hooks(root, "today", "data-date") == ["2013-07-01"]
    pending = {g.get("data-deadline") for g in root.iter(f"{SVG}g") if "pending" in (g.get("class") or "").split()}
    assert pending == {"letter_sent", "letter_published"}
    assert hooks(root, "milestone", "data-state")[-1] == "letter_drafted"  # 28 June


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("diagram", "ffffffff"), "no case id starts with 'ffffffff'"),
        (("timeline", "ffffffff"), "no case id starts with 'ffffffff'"),
        (("diagram", "{case}", "--out", "picture.gif"), "name the file .svg or .png"),
        (("timeline", "{case}", "--out", "picture"), "name the file .svg or .png"),
        (("diagram", "{case}", "--out", "missing/folder/d.svg"), "cannot write"),
        (("timeline", "{case}", "--out", "missing/folder/t.png"), "cannot write"),
        (("timeline", "{case}", "--at", "2012-01-01"), "had not started by the end of 2012-01-01"),
        (("timeline", "{case}", "--at", "yesterday"), "cannot read 'yesterday'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(norfolk: Norfolk, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    run = cli(norfolk.db, tmp_path, *[a.replace("{case}", norfolk.case) for a in args])
    refused(run, tmp_path, message)


def test_definitions_diagram_stays_mermaid_by_default(norfolk: Norfolk, tmp_path: Path) -> None:
    run = cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", "--version", "1")
    assert run.code == 0, str(run)
    lines = run.out.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert sum(1 for line in lines if line.startswith("    on_site --> on_site:")) == 1
    assert list(tmp_path.iterdir()) == []


def test_definitions_diagram_as_svg_and_png(norfolk: Norfolk, tmp_path: Path) -> None:
    run = cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", "--version", "1", "--format", "svg")
    assert run.code == 0, str(run)
    root = ET.fromstring(run.out)
    assert len(hooks(root, "state", "data-state")) == 15 and len(hooks(root, "self-loop", "data-source")) == 11
    assert cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", "--version", "1", "--out", "d.svg").out.strip() == "d.svg"
    assert svg_root(tmp_path / "d.svg").get("role") == "img"
    run = cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", "--version", "1", "--format", "png")
    assert run.code == 0 and run.out.strip() == "ofsted-laassi-1-diagram.png", str(run)
    assert (tmp_path / "ofsted-laassi-1-diagram.png").read_bytes()[:8] == PNG_MAGIC
    run = cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", "--version", "1", "--out", "d.mmd")
    assert run.code == 0 and (tmp_path / "d.mmd").read_text(encoding="utf-8").startswith("stateDiagram-v2"), str(run)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "gif"), "unknown diagram format 'gif'"),
        (("--format", "svg", "--out", "d.png"), "--format svg but 'd.png' names a png file"),
        (("--format", "png", "--out", "d.txt"), "name the file .svg or .png"),
        (("--format", "png", "--out", "missing/d.png"), "cannot write"),
    ],
)
def test_definitions_diagram_refusals_write_nothing(norfolk: Norfolk, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    refused(cli(norfolk.db, tmp_path, "definitions", "diagram", "ofsted-laassi", *args), tmp_path, message)
