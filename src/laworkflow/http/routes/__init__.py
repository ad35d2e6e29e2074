"""One router per resource; `create_app` includes them in this order, which is the order of the OpenAPI document."""

from laworkflow.http.routes import cases, definitions, keys, probes, queries

ROUTERS = [probes.router, definitions.router, cases.router, queries.router, keys.router]

__all__ = ["ROUTERS"]
