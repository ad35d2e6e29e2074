#!/usr/bin/env python3
"""Rule mutation: remove each rule of each workflow, one at a time, and see whether a test fails.

    python scripts/mutate_rules.py [--workflow ID] [--kind guard|bound|deadline|timer|data|internal|finding] [--jobs N] [--json]

"A rule without a failing test is not a rule." For every shipped workflow file
(workflows/*.yaml, or --workflows DIR) this makes one mutant per rule:

- guard     one guard of a transition removed (a condition or a named guard);
- bound     a list bound removed: a `min_items`/`max_items` guard, or a data
            field's `min_items`/`max_items`/`unique_items`/`minimum`/`maximum`;
- deadline  one deadline removed;
- timer     one timer removed;
- data      a required data field made optional (`required: false`), or a
            field's `non_empty` dropped;
- internal  a transition's `internal: true` dropped (people could fire it);
- finding   one finding (a warning of a "normally") removed.

Each mutant is the workflows folder copied with that one file rewritten (as
JSON, which is YAML: comments are lost, values are not) and loaded first: a
mutant the loader refuses is killed by validation. The others run the tests
(`-x`; a test written for every store runs on the memory store only) with LAWORKFLOW_TEST_WORKFLOWS naming the copy,
which tests/conftest.py's `catalog` fixture reads (so every `make_engine`
engine). A mutant survives when every test passes.

The tests run first on the unchanged folder, traced by this file loaded as a
pytest plugin: which triggers of which workflows each test attempts (starting a
case counts as `start`; a test that looks at a definition through the catalog
itself counts as reaching all of it). A test failing there is left out, and
said so. A mutant then runs only the tests that reach its rule, fastest first:
a guard, a data field or `internal` those that attempt its trigger; a deadline
those that attempt a trigger setting or meeting it; a timer those that enter
its state or attempt its trigger; a finding those that attempt its `on`. A
test that reaches none of these cannot tell the mutant from the original. A
rule no test reaches survives without a run ("no test reaches it").

A survivor is justified by a comment beginning `# survives:` with the reason,
on the line above the rule or on one of its lines. A comment, not a key: a
note about tests is no part of the rule, and must not change the definition's
content hash (which running cases pin). Exit status 1 while an unjustified
survivor (or a mutant whose run failed to decide) remains, 2 when the tests fail
to run at all.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.loader import load_text, parse_yaml
from laworkflow.errors import LaworkflowError

REPO = Path(__file__).resolve().parents[1]
KINDS = ("guard", "bound", "deadline", "timer", "data", "internal", "finding")
BOUND_OPS = ("min_items", "max_items")
BOUND_KEYS = ("min_items", "max_items", "minimum", "maximum", "min", "max")
# Test files that drive engines on the shipped workflows but test the machinery around the rules (service, packaging,
# storage, audit, simulation): left out of the default set, which they would make slower and no stronger.
NOT_RULE_TESTS = {
    "test_api_load.py",
    "test_audit_bundle.py",
    "test_audit_log.py",
    "test_audit_replay.py",
    "test_audit_tamper.py",
    "test_encryption.py",
    "test_national.py",
    "test_notify.py",
    "test_packaging.py",
    "test_quarantine.py",
    "test_risk.py",
    "test_service.py",
    "test_service_checkpoints.py",
    "test_service_stop.py",
}
USES_CATALOG = re.compile(r"def \w+\([^)]*\b(catalog|make_engine)\b")
SURVIVES = re.compile(r"#\s*survives:\s*(.*)$")
ENV = "LAWORKFLOW_TEST_WORKFLOWS"
STORE_PARAMETER = re.compile(r"([\[-])(?:sqlite|postgres)([\]-])")  # the `store` fixture's parameter in a test id


@dataclass
class Mutant:
    """One rule removed from one workflow file."""

    id: str
    file: str
    workflow: str
    kind: str
    path: str
    line: int | None
    removed: str
    cites: str
    justified: str | None = None
    outcome: str = "pending"  # killed | killed_by_validation | timeout | survived | error
    by: str | None = None
    seconds: float = 0.0
    tests: int = 0  # how many tests reach the rule (and ran on the mutant)
    steps: list[Any] = field(default_factory=list, repr=False)  # where to cut: [*path, ("delete" | "unset" | "set", key, value)]


# ------------------------------------------------------------------------------------------------ finding the rules


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _cites(element: dict[str, Any], fallback: dict[str, Any] | None = None) -> str:
    cites = element.get("cites") if isinstance(element.get("cites"), dict) else (fallback or {}).get("cites")
    return f"{cites.get('source')}, {cites.get('para')}" if isinstance(cites, dict) else "(no citation)"


def _condition(guard: dict[str, Any]) -> str:
    if "function" in guard:
        return f"{guard['function']}()"
    value = "" if guard.get("value") is None else f" {json.dumps(guard['value'], ensure_ascii=False)}"
    return f"{guard.get('field') or '(the day)'} {guard.get('op')}{value}"


def _justification(text_lines: list[str], start: int, last: int) -> str | None:
    """A `# survives:` comment in the comment block right above line `start` or on lines start..last (1-based)."""
    first = start
    while first > 1 and text_lines[first - 2].lstrip().startswith("#"):
        first -= 1
    for number in range(first, last + 1):
        match = SURVIVES.search(text_lines[number - 1])
        if match and not text_lines[number - 1].lstrip().startswith(("'", '"')):
            words = [match.group(1).strip()]
            for following in text_lines[number:last]:
                stripped = following.strip()
                if not stripped.startswith("#") or stripped == "#" or SURVIVES.search(stripped):
                    break
                words.append(stripped.lstrip("#").strip())
            return " ".join(w for w in words if w) or "(no reason given)"
    return None


def find_mutants(file: Path, text: str) -> list[Mutant]:
    """Every rule of one workflow file (its text as read), each as the mutant that removes it."""
    raw, lines = parse_yaml(text, str(file))
    text_lines = text.splitlines()
    workflow = f"{raw.get('id')}@{raw.get('version')}"
    found: list[Mutant] = []

    def add(kind: str, path: tuple[Any, ...], step: tuple[Any, ...], removed: str, cites: str) -> None:
        start = lines.get(path)
        last = max((n for p, n in lines.items() if p[: len(path)] == path), default=start or 0)
        found.append(
            Mutant(
                id=f"{file.stem}:{_where(path)}" + (f":{step[1]}" if step[0] != "delete" else ""),
                file=file.name,
                workflow=workflow,
                kind=kind,
                path=_where(path),
                line=start,
                removed=removed,
                cites=cites,
                justified=_justification(text_lines, start, last) if start else None,
                steps=[*path, step],
            )
        )

    def data_fields(fields: Any, where: tuple[Any, ...], owner: str, parent: dict[str, Any]) -> None:
        for name, spec in (fields or {}).items():
            if not isinstance(spec, dict) or spec.get("derived") is not None:
                continue
            path = (*where, name)
            if spec.get("required", True):
                add("data", path, ("set", "required", False), f"required field {name} ({owner}) made optional", _cites(spec, parent))
            if spec.get("non_empty"):
                add("data", path, ("unset", "non_empty"), f"non_empty of field {name} ({owner})", _cites(spec, parent))
            if spec.get("unique_items"):
                add("bound", path, ("unset", "unique_items"), f"unique_items of field {name} ({owner})", _cites(spec, parent))
            for key in BOUND_KEYS:
                if spec.get(key) is not None:
                    add("bound", path, ("unset", key), f"{key}: {spec[key]} of field {name} ({owner})", _cites(spec, parent))

    data_fields(raw.get("data"), ("data",), "start data", raw)
    for t, transition in enumerate(raw.get("transitions") or []):
        trigger = transition.get("trigger")
        for g, guard in enumerate(transition.get("guards") or []):
            kind = "bound" if guard.get("op") in BOUND_OPS else "guard"
            add(kind, ("transitions", t, "guards", g), ("delete",), f"guard of {trigger}: {_condition(guard)}", _cites(guard, transition))
        data_fields(transition.get("data"), ("transitions", t, "data"), f"data of {trigger}", transition)
        if transition.get("internal"):
            add("internal", ("transitions", t), ("unset", "internal"), f"internal: true of {trigger}", _cites(transition))
    for d, deadline in enumerate(raw.get("deadlines") or []):
        removed = f"deadline {deadline.get('id')} (set by {deadline.get('set_by')}, met by {deadline.get('met_by')}, due {deadline.get('due')})"
        add("deadline", ("deadlines", d), ("delete",), removed, _cites(deadline))
    for n, timer in enumerate(raw.get("timers") or []):
        removed = f"timer {timer.get('id')} (in {timer.get('state')}, fires {timer.get('fires')}, due {timer.get('due')})"
        add("timer", ("timers", n), ("delete",), removed, _cites(timer))
    for n, finding in enumerate(raw.get("findings") or []):
        add("finding", ("findings", n), ("delete",), f"finding {finding.get('id')} (on {finding.get('on')})", _cites(finding))
    return found


def mutated(raw: dict[str, Any], steps: list[Any]) -> dict[str, Any]:
    """A deep copy of a parsed definition with one step applied at the end of a path."""
    out = copy.deepcopy(raw)
    *path, (action, *rest) = steps
    if action == "delete":
        *path, last = path
    node: Any = out
    for part in path:
        node = node[part]
    if action == "delete":
        del node[last]
    elif action == "unset":
        node.pop(rest[0], None)
    else:
        node[rest[0]] = rest[1]
    return out


# ------------------------------------------------------------------------------------------------ which tests


def default_tests() -> list[Path]:
    """The scenario tests, then every test file that drives the `catalog` fixture's workflows, but the machinery's."""
    scenarios = sorted((REPO / "tests" / "scenarios").glob("test_*.py"))
    others = [
        path
        for path in sorted((REPO / "tests").glob("test_*.py"))
        if path.name not in NOT_RULE_TESTS and path.name != "test_mutate_rules.py" and USES_CATALOG.search(path.read_text(encoding="utf-8"))
    ]
    return [*scenarios, *others]


def reached_by(raw: dict[str, Any], steps: list[Any], kind: str) -> set[str]:
    """The triggers (`start`: starting a case) a test must attempt for the removed rule to make a difference."""
    path = [p for p in steps if not isinstance(p, tuple)]
    if path[0] == "data":
        return {"start"}
    if path[0] == "transitions":
        return {raw["transitions"][path[1]]["trigger"]}
    element = raw[path[0]][path[1]]
    if path[0] == "deadlines":
        return {*_names(element.get("set_by")), *_names(element.get("met_by"))}
    if path[0] == "findings":
        return set(_names(element.get("on")))
    state = element.get("state")  # a timer: armed by entering its state, or fired
    entering = {t["trigger"] for t in raw.get("transitions") or [] if t.get("to") == state or (t.get("to") is None and state in _names(t.get("from")))}
    return {element.get("fires"), *entering, *({"start"} if raw.get("initial") == state else set())}


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


# ------------------------------------------------------------------------------------------------ the pytest plugin
# Loaded into each pytest run (`-p mutate_rules`, this folder on PYTHONPATH) when LAWORKFLOW_MUTATION_TRACE names a file.
# On the unchanged workflows it records, per test, which triggers of which workflows it attempted (through the Case
# aggregate, the compiled machine, or a direct look at a definition) and how long it took; on a mutant, which tests failed.

_TRACE: dict[str, Any] = {"tests": {}, "failed": []}
_CURRENT: list[str] = []
_ENGINE_DEPTH = [0]


def _touch(workflow: str, trigger: str) -> None:
    if _CURRENT:
        _TRACE["tests"].setdefault(_CURRENT[-1], {"touched": set(), "seconds": 0.0})["touched"].add((workflow, trigger))


def _wrap(owner: Any, name: str, record: Any) -> None:
    original = owner.__dict__.get(name)
    if original is None:
        return
    function = original.__func__ if isinstance(original, classmethod) else original

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            record(*args, **kwargs)
        except Exception:  # what the recorder could not read, it leaves unrecorded; the call itself goes on
            pass
        return function(*args, **kwargs)

    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    setattr(owner, name, classmethod(wrapper) if isinstance(original, classmethod) else wrapper)


def _install_trace() -> None:
    from laworkflow.cases.case import Case
    from laworkflow.definitions.machine import CompiledWorkflow
    from laworkflow.engine import Engine

    _wrap(Case, "begin", lambda cls, workflow, **_: _touch(workflow.definition.id, "start"))
    _wrap(Case, "fire", lambda self, workflow, trigger, *a, **k: _touch(workflow.definition.id, trigger))
    _wrap(Case, "react", lambda self, workflow, reaction, *a, **k: _touch(workflow.definition.id, reaction.fire))
    _wrap(
        Case,
        "fire_timer",
        lambda self, workflow, timer_id, **_: [_touch(workflow.definition.id, t.fires) for t in workflow.definition.timers if t.id == timer_id],
    )
    _wrap(CompiledWorkflow, "select", lambda self, state, trigger, *a, **k: _touch(self.definition.id, trigger))
    _wrap(CompiledWorkflow, "transitions_from", lambda self, state, trigger, *a, **k: _touch(self.definition.id, trigger))
    _wrap(Engine, "start", lambda self, workflow, *a, **k: _touch(workflow.split("@")[0], "start"))
    _wrap(Engine, "fire", lambda self, case_id, trigger, *a, **k: _touch("*", trigger))
    from laworkflow.definitions.catalog import Catalog

    _wrap(Catalog, "get", lambda self, definition_id, *a, **k: None if _ENGINE_DEPTH[0] else _touch(definition_id.split("@")[0], "*"))
    for name, value in list(vars(Engine).items()):  # the engine's own look-ups in the catalog are not a test's look at a definition
        if callable(value) and not isinstance(value, (classmethod, staticmethod, type)):
            _deepen(Engine, name, value)


def _deepen(owner: Any, name: str, function: Any) -> None:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _ENGINE_DEPTH[0] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _ENGINE_DEPTH[0] -= 1

    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _redirect_shipped_folder(folder: Path) -> None:
    """Every use of the shipped workflows folder in this test process and the CLI processes it starts names `folder` instead.

    Tests that run the CLI as a subprocess beside an engine of the `catalog` fixture name the shipped folder themselves
    (`--workflows .../workflows`); left alone, the subprocess would refuse the mutant's cases as "definition changed" and
    fail the test whatever the rule, a kill the rule did not earn."""
    from laworkflow.definitions.catalog import Catalog

    shipped = (REPO / "workflows").resolve()

    def swap(value: Any) -> Any:
        try:
            return str(folder) if isinstance(value, (str, Path)) and Path(value).resolve() == shipped else value
        except (OSError, ValueError):
            return value

    loader = Catalog.__dict__["from_directory"].__func__
    Catalog.from_directory = classmethod(lambda cls, directory=None, *a, **k: loader(cls, swap(directory), *a, **k))  # type: ignore[method-assign]
    original = subprocess.Popen.__init__

    def popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        if isinstance(args, (list, tuple)):
            args = [swap(a) for a in args]
        env = kwargs.get("env")
        if isinstance(env, dict) and env.get("LAWORKFLOW_WORKFLOWS"):
            kwargs["env"] = {**env, "LAWORKFLOW_WORKFLOWS": swap(env["LAWORKFLOW_WORKFLOWS"])}
        original(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = popen  # type: ignore[method-assign]


def pytest_configure(config: Any) -> None:
    if os.environ.get(ENV) and os.environ.get("LAWORKFLOW_MUTATION_TRACE_MODE"):
        _redirect_shipped_folder(Path(os.environ[ENV]))
    if os.environ.get("LAWORKFLOW_MUTATION_TRACE_MODE") == "trace":
        _install_trace()


try:
    import pytest as _pytest

    @_pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item: Any, nextitem: Any) -> Iterator[None]:
        _CURRENT.append(item.nodeid)
        began = time.monotonic()
        _TRACE["tests"].setdefault(item.nodeid, {"touched": set(), "seconds": 0.0})
        yield
        _TRACE["tests"][item.nodeid]["seconds"] = time.monotonic() - began
        _CURRENT.pop()

except ImportError:  # run as a script without pytest: the plugin is not needed
    pass


def pytest_runtest_logreport(report: Any) -> None:
    if report.failed and report.nodeid not in _TRACE["failed"]:
        _TRACE["failed"].append(report.nodeid)


def pytest_sessionfinish(session: Any, exitstatus: Any) -> None:
    target = os.environ.get("LAWORKFLOW_MUTATION_TRACE")
    if target:
        tests = {k: {"touched": sorted(v["touched"]), "seconds": v["seconds"]} for k, v in _TRACE["tests"].items()}
        Path(target).write_text(json.dumps({"tests": tests, "failed": _TRACE["failed"]}), encoding="utf-8")


# ------------------------------------------------------------------------------------------------ running


@dataclass
class Run:
    outcome: str  # passed | failed | timeout | error
    failed: list[str]
    seconds: float
    output: str
    trace: dict[str, Any]


def run_tests(folder: Path, tests: list[str], options: argparse.Namespace, *, trace: bool, timeout: float | None) -> Run:
    """pytest on `tests` (files or node ids) with the catalog fixture on `folder`; what failed, from the plugin above."""
    record = folder / "trace.json"
    command = [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "mutate_rules"]
    command += [] if trace else ["-x"]
    command += [] if options.all_stores else ["-k", "not postgres"]
    path = os.pathsep.join(p for p in (str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, ENV: str(folder), "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", "LAWORKFLOW_MUTATION_TRACE": str(record)}
    env["LAWORKFLOW_MUTATION_TRACE_MODE"] = "trace" if trace else "run"
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the pytest we started, and anything it started
        process.communicate()
        return Run("timeout", [], time.monotonic() - began, "", {})
    seconds = time.monotonic() - began
    found = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    outcome = {0: "passed", 1: "failed"}.get(process.returncode, "error")
    if outcome == "failed" and not found.get("failed"):
        outcome = "error"
    return Run(outcome, found.get("failed", []), seconds, output, found)


def baseline(source: Path, tests: list[Path], options: argparse.Namespace, scratch: Path) -> tuple[dict[str, Any], list[str], float]:
    """The tests on the unchanged folder, traced: what each test reaches, the tests failing there, the time taken."""
    folder = scratch / "baseline"
    shutil.copytree(source, folder)
    run = run_tests(folder, [str(t) for t in tests], options, trace=True, timeout=None)
    if run.outcome == "error" or not run.trace.get("tests"):
        raise SystemExit(f"error: the tests do not run on the unchanged workflows:\n{run.output[-3000:]}")
    return run.trace["tests"], run.failed, run.seconds


def selected(mutant: Mutant, raw: dict[str, Any], context: dict[str, Any]) -> list[str]:
    """The tests that attempt what the rule governs (a look at the definition itself counts as all of it), fastest first."""
    workflow = raw["id"]
    triggers = reached_by(raw, mutant.steps, mutant.kind)
    wanted = {(w, t) for t in triggers for w in (workflow, "*")} | {(workflow, "*"), ("*", "*")}
    trace = context["trace"]
    chosen = [
        (info["seconds"], node)
        for node, info in trace.items()
        if node not in context["excluded"]
        and any(tuple(pair) in wanted for pair in info["touched"])
        and (context["all_stores"] or not _twin_in_memory(node, trace))
    ]
    return [node for _, node in sorted(chosen)]


def _twin_in_memory(node: str, trace: dict[str, Any]) -> bool:
    """A test run on a SQLite or PostgreSQL store whose memory-store run is traced too: a rule does not depend on the store."""
    twin = STORE_PARAMETER.sub(r"\1memory\2", node)
    return twin != node and twin in trace


def decide(mutant: Mutant, context: dict[str, Any], options: argparse.Namespace) -> Mutant:
    """Load the mutant (refused: killed by validation), else run the tests that reach the rule."""
    began = time.monotonic()
    raws: dict[str, dict[str, Any]] = context["raws"]
    folder = Path(tempfile.mkdtemp(prefix="mutant-", dir=context["scratch"]))
    try:
        for name in raws:
            if name != mutant.file:
                shutil.copy2(context["source"] / name, folder / name)
        changed = mutated(raws[mutant.file], mutant.steps)
        (folder / mutant.file).write_text(json.dumps(changed, ensure_ascii=False, indent=1), encoding="utf-8")
        try:
            definition = load_text((folder / mutant.file).read_text(encoding="utf-8"), mutant.file)
            Catalog([*(d for n, d in context["definitions"].items() if n != mutant.file), definition])
        except LaworkflowError as error:
            mutant.outcome, mutant.by = "killed_by_validation", str(error).splitlines()[0][:300]
            return mutant
        tests = selected(mutant, raws[mutant.file], context)
        mutant.tests = len(tests)
        if not tests:
            mutant.outcome, mutant.by = "survived", "no test reaches it"
            return mutant
        run = run_tests(folder, tests, options, trace=False, timeout=context["timeout"])
        if run.outcome == "timeout":
            mutant.outcome, mutant.by = "timeout", f"the tests ran over {context['timeout']:.0f} s"
        elif run.outcome == "failed":
            mutant.outcome, mutant.by = "killed", run.failed[0]
        elif run.outcome == "passed":
            mutant.outcome, mutant.by = "survived", f"{len(tests)} tests reach it, none fails"
        else:
            mutant.outcome, mutant.by = "error", run.output.strip().splitlines()[-1][:300] if run.output.strip() else run.outcome
        return mutant
    finally:
        mutant.seconds = round(time.monotonic() - began, 2)
        shutil.rmtree(folder, ignore_errors=True)


# ------------------------------------------------------------------------------------------------ reporting


def summary(mutants: list[Mutant]) -> dict[str, Any]:
    def count(items: list[Mutant]) -> dict[str, int]:
        killed = [m for m in items if m.outcome in ("killed", "killed_by_validation", "timeout")]
        survived = [m for m in items if m.outcome == "survived"]
        return {
            "total": len(items),
            "killed": len(killed),
            "killed_by_tests": sum(m.outcome in ("killed", "timeout") for m in items),
            "killed_by_validation": sum(m.outcome == "killed_by_validation" for m in items),
            "survived": len(survived),
            "justified": sum(m.justified is not None for m in survived),
            "errors": sum(m.outcome == "error" for m in items),
        }

    by_workflow: dict[str, list[Mutant]] = {}
    by_kind: dict[str, list[Mutant]] = {}
    for m in mutants:
        by_workflow.setdefault(m.workflow, []).append(m)
        by_kind.setdefault(m.kind, []).append(m)
    return {
        "all": count(mutants),
        "workflows": {k: {"file": v[0].file, **count(v)} for k, v in sorted(by_workflow.items())},
        "kinds": {k: count(v) for k, v in sorted(by_kind.items())},
    }


def text_report(mutants: list[Mutant], totals: dict[str, Any], meta: dict[str, Any]) -> Iterator[str]:
    a = totals["all"]
    yield (
        f"rule mutation: {a['killed']}/{a['total']} mutants killed ({a['killed_by_tests']} by a test, {a['killed_by_validation']} by validation), "
        f"{a['survived']} survived ({a['justified']} justified), {a['errors']} undecided; {meta['seconds']:.0f} s, {meta['jobs']} jobs"
    )
    for name in meta["excluded_tests"]:
        yield f"  left out (fails on the unchanged workflows): {name}"
    yield ""
    for workflow, c in totals["workflows"].items():
        line = f"  {workflow:34} {c['killed']:3}/{c['total']:<3} killed ({c['killed_by_validation']} by validation)"
        yield (
            line + (f", {c['survived']} survived ({c['justified']} justified)" if c["survived"] else "") + (f", {c['errors']} undecided" if c["errors"] else "")
        )
    yield "  by kind: " + ", ".join(f"{k} {c['killed']}/{c['total']}" for k, c in totals["kinds"].items())
    left = [m for m in mutants if m.outcome in ("survived", "error")]
    if left:
        yield ""
        yield "survivors (no test fails without the rule):"
    for m in left:
        status = "UNDECIDED" if m.outcome == "error" else ("justified" if m.justified else "SURVIVED")
        yield f"  {status:9} {m.file}:{m.line} {m.path}  [{m.kind}] {m.removed}"
        yield f"            cites {m.cites}" + (f"; survives: {m.justified}" if m.justified else "") + (f"; {m.by}" if m.outcome == "error" else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--workflows", type=Path, default=REPO / "workflows", help="the folder of workflow files (default: the shipped ones)")
    parser.add_argument("--workflow", action="append", default=[], metavar="ID", help="only this workflow id (repeatable)")
    parser.add_argument("--kind", action="append", default=[], choices=KINDS, help="only this kind of rule (repeatable)")
    parser.add_argument("--tests", nargs="+", type=Path, help="test files or folders (default: scenarios and rule tests)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants run at once (default: the number of CPUs)")
    parser.add_argument(
        "--all-stores", action="store_true", help="run each test on every store it is written for (default: the memory store, when it is one of them)"
    )
    parser.add_argument("--mutant", action="append", default=[], metavar="ID", help="only the mutant of this id, as --list shows it (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress line per mutant on stderr")
    parser.add_argument(
        "--json", nargs="?", const="-", metavar="FILE", help="one JSON document (summary, every mutant, the run) instead of the text, or into FILE beside it"
    )
    options = parser.parse_args(argv)
    began = time.monotonic()

    source = options.workflows.resolve()
    files = sorted([*source.glob("*.yaml"), *source.glob("*.yml")])
    texts = {f.name: f.read_text(encoding="utf-8") for f in files}
    raws = {name: parse_yaml(text, name)[0] for name, text in texts.items()}
    definitions = {name: load_text(text, name) for name, text in texts.items()}
    for name, raw in raws.items():  # the JSON a mutant is written in must say what the YAML says
        if load_text(json.dumps(raw, ensure_ascii=False), name).content_hash() != definitions[name].content_hash():
            raise SystemExit(f"error: {name} does not survive the JSON round trip unchanged; mutants of it would test something else")
    mutants = [m for f in files for m in find_mutants(f, texts[f.name])]
    mutants = [m for m in mutants if (not options.workflow or m.workflow.split("@")[0] in options.workflow) and (not options.kind or m.kind in options.kind)]
    mutants = [m for m in mutants if not options.mutant or m.id in options.mutant]
    if options.list:
        for m in mutants:
            print(
                json.dumps({k: v for k, v in asdict(m).items() if k not in ("steps", "outcome", "by", "seconds")}, ensure_ascii=False)
                if options.json
                else f"{m.id}  [{m.kind}] {m.removed}"
            )
        return 0

    tests = [p.resolve() for p in options.tests] if options.tests else default_tests()
    tests = [t for p in tests for t in (sorted(p.rglob("test_*.py")) if p.is_dir() else [p])]
    with tempfile.TemporaryDirectory(prefix="mutate-rules-") as scratch:
        kept = Path(scratch) / "workflows"  # the files as read above, whatever happens to the folder during the run
        kept.mkdir()
        for name, text in texts.items():
            (kept / name).write_text(text, encoding="utf-8")
        trace, excluded, seconds = baseline(kept, tests, options, Path(scratch))
        context = {
            "raws": raws,
            "definitions": definitions,
            "source": kept,
            "scratch": scratch,
            "trace": trace,
            "excluded": set(excluded),
            "all_stores": options.all_stores,
            "timeout": max(120.0, 3 * seconds),
        }
        done = [0]

        def one(mutant: Mutant) -> None:
            try:
                decide(mutant, context, options)
            except Exception as error:  # one mutant the script could not make or run: undecided, said so, the others go on
                mutant.outcome, mutant.by = "error", f"{error.__class__.__name__}: {error}"
            done[0] += 1
            if not options.quiet:
                print(f"[{done[0]}/{len(mutants)}] {mutant.outcome:20} {mutant.id}  ({mutant.seconds:.0f} s)", file=sys.stderr, flush=True)

        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
            list(pool.map(one, mutants))
    totals = summary(mutants)
    meta = {
        "date": datetime.now(UTC).date().isoformat(),
        "command": " ".join(["python scripts/mutate_rules.py", *(argv if argv is not None else sys.argv[1:])]),
        "seconds": round(time.monotonic() - began, 1),
        "jobs": options.jobs,
        "tests": [str(t.relative_to(REPO)) if t.is_relative_to(REPO) else str(t) for t in tests],
        "baseline_seconds": round(seconds, 1),
        "excluded_tests": excluded,
    }
    document = {"summary": totals, "run": meta, "mutants": [{k: v for k, v in asdict(m).items() if k != "steps"} for m in mutants]}
    if options.json and options.json != "-":
        Path(options.json).write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if options.json == "-":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print("\n".join(text_report(mutants, totals, meta)))
    unjustified = [m for m in mutants if (m.outcome == "survived" and m.justified is None) or m.outcome == "error"]
    return 1 if unjustified else 0


if __name__ == "__main__":
    sys.exit(main())
