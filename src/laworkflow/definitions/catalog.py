"""The workflows an engine knows: every definition file in a folder, loaded and compiled once.

Developers add a workflow by dropping a YAML file into `workflows/` (or a folder
of their own); the engine itself does not change. A case pins the id, version
and content hash of the definition it started on; a file edited after cases
started on it is refused rather than silently applied to them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from laworkflow.definitions.derived import derived_fields
from laworkflow.definitions.guards import GuardRegistry, default_guards
from laworkflow.definitions.loader import load_file
from laworkflow.definitions.machine import CompiledWorkflow, compile_definition
from laworkflow.definitions.model import Definition
from laworkflow.definitions.sources import Quotes
from laworkflow.errors import DefinitionError, NotInForce, Problem, UnknownDefinition

WORKFLOWS_ENV = "LAWORKFLOW_WORKFLOWS"


def default_workflows_dir() -> Path:
    """$LAWORKFLOW_WORKFLOWS, else ./workflows, else the workflows installed with the package.

    An installed package (wheel, `pip install .`) carries the repository's workflows/ as
    laworkflow/workflows (see pyproject's package-dir). In a checkout (an editable install, or
    src/ on the path) the package folder has no such copy: there the repository's own
    workflows/ beside src/ is the folder that mapping names, so it is the answer.
    """
    if os.environ.get(WORKFLOWS_ENV):
        return Path(os.environ[WORKFLOWS_ENV])
    here = Path.cwd() / "workflows"
    if here.is_dir():
        return here
    package = resources.files("laworkflow")
    # files() is a real folder for a package on disk; a zipped one cannot hand out a folder.
    if isinstance(package, Path) and (package / "workflows").is_dir():
        return package / "workflows"
    return Path(__file__).resolve().parents[3] / "workflows"


class Catalog:
    """Compiled definitions by id and version, and the quotes behind their citations."""

    def __init__(self, definitions: Iterable[Definition], guards: GuardRegistry = default_guards, quotes: Quotes | None = None):
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        self.guards = guards  # also compiles definitions kept in the store whose files have changed
        self.quotes = quotes if quotes is not None else Quotes()  # words for readers; no definition's hash depends on them
        problems: list[Problem] = []
        for definition in definitions:
            key = (definition.id, definition.version)
            if key in self._compiled:
                problems.append(Problem(definition.id, "version", f"{definition.key} is defined twice"))
                continue
            self._compiled[key] = compile_definition(definition, guards)
        for workflow in self._compiled.values():
            problems.extend(self._links(workflow))
        if problems:
            raise DefinitionError(problems)

    @classmethod
    def from_directory(cls, directory: str | Path | None = None, guards: GuardRegistry = default_guards) -> Catalog:
        """Load every *.yaml / *.yml file, and sources/quotes.yaml; every problem in every file is reported together.

        A file that fails in a way the loader did not foresee is one more problem against that
        file, not a traceback that hides the others: a definition file is input, not code."""
        directory = Path(directory) if directory is not None else default_workflows_dir()
        if not directory.is_dir():
            raise DefinitionError([Problem(str(directory), "", "no such workflows folder")])
        definitions, problems = [], []
        try:
            paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
        except OSError as error:
            raise DefinitionError([Problem(str(directory), "", f"cannot list the workflows folder: {error.strerror}")]) from None
        for path in paths:
            try:
                definitions.append(load_file(path, guards))
            except DefinitionError as error:
                problems.extend(error.problems)
            except Exception as error:
                problems.append(Problem(str(path), "", f"cannot be loaded: {error.__class__.__name__}: {error}"))
        try:
            quotes = Quotes.from_directory(directory)
        except DefinitionError as error:
            problems.extend(error.problems)
        if problems:
            raise DefinitionError(problems)
        return cls(definitions, guards, quotes)

    def _links(self, workflow: CompiledWorkflow) -> list[Problem]:
        """Children a workflow starts and reacts to must exist, with the states and fields it names."""
        found, d = [], workflow.definition
        for index, transition in enumerate(d.transitions):
            if transition.starts and transition.starts.workflow not in self.ids():
                found.append(
                    Problem(
                        d.key,
                        f"transitions[{index}].starts.workflow",
                        f"starts unknown workflow {transition.starts.workflow!r}; known: {', '.join(self.ids())}",
                    )
                )
            elif transition.starts:
                found += self._start_data(d.key, f"transitions[{index}].starts.data", transition.starts.workflow, transition.starts.data)
        for index, reaction in enumerate(d.reactions):
            where = f"reactions[{index}]"
            if reaction.child not in self.ids():
                found.append(Problem(d.key, f"{where}.child", f"reacts to unknown workflow {reaction.child!r}; known: {', '.join(self.ids())}"))
                continue
            for child in (w for w in self._compiled.values() if w.definition.id == reaction.child):
                states, fields = child.definition.states, child.definition.fields()
                found += [
                    Problem(d.key, f"{where}.reaches", f"{child.key} has no state {state!r}; states: {', '.join(states)}")
                    for state in reaction.reaches
                    if state not in states
                ]
                found += [
                    Problem(d.key, f"{where}.data.{key}", f"copies {value!r}, but {child.key} has no field {value[1:]!r}")
                    for key, value in reaction.data.items()
                    if isinstance(value, str) and value.startswith("=") and value[1:] not in fields
                ]
        return found

    def _start_data(self, key: str, where: str, child_id: str, data: dict[str, Any]) -> list[Problem]:
        """What a parent gives a child at start must be start data the child takes: not a field it derives, not one it lacks."""
        found = []
        for child in (w for w in self._compiled.values() if w.definition.id == child_id):
            derived = derived_fields(child.definition)
            for name in data:
                if name in derived:
                    found.append(Problem(key, f"{where}.{name}", f"sets {name!r}, which {child.key} derives: a parent cannot set it either"))
                elif name not in child.definition.data:
                    found.append(Problem(key, f"{where}.{name}", f"{child.key} has no start field {name!r}; start data: {', '.join(child.definition.data)}"))
        return found

    def ids(self) -> list[str]:
        return sorted({key[0] for key in self._compiled})

    def __iter__(self) -> Iterator[CompiledWorkflow]:
        return iter(sorted(self._compiled.values(), key=lambda w: (w.definition.id, w.definition.version)))

    def get(self, definition_id: str, version: int | None = None, *, on: date | None = None, strict: bool = True) -> CompiledWorkflow:
        """The given version (`id@version` names one too); else the one in force `on` a day; else the latest.

        A day on which no version is in force (before the first window, after the last one ends, or between
        two) is NotInForce, naming every window; with `strict=False` (a child case a parent starts: the
        parent's framework was already accepted) it is the last version to come into force by then, else
        the first. A version named explicitly is given whatever the day: the case records a finding when
        it starts outside its window (`laworkflow.cases.findings`).
        """
        if "@" in definition_id and version is None:
            definition_id, _, number = definition_id.partition("@")
            if not number.isdigit():
                raise UnknownDefinition(f"cannot read version {number!r} in {definition_id}@{number}; write id@N, e.g. ofsted-laassi@1")
            version = int(number)
        versions = sorted(v for (i, v) in self._compiled if i == definition_id)
        if not versions:
            raise UnknownDefinition(f"unknown workflow {definition_id!r}; known: {', '.join(self.ids()) or '(none)'}")
        if version is None and on is not None:
            in_force = [v for v in versions if self._compiled[(definition_id, v)].definition.in_force_on(on)]
            if not in_force and strict:
                windows = "; ".join(f"{definition_id}@{v}: {self._compiled[(definition_id, v)].definition.window()}" for v in versions)
                raise NotInForce(
                    f"no version of {definition_id!r} is in force on {on.isoformat()} (in force: {windows}); "
                    f"name a version (id@N) to run a case on it all the same, recorded as a finding"
                )
            begun = [v for v in versions if (self._compiled[(definition_id, v)].definition.in_force_from or date.min) <= on]
            version = in_force[-1] if in_force else (begun[-1] if begun else versions[0])
        if version is None:
            version = versions[-1]
        if version not in versions:
            raise UnknownDefinition(f"workflow {definition_id!r} has no version {version}; versions: {', '.join(map(str, versions))}")
        return self._compiled[(definition_id, version)]

    def pinned(self, definition_id: str, version: int, content_hash: str) -> CompiledWorkflow:
        """The exact definition a case started on; refuses one whose file changed since."""
        workflow = self.get(definition_id, version)
        if workflow.content_hash != content_hash:
            raise UnknownDefinition(
                f"{workflow.key} has changed since this case started on it (hash {content_hash[:12]}, now "
                f"{workflow.content_hash[:12]}); publish changes as a new version instead of editing a used one"
            )
        return workflow
