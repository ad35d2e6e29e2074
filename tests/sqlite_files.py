"""What the tamper and replay tests do to a real SQLite store file from outside the engine, as an attacker with write access would."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


def sql(db: Path, statement: str, *params: object) -> list[tuple[Any, ...]]:
    """Run one statement straight on the file and commit it; the rows it returns."""
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(statement, params).fetchall()
        connection.commit()
    return rows


def copy_store(source: Path, target: Path) -> Path:
    """A consistent copy of a store file (SQLite's online backup), e.g. the older copy a rollback restores."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target
