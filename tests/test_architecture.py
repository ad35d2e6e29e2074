"""The tree is the architecture: the layers contract of pyproject.toml holds, and no module outgrows its room."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "laworkflow"
MAX_LINES = 550  # "about 500" (issue 8): past this a module wants splitting, long before Temporal's 5,858-line workflow.py


def _tool(name: str) -> str:
    """A checker installed by the test extra beside this interpreter; its absence fails, never skips."""
    tool = Path(sys.executable).with_name(name)
    if not tool.exists():
        pytest.fail(f"{name} is not installed beside {sys.executable}: install the test extra (pip install -e '.[test]')")
    return str(tool)


def _passes(*command: str) -> None:
    checked = subprocess.run(list(command), capture_output=True, text=True, cwd=REPO, timeout=600)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_import_contracts_of_pyproject_hold():
    """`lint-imports` (import-linter) checks the layers; a broken one fails here, naming the offending import."""
    _passes(_tool("lint-imports"), "--no-cache")


def test_ruff_finds_nothing_to_lint():
    """The rules chosen in pyproject's [tool.ruff.lint], over the package, the tests and the scripts."""
    _passes(_tool("ruff"), "check", "--no-cache", "src", "tests", "scripts")


def test_the_code_is_formatted():
    _passes(_tool("ruff"), "format", "--check", "--no-cache", "src", "tests", "scripts")


def test_mypy_strict_finds_no_error_in_src():
    """pyproject's [tool.mypy]: strict on src/, APScheduler 3 (untyped) the one exemption."""
    _passes(_tool("mypy"))


def test_no_module_is_much_longer_than_500_lines():
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
