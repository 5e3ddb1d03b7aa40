"""Go files -> tree-sitter trees. The only module (with extract.py) that sees tree-sitter objects.

A file tree-sitter cannot parse cleanly is still analysed (tree-sitter recovers around the error),
with a note naming the first error; a directory in which no file parses cleanly is bad input.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gomcu.errors import GomcuError


@dataclass(frozen=True)
class ParsedFile:
    """One Go file: its path as shown to the user, bytes, tree, and first syntax error if any."""

    path: str
    source: bytes
    tree: Any  # tree_sitter.Tree
    error: tuple[int, int] | None  # (line, column), 1-based


def _parser() -> Any:
    try:
        import tree_sitter
        import tree_sitter_go
    except ImportError as error:  # pragma: no cover - both are dependencies of the package
        raise GomcuError(f"Go source analysis needs tree-sitter and tree-sitter-go ({error}); "
                         "reinstall gomcu with its dependencies") from None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_go.language()))


def go_files(directory: str | Path) -> list[Path]:
    """The package's Go files (not tests), sorted; bad input when there are none."""
    root = Path(directory)
    if not root.exists():
        raise GomcuError(f"{directory}: no such directory")
    if not root.is_dir():
        raise GomcuError(f"{directory}: not a directory (give the Go package directory)")
    files = sorted(p for p in root.glob("*.go") if p.is_file() and not p.name.endswith("_test.go"))
    if not files:
        raise GomcuError(f"{directory}: no .go files (other than _test.go)")
    return files


def first_error(node: Any) -> tuple[int, int] | None:
    """Line and column (1-based) of the first ERROR or MISSING node, in source order."""
    if not node.has_error:
        return None
    if node.type == "ERROR" or node.is_missing:
        return node.start_point[0] + 1, node.start_point[1] + 1
    for child in node.children:
        found = first_error(child)
        if found is not None:
            return found
    return node.start_point[0] + 1, node.start_point[1] + 1


def parse_package(directory: str | Path) -> tuple[ParsedFile, ...]:
    """Parse every Go file of the directory; fail when none parses without errors."""
    parser = _parser()
    out: list[ParsedFile] = []
    for path in go_files(directory):
        try:
            source = path.read_bytes()
        except OSError as error:
            raise GomcuError(f"{path}: {error.strerror}") from None
        tree = parser.parse(source)
        out.append(ParsedFile(str(path), source, tree, first_error(tree.root_node)))
    if all(f.error is not None for f in out):
        first = out[0]
        assert first.error is not None
        raise GomcuError(f"{first.path}:{first.error[0]}:{first.error[1]}: syntax error "
                         "(no file of the package parses cleanly)")
    return tuple(out)
