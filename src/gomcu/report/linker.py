"""Text and JSON views of a layout and of check findings (print only; nothing computed)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.findings import Finding
from gomcu.linker.layout import Layout, OutputSectionLayout
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
            for s in kept_sections(layout)
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


def kept_sections(layout: Layout) -> list[OutputSectionLayout]:
    """The output sections a layout shows: not discarded."""
    return [s for s in layout.sections if not s.discarded and s.name != "/DISCARD/"]


def section_region(s: OutputSectionLayout) -> str:
    """`RAM`, `RAM AT> FLASH` (loaded from another region), or `-` (not in any region)."""
    where = s.region or "-"
    if s.lma_region and s.lma_region != s.region:
        where += f" AT> {s.lma_region}"
    return where


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
    for s in kept_sections(layout):
        sections.add_row(escape(s.name), f"{s.vma:#010x}", f"{s.lma:#010x}", str(s.size), escape(section_region(s)))
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


def _attr_letters(attrs: str) -> str:
    """A MEMORY attribute string as ld's map prints it: a x r w l order, `!` before the
    negated ones."""
    order = "axrwl"
    alias = {"i": "l"}
    on, _, off = attrs.lower().partition("!")

    def letters(text: str) -> str:
        got = {alias.get(c, c) for c in text}
        return "".join(c for c in order if c in got)

    return letters(on) + ("!" + letters(off) if off else "")


def _name_column(name: str, indent: str = "") -> str:
    """ld's map pads names to 16 columns; a name of 15 or more goes on a line of its own."""
    text = indent + name
    if len(text) >= 15:
        return text + "\n" + " " * 16
    return text.ljust(16)


def _size(value: int) -> str:
    return f"0x{value:x}".rjust(10)


def map_lines(layout: Layout) -> list[str]:
    """The layout in the shape of GNU ld's -Map memory map (Memory Configuration, then every
    output section with its address, size and load address, its input sections and the
    script symbols defined in it), so that a user can diff it against ld's map."""
    out = ["Memory Configuration", "", f"{'Name':<17}{'Origin':<19}{'Length':<19}Attributes"]
    for r in layout.regions:
        letters = _attr_letters(r.attrs)
        length = f"{r.length:08x}"
        out.append(f"{r.name:<16} 0x{r.origin:08x}{'':8} 0x"
                   + (f"{length:<17}{letters}" if letters else length))
    out.append(f"{'*default*':<16} 0x{0:08x}{'':8} 0x{0xFFFFFFFF:08x}")
    out += ["", "Linker script and memory map"]
    by_section: dict[str, list[tuple[int, str]]] = {}
    for name, v in layout.symbols.items():
        if v.section is not None:
            by_section.setdefault(v.section, []).append((v.value, name))
    for s in layout.sections:
        if s.discarded or s.name == "/DISCARD/":
            continue
        line = f"{_name_column(s.name)}0x{s.vma:08x} {_size(s.size)}"
        if s.lma != s.vma:
            line += f" load address 0x{s.lma:08x}"
        out += ["", line]
        for p in s.inputs:
            out.append(f"{_name_column(p.section, ' ')}0x{p.address:08x} {_size(p.size)} {p.file}")
        for value, name in sorted(by_section.get(s.name, ())):
            out.append(f"{'':16}0x{value:08x}{'':16}{name}")
    return out


def print_map(layout: Layout) -> None:
    for line in map_lines(layout):
        print(line)
