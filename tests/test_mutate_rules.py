"""scripts/mutate_rules.py on a workflow of its own (tests/fixtures/mutation/): a real run, each mutant in a real pytest.

The demo workflow has three guards: one its test refuses a case without (killed), one no test needs (survives), and one
no test needs but with a `# survives:` note beside it (a justified survivor). The expected outcomes are read off the
fixture by hand, not from the script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "mutation"
SCRIPT = REPO / "scripts" / "mutate_rules.py"


def mutate(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--workflows", str(FIXTURE / "workflows"), "--tests", str(FIXTURE / "check_mutation_demo.py"), *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_a_tested_guard_is_killed_an_untested_one_survives_and_a_noted_one_is_justified(tmp_path):
    run = mutate("--kind", "guard", "--jobs", "2", "--json", str(tmp_path / "report.json"))
    assert run.returncode == 1, run.stderr  # one survivor has no justification
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    outcomes = {m["path"]: (m["outcome"], m["justified"]) for m in report["mutants"]}
    assert outcomes == {
        "transitions[0].guards[0]": ("killed", None),
        "transitions[0].guards[1]": ("survived", None),
        "transitions[1].guards[0]": ("survived", "no test closes a case scored 7 — this is the justified survivor of the test."),
    }
    killed = next(m for m in report["mutants"] if m["outcome"] == "killed")
    assert killed["by"] == "tests/fixtures/mutation/check_mutation_demo.py::test_a_score_under_three_is_refused"
    assert (killed["removed"], killed["cites"], killed["line"]) == ("guard of review: score ge 3", "demo, 2", 35)
    assert report["summary"]["all"] == {
        "total": 3,
        "killed": 1,
        "killed_by_tests": 1,
        "killed_by_validation": 0,
        "survived": 2,
        "justified": 1,
        "errors": 0,
    }
    # The same run's text: the figure first, then each survivor with its file, line, YAML path, what was removed.
    lines = run.stdout.splitlines()
    assert lines[0].startswith("rule mutation: 1/3 mutants killed (1 by a test, 0 by validation), 2 survived (1 justified), 0 undecided;")
    assert "  SURVIVED  mutation-demo.yaml:36 transitions[0].guards[1]  [guard] guard of review: score le 10" in lines
    assert "  justified mutation-demo.yaml:43 transitions[1].guards[0]  [guard] guard of close: score ne 7" in lines


def test_listing_runs_nothing_and_kinds_select_the_rules():
    run = mutate("--list", "--kind", "data")
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # every field of the demo is optional: no required field to mutate
    run = mutate("--list")
    assert [line.split("  ")[0] for line in run.stdout.splitlines()] == [
        "mutation-demo:transitions[0].guards[0]",
        "mutation-demo:transitions[0].guards[1]",
        "mutation-demo:transitions[1].guards[0]",
    ]
