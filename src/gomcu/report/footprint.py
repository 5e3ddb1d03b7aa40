"""Text and JSON views of a Footprint."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.findings import Finding
from gomcu.image import Image
from gomcu.limits.footprint import Footprint, GroupUse, RegionUse
from gomcu.report import fmt
from gomcu.report.console import stdout_console


def _region_json(r: RegionUse) -> dict[str, Any]:
    return {"name": r.name, "kind": r.kind, "origin": r.origin, "length": r.length, "used": r.used, "free": r.free}


def _group_json(g: GroupUse) -> dict[str, Any]:
    return {"name": g.name, "flash_bytes": g.flash_bytes, "ram_bytes": g.ram_bytes, "symbols": g.symbols}


def to_json(
    image: Image,
    fp: Footprint,
    packages: tuple[GroupUse, ...],
    files: tuple[GroupUse, ...] | None,
    top: int | None,
    chip_name: str | None,
    findings: list[Finding],
) -> dict[str, Any]:
    symbols = sorted(fp.symbols, key=lambda s: -s.size)
    if top is not None:
        symbols = symbols[:top]
    doc: dict[str, Any] = {
        "file": image.path,
        "arch": image.arch.value,
        "core": image.core,
        "toolchain": image.toolchain.name,
        "chip": chip_name,
        "flash_bytes": fp.flash_bytes,
        "ram_bytes": fp.ram_bytes,
        "heap_bytes": fp.heap_bytes,
        "text": fp.text,
        "data": fp.data,
        "bss": fp.bss,
        "sections": [
            {"name": s.name, "kind": s.kind, "vma": s.vma, "lma": s.lma, "size": s.size,
             "flash_bytes": s.flash_bytes, "ram_bytes": s.ram_bytes}
            for s in fp.sections
        ],
        "regions": [_region_json(r) for r in fp.regions],
        "runtime_regions": [_region_json(r) for r in fp.runtime_regions],
        "symbols": [
            {"name": s.name, "address": s.address, "size": s.size, "section": s.section, "kind": s.kind,
             "package": s.package}
            for s in symbols
        ],
        "packages": [_group_json(g) for g in packages],
        "unattributed": [_group_json(g) for g in fp.unattributed],
        "stripped": fp.stripped,
        "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message} for f in findings],
    }
    if files is not None:
        doc["files"] = [_group_json(g) for g in files]
    return doc


def render_text(
    image: Image,
    fp: Footprint,
    by: str,
    groups: tuple[GroupUse, ...],
    top: int,
    chip_name: str | None,
    findings: list[Finding],
) -> None:
    console = stdout_console()
    console.print(
        f"[bold]{escape(image.path)}[/]: {image.arch.value} {image.core}"
        f"{' hard-float' if image.hard_float else ''}, built by {image.toolchain.name}"
        f"{' ' + image.toolchain.version if image.toolchain.version else ''}"
    )
    console.print(
        f"flash {fp.flash_bytes} B ({fmt.size(fp.flash_bytes)}) = text {fp.text} + data {fp.data};  "
        f"RAM {fp.ram_bytes} B ({fmt.size(fp.ram_bytes)}) = data {fp.data} + bss {fp.bss}"
        + (f";  heap {fp.heap_bytes} B ({fmt.size(fp.heap_bytes)})" if fp.heap_bytes is not None else "")
        + "   [dim](static)[/]"
    )
    if fp.stripped:
        console.print("[yellow]note:[/] no symbols: bytes cannot be attributed to functions or packages")

    regions = Table(title=f"memory regions{' of ' + chip_name if chip_name else ' (inferred from the ELF)'}",
                    title_justify="left")
    for col in ("region", "origin", "length", "used", "free", "use"):
        regions.add_column(col, justify="left" if col == "region" else "right")
    for r in fp.regions:
        regions.add_row(
            r.name, f"0x{r.origin:08x}", fmt.size(r.length), fmt.size(r.used), fmt.size(r.free),
            fmt.percent(r.used, r.length),
        )
    console.print(regions)

    if fp.runtime_regions:
        runtime = Table(title="runtime regions (from the linker symbols)", title_justify="left")
        for col in ("region", "start", "end", "size"):
            runtime.add_column(col, justify="left" if col == "region" else "right")
        for r in fp.runtime_regions:
            length = r.length or 0
            runtime.add_row(escape(r.name), f"0x{r.origin:08x}", f"0x{r.origin + length:08x}", f"{length} B")
        console.print(runtime)

    title = {"section": "sections", "symbol": "largest symbols", "package": "by Go package / C unit",
             "file": "by compile unit"}[by]
    table = Table(title=f"{title} (top {top})" if by != "section" else title, title_justify="left")
    table.add_column(by)
    if by == "section":
        table.add_column("kind")
        table.add_column("address", justify="right")
        table.add_column("load", justify="right")
    table.add_column("flash", justify="right")
    table.add_column("RAM", justify="right")
    if by == "section":
        for s in fp.sections:
            table.add_row(escape(s.name), s.kind, f"0x{s.vma:08x}", f"0x{s.lma:08x}", str(s.flash_bytes), str(s.ram_bytes))
    else:
        for g in groups[:top]:
            table.add_row(escape(g.name), str(g.flash_bytes), str(g.ram_bytes))
    console.print(table)
    for f in findings:
        console.print(f"[red]{f.severity.value}:[/] {escape(f.message)}")
