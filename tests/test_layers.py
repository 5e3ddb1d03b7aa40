"""The layer rule of DESIGN.md, checked on the import graph: data flows one way, so the analyses
(`limits/`) import neither the reporters (`report/`, `budget`) nor the CLI (`commands/`, `cli`) nor the
campaigns (`lab/`), and a limit's result carries its typed analysis, not a JSON document."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from gomcu.limits.result import LimitResult

SRC = Path(__file__).resolve().parent.parent / "src" / "gomcu"
# output, CLI and campaign layers sit above the analyses (DESIGN: "Layers of the code")
FORBIDDEN = ("gomcu.report", "gomcu.commands", "gomcu.cli", "gomcu.check", "gomcu.budget", "gomcu.lab")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (at any depth: lazy imports inside functions count too)."""
    out: list[tuple[int, str]] = []
    package = "gomcu." + ".".join(path.relative_to(SRC).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names] + [(node.lineno, base)]
    return out


def _violations(folder: Path) -> list[str]:
    return [f"{path.relative_to(SRC)}:{line} imports {name}"
            for path in sorted(folder.rglob("*.py")) for line, name in _imports(path)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


def test_analyses_import_no_reporter_and_no_cli() -> None:
    assert (SRC / "limits" / "memory.py").exists()
    assert _violations(SRC / "limits") == []


def test_the_check_finds_a_violation(tmp_path: Path) -> None:
    """The rule can fail: the same scan flags the reporters' own imports of the report layer
    (report/ imports report/, which would be a violation inside limits/)."""
    assert any("imports gomcu.report" in v for v in _violations(SRC / "report"))


def test_limit_result_carries_no_json_document() -> None:
    """Reporters derive JSON from the typed analysis (report/details.py); nothing may hand a
    dict of string keys through the result for budgets to read back."""
    names = {f.name for f in dataclasses.fields(LimitResult)}
    assert "details" not in names and "analysis" in names
