"""structlog set-up, called only from entry points (the CLI, later the HTTP service).

One structured event per command, timer firing and error, with the case id and
workflow bound. JSON when the log stream is not a terminal, so a log shipper
reads it; coloured key=value for a person at a terminal. Logs go to stderr so
that stdout stays the command's own output (`--json` is parseable).
"""

from __future__ import annotations

import logging
import os
import sys

import structlog

LOG_ENV = "LAWORKFLOW_LOG"


class _Stderr:
    """Whatever sys.stderr is when a line is written, not when logging was set up (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str | None = None) -> None:
    """Level from the argument, else $LAWORKFLOW_LOG, else warning (a refused command then prints one line)."""
    name = (level or os.environ.get(LOG_ENV) or "warning").upper()
    numeric = logging.getLevelName(name)
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    stream = sys.stderr
    renderer = structlog.dev.ConsoleRenderer() if stream.isatty() else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),
        cache_logger_on_first_use=False,
    )
