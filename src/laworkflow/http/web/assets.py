"""The web view's front-end files, served by the app itself so that no page reaches a CDN.

Two kinds, in two folders of this package:

- `static/`, ours and committed: the pages' own small stylesheet, served at /static.
- `assets/` (`ASSETS_DIR`), built by the install step from package.json and never committed
  (build_backend/laworkflow_build.py): GOV.UK Frontend's CSS and JavaScript, Swagger UI and
  ReDoc, served at /static/vendor; and GOV.UK Frontend's fonts and images at /assets, the
  folder its CSS and page template ask for by default.

A machine with no Node.js installs without `assets/`: the app still starts (those paths answer
404), the pages render unstyled, /docs and /redoc say how to
build the assets, and `mount` logs a warning, since pip hides the install step's own.
"""

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from laworkflow.logs import get_logger

HERE = Path(__file__).resolve().parent
ASSETS_DIR = HERE / "assets"
STATIC_DIR = HERE / "static"
# Written last by the install step: a folder without it is a copy that did not finish.
VERSIONS_FILE = ASSETS_DIR / "versions.json"
HOW_TO_BUILD = "install Node.js (npm) and run the install again (pip install -e . in the checkout), or `python build_backend/laworkflow_build.py` there"

log = get_logger(__name__)


def assets_built() -> bool:
    """Whether the install step copied the front-end assets into the package."""
    return VERSIONS_FILE.is_file()


def versions() -> dict[str, str]:
    """The npm packages the built assets come from, with their versions; empty when they were not built."""
    if not assets_built():
        return {}
    read = json.loads(VERSIONS_FILE.read_text(encoding="utf-8"))
    return {str(name): str(version) for name, version in read.items()}


def mount(app: FastAPI) -> None:
    """/static/vendor (built), /assets (GOV.UK Frontend's fonts and images) and /static (ours) on `app`.

    /static/vendor is mounted before /static: Starlette tries mounts in order, and /static would
    otherwise take every /static/vendor/... path and answer 404 from our own folder.
    """
    if not assets_built():
        log.warning("web.assets_missing", reason=f"the web view's front-end assets were not built: pages are unstyled; {HOW_TO_BUILD}")
    # A folder that is missing (no Node.js at install; no stylesheet of ours yet) is not mounted, so its
    # paths answer the app's own 404: StaticFiles would answer 500 on every request to a missing folder.
    for path, directory, name in (
        ("/static/vendor", ASSETS_DIR, "vendor"),
        ("/assets", ASSETS_DIR / "govuk" / "assets", "govuk-assets"),
        ("/static", STATIC_DIR, "static"),
    ):
        if directory.is_dir():
            app.mount(path, StaticFiles(directory=directory), name=name)


__all__ = ["ASSETS_DIR", "HOW_TO_BUILD", "STATIC_DIR", "assets_built", "mount", "versions"]
