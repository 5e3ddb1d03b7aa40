"""Text and JSON views of a SourceReport (`gomcu src`). Formatting only: every result is
computed in gomcu.source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from gomcu.report.console import stdout_console

if TYPE_CHECKING:
    from gomcu.findings import Finding
    from gomcu.source import SourceReport
    from gomcu.source.model import Position


def _pos(p: Position) -> dict[str, Any]:
    return {"file": p.file, "line": p.line, "column": p.column}


def _finding(f: Finding) -> dict[str, Any]:
    loc = f.location
    return {"rule": f.rule, "severity": f.severity.value, "origin": "source", "message": f.message,
            "chain": list(f.chain),
            "location": None if loc is None else {"file": loc.file, "line": loc.line, "function": loc.function}}


def to_json(report: SourceReport) -> dict[str, Any]:
    pkg = report.package
    return {
        "package": {"name": pkg.name, "directory": pkg.directory, "functions": len(pkg.functions)},
        "files": list(pkg.files),
        "handlers": [{
            "name": h.registration.handler,
            "irq": h.registration.irq,
            "form": h.registration.form.value,
            "label": h.registration.label,
            "apis": list(h.registration.apis),
            "how": h.registration.how,
            "registered_at": _pos(h.registration.position),
            "status": h.status,
            "findings": [{"kind": v.kind, "category": v.category, "severity": v.severity.value,
                          "chain": list(v.chain), "text": v.text, **_pos(v.position)} for v in h.violations],
            "unresolved": [{"callee": u.call.callee, "reason": u.reason, "function": u.function,
                            **_pos(u.call.position)} for u in h.unresolved],
            "reachable": list(h.reachable),
            "fine": [{"kind": v.kind, "chain": list(v.chain), "text": v.text, **_pos(v.position)} for v in h.fine],
        } for h in report.handlers],
        "goroutines": {
            "count": len(report.goroutines),
            "statements": [{"function": g.function, "target": g.target, "literal": g.literal,
                            "in_loop": g.in_loop, **_pos(g.position)} for g in report.goroutines],
        },
        "recursion": [{"functions": list(c.functions),
                       "calls": [{"caller": a, "callee": b, **_pos(p)} for a, b, p in c.calls]}
                      for c in report.recursion],
        "mmio": {
            "pointers": [{"type": p.type_text, "address": p.address_text, "variable": p.variable,
                          "function": p.function, **_pos(p.position)} for p in report.mmio_pointers],
            "accesses": [{"variable": a.variable, "write": a.write, "text": a.text, "function": a.function,
                          **_pos(a.position)} for a in report.mmio_accesses],
        },
        "figures": [{"name": f.name, "value": f.value, "unit": f.unit, "origin": f.origin.value}
                    for f in report.figures],
        "findings": [_finding(f) for f in report.findings],
        "notes": list(report.notes),
    }


_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def render_text(report: SourceReport) -> None:
    console = stdout_console()
    pkg = report.package
    console.print(f"{escape(pkg.directory)}: package {escape(pkg.name)}, {len(pkg.files)} file(s), "
                  f"{len(pkg.functions)} function(s) (source)")
    if report.handlers:
        table = Table(title="interrupt handlers (source)", title_justify="left")
        for column in ("registered as", "handler", "status", "reaches", "registered at"):
            table.add_column(column)
        for h in report.handlers:
            cats = sorted({v.category for v in h.violations})
            reaches = ", ".join(cats) if cats else (
                ", ".join(sorted({u.reason for u in h.unresolved})) if h.unresolved
                else f"{len(h.reachable)} function(s)")
            table.add_row(escape(h.registration.label), escape(h.registration.handler), h.status,
                          escape(reaches), escape(str(h.registration.position)))
        console.print(table)
        for h in report.handlers:
            for v in h.violations:
                style = _STYLE[v.severity.value]
                console.print(f"  [{style}]{v.severity.value}[/{style}] {escape(h.registration.handler)}: "
                              f"{v.category} {escape(v.text)} at {escape(str(v.position))}  "
                              f"chain {escape(' -> '.join(v.chain))}")
            for v in h.fine:
                console.print(f"  [green]ok[/green] {escape(h.registration.handler)}: {escape(v.kind)} at "
                              f"{escape(str(v.position))} never blocks  chain {escape(' -> '.join(v.chain))}")
            for u in h.unresolved:
                console.print(f"  [yellow]unknown[/yellow] {escape(h.registration.handler)}: "
                              f"{escape(u.call.callee)} ({escape(u.reason)}) in {escape(u.function)} "
                              f"at {escape(str(u.call.position))}")
    else:
        console.print("no interrupt code found (interrupt.New, callbacks given to interrupt APIs, //export handlers)")
    in_loop = sum(g.in_loop for g in report.goroutines)
    console.print(f"goroutines: {len(report.goroutines)} go statement(s), {in_loop} in a loop")
    for g in report.goroutines:
        flag = "  [yellow]in a loop: unbounded number of goroutines, each with its own stack[/yellow]" \
            if g.in_loop else ""
        console.print(f"  go {escape(g.target)} in {escape(g.function)} at {escape(str(g.position))}{flag}")
    console.print(f"recursion: {len(report.recursion)} cycle(s)")
    for c in report.recursion:
        sites = ", ".join(f"{a} -> {b} at {p}" for a, b, p in c.calls)
        console.print(f"  {escape(' -> '.join(c.functions + c.functions[:1]))}: {escape(sites)}")
    console.print(f"MMIO without volatile: {len(report.mmio_pointers)} pointer(s), "
                  f"{len(report.mmio_accesses)} access(es)")
    for p in report.mmio_pointers:
        console.print(f"  (*{escape(p.type_text)}) at {escape(p.address_text)}"
                      f"{' in ' + escape(p.variable) if p.variable else ''} at {escape(str(p.position))}")
    for a in report.mmio_accesses:
        console.print(f"  {'write' if a.write else 'read'} {escape(a.text)} at {escape(str(a.position))}")
    others = [f for f in report.findings if f.rule == "source.alloc-in-loop"]
    if others:
        console.print(f"allocation in loops (outside handlers): {len(others)}")
        for f in others:
            console.print(f"  [yellow]warning[/yellow] {escape(f.message)}")
    for note in report.notes:
        console.print(f"note: {escape(note)}")
