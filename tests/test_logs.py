"""The library logs nothing on stdout unless someone configured logging.

An embedder who never configures structlog must not find our info lines in
their program's output; one who configures structlog, or stdlib logging, gets
our events through their own set-up.
"""

from __future__ import annotations

import logging
import subprocess
import sys

import structlog
from structlog.testing import capture_logs

from laworkflow.logs import Logger, get_logger

EMBEDDER = """
import logging, sys
from laworkflow.logs import get_logger
log = get_logger("laworkflow.embedded")
log.info("case.started", case_id="c1")
log.warning("scheduler.slow", seconds=3)
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


def test_unconfigured_the_library_is_silent_on_stdout_and_warns_on_stderr() -> None:
    proc = _run(EMBEDDER)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "case.started" not in proc.stderr  # below WARNING: dropped
    assert "scheduler.slow" in proc.stderr and "seconds=3" in proc.stderr


def test_an_embedders_stdlib_logging_receives_the_events() -> None:
    proc = _run("import logging, sys\nlogging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(name)s %(message)s')\n" + EMBEDDER)
    assert "laworkflow.embedded case.started case_id='c1'" in proc.stdout


def test_an_embedders_structlog_configuration_is_used() -> None:
    structlog.reset_defaults()  # other tests run the CLI in this process, which configures a warning-level filter
    structlog.configure(processors=[structlog.processors.KeyValueRenderer()])
    try:
        with capture_logs() as captured:
            get_logger("laworkflow.test").bind(case_id="c2").info("case.fired", trigger="t")
        assert captured == [{"event": "case.fired", "case_id": "c2", "trigger": "t", "log_level": "info"}]
    finally:
        structlog.reset_defaults()


def test_the_cli_configures_structlog_on_stderr_only() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--store", "memory:", "--log-level", "info", "definitions", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.lstrip().startswith("{")


def test_every_library_module_logs_through_get_logger() -> None:
    """No module of the package takes a structlog logger directly: that one would print to stdout unconfigured."""
    import importlib
    import pkgutil

    import laworkflow

    for info in pkgutil.iter_modules(laworkflow.__path__, "laworkflow."):
        module = importlib.import_module(info.name)
        if hasattr(module, "log"):
            assert isinstance(module.log, Logger), module.__name__


def test_stdlib_is_not_touched_at_import() -> None:
    assert logging.getLogger("laworkflow").handlers == []
