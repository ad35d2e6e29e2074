"""The package as a user installs it, not as the checkout runs it.

The rest of the suite runs an editable install from the repository root, where
./workflows and src/ are at hand, so it cannot notice a wheel that leaves the
workflows behind or a module that needs an extra. Here a real wheel is built and
installed into a folder of its own, and its CLI is run from a folder that is not
the checkout.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from laworkflow.definitions import catalog

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "laworkflow"
WORKFLOW_FILES = sorted(p.name for p in (ROOT / "workflows").iterdir() if p.suffix in {".yaml", ".yml"})
# What a build never needs; copying it would only be slow (a virtualenv, node_modules) or stale (an old build/).
# The web view's built assets are left behind too: the build must make them again from package.json.
_NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", ".pytest_cache", "*.sqlite*", "node_modules", "test-artifacts"
)
BUILT_ASSETS = PACKAGE / "http" / "web" / "assets"


def NOT_SOURCES(folder: str, names: list[str]) -> set[str]:
    ignored = set(_NOT_SOURCES(folder, names))
    return ignored | {"assets"} if Path(folder).resolve() == BUILT_ASSETS.parent else ignored


# What the install step copies from npm's packages into the package (build_backend/laworkflow_build.py), as the pages ask for it.
ASSET_FILES = {
    "laworkflow/http/web/assets/versions.json",
    "laworkflow/http/web/assets/govuk/govuk-frontend.min.css",
    "laworkflow/http/web/assets/govuk/govuk-frontend.min.js",
    "laworkflow/http/web/assets/govuk/assets/manifest.json",
    "laworkflow/http/web/assets/govuk/assets/images/favicon.ico",
    "laworkflow/http/web/assets/swagger-ui/swagger-ui-bundle.js",
    "laworkflow/http/web/assets/swagger-ui/swagger-ui.css",
    "laworkflow/http/web/assets/redoc/redoc.standalone.js",
}


def build_wheel(work: Path, env: dict[str, str] | None = None) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A wheel pip builds of a copy of the checkout in `work` (-v, so the build backend's own output shows)."""
    shutil.copytree(ROOT, work / "source", ignore=NOT_SOURCES)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(work / "dist"), str(work / "source")],
        capture_output=True,
        text=True,
        timeout=900,  # npm ci fetches the web view's packages
        env=env,
    )
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr
    (found,) = (work / "dist").glob("laworkflow-*.whl")
    return found, built


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds of the repository.

    Built from a copy of the checkout: an in-tree build writes build/ and *.egg-info into
    the working tree, and setuptools reuses an old build/lib, so a module deleted since
    would still ship.
    """
    return build_wheel(tmp_path_factory.mktemp("wheel"))[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel installed alone into a folder; its dependencies are the running interpreter's."""
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return target


def python(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The interpreter with the installed package, run from `cwd`, with nothing pointing it at the checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    env["PYTHONPATH"] = str(installed)  # ahead of site-packages, so it wins over the editable install
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def cli(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return python(installed, cwd, "-m", "laworkflow.cli", *args)


def test_the_wheel_ships_workflows_schema_reference_data_and_py_typed(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"laworkflow/workflows/{name}" for name in WORKFLOW_FILES}
    expected |= {"laworkflow/workflows/schema.json", "laworkflow/reference/authorities.csv", "laworkflow/py.typed"}
    assert WORKFLOW_FILES and expected <= names, sorted(expected - names)


def test_the_wheel_ships_every_module(wheel):
    """pyproject lists the packages by hand: a new subpackage left out of the list must show here."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"laworkflow/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")}
    assert modules <= names, sorted(modules - names)


def test_the_wheel_ships_the_web_views_assets_built_from_package_json(wheel):
    """The copy had no node_modules and no built assets: the build backend ran npm ci and copied them in."""
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the build goes on without the web view's assets (see the next test)")
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    assert ASSET_FILES <= names, sorted(ASSET_FILES - names)
    assert {n for n in names if n.startswith("laworkflow/http/web/assets/govuk/assets/fonts/")}, "GOV.UK Frontend's fonts"
    assert not {n for n in names if "node_modules" in n}
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    versions = json.loads(archive.read("laworkflow/http/web/assets/versions.json"))
    assert versions == {name: lock[f"node_modules/{name}"]["version"] for name in ("govuk-frontend", "swagger-ui-dist", "redoc")}
    assert versions["govuk-frontend"] == "6.3.0"  # the version govuk-frontend-jinja 4.1's macros are written for


def test_a_machine_without_nodejs_builds_a_wheel_whose_docs_say_how_to_build_the_assets(tmp_path):
    """No npm on PATH: the build warns and succeeds; the app starts, /docs and /redoc explain, the vendor files are 404s."""
    no_node = tmp_path / "bin"
    no_node.mkdir()
    env = {**os.environ, "PATH": str(no_node)}  # pip and the build run on absolute interpreter paths
    found, built = build_wheel(tmp_path / "build", env)
    assert "npm is not on PATH" in built.stdout + built.stderr
    assert not {n for n in zipfile.ZipFile(found).namelist() if n.startswith("laworkflow/http/web/assets/")}
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(found)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    probe = """
import json
from fastapi.testclient import TestClient
from laworkflow import Catalog
from laworkflow.engine import Engine
from laworkflow.http.app import create_app
from laworkflow.store import store_env
client = TestClient(create_app(Engine(Catalog.from_directory(), env=store_env("memory:")), close_engine=True))
print(json.dumps({path: [client.get(path).status_code, client.get(path).text] for path in ["/docs", "/redoc", "/static/vendor/govuk/govuk-frontend.min.css", "/assets/images/favicon.ico"]}))
"""
    ran = python(target, tmp_path, "-c", probe)
    assert ran.returncode == 0, ran.stderr
    answers = json.loads(ran.stdout.strip().splitlines()[-1])
    for path in ("/docs", "/redoc"):
        status, text = answers[path]
        assert status == 200 and "the assets were not built" in text and "install Node.js" in text, (path, text)
    assert (answers["/static/vendor/govuk/govuk-frontend.min.css"][0], answers["/assets/images/favicon.ico"][0]) == (404, 404)
    assert "web.assets_missing" in ran.stderr  # pip hid the build's warning; the app says it again


def test_the_installed_cli_lists_the_shipped_workflows_from_any_folder(installed, tmp_path):
    located = python(installed, tmp_path, "-c", "import laworkflow.definitions.catalog as c; print(c.__file__); print(c.default_workflows_dir())")
    module, folder = located.stdout.split()
    assert Path(module).is_relative_to(installed) and Path(folder) == installed / "laworkflow" / "workflows", located.stdout

    listed = cli(installed, tmp_path, "definitions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    keys = {(d["id"], d["version"]) for d in json.loads(listed.stdout)["definitions"]}
    files = [yaml.safe_load((ROOT / "workflows" / name).read_text(encoding="utf-8")) for name in WORKFLOW_FILES]
    assert keys == {(f["id"], f["version"]) for f in files}


def test_the_installed_cli_runs_the_demo_from_any_folder(installed, tmp_path):
    demo = cli(installed, tmp_path, "--store", "memory:", "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    case = json.loads(demo.stdout)["case"]
    assert (case["workflow"], case["data"]["authority"], case["ended"]) == ("ofsted-laassi", "Norfolk", True)
    assert list(tmp_path.iterdir()) == []  # a memory store writes no file


def test_a_checkout_reads_its_own_workflows_folder_from_any_folder(monkeypatch, tmp_path):
    """In a checkout the package has no copy of workflows/: the repository's folder is the one."""
    if not Path(catalog.__file__).resolve().is_relative_to(PACKAGE):
        pytest.skip(f"laworkflow is imported from {catalog.__file__}, not from this checkout")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(catalog.WORKFLOWS_ENV, raising=False)
    assert catalog.default_workflows_dir().resolve() == ROOT / "workflows"


def _distribution(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_top_level_import_comes_from_a_runtime_dependency():
    """`pip install .` installs no extra: a module src/ imports on load must come from [project].dependencies
    (or what they require, extras aside). Imports inside functions may serve an extra, and are not looked at."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime, todo = set(), [_distribution(d) for d in project["dependencies"]]
    while todo:
        name = todo.pop()
        if name in runtime:
            continue
        runtime.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [_distribution(r) for r in requires if "extra" not in r.partition(";")[2]]
    provided = {module: {_distribution(d) for d in dists} for module, dists in metadata.packages_distributions().items()}
    missing = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for top in {name.partition(".")[0] for name in names}:
                if top in sys.stdlib_module_names or top in {"laworkflow", "__future__"}:
                    continue
                if not provided.get(top, set()) & runtime:
                    missing.add(f"{top} (imported by {path.relative_to(ROOT)})")
    assert not missing, sorted(missing)
