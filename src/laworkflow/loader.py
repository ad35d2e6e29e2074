"""Read a workflow file: YAML (safe, YAML 1.2 booleans) → pydantic model → graph checks.

Every problem in a file is reported together, each with the file, the location
inside it and its line, so an author fixes a file in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .definition import Definition
from .errors import DefinitionError, Problem
from .guards import GuardRegistry, default_guards
from .validation import check_definition

Path_ = tuple[str | int, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads only true/false as booleans, so `on`, `no` and `yes` stay strings,
    and leaves dates as ISO text, the form case data holds them in (YAML 1.2 has no timestamp type)."""


_DROPPED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _construct(loader: _Loader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    """Build Python values from YAML nodes, remembering the line of every path (a key's own line for mappings)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(loader, item, (*path, index), lines) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    lines: dict[Path_, int] = {}
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DefinitionError([Problem(file, "", "the file is empty", 1)])
        return _construct(loader, node, (), lines), lines
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise DefinitionError([Problem(file, "", f"malformed YAML: {problem}", line)]) from None
    finally:
        loader.dispose()


def _format(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(path: Path_, lines: dict[Path_, int]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return lines.get(())


def load_text(text: str, file: str = "<string>", guards: GuardRegistry = default_guards) -> Definition:
    """Parse and check one definition, raising DefinitionError with every problem found."""
    raw, lines = parse_yaml(text, file)
    if not isinstance(raw, dict):
        raise DefinitionError([Problem(file, "", "a definition must be a mapping of keys to values", 1)])
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = tuple(p for p in item["loc"] if not (isinstance(p, str) and p in _UNION_TAGS))
            problems.append(Problem(file, _format(path), item["msg"], _line_of(path, lines)))
        raise DefinitionError(problems) from None
    found = [
        Problem(file, _format(path), message, _line_of(path, lines))
        for path, message in check_definition(definition, guards)
    ]
    if found:
        raise DefinitionError(found)
    return definition


# pydantic names the union member it tried in error locations; they are not in the file.
_UNION_TAGS = {"condition", "named", "str", "int", "float", "bool"}


def load_file(path: str | Path, guards: GuardRegistry = default_guards) -> Definition:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise DefinitionError([Problem(str(path), "", f"cannot read file: {error.strerror}")]) from None
    return load_text(text, str(path), guards)
