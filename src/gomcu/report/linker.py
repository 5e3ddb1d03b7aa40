"""Text and JSON views of a layout and of check findings (print only; nothing computed)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.findings import Finding
from gomcu.linker.layout import Layout
from gomcu.report.console import stdout_console


def layout_json(layout: Layout) -> dict[str, Any]:
    return {
        "regions": [
            {"name": r.name, "origin": r.origin, "length": r.length, "used": r.used,
             "free": r.free, "attributes": r.attrs}
            for r in layout.regions
        ],
        "sections": [
            {"name": s.name, "vma": s.vma, "lma": s.lma, "size": s.size, "region": s.region,
             "lma_region": s.lma_region, "load": s.load, "alloc": s.alloc}
            for s in layout.sections if not s.discarded and s.name != "/DISCARD/"
        ],
        "symbols": {name: v.value for name, v in sorted(layout.symbols.items(),
                                                       key=lambda kv: kv[1].value)},
        "asserts": [{"message": a.message, "passed": a.passed, "line": a.pos.line}
                    for a in layout.asserts],
        "problems": [p.message for p in layout.problems],
        "warnings": [w.message for w in layout.warnings],
        "orphans": [{"file": o.file, "section": o.name, "size": o.size,
                     "output_section": layout.output_of(o)}
                    for o in layout.orphans],
    }


def print_layout(layout: Layout) -> None:
    console = stdout_console()
    regions = Table(title="Memory regions", title_justify="left")
    for col in ("region", "origin", "length", "used", "free", "use"):
        regions.add_column(col, justify="left" if col == "region" else "right")
    for r in layout.regions:
        pct = f"{100 * r.used / r.length:.1f}%" if r.length else "-"
        regions.add_row(escape(r.name), f"{r.origin:#010x}", f"{r.length:#x}", str(r.used),
                        str(r.free), pct)
    console.print(regions)
    sections = Table(title="Output sections", title_justify="left")
    for col in ("section", "VMA", "LMA", "size", "region"):
        sections.add_column(col, justify="left" if col in ("section", "region") else "right")
    for s in layout.sections:
        if s.discarded or s.name == "/DISCARD/":
            continue
        where = s.region or "-"
        if s.lma_region and s.lma_region != s.region:
            where += f" AT> {s.lma_region}"
        sections.add_row(escape(s.name), f"{s.vma:#010x}", f"{s.lma:#010x}", str(s.size), escape(where))
    console.print(sections)
    symbols = Table(title="Symbols", title_justify="left")
    symbols.add_column("symbol")
    symbols.add_column("value", justify="right")
    for name, v in sorted(layout.symbols.items(), key=lambda kv: (kv[1].value, kv[0])):
        symbols.add_row(escape(name), f"{v.value:#010x}")
    console.print(symbols)
    for a in layout.asserts:
        if not a.passed:
            console.print(f"[red]ASSERT failed[/red] ({escape(str(a.pos))}): {escape(a.message)}")
    for w in layout.warnings:
        where = f" ({w.pos})" if w.pos is not None else ""
        console.print(f"[yellow]ld warns[/yellow]{escape(where)}: {escape(w.message)}")
    for p in layout.problems:
        if not any(a.message == p.message for a in layout.asserts):
            console.print(f"[red]ld would fail:[/red] {escape(p.message)}")
    for o in layout.orphans:
        home = layout.output_of(o)
        console.print(f"orphan {escape(o.file)}({escape(o.name)}), {o.size} bytes: no description "
                      f"takes it; placed in {escape(home or '?')} by ld's orphan rules",
                      highlight=False)


def print_findings(script: str, runtime: str, findings: list[Finding]) -> None:
    console = stdout_console()
    colour = {"error": "red", "warning": "yellow", "info": "cyan"}
    if not findings:
        console.print(f"{escape(script)}: everything the {runtime} runtime needs is there")
        return
    for f in findings:
        where = f" ({f.location})" if f.location else ""
        sev = f.severity.value
        console.print(f"[{colour[sev]}]{sev}[/{colour[sev]}] {f.rule}{escape(where)}: {escape(f.message)}",
                      highlight=False)
    counts = {s: sum(1 for f in findings if f.severity.value == s)
              for s in ("error", "warning", "info")}
    console.print(f"{counts['error']} errors, {counts['warning']} warnings, "
                  f"{counts['info']} notes")
