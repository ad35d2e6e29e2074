"""Read a workflow file: YAML (safe, YAML 1.2 booleans) → pydantic model → graph checks.

Every problem in a file is reported together, each with the file, the location
inside it and its line, so an author fixes a file in one pass.

A definition file is input, not code: whatever bytes it holds, loading it is
refused with the file and the line, quickly and in bounded memory, before
anything recursive (our constructor, pydantic, the content hash) sees it. The
limits are far above what a workflow needs — the largest shipped file is about
43 KB, holds about 2,100 values once its aliases are expanded and nests 7 deep:

- ``MAX_BYTES``: a file larger than 1 MiB is refused by its size, unread.
- ``MAX_NODES``: at most 100,000 values, counting an alias once for every value
  it stands for, so an alias-expansion bomb ("billion laughs") is refused at the
  alias that passes the limit without expanding anything.
- ``MAX_DEPTH``: values nest at most 64 deep, through aliases too.

Only UTF-8 text is read (a UTF-8 byte-order mark is allowed), only plain data
tags are accepted (text, integers, floats, booleans, null, mappings and lists),
and an alias inside the value it names is refused.
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from laworkflow.definitions.guards import GuardRegistry, default_guards
from laworkflow.definitions.model import Definition
from laworkflow.definitions.validation import check_definition
from laworkflow.errors import DefinitionError, Problem

Path_ = tuple[str | int, ...]

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_OTHER_ENCODINGS = [  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
]


class _Refused(yaml.MarkedYAMLError):
    """Well-formed YAML that a definition may not hold: reported as itself, not as malformed."""

    def __init__(self, message: str, mark: yaml.Mark | None):
        super().__init__(problem=message, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads only true/false as booleans, so `on`, `no` and `yes` stay strings,
    and leaves dates as ISO text, the form case data holds them in (YAML 1.2 has no timestamp type).

    Composing counts values and depth as aliases would expand them, and refuses a document past
    MAX_NODES or MAX_DEPTH, or an alias inside its own anchor, at the event that crosses the line."""

    def compose_document(self) -> yaml.Node | None:
        self._values = 0  # values so far, each alias counted as the values it stands for
        self._depth = 0  # of the node being composed
        self._deepest = 0  # depth reached inside the node being composed, through aliases too
        self._open: set[str] = set()  # anchors of the nodes being composed: an alias to one is a cycle
        self._measures: dict[str, tuple[int, int]] = {}  # anchor → (values, height) of its node
        return super().compose_document()

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]  # types-PyYAML leaves Parser.peek_event untyped
        mark: yaml.Mark | None = event.start_mark  # this pure-Python parser's marks are yaml.error.Mark, not the C one
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _Refused(f"alias *{event.anchor} is inside the value it names (a value cannot contain itself)", mark)
            node = super().compose_node(parent, index)  # refuses an undefined alias
            assert event.anchor is not None  # an alias names its anchor
            values, height = self._measures[event.anchor]
            self._count(values, self._depth + height, mark)
            return node
        self._count(1, self._depth + 1, mark)
        outer, self._deepest = self._deepest, self._depth + 1
        self._depth += 1
        before = self._values
        if event.anchor is not None:
            self._open.add(event.anchor)
        node = super().compose_node(parent, index)
        self._depth -= 1
        if event.anchor is not None:
            self._open.discard(event.anchor)
            self._measures[event.anchor] = (self._values - before + 1, self._deepest - self._depth)
        self._deepest = max(outer, self._deepest)
        return node

    def _count(self, values: int, depth: int, mark: yaml.Mark | None) -> None:
        self._values += values
        self._deepest = max(self._deepest, depth)
        if self._values > MAX_NODES:
            raise _Refused(f"the file holds more than {MAX_NODES:,} values once its aliases are expanded", mark)
        if depth > MAX_DEPTH:
            raise _Refused(f"values nest deeper than {MAX_DEPTH} levels", mark)


# `=` alone is YAML 1.1's "value" key, which nothing constructs; it is plain text here.
_DROPPED = {f"{_TAG}bool", f"{_TAG}timestamp", f"{_TAG}value"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED] for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(f"{_TAG}bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _refuse(message: str, node: yaml.Node) -> NoReturn:
    raise _Refused(message, node.start_mark)


def _check_tag(node: yaml.Node, expected: str) -> None:
    """Only plain data: a Python or unknown tag is refused, not read as the mapping, list or text under it."""
    if node.tag == f"{_TAG}merge":
        _refuse("merge keys (<<) are not supported: write the keys out, or use an alias for the whole value", node)
    if node.tag != expected and not (expected == "scalar" and node.tag in _SCALAR_TAGS):
        _refuse(f"the tag {_shown(node.tag)} is not allowed: a definition holds only text, numbers, booleans, null, mappings and lists", node)


def _shown(tag: str) -> str:
    """A tag as it is written in the file: `!!int`, `!foo`."""
    return f"!!{tag.removeprefix(_TAG)}" if tag.startswith(_TAG) else tag


def _scalar(loader: _Loader, node: yaml.Node) -> Any:
    _check_tag(node, "scalar")
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, KeyError, ArithmeticError):  # `!!int abc`, `!!bool maybe`, an integer of 5,000 digits
        shown = node.value if len(node.value) <= 40 else node.value[:40] + "…"
        _refuse(f"cannot read {shown!r} as {_shown(node.tag)}", node)


def _construct(loader: _Loader, node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> Any:
    """Build Python values from YAML nodes, remembering the line of every path (a key's own line for mappings)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        _check_tag(node, f"{_TAG}map")
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                _refuse("a key must be plain text or a number, not a mapping or a list", key_node)
            key = _scalar(loader, key_node)
            if key in result:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _construct(loader, value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        _check_tag(node, f"{_TAG}seq")
        return [_construct(loader, item, (*path, index), lines) for index, item in enumerate(node.value)]
    return _scalar(loader, node)


def parse_yaml(text: str, file: str) -> tuple[Any, dict[Path_, int]]:
    lines: dict[Path_, int] = {}
    try:
        loader = _Loader(text)  # the reader refuses NUL and other control characters here
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        message = f"character U+{error.character:04X} at line {line}, column {column} is not allowed in YAML"
        raise DefinitionError([Problem(file, "", message, line)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise DefinitionError([Problem(file, "", "the file is empty", 1)])
        return _construct(loader, node, (), lines), lines
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        at = mark.line + 1 if mark else None
        problem = getattr(error, "problem", None) or str(error)
        message = problem if isinstance(error, _Refused) else f"malformed YAML: {problem}"
        raise DefinitionError([Problem(file, "", message, at)]) from None
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
    found = [Problem(file, _format(path), message, _line_of(path, lines)) for path, message in check_definition(definition, guards)]
    if found:
        raise DefinitionError(found)
    return definition


# pydantic names the union member it tried in error locations; they are not in the file.
_UNION_TAGS = {"condition", "named", "str", "int", "float", "bool"}


def load_file(path: str | Path, guards: GuardRegistry = default_guards) -> Definition:
    path = Path(path)
    return load_text(read_text(path), str(path), guards)


def read_text(path: Path) -> str:
    """The text of a definition file: a regular file of at most MAX_BYTES, in UTF-8."""

    def refuse(message: str, line: int | None = None) -> DefinitionError:
        return DefinitionError([Problem(str(path), "", message, line)])

    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise refuse("is a folder, not a definition file")
        if not stat.S_ISREG(info.st_mode):  # a pipe or a device would block or never end
            raise refuse("is not a regular file")
        if info.st_size > MAX_BYTES:
            raise refuse(f"is {info.st_size:,} bytes, more than the {MAX_BYTES:,} bytes a definition file may hold")
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # it may have grown since
    except OSError as error:
        raise refuse(f"cannot read file: {error.strerror}") from None
    if len(data) > MAX_BYTES:
        raise refuse(f"is more than the {MAX_BYTES:,} bytes a definition file may hold")
    for mark, encoding in _OTHER_ENCODINGS:
        if data.startswith(mark):
            raise refuse(f"is {encoding} text, not UTF-8 (save it as UTF-8)", 1)
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise refuse(f"is not UTF-8 text: byte 0x{data[error.start]:02x} at line {line}, column {column} (save it as UTF-8)", line) from None
