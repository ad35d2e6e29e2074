"""The workflows as the store kept in tests/fixtures/store_before_relayout.sqlite pinned them.

That store was written before definitions were kept in the store (see README,
"Definitions kept with the record"), so its cases can be read only with each
definition file exactly as it was when they started: a case refuses an edited
file. `tests/fixtures/pinned_by_old_store/` keeps those files as they were
(ofsted-laassi versions 1 and 3); `workflows_as_pinned` is today's workflows
folder with them in place of today's, for the tests that open that store.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE.parent / "workflows"
PINNED = HERE / "fixtures" / "pinned_by_old_store"


def workflows_as_pinned(folder: Path) -> Path:
    """A copy of the shipped workflows in `folder`/workflows-as-pinned, with the kept files over today's; returns it."""
    target = folder / "workflows-as-pinned"
    if not target.exists():
        shutil.copytree(WORKFLOWS, target)
        for kept in PINNED.glob("*.yaml"):
            shutil.copyfile(kept, target / kept.name)
    return target
