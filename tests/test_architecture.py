"""The tree is the architecture: the layers contract of pyproject.toml holds, and no module outgrows its room."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "laworkflow"
MAX_LINES = 500  # DESIGN.md: a module past this wants splitting, long before Temporal's 5,858-line workflow.py


def test_the_import_contracts_of_pyproject_hold():
    """`lint-imports` (import-linter) checks the layers; a broken one fails here, naming the offending import."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail(f"lint-imports is not installed beside {sys.executable}: install the test extra (pip install -e '.[test]')")
    checked = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_no_module_is_longer_than_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in sorted(PACKAGE.rglob("*.py")) if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_every_subpackage_says_what_it_is_and_declares_its_public_api():
    """A one-line docstring and an `__all__` in each package's __init__: the room's sign on the door."""
    for init in sorted(PACKAGE.rglob("__init__.py")):
        if "workflows" in init.parts:
            continue
        text = init.read_text(encoding="utf-8")
        first = text.lstrip().splitlines()[0] if text.strip() else ""
        assert first.startswith('"""') and first.rstrip().endswith('"""') and len(first) > 6, f"{init.relative_to(PACKAGE)}: no one-line docstring"
        assert "__all__ = [" in text, f"{init.relative_to(PACKAGE)}: no __all__"
