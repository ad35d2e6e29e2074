"""The README says what happens: its worked example and its embedding snippet run as written.

Both are read out of README.md itself, so a change to either that stops it
working fails here. The shell example runs in bash with this interpreter's
scripts first on PATH (what `. .venv/bin/activate` does); the one line that
stands for "the id you were shown" is replaced by the id's first four digits.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _block(section: str, language: str) -> str:
    text = README[README.index(f"## {section}") :]
    return text.split(f"```{language}\n", 1)[1].split("```", 1)[0]


def test_the_worked_example_runs_as_written(tmp_path: Path) -> None:
    script = _block("Worked example", "sh")
    assert re.search(r"^case=[0-9a-f]{4,}\b", script, re.M), "the example names its case by a prefix"
    script = script.replace(". .venv/bin/activate", ": activate", 1)
    script = re.sub(
        r"^case=[0-9a-f]+",
        'case=$(laworkflow verify --json | python3 -c \'import json,sys; print(json.load(sys.stdin)["cases"][0]["case_id"][:4])\')',
        script,
        count=1,
        flags=re.M,
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "LAWORKFLOW_WORKFLOWS": str(ROOT / "workflows")}
    env.pop("LAWORKFLOW_STORE", None)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for promised in (
        "state: concern_raised",
        "timer notice_ends: fires begin_on_site at 2013-06-10T00:00:00+01:00",
        "now on_site",
        "1 handled; simulated clock at 2013-06-14 12:00",
        "deadline letter_sent: due 2013-07-12",
        "deadline letter_published: due 2013-07-19",
        "as of: 2013-06-12",
        "recorded ",
        "declare_incomplete -> further_visit_required",
    ):
        assert promised in out, f"README promises {promised!r}; output was:\n{out}"
    assert re.search(r"^ok\s+[0-9a-f-]{36}\s+11 events", out, re.M)
    assert (tmp_path / "inspections.sqlite").exists()


def test_the_embedding_snippet_runs_as_written(tmp_path: Path) -> None:
    code = _block("Embedding", "python")
    env = {**os.environ, "LAWORKFLOW_WORKFLOWS": str(ROOT / "workflows")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "kind='timer'" in lines[0] and "notice_ends" in lines[0]
    assert lines[1:] == ["on_site", "6 True"], "the comments in the snippet say what it prints"
    assert proc.stderr == "", "the library writes nothing unless logging is configured"
