"""The package's PEP 517 build backend: setuptools, after the web view's front-end assets are built from package.json.

The web view serves the GOV.UK Design System's CSS, JavaScript, fonts and images, and Swagger UI
and ReDoc, from the package itself, so that no page reaches a CDN. Those files come from npm
(package.json, pinned by package-lock.json) and are never committed: before setuptools builds a
wheel or an editable install, this backend runs `npm ci` when node_modules is missing or older
than the lock file, then copies the few files the pages need into
src/laworkflow/http/web/assets/, which the package data of pyproject.toml ships.

A machine with no Node.js still installs: the step prints a warning and goes on without the
assets; the pages then work unstyled and /docs and /redoc say how to build them. pip shows a
backend's output only with -v, so the running service says the same (laworkflow.http.web.assets).

From a checkout, `python build_backend/laworkflow_build.py` runs the same step alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 - every hook setuptools has, re-exported unchanged

# Written into node_modules once `npm ci` has finished, so an interrupted install is redone.
STAMP = ".laworkflow-npm-ci"
TARGET = Path("src", "laworkflow", "http", "web", "assets")
# (package, file or folder inside it, where it goes inside TARGET); LICENSE files travel with the code they cover.
COPIES = [
    ("govuk-frontend", "dist/govuk/govuk-frontend.min.css", "govuk/govuk-frontend.min.css"),
    ("govuk-frontend", "dist/govuk/govuk-frontend.min.js", "govuk/govuk-frontend.min.js"),
    ("govuk-frontend", "dist/govuk/assets", "govuk/assets"),  # fonts, images, manifest.json: the CSS asks for /assets/...
    ("swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"),
    ("swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"),
    ("swagger-ui-dist", "favicon-32x32.png", "swagger-ui/favicon-32x32.png"),
    ("swagger-ui-dist", "LICENSE", "swagger-ui/LICENSE"),
    ("swagger-ui-dist", "NOTICE", "swagger-ui/NOTICE"),
    ("swagger-ui-dist", "swagger-ui-bundle.js.LICENSE.txt", "swagger-ui/swagger-ui-bundle.js.LICENSE.txt"),
    ("redoc", "bundles/redoc.standalone.js", "redoc/redoc.standalone.js"),
    ("redoc", "bundles/redoc.standalone.js.LICENSE.txt", "redoc/redoc.standalone.js.LICENSE.txt"),
    ("redoc", "LICENSE", "redoc/LICENSE"),
]
# Written last: its presence says the copy is whole (laworkflow.http.web.assets.assets_built reads it).
VERSIONS = "versions.json"


def warn(message: str) -> None:
    print(f"laworkflow build: WARNING: {message}", file=sys.stderr, flush=True)


def _npm_ci(root: Path) -> bool:
    """`npm ci` unless node_modules is at least as new as package-lock.json; False, having warned, when it cannot run."""
    lock, stamp = root / "package-lock.json", root / "node_modules" / STAMP
    if not lock.is_file():
        warn(f"no package-lock.json in {root}: the web view's assets are not built")
        return False
    if stamp.is_file() and stamp.stat().st_mtime >= max(lock.stat().st_mtime, (root / "package.json").stat().st_mtime):
        return True
    npm = shutil.which("npm")
    if npm is None:
        warn("npm is not on PATH: the web view's assets (GOV.UK Frontend, Swagger UI, ReDoc) are not built; install Node.js and reinstall")
        return False
    # Scarf is swagger-ui-dist's install-time analytics: told not to report, as package.json also says.
    env = {**os.environ, "SCARF_ANALYTICS": "false"}
    try:
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=root, env=env, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as error:
        warn(f"npm ci could not run ({error}): the web view's assets are not built")
        return False
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        warn(f"npm ci failed (exit {done.returncode}): the web view's assets are not built\n{tail}")
        return False
    stamp.write_text("npm ci finished\n", encoding="utf-8")
    return True


def build_assets(root: Path | None = None) -> bool:
    """Install package.json's packages and copy what the web view serves into the package; False, having warned, when it could not."""
    root = Path.cwd() if root is None else root
    if not _npm_ci(root):
        return False
    target = root / TARGET
    shutil.rmtree(target, ignore_errors=True)  # nothing left over from an older version
    versions: dict[str, str] = {}
    try:
        for package, source, destination in COPIES:
            folder = root / "node_modules" / package
            origin, into = folder / source, target / destination
            into.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, into)
            else:
                shutil.copyfile(origin, into)
            versions[package] = json.loads((folder / "package.json").read_text(encoding="utf-8"))["version"]
    except OSError as error:  # a package that moved its files in a new version: the list above needs updating
        warn(f"copying the web view's assets failed ({error}): they are not built")
        return False
    (target / VERSIONS).write_text(json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return True


def build_wheel(wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None) -> str:
    build_assets()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None) -> str:
    build_assets()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])
    sys.exit(0 if build_assets() else 1)
