"""Shared fixtures: the shipped workflows, and real stores (memory, SQLite file, PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from laworkflow import Catalog
from laworkflow.calendar.clock import SimulatedClock
from laworkflow.engine import Engine
from laworkflow.store import store_env

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "workflows"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped workflows; LAWORKFLOW_TEST_WORKFLOWS names another folder (scripts/mutate_rules.py: a copy with one rule removed)."""
    return Catalog.from_directory(os.environ.get("LAWORKFLOW_TEST_WORKFLOWS") or WORKFLOWS)


def _postgres_database() -> Iterator[str]:
    """A fresh database on the local server for one test, dropped afterwards."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except Exception as error:  # no driver or no server: say why, do not pretend
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not reachable ({error.__class__.__name__}: {error})")
    name = f"laworkflow_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database on the local server, dropped afterwards; skips, saying why, when there is none."""
    yield from _postgres_database()


@pytest.fixture
def opened_engines() -> Iterator[list[Engine]]:
    """Engines a test opened; closed before its store goes away, whatever order fixtures were asked for in."""
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.close()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, opened_engines: list[Engine]) -> Iterator[str]:
    """Each store the engine supports, so one contract runs against all of them."""
    if request.param == "memory":
        yield "memory:"
    elif request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'events.sqlite'}"
    else:
        database = _postgres_database()
        yield next(database)
        for engine in opened_engines:
            engine.close()
        next(database, None)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


@pytest.fixture
def make_engine(catalog: Catalog, opened_engines: list[Engine]):
    """Open engines on a store with a simulated clock; all are closed after the test."""

    def make(store: str = "memory:", start: str = "2013-06-03T09:00:00+01:00") -> Engine:
        engine = Engine(catalog, clock=SimulatedClock(start), env=store_env(store))
        opened_engines.append(engine)
        return engine

    return make
