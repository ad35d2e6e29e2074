"""The long-running process: the scheduler that fires what falls due, notification sinks, and `serve`."""

from laworkflow.service.notify import LogSink, Sink, WebhookSink, deliver_pending
from laworkflow.service.process import readiness, serve
from laworkflow.service.scheduler import Scheduler

__all__ = ["LogSink", "Scheduler", "Sink", "WebhookSink", "deliver_pending", "readiness", "serve"]
