"""Logging: structlog when someone configured it, else quiet stdlib logging.

Library modules take their logger from `get_logger(name)`, never straight from
structlog: an unconfigured structlog prints every info line to stdout, which
would land in an embedder's own output. So each call looks at the moment it is
made (modules import before anyone configures anything):

- structlog configured (by an embedder, or by our entry points through
  `configure`): the event goes to structlog, with whatever processors and
  level filter that configuration has;
- otherwise: to the stdlib logger of the same name, where an embedder's
  `logging` set-up applies; with none, Python prints WARNING and above on
  stderr and drops the rest.

`configure` is for entry points only (the CLI, `serve`). One structured event
per command, timer firing and error, with the case id and workflow bound. JSON
when the log stream is not a terminal, so a log shipper reads it; coloured
key=value for a person at a terminal. Logs go to stderr so that stdout stays
the command's own output (`--json` is parseable).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, TextIO, cast

import structlog

LOG_ENV = "LAWORKFLOW_LOG"
_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
}


class Logger:
    """A logger that decides where an event goes when it is logged, not when it was created."""

    def __init__(self, name: str, context: dict[str, Any] | None = None):
        self.name = name
        self._context = dict(context or {})

    def bind(self, **values: Any) -> Logger:
        return Logger(self.name, {**self._context, **values})

    def _log(self, method: str, event: str, values: dict[str, Any]) -> None:
        values = {**self._context, **values}
        if structlog.is_configured():
            getattr(_structlog_logger(self.name), method)(event, **values)
            return
        logger = logging.getLogger(self.name)
        level = _LEVELS[method]
        if logger.isEnabledFor(level):
            fields = " ".join(f"{key}={value!r}" for key, value in values.items())
            logger.log(level, "%s%s", event, f" {fields}" if fields else "", exc_info=method == "exception")

    def debug(self, event: str, **values: Any) -> None:
        self._log("debug", event, values)

    def info(self, event: str, **values: Any) -> None:
        self._log("info", event, values)

    def warning(self, event: str, **values: Any) -> None:
        self._log("warning", event, values)

    def error(self, event: str, **values: Any) -> None:
        self._log("error", event, values)

    def exception(self, event: str, **values: Any) -> None:
        self._log("exception", event, values)

    def critical(self, event: str, **values: Any) -> None:
        self._log("critical", event, values)


_BOUND: dict[str, tuple[tuple[Any, ...], Any]] = {}  # name -> (the configuration it was made under, structlog's logger)


def _structlog_logger(name: str) -> Any:
    """structlog's logger for `name`, made again only when the configuration changed since the last event.

    Asking structlog for a fresh logger builds one on every event (a lazy proxy,
    then a bind): a tenth of a one-event command's time. The configuration's
    parts are compared by identity, held here so none can be reused by another.
    """
    config = structlog.get_config()
    parts = (config["processors"], config["wrapper_class"], config["logger_factory"], config["context_class"])
    cached = _BOUND.get(name)
    if cached is not None and all(a is b for a, b in zip(cached[0], parts, strict=True)):
        return cached[1]
    logger = structlog.get_logger(name).bind()
    _BOUND[name] = (parts, logger)
    return logger


def get_logger(name: str) -> Logger:
    """The logger library modules use (see the module's docstring for where events go)."""
    return Logger(name)


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
        # PrintLogger only calls write() and flush(), which _Stderr has; it is no TextIO, so the stubs need telling.
        logger_factory=structlog.PrintLoggerFactory(cast(TextIO, _Stderr())),
        cache_logger_on_first_use=False,
    )
