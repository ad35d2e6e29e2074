"""One router per resource; `create_app` includes them in this order, which is the order of the OpenAPI document."""

from laworkflow.http.routes import calendar, case_list, cases, definitions, keys, probes, queries

ROUTERS = [probes.router, definitions.router, cases.router, case_list.router, queries.router, calendar.router, keys.router]

__all__ = ["ROUTERS"]
