"""The HTTP face: a FastAPI app over an engine, one router per resource, API-key authentication."""

from laworkflow.http.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
