"""The words behind a citation: for each source document and paragraph a workflow cites, the sentence that carries the rule.

A citation (`{source: laassi2013, para: "42"}`) tells a reader where to look; the quote
shows them what is there, so a reviewer can check a deadline against the document
without opening it. Quotes live beside the documents, in the workflows folder's
`sources/quotes.yaml`, keyed by document file name and then by the `para` text
exactly as the workflows write it:

    000_2d0a1f759528b76a.txt:
      "42": "The report letter will be sent … within 20 working days …"

They are words, not rules: no definition holds them, so adding or correcting a quote
changes no definition's content hash and no case's pin. The file is input like a
definition file and is read the same way (safe YAML, bounded size, UTF-8); a file that
cannot be read is a DefinitionError naming the file, the location and the line, never
half a set of quotes. No file at all means no quotes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from laworkflow.definitions.loader import parse_yaml, read_text
from laworkflow.definitions.model import Citation, Definition
from laworkflow.errors import DefinitionError, Problem

QUOTES_FILE = Path("sources") / "quotes.yaml"


class Quotes:
    """Quoted sentences by source file name and cited paragraph; read-only once loaded."""

    def __init__(self, quotes: Mapping[str, Mapping[str, str]] | None = None):
        self._quotes = {file: dict(paras) for file, paras in (quotes or {}).items()}

    @classmethod
    def from_directory(cls, directory: str | Path) -> Quotes:
        """`sources/quotes.yaml` of a workflows folder; empty when the folder has none."""
        path = Path(directory) / QUOTES_FILE
        if not path.exists() and not path.is_symlink():
            return cls()
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: str | Path) -> Quotes:
        """Every problem in the file is reported together, each with its line, as for a definition file."""
        path = Path(path)
        raw, lines = parse_yaml(read_text(path), str(path))
        name = str(path)
        if not isinstance(raw, dict):
            raise DefinitionError([Problem(name, "", "quotes must be a mapping of source file names to {para: quote}", 1)])
        problems: list[Problem] = []
        quotes: dict[str, dict[str, str]] = {}
        for file, paras in raw.items():
            if not isinstance(file, str) or not file:
                problems.append(Problem(name, str(file), "a source file name must be text", lines.get((file,))))
                continue
            if not isinstance(paras, dict):
                problems.append(Problem(name, file, "must be a mapping of the cited para to its quote", lines.get((file,))))
                continue
            quotes[file] = {}
            for para, quote in paras.items():
                where, line = f"{file}.{para}", lines.get((file, para))
                if not isinstance(para, str) or not para.strip():
                    problems.append(Problem(name, where, f"a para must be text as the workflows cite it; write {str(para)!r} in quotes", line))
                elif not isinstance(quote, str) or not quote.strip():
                    problems.append(Problem(name, where, "the quote must be non-empty text", line))
                else:
                    quotes[file][para] = quote.strip()
        if problems:
            raise DefinitionError(problems)
        return cls(quotes)

    def quote(self, file: str, para: str) -> str | None:
        """The sentence quoted for `para` of the document `file`, if one was written."""
        return self._quotes.get(file, {}).get(para)

    def quote_for(self, definition: Definition, citation: Citation) -> str | None:
        """The quote behind one citation of `definition`: its source id names the document file there."""
        source = definition.sources.get(citation.source)
        return self.quote(source.file, citation.para) if source is not None else None

    def files(self) -> list[str]:
        return sorted(self._quotes)

    def items(self) -> Iterator[tuple[str, str, str]]:
        """(file, para, quote) for every quote, by file then in the file's order."""
        for file in self.files():
            for para, quote in self._quotes[file].items():
                yield file, para, quote

    def __len__(self) -> int:
        return sum(len(paras) for paras in self._quotes.values())
