"""A definition file cannot hurt the process that loads it.

Whatever bytes sit in a workflows folder — an alias-expansion bomb, a value
nested ten thousand deep, latin-1 or UTF-16 text, a Python tag, a folder or a
pipe named `x.yaml`, a file of gigabytes — loading is refused quickly, in
bounded memory, with the file and the line, and every command says so in one
line instead of a traceback. The loads that could run away (bombs, huge and
special files) run in a subprocess with a timeout and an address-space limit,
so a regression fails the test instead of hanging or eating the machine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, load_file, load_text
from laworkflow.errors import DefinitionError, Problem

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "workflows" / "ofsted-laassi-2013.yaml"
MEMORY_LIMIT = 1 << 30  # 1 GiB of address space for a guarded load
TIMEOUT = 20

# "Billion laughs": nine levels of nine aliases each, 9**9 (387 million) strings once expanded.
BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi", strict=True)
)

# Run in a child: load one file, print what happened as JSON, with the time it took and the peak memory.
GUARDED_LOAD = """
import json, sys, time
from laworkflow.errors import DefinitionError
from laworkflow.definitions.loader import load_file
started = time.perf_counter()
try:
    load_file(sys.argv[1])
    outcome = {"loaded": True}
except DefinitionError as error:
    outcome = {"problems": [[p.file, p.line, p.message] for p in error.problems]}
except BaseException as error:
    outcome = {"crashed": f"{type(error).__name__}: {error}"[:500]}
outcome["seconds"] = time.perf_counter() - started
# VmHWM is this process image's own peak; ru_maxrss would also count the parent's size at fork (Linux keeps it across exec).
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM:"))
outcome["peak_mib"] = int(hwm.split()[1]) / 1024
print(json.dumps(outcome))
"""


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def guarded_load(path: Path) -> dict:
    """load_file(path) in a child process with a timeout and 1 GiB of address space."""
    proc = subprocess.run(
        [sys.executable, "-c", GUARDED_LOAD, str(path)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def refused(path: Path) -> Problem:
    """The one problem load_file reports for path, in this process."""
    with pytest.raises(DefinitionError) as caught:
        load_file(path)
    assert len(caught.value.problems) == 1, [str(p) for p in caught.value.problems]
    problem = caught.value.problems[0]
    assert problem.file == str(path)
    return problem


def refused_text(text: str) -> Problem:
    with pytest.raises(DefinitionError) as caught:
        load_text(text, file="x.yaml")
    assert len(caught.value.problems) == 1, [str(p) for p in caught.value.problems]
    return caught.value.problems[0]


# --- aliases -------------------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_fast_in_bounded_memory(tmp_path):
    """Nine levels of nine aliases are refused at the alias that passes the limit, well under a second."""
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB, encoding="utf-8")
    outcome = guarded_load(path)
    assert "problems" in outcome, outcome
    [[file, line, message]] = outcome["problems"]
    assert file == str(path)
    # a..e expand to 9 + 81 + ... + 59,049 values; f (line 6) passes 100,000
    assert line == 6
    assert f"{MAX_NODES:,}" in message
    assert outcome["seconds"] < 1.0, outcome
    assert outcome["peak_mib"] < 200, outcome


def test_aliases_within_the_limits_still_work():
    """Shipped workflows reuse data with anchors; an alias is read as a copy of its anchor."""
    raw = "a: &shared {x: [1, 2]}\nb: *shared\nc: [*shared, *shared]\n"
    from laworkflow.definitions.loader import parse_yaml

    value, lines = parse_yaml(raw, "x.yaml")
    assert value == {"a": {"x": [1, 2]}, "b": {"x": [1, 2]}, "c": [{"x": [1, 2]}, {"x": [1, 2]}]}
    assert lines[("c",)] == 3


@pytest.mark.parametrize(
    "text, line",
    [
        ("id: x\na: &a [*a]\n", 2),
        ("id: x\nb: &b {c: *b}\n", 2),
        ("id: x\nd: &d\n  e:\n    - f: *d\n", 4),
    ],
    ids=["sequence", "flow-mapping", "block-mapping"],
)
def test_an_alias_inside_its_own_anchor_is_refused(text, line):
    """A value that contains itself is refused at the alias, not a RecursionError."""
    problem = refused_text(text)
    assert problem.line == line
    assert "inside the value it names" in problem.message


def test_an_unknown_alias_is_refused_with_its_line():
    problem = refused_text("id: x\nv: *nowhere\n")
    assert problem.line == 2
    assert "nowhere" in problem.message


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "id: x\nv: " + "[" * 10_000 + "]" * 10_000 + "\n",
        "id: x\nv: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n",
        "id: x\nv:\n" + "- " * 10_000 + "x\n",
        "id: x\n" + "".join(" " * depth + f"k{depth}:\n" for depth in range(1_000)) + " " * 1_000 + "v: 1\n",
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences", "block-mappings"],
)
def test_deep_nesting_is_refused_with_its_line(text):
    """Ten thousand nested values are refused at the first one too deep, before anything recursive sees them."""
    problem = refused_text(text)
    assert f"deeper than {MAX_DEPTH}" in problem.message
    assert problem.line is not None and problem.line >= 2


def test_depth_reached_through_an_alias_counts():
    """An alias to a deep value, used deep down, nests as deep as the copy it stands for."""
    half = MAX_DEPTH // 2 + 1
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    problem = refused_text(text)
    assert problem.line == 2
    assert f"deeper than {MAX_DEPTH}" in problem.message


# --- bytes and files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, line, words",
    [
        ("id: x\ntitle: café\n".encode("latin-1"), 2, "0xe9"),
        (b"\xff\xfe\x00garbage", 1, "UTF-16"),
        ("id: x\n".encode("utf-16"), 1, "UTF-16"),
        ("id: x\n".encode("utf-16-be"), 1, "U+0000"),  # no mark: valid UTF-8, with NULs
        ("id: x\n".encode("utf-32"), 1, "UTF-32"),
        (b"id: x\ntitle: a\x00b\n", 2, "U+0000"),
        (b"id: x\n\ntitle: a\x01b\n", 3, "U+0001"),
    ],
    ids=["latin-1", "ff-fe", "utf-16-bom", "utf-16-be", "utf-32-bom", "nul", "control"],
)
def test_bytes_that_are_not_utf8_yaml_are_refused_with_file_and_line(tmp_path, data, line, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    problem = refused(path)
    assert problem.line == line, str(problem)
    assert words in problem.message, str(problem)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
    assert load_file(path).key == "ofsted-laassi@1"


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_bytes(b"")
    assert "empty" in refused(path).message


def test_a_folder_named_like_a_definition_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.mkdir()
    assert "folder" in refused(path).message


def test_a_pipe_named_like_a_definition_is_refused_without_waiting(tmp_path):
    """Opening a FIFO blocks until someone writes to it; it is refused before it is opened."""
    path = tmp_path / "x.yaml"
    os.mkfifo(path)
    outcome = guarded_load(path)
    [[_, _, message]] = outcome["problems"]
    assert "not a regular file" in message


def test_a_file_too_large_is_refused_before_it_is_read(tmp_path):
    """A sparse file of 8 GiB is refused by its size: reading it would take minutes and more memory than allowed."""
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(8 << 30)
    outcome = guarded_load(path)
    [[_, _, message]] = outcome["problems"]
    assert f"{MAX_BYTES:,} bytes" in message
    assert outcome["seconds"] < 1.0, outcome


def test_a_file_just_over_the_limit_is_refused_and_one_at_it_is_read(tmp_path):
    over = tmp_path / "over.yaml"
    over.write_bytes(b"#" * (MAX_BYTES + 1))
    assert f"{MAX_BYTES:,} bytes" in refused(over).message
    at = tmp_path / "at.yaml"
    at.write_bytes(b"#" * MAX_BYTES)
    assert "empty" in refused(at).message  # read, and found to hold only a comment


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its permissions, so it cannot be made unreadable")
def test_an_unreadable_file_is_refused(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("id: x\n", encoding="utf-8")
    path.chmod(0)
    assert "cannot read" in refused(path).message


# --- tags ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, tag",
    [
        ("!!python/object:os.system {a: 1}", "python/object:os.system"),
        ("!!python/name:os.system", "python/name:os.system"),
        ("!!python/object/apply:os.system [echo hi]", "python/object/apply:os.system"),
        ("!!python/tuple [1, 2]", "python/tuple"),
        ("!foo bar", "!foo"),
        ("!foo [1]", "!foo"),
        ("!foo {a: 1}", "!foo"),
        ("!!binary aGVsbG8=", "binary"),
        ("!!set {a, b}", "set"),
        ("!!omap [a: 1]", "omap"),
        ("!!timestamp 2013-06-03", "timestamp"),
    ],
)
def test_tags_other_than_plain_data_are_refused_with_their_line(value, tag):
    """Python and unknown tags are refused, not read as the plain mapping, list or text under them."""
    problem = refused_text(f"id: x\ntitle: {value}\n")
    assert problem.line == 2, str(problem)
    assert tag in problem.message and "tag" in problem.message, str(problem)


@pytest.mark.parametrize(
    "value, words",
    [("!!int abc", "'abc'"), ("!!float abc", "'abc'"), ("!!bool maybe", "'maybe'"), ("1" * 5_000, "1111")],
    ids=["int", "float", "bool", "5000-digit-int"],
)
def test_a_value_its_tag_cannot_read_is_refused(value, words):
    problem = refused_text(f"id: x\ntitle: {value}\n")
    assert problem.line == 2, str(problem)
    assert words in problem.message, str(problem)


def test_plain_data_tags_still_work():
    from laworkflow.definitions.loader import parse_yaml

    value, _ = parse_yaml("a: !!str 2013\nb: !!int 5\nc: !!float 1.5\nd: !!bool true\ne: !!null ''\nf: !!map {}\ng: !!seq []\n", "x")
    assert value == {"a": "2013", "b": 5, "c": 1.5, "d": True, "e": None, "f": {}, "g": []}


@pytest.mark.parametrize("text", ["{[1]: 2}\n", "? {a: 1}\n: x\n"], ids=["sequence-key", "mapping-key"])
def test_a_key_must_be_a_plain_value(text):
    problem = refused_text(text)
    assert problem.line == 1
    assert "key" in problem.message


def test_a_merge_key_is_refused_by_name():
    problem = refused_text("a: &a {x: 1}\nb:\n  <<: *a\n")
    assert problem.line == 3
    assert "<<" in problem.message


# --- every command reports every bad file, in one line -------------------------------------------

BAD_FILES = {
    "bomb.yaml": (BOMB.encode(), 6),
    "deep.yaml": (b"id: x\nv: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", 2),
    "latin1.yaml": ("id: x\ntitle: café\n".encode("latin-1"), 2),
    "tagged.yaml": (b"id: x\ntitle: !!python/object/apply:os.system [echo hi]\n", 2),
    "self.yaml": (b"id: x\na: &a [*a]\n", 2),
}


def test_the_catalog_reports_every_bad_file_together(tmp_path):
    shutil.copy(SHIPPED, tmp_path / SHIPPED.name)
    for name, (data, _) in BAD_FILES.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(DefinitionError) as caught:
        Catalog.from_directory(tmp_path)
    found = {Path(p.file).name: p.line for p in caught.value.problems}
    assert found == {**{name: line for name, (_, line) in BAD_FILES.items()}, "folder.yaml": None}


@pytest.mark.parametrize("bad", ["bomb.yaml", "deep.yaml", "latin1.yaml", "tagged.yaml"])
@pytest.mark.parametrize(
    "command",
    [
        ["definitions", "validate"],
        ["definitions", "list"],
        ["definitions", "show", "ofsted-laassi"],
        ["--store", "memory:", "start", "ofsted-laassi@1"],
        ["--store", "memory:", "serve", "--no-http"],
    ],
    ids=["validate", "list", "show", "start", "serve"],
)
def test_every_command_refuses_a_folder_with_a_bad_file_in_one_line(tmp_path, bad, command):
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(SHIPPED, folder / SHIPPED.name)
    data, line = BAD_FILES[bad]
    (folder / bad).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    proc = subprocess.run(
        [sys.executable, "-m", "laworkflow.cli", "--workflows", str(folder), *command],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"{folder / bad}:{line}" in proc.stderr, proc.stderr
