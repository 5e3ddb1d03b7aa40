"""The terminal view of a Report: one verdict per limit, deciding figures, top findings."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from gomcu.findings import Figure
from gomcu.report.console import stdout_console
from gomcu.report.model import Report

_STYLE = {"pass": "bold green", "warn": "bold yellow", "fail": "bold red", "unknown": "bold magenta"}


def _value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"
    return "?" if v is None else str(v)


def figure_text(f: Figure) -> str:
    """'name: ≤ 944 bytes (static)'; a partial emulated figure says so and where the run stopped."""
    qualifier = {"at most": "≤ ", "at least": "≥ "}.get(f.qualifier, "")
    unit = f" {f.unit}" if f.unit else ""
    origin = f.origin.value + (f", {f.partial}" if f.partial else "")
    return f"{f.name}: {qualifier}{_value(f.value)}{unit} ({origin})"


def render_text(report: Report, top_findings: int = 5) -> None:
    console = stdout_console()
    console.print(
        f"[bold]{escape(report.firmware)}[/]: {report.arch} {report.core}, built by {report.toolchain}"
        + (f", chip {report.chip}" if report.chip else ", no chip given")
        + (f", runtime profile {report.runtime}" if report.runtime else "")
    )
    table = Table(show_lines=True)
    table.add_column("limit")
    table.add_column("verdict")
    table.add_column("deciding figures (origin)")
    table.add_column("top findings")
    for r in report.limits:
        figures = "\n".join(escape(figure_text(f)) for f in r.figures)
        lines = [f"{f.severity.value}: {escape(f.message)}" for f in r.findings[:top_findings]]
        if len(r.findings) > top_findings:
            lines.append(f"... and {len(r.findings) - top_findings} more")
        lines += [f"suggestion: {escape(s)}" for s in r.suggestions]
        if r.skipped:
            lines.insert(0, f"not analysed: {escape(r.skipped)}")
        style = _STYLE[r.status.value]
        table.add_row(r.title, f"[{style}]{r.status.value}[/]", figures, "\n".join(lines))
    console.print(table)
    for b in report.budget:
        style = "red" if b.exceeded else "green"
        console.print(f"[{style}]budget[/] {escape(b.line())}")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
    style = _STYLE[report.overall.value]
    console.print(f"overall: [{style}]{report.overall.value}[/]")
