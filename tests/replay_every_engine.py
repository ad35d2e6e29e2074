"""A pytest plugin for tests/test_audit_replay.py: every engine is replayed (`audit.replay`) just before it closes.

Loaded with `-p replay_every_engine` (tests/ on PYTHONPATH) in a pytest run of
other test files; one JSON line per engine goes to $LAWORKFLOW_REPLAY_REPORT:
how many cases and events were replayed, and the findings (or the error, if
replaying raised). The stores are the real ones those tests built.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from laworkflow.audit.replay import replay
from laworkflow.engine import Engine


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ["LAWORKFLOW_REPLAY_REPORT"]
    close = Engine.close

    def replayed_then_closed(self: Engine) -> None:
        if not getattr(self, "_closed", False):
            line: dict[str, Any]
            try:
                report = replay(self)
                line = {"cases": report.cases, "events": report.events, "findings": [f.to_dict() for f in report.findings]}
            except Exception as error:  # reported as a finding: the test that reads the file fails and shows it
                line = {"cases": 0, "events": 0, "findings": [{"error": f"{type(error).__name__}: {error}"}]}
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")
        close(self)

    Engine.close = replayed_then_closed  # type: ignore[method-assign]
