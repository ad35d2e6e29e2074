"""Where the README's server line finds the app: `uvicorn --factory laworkflow.api:app_from_env`.

The HTTP face lives in `laworkflow.http`; this name stays so that the command
line and embedders' imports written before the subpackages keep working.
"""

from laworkflow.http import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
