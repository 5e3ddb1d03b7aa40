"""TinyGo's own stack figures (`tinygo build -print-stacks`) set beside gomcu's bounds.

TinyGo prints, per goroutine entry (named by the function the `go` statement starts, not its
`$gowrapper`) and for Reset_Handler, either a byte count or why it has none:

    function                         stack usage (in bytes)
    Reset_Handler                    316
    main.worker                      112
    runtime.run$1                    unknown, runtime.alloc calls a function pointer

TinyGo's figure is a call-graph depth, like gomcu's before the exception frame and canary are
added (TinyGo adds its own 40 bytes for those when it allots), so the two are compared like for
like. Where TinyGo's is smaller its analysis missed something on the path: the 36-byte context
switch push (TinyGo issue 5375), a call it could not see. It also cannot see a function calling
itself inside its own section: a goroutine TinyGo bounds where gomcu finds recursion is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gomcu.errors import GomcuError
from gomcu.findings import Finding, Location, Severity
from gomcu.limits.stack import RootStack, StackReport

_HEADER = re.compile(r"^function\s+stack usage \(in bytes\)\s*$")
_LINE = re.compile(r"^(\S+)\s+(\d+|(?:unknown|recursive),.*)$")


@dataclass(frozen=True)
class TinygoFigure:
    """One line of -print-stacks: a byte count, or TinyGo's reason for having none."""

    function: str
    bytes: int | None
    reason: str | None  # "recursive, X may call itself", "unknown, X calls a function pointer", ...


@dataclass(frozen=True)
class TinygoComparison:
    """A root gomcu bounds beside TinyGo's figure for it."""

    root: str
    tinygo: TinygoFigure
    allotted_bytes: int | None
    call_graph_bytes: int  # gomcu's call-graph depth: the quantity TinyGo's figure measures
    bound_bytes: int  # with the exception frame, canary and alignment
    bounded: bool
    below_bound: bool  # TinyGo's figure is smaller than gomcu's call-graph depth (a lower bound counts too)
    missed_recursion: bool  # TinyGo gives a figure where gomcu finds recursion


@dataclass(frozen=True)
class TinygoCheck:
    """The whole cross-check: per root, the flags raised, and TinyGo's lines gomcu has no root for."""

    comparisons: tuple[TinygoComparison, ...]
    findings: tuple[Finding, ...]
    unmatched: tuple[TinygoFigure, ...]


def parse_print_stacks(text: str, origin: str) -> tuple[TinygoFigure, ...]:
    """The figures in `tinygo build -print-stacks` output (other build output around it is skipped)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _HEADER.match(line.strip())), None)
    if start is None:
        raise GomcuError(f"{origin}: no 'function  stack usage (in bytes)' header: not tinygo -print-stacks output")
    out: list[TinygoFigure] = []
    for line in lines[start + 1:]:
        m = _LINE.match(line.strip())
        if m is None:
            if line.strip():
                break  # the table ended: other build output follows
            continue
        name, figure = m.groups()
        if figure.isdigit():
            out.append(TinygoFigure(name, int(figure), None))
        else:
            out.append(TinygoFigure(name, None, figure))
    return tuple(out)


def read_print_stacks(path: str) -> tuple[TinygoFigure, ...]:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as error:
        raise GomcuError(f"{path}: {error.strerror or error}") from None
    return parse_print_stacks(text, path)


def _tinygo_name(root: RootStack, suffix: str) -> str:
    return root.name[: -len(suffix)] if root.name.endswith(suffix) else root.name


def compare(report: StackReport, figures: tuple[TinygoFigure, ...], wrapper_suffix: str = "$gowrapper") -> TinygoCheck:
    """Each root TinyGo has a line for (its `$gowrapper` under the started function's name)."""
    by_name = {f.function: f for f in figures}
    out: list[TinygoComparison] = []
    findings: list[Finding] = []
    matched: set[str] = set()
    for rs in report.roots:
        figure = by_name.get(_tinygo_name(rs, wrapper_suffix)) or by_name.get(rs.name)
        if figure is None:
            continue
        matched.add(figure.function)
        below = figure.bytes is not None and figure.bytes < rs.bound.bytes
        missed = figure.bytes is not None and bool(rs.bound.cycles)
        out.append(TinygoComparison(rs.name, figure, rs.allotted_bytes, rs.bound.bytes, rs.bound_bytes, rs.bounded,
                                    below, missed))
        at_least = "" if rs.bounded else "at least "
        if below:
            findings.append(Finding(
                "stack.tinygo-below-bound", Severity.WARNING,
                f"{rs.name}: TinyGo's -print-stacks figure {figure.bytes} B is below gomcu's call-graph depth of "
                f"{at_least}{rs.bound.bytes} B (a call TinyGo's analysis does not count, such as the context-switch "
                f"push of TinyGo issue 5375); with exception frame and canary it needs {at_least}{rs.bound_bytes} B"
                + (f", allotted {rs.allotted_bytes} B" if rs.allotted_bytes else ""),
                Location(address=rs.root.address, function=rs.name)))
        if missed:
            cycle = rs.bound.cycles[0].functions
            findings.append(Finding(
                "stack.tinygo-missed-recursion", Severity.WARNING,
                f"{rs.name}: TinyGo bounds it at {figure.bytes} B but it reaches the recursion "
                f"{' -> '.join(cycle + cycle[:1])}",
                Location(address=rs.root.address, function=rs.name), cycle))
    unmatched = tuple(f for f in figures if f.function not in matched)
    return TinygoCheck(tuple(out), tuple(findings), unmatched)
