"""The terminal view of a Report: a short table (limit, verdict, two deciding figures), then the
findings one per line, grouped by limit, most severe first; `--all` shows every finding and
every figure. Plain aligned columns: nothing is squeezed into a narrow cell."""

from __future__ import annotations

import textwrap

from rich.markup import escape

from gomcu.findings import Figure, Finding
from gomcu.report import fmt
from gomcu.report.console import stdout_console
from gomcu.report.model import LimitResult, Report

_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red", "unknown": "bold magenta"}
_SEVERITY_STYLE = {"error": "red", "warning": "yellow", "info": "dim"}
WIDTH = 100
LIMIT_COLUMN = 20
VERDICT_COLUMN = 9
FINDINGS_PER_LIMIT = 5


def figure_text(f: Figure) -> str:
    """'name: ≤ 404 B (static)'; a partial emulated figure says where the run stopped."""
    return fmt.figure(f, partial_detail=True)


def deciding(r: LimitResult, count: int = 2) -> list[Figure]:
    """The figures a one-line summary shows: those the analysis marked, then the first others."""
    marked = [f for f in r.figures if f.deciding]
    return (marked + [f for f in r.figures if not f.deciding])[:count]


def finding_line(f: Finding) -> str:
    where = fmt.location(f.location)
    return f"{f.severity.value:<8} {f.rule}" + (f" [{where}]" if where else "") + f": {f.message}"


def render_text(report: Report, show_all: bool = False, include_runtime: bool = False) -> None:
    console = stdout_console()
    width = min(console.width or WIDTH, WIDTH)
    head = (f"{report.firmware}: {report.arch} {report.core}, built by {report.toolchain}"
            + (f", chip {report.chip}" if report.chip else ", no chip given")
            + (f", runtime profile {report.runtime}" if report.runtime else ""))
    _wrapped(console, head, width, style="bold")
    figure_width = width - LIMIT_COLUMN - VERDICT_COLUMN
    console.print(f"[bold]{'limit':<{LIMIT_COLUMN}}{'verdict':<{VERDICT_COLUMN}}deciding figures[/]")
    for r in report.limits:
        lines = [f"not analysed: {r.skipped}"] if r.skipped else \
            [fmt.figure(f) for f in (r.figures if show_all else deciding(r))]
        lines = [part for line in lines or [""]
                 for part in (textwrap.wrap(line, figure_width, subsequent_indent="  ") or [""])]
        style = _STYLE[r.status.value]
        for i, line in enumerate(lines):
            head = f"{r.title:<{LIMIT_COLUMN}}[{style}]{r.status.value:<{VERDICT_COLUMN}}[/]" if i == 0 \
                else " " * (LIMIT_COLUMN + VERDICT_COLUMN)
            console.print(head + escape(line), soft_wrap=True)
    for r in report.limits:
        _findings(console, r, width, show_all, include_runtime)
    for b in report.budget:
        _wrapped(console, f"budget {b.line()}", width, style="red" if b.exceeded else "green")
    for note in report.notes:
        _wrapped(console, f"note: {note}", width, style="dim")
    style = _STYLE[report.overall.value]
    console.print(f"overall: [{style}]{report.overall.value}[/]")


def _wrapped(console: object, text: str, width: int, style: str = "") -> None:
    """One paragraph wrapped to `width` with a hanging indent, in one style."""
    from rich.console import Console

    assert isinstance(console, Console)
    for line in textwrap.wrap(text, width, subsequent_indent="    ", break_on_hyphens=False) or [""]:
        console.print(f"[{style}]{escape(line)}[/]" if style else escape(line), soft_wrap=True)


def _findings(console: object, r: LimitResult, width: int, show_all: bool, include_runtime: bool) -> None:
    from rich.console import Console

    assert isinstance(console, Console)
    findings = [f for f in r.findings if include_runtime or not f.in_runtime]
    hidden = len(r.findings) - len(findings)
    shown = findings if show_all else findings[:FINDINGS_PER_LIMIT]
    if not shown and not r.suggestions and not hidden:
        return
    console.print(f"\n[bold]{r.title}[/] ([{_STYLE[r.status.value]}]{r.status.value}[/])")
    wrap = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent=" " * 11,
                                break_on_hyphens=False)
    for f in shown:
        style = _SEVERITY_STYLE[f.severity.value]
        for i, line in enumerate(wrap.wrap(finding_line(f))):
            if i == 0:  # colour the severity word only
                console.print(f"  [{style}]{escape(line[2:10])}[/]{escape(line[10:])}", soft_wrap=True)
            else:
                console.print(escape(line), soft_wrap=True)
    if len(findings) > len(shown):
        console.print(f"  ... and {len(findings) - len(shown)} more (--all shows them)")
    if hidden:
        console.print(f"  {hidden} finding(s) wholly inside the toolchain's runtime (--include-runtime shows them)")
    for s in r.suggestions:
        for line in textwrap.wrap(f"suggestion: {s}", width=width, initial_indent="  ", subsequent_indent="    "):
            console.print(escape(line), soft_wrap=True)
