"""Moving running cases onto a new version of their workflow: a plan that writes nothing, then an idempotent, resumable apply."""

from laworkflow.migration.plan import Applied, Plan, apply, offer_notifications, offers, plan

__all__ = ["Applied", "Plan", "apply", "offer_notifications", "offers", "plan"]
