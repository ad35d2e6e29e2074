"""The quoted sentence behind every citation: present for each one, verbatim from the shipped document, and no part of a definition.

A citation tells a reader where a rule comes from; `workflows/sources/quotes.yaml` gives
them the words. These tests hold the quotes to the documents (each verbatim piece is
found in the document's text), hold the workflows to the quotes (no citation without
one), and hold the quotes apart from the definitions (no content hash moves when a
quote is added or corrected, so no case's pin breaks over a wording).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from laworkflow.definitions.catalog import Catalog
from laworkflow.definitions.model import Citation, Definition
from laworkflow.definitions.sources import Quotes
from laworkflow.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "workflows"
SOURCES = WORKFLOWS / "sources"
QUOTES = SOURCES / "quotes.yaml"
PIECE = " … "

# Distinct (source id, para) pairs the shipped workflows cite, counted by source (issue 11).
CITED_PER_SOURCE = {"laassi2013": 36, "reinspection2016": 38, "oxfordshire2015": 14, "lges2022": 65}


def citations(value: Any) -> Iterator[Citation]:
    """Every Citation anywhere inside a definition: states, transitions, guards, timers, deadlines, parameters, findings."""
    if isinstance(value, Citation):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from citations(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from citations(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from citations(item)


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return Catalog.from_directory(WORKFLOWS)


@pytest.fixture(scope="module")
def cited(shipped) -> dict[tuple[str, str], set[str]]:
    """(document file, para) → the source ids it is cited under."""
    found: dict[tuple[str, str], set[str]] = {}
    for workflow in shipped:
        definition = workflow.definition
        for citation in citations(definition):
            found.setdefault((definition.sources[citation.source].file, citation.para), set()).add(citation.source)
    return found


_TYPOGRAPHIC = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


def normalised(text: str) -> str:
    """Text as words: the documents mix straight and curly quotes and break lines inside sentences."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text).translate(_TYPOGRAPHIC)).strip()


def test_the_shipped_workflows_cite_the_pairs_the_issue_counts(cited):
    """The census the quotes are written against: 153 pairs, by source as issue 11 counts them."""
    per_source: dict[str, int] = {}
    for sources in cited.values():
        for source in sources:
            per_source[source] = per_source.get(source, 0) + 1
    assert per_source == CITED_PER_SOURCE
    assert len(cited) == 153


def test_every_citation_of_every_shipped_workflow_has_a_quote(shipped, cited):
    missing = sorted(f"{file} {para!r}" for file, para in cited if shipped.quotes.quote(file, para) is None)
    assert not missing, f"{len(missing)} cited paragraphs have no quote: {missing}"
    for workflow in shipped:
        for citation in citations(workflow.definition):
            assert shipped.quotes.quote_for(workflow.definition, citation)


def test_every_quote_is_for_a_citation(shipped, cited):
    """A quote no workflow cites is a typo in its para (it would never be shown) or a leftover."""
    stray = [f"{file} {para!r}" for file, para, _ in shipped.quotes.items() if (file, para) not in cited]
    assert not stray


def test_every_cited_document_is_shipped_beside_the_quotes(cited):
    for file in sorted({file for file, _ in cited}):
        assert (SOURCES / file).is_file(), file


def pieces_not_in_their_documents(quotes: Quotes, folder: Path) -> list[str]:
    """Each " … " piece of each quote, looked for in its document's text, both as words."""
    texts: dict[str, str] = {}
    wrong = []
    for file, para, quote in quotes.items():
        if file not in texts:
            texts[file] = normalised((folder / file).read_text(encoding="utf-8"))
        for piece in quote.split(PIECE):
            if not piece.strip() or normalised(piece) not in texts[file]:
                wrong.append(f"{file} {para!r}: {piece!r}")
    return wrong


def test_every_piece_of_every_quote_is_verbatim_in_its_document(shipped):
    wrong = pieces_not_in_their_documents(shipped.quotes, SOURCES)
    assert not wrong, "\n".join(wrong)


def test_the_verbatim_check_finds_a_changed_word_a_joined_gap_and_an_empty_piece(shipped):
    """The check above is not vacuous: a paraphrase, two pieces run together without " … ", or a stray ellipsis fail it."""
    file = "000_2d0a1f759528b76a.txt"
    exact = "Notice of up to five days will normally be given"
    assert pieces_not_in_their_documents(Quotes({file: {"12": exact}}), SOURCES) == []
    assert pieces_not_in_their_documents(Quotes({file: {"12": "  Notice of  up to\nfive days will normally be given "}}), SOURCES) == []
    changed = Quotes({file: {"12": "Notice of up to five working days will normally be given"}})
    assert len(pieces_not_in_their_documents(changed, SOURCES)) == 1
    joined = Quotes({file: {"12": exact + " Inspections do not normally last longer than five days"}})
    assert len(pieces_not_in_their_documents(joined, SOURCES)) == 1
    empty = Quotes({file: {"12": exact + PIECE + " " + PIECE + exact}})
    assert len(pieces_not_in_their_documents(empty, SOURCES)) == 1


def test_the_documents_and_the_quotes_are_in_the_files_the_package_ships():
    """pyproject's package data for laworkflow.workflows names sources/*: every file here must match a pattern of it, none deeper."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["laworkflow.workflows"]
    shipped_files = [path.relative_to(WORKFLOWS).as_posix() for path in SOURCES.rglob("*") if path.is_file()]
    assert "sources/quotes.yaml" in shipped_files
    assert not [name for name in shipped_files if not any(fnmatch.fnmatch(name, p) and name.count("/") == p.count("/") for p in patterns)]


def test_a_quote_names_the_rule_its_element_relies_on(shipped):
    """Spot checks, written from the documents: the words a reader needs next to the element."""
    laassi = shipped.get("ofsted-laassi", 1).definition
    letter_sent = next(d for d in laassi.deadlines if d.id == "letter_sent")
    assert "within 20 working days of the end of the inspection" in shipped.quotes.quote_for(laassi, letter_sent.cites)
    lges = shipped.get("estyn-lges", 1).definition
    assert "ten weeks in advance" in shipped.quotes.quote_for(lges, lges.parameters["notice_before"].cites)


def test_a_citation_of_an_undeclared_source_or_an_unquoted_para_has_no_quote(shipped):
    laassi = shipped.get("ofsted-laassi", 1).definition
    assert shipped.quotes.quote_for(laassi, Citation(source="nowhere", para="42")) is None
    assert shipped.quotes.quote_for(laassi, Citation(source="laassi2013", para="999")) is None


def test_the_catalog_the_cli_loads_finds_the_quotes(tmp_path):
    """`Catalog.from_directory()` with no folder, from a folder with no workflows/ of its own, as the CLI runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    script = (
        "import json; from laworkflow.definitions.catalog import Catalog; c = Catalog.from_directory(); "
        "d = c.get('ofsted-laassi', 1).definition; "
        "print(json.dumps([len(c.quotes), c.quotes.quote_for(d, next(x for x in d.deadlines if x.id == 'letter_sent').cites)]))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    count, quote = json.loads(run.stdout)
    assert count == 153
    assert quote.startswith("The report is normally sent to a local authority within 20 working days of the end of the inspection")


@pytest.fixture
def workflows_copy(tmp_path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    for path in copy.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return copy


def hashes(catalog: Catalog) -> dict[str, str]:
    return {workflow.key: workflow.content_hash for workflow in catalog}


def test_adding_or_changing_a_quote_changes_no_definition_hash(workflows_copy):
    """Quotes are words for readers: a case pinned to a definition survives any edit of them."""
    before = hashes(Catalog.from_directory(workflows_copy))
    quotes = workflows_copy / "sources" / "quotes.yaml"
    text = quotes.read_text(encoding="utf-8")
    quotes.write_text(text.replace('  "42": "The report', '  "42": "Changed. The report', 1) + '\nextra.txt:\n  "1": "A new quote."\n', encoding="utf-8")
    after = Catalog.from_directory(workflows_copy)
    assert after.quotes.quote("extra.txt", "1") == "A new quote."
    assert after.quotes.quote("000_2d0a1f759528b76a.txt", "42").startswith("Changed. ")
    assert hashes(after) == before
    quotes.unlink()
    without = Catalog.from_directory(workflows_copy)
    assert len(without.quotes) == 0
    assert hashes(without) == before


def test_the_loader_never_reads_the_sources_folder_as_workflows(workflows_copy):
    """sources/ holds YAML that is not a definition; only the folder's own *.yaml files are workflows."""
    (workflows_copy / "sources" / "other.yaml").write_text("not: a definition\n", encoding="utf-8")
    catalog = Catalog.from_directory(workflows_copy)
    assert catalog.ids() == Catalog.from_directory(WORKFLOWS).ids()


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('000.txt:\n  "1": "fine"\n  "2": [unclosed\n', 4, "malformed YAML"),
        ("- a list\n- of quotes\n", 1, "must be a mapping of source file names"),
        ('000.txt: "a quote with no para"\n', 1, "must be a mapping of the cited para to its quote"),
        ('000.txt:\n  12: "para written as a number"\n', 2, "write '12' in quotes"),
        ('000.txt:\n  "12": ""\n', 2, "the quote must be non-empty text"),
        ('000.txt:\n  "12": {nested: value}\n', 2, "the quote must be non-empty text"),
        ('000.txt:\n  "12": "one"\n  "12": "two"\n', 3, "duplicate key"),
        ("a: !!python/object:os.system {}\n", 1, "is not allowed"),
    ],
)
def test_a_malformed_quotes_file_is_a_definition_error_and_no_catalog(workflows_copy, text, line, message):
    quotes = workflows_copy / "sources" / "quotes.yaml"
    quotes.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        Catalog.from_directory(workflows_copy)
    (problem,) = raised.value.problems
    assert problem.file == str(quotes)
    assert problem.line == line
    assert message in problem.message
    assert quotes.read_text(encoding="utf-8") == text  # read, never rewritten


def test_a_bad_quotes_file_is_reported_with_the_bad_workflows_together(workflows_copy):
    (workflows_copy / "sources" / "quotes.yaml").write_text("[\n", encoding="utf-8")
    (workflows_copy / "broken.yaml").write_text("id: broken\n", encoding="utf-8")
    with pytest.raises(DefinitionError) as raised:
        Catalog.from_directory(workflows_copy)
    files = {Path(problem.file).name for problem in raised.value.problems}
    assert files == {"quotes.yaml", "broken.yaml"}


def test_quotes_of_a_folder_without_them_are_empty(tmp_path):
    quotes = Quotes.from_directory(tmp_path)
    assert len(quotes) == 0
    assert quotes.quote("000_2d0a1f759528b76a.txt", "42") is None


def test_a_quotes_file_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "sources" / "quotes.yaml").mkdir(parents=True)
    with pytest.raises(DefinitionError, match="is a folder"):
        Quotes.from_directory(tmp_path)


def test_the_definitions_hold_no_quote(shipped):
    """The model has no place for quote text: what a case pins is the citation, never the words."""
    for workflow in shipped:
        dumped = json.dumps(workflow.definition.model_dump(mode="json"))
        assert "The report is normally sent" not in dumped
    assert "quote" not in Definition.model_fields


def show(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`laworkflow definitions show`, as a person runs it, with nothing pointing it at a workflows folder but `cwd`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWORKFLOW_")}
    command = [str(Path(sys.executable).with_name("laworkflow")), "definitions", "show", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_definitions_show_prints_the_quote_under_each_citation(tmp_path):
    run = show(tmp_path, "ofsted-laassi@1")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    state = lines.index("    notice_given — laassi2013 12")
    assert lines[state + 1].startswith("      “Notice of up to five days will normally be given and the purpose of the inspection")
    deadline = next(i for i, line in enumerate(lines) if line.startswith("    letter_sent: ") and line.endswith(" — laassi2013 42"))
    assert lines[deadline + 1].startswith("      “The report is normally sent to a local authority within 20 working days")
    quoted = [line for line in lines if line.startswith("      ")]
    assert quoted and all(len(line) <= 100 for line in quoted)
    assert "re-\n" not in run.stdout  # words are never split at their hyphens


def test_definitions_show_without_quotes_prints_the_citations_alone(workflows_copy):
    (workflows_copy / "sources" / "quotes.yaml").unlink()
    run = show(workflows_copy.parent, "ofsted-laassi@1")
    assert run.returncode == 0, run.stderr
    assert "    notice_given — laassi2013 12\n    deferred — laassi2013 12, 29\n" in run.stdout
    assert "“" not in run.stdout


def test_definitions_show_refuses_a_malformed_quotes_file_in_one_line(workflows_copy):
    (workflows_copy / "sources" / "quotes.yaml").write_text("[\n", encoding="utf-8")
    run = show(workflows_copy.parent, "ofsted-laassi@1")
    assert run.returncode != 0
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and "quotes.yaml" in run.stderr and "Traceback" not in run.stderr
