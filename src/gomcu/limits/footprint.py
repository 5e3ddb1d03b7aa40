"""Footprint: flash and RAM per section, region, symbol, Go package and compile unit.

Totals follow binutils `size` (Berkeley format) so they can be checked against
`arm-none-eabi-size`: an allocated section counts as *text* when it is read-only or code, *data*
when it is writable and has contents, *bss* when it has no contents. Flash holds text plus the
load image of data; RAM holds data plus bss (stack and noinit sections are NOBITS, so bss).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from gomcu.findings import Finding, Location, Severity
from gomcu.image import Image, Section, SymbolKind
from gomcu.runtime.names import go_package

if TYPE_CHECKING:
    from gomcu.chips import Chip

SectionKind = Literal["text", "data", "bss"]
GroupBy = Literal["section", "symbol", "package", "file"]

#: TinyGo's linker symbols for its runtime regions (TINYGO-FACTS.md, targets/arm.ld).
RUNTIME_REGION_SYMBOLS = {
    "globals": ("_globals_start", "_globals_end"),
    "heap": ("_heap_start", "_heap_end"),
}


@dataclass(frozen=True)
class SectionUse:
    name: str
    kind: SectionKind
    vma: int
    lma: int
    size: int

    @property
    def flash_bytes(self) -> int:
        return self.size if self.kind in ("text", "data") else 0

    @property
    def ram_bytes(self) -> int:
        return self.size if self.kind in ("data", "bss") else 0


@dataclass(frozen=True)
class RegionUse:
    """A memory region and how much of it the image uses (`length` None when unknown)."""

    name: str
    kind: str
    origin: int
    length: int | None
    used: int

    @property
    def free(self) -> int | None:
        return None if self.length is None else self.length - self.used


@dataclass(frozen=True)
class SymbolUse:
    name: str
    address: int
    size: int
    section: str
    kind: SectionKind
    package: str | None
    unit: str | None = None


@dataclass(frozen=True)
class GroupUse:
    name: str
    flash_bytes: int
    ram_bytes: int
    symbols: int


@dataclass(frozen=True)
class Footprint:
    text: int
    data: int
    bss: int
    heap_bytes: int | None
    sections: tuple[SectionUse, ...]
    regions: tuple[RegionUse, ...]
    runtime_regions: tuple[RegionUse, ...]
    symbols: tuple[SymbolUse, ...]
    unattributed: tuple[GroupUse, ...]
    stripped: bool

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss


def section_kind(section: Section) -> SectionKind:
    if section.nobits:
        return "bss"
    if section.exec or not section.write:
        return "text"
    return "data"


def measure(image: Image, chip: Chip | None = None) -> Footprint:
    """The footprint of `image`; with a chip, region use is reported against its memory map."""
    sections = tuple(
        SectionUse(s.name, section_kind(s), s.vma, s.lma, s.size) for s in image.alloc_sections
    )
    totals = {"text": 0, "data": 0, "bss": 0}
    for s in sections:
        totals[s.kind] += s.size
    symbols = _symbol_uses(image)
    return Footprint(
        text=totals["text"],
        data=totals["data"],
        bss=totals["bss"],
        heap_bytes=_heap_bytes(image),
        sections=sections,
        regions=_chip_regions(sections, chip) if chip else _inferred_regions(sections),
        runtime_regions=_runtime_regions(image),
        symbols=symbols,
        unattributed=_unattributed(sections, symbols),
        stripped=image.stripped,
    )


def _symbol_uses(image: Image) -> tuple[SymbolUse, ...]:
    """Sized function and object symbols in allocated sections, one per address (once per image:
    `check` measures the footprint for every limit)."""
    found = _SYMBOL_USES.get(image)
    if found is None:
        found = _SYMBOL_USES[image] = _find_symbol_uses(image)
    return found


_SYMBOL_USES: weakref.WeakKeyDictionary[Image, tuple[SymbolUse, ...]] = weakref.WeakKeyDictionary()


def _find_symbol_uses(image: Image) -> tuple[SymbolUse, ...]:
    seen: set[int] = set()
    out: list[SymbolUse] = []
    for sym in sorted(image.symbols, key=lambda s: (s.address, s.binding != "global")):
        if sym.kind not in (SymbolKind.FUNC, SymbolKind.OBJECT) or sym.size == 0:
            continue
        if sym.section_index is None or sym.section_index >= len(image.sections):
            continue
        section = image.sections[sym.section_index]
        if not section.alloc or sym.address in seen:
            continue
        seen.add(sym.address)
        out.append(
            SymbolUse(sym.name, sym.address, sym.size, section.name, section_kind(section), go_package(sym.name))
        )
    return tuple(out)


def _unattributed(sections: tuple[SectionUse, ...], symbols: tuple[SymbolUse, ...]) -> tuple[GroupUse, ...]:
    """Bytes of each section that no sized symbol covers (padding, literal pools, stripped code)."""
    covered: dict[str, int] = defaultdict(int)
    for sym in symbols:
        covered[sym.section] += sym.size
    out = []
    for s in sections:
        rest = max(0, s.size - covered.get(s.name, 0))
        if rest:
            out.append(GroupUse(s.name, rest if s.flash_bytes else 0, rest if s.ram_bytes else 0, 0))
    return tuple(out)


def _heap_bytes(image: Image) -> int | None:
    start, end = image.symbol("_heap_start"), image.symbol("_heap_end")
    if start is None or end is None or end.address < start.address:
        return None
    return end.address - start.address


def _runtime_regions(image: Image) -> tuple[RegionUse, ...]:
    """System stack, globals and heap as TinyGo's linker symbols define them."""
    out: list[RegionUse] = []
    top = image.symbol("_stack_top")
    stack_section = image.section(".stack")
    size_sym = image.symbol("_stack_size")
    if stack_section is not None and (top is None or stack_section.end == top.address):
        out.append(RegionUse("system stack", "stack", stack_section.vma, stack_section.size, stack_section.size))
    elif top is not None and size_sym is not None and size_sym.section_index is None:
        size = size_sym.address  # an absolute symbol: its value is the size
        out.append(RegionUse("system stack", "stack", top.address - size, size, size))
    for name, (lo, hi) in RUNTIME_REGION_SYMBOLS.items():
        a, b = image.symbol(lo), image.symbol(hi)
        if a is not None and b is not None and b.address >= a.address:
            size = b.address - a.address
            out.append(RegionUse(name, name, a.address, size, size if name != "heap" else 0))
    return tuple(out)


def _inferred_regions(sections: tuple[SectionUse, ...]) -> tuple[RegionUse, ...]:
    """Without a chip: flash is where load images live, RAM is where writable sections run."""
    flash = [s for s in sections if s.flash_bytes]
    ram = [s for s in sections if s.ram_bytes]
    out = []
    if flash:
        out.append(RegionUse("flash", "flash", min(s.lma for s in flash), None, sum(s.flash_bytes for s in flash)))
    if ram:
        out.append(RegionUse("ram", "sram", min(s.vma for s in ram), None, sum(s.ram_bytes for s in ram)))
    return tuple(out)


def _chip_regions(sections: tuple[SectionUse, ...], chip: Chip) -> tuple[RegionUse, ...]:
    used: dict[str, int] = defaultdict(int)
    for s in sections:
        for address, size in _placements(s):
            region = next((r for r in chip.regions if r.origin <= address < r.origin + r.length), None)
            if region is not None:
                used[region.name] += size
    return tuple(RegionUse(r.name, r.kind, r.origin, r.length, used.get(r.name, 0)) for r in chip.regions)


def _placements(s: SectionUse) -> list[tuple[int, int]]:
    """Where a section occupies memory: its load image (flash) and its run address (RAM)."""
    if s.kind == "text":
        return [(s.lma, s.size)]
    if s.kind == "data":
        return [(s.lma, s.size), (s.vma, s.size)] if s.lma != s.vma else [(s.vma, s.size)]
    return [(s.vma, s.size)]


def check_fit(footprint: Footprint, chip: Chip) -> list[Finding]:
    """Overflow of a chip region, and sections placed outside the chip's memory map."""
    findings: list[Finding] = []
    for region in footprint.regions:
        if region.length is not None and region.used > region.length:
            findings.append(
                Finding(
                    "memory.region-overflow",
                    Severity.ERROR,
                    f"region {region.name} of {chip.name} overflowed by {region.used - region.length} bytes "
                    f"({region.used} used of {region.length})",
                )
            )
    for s in footprint.sections:
        for address, size in _placements(s):
            if not any(r.origin <= address < r.origin + r.length for r in chip.regions):
                findings.append(
                    Finding(
                        "memory.outside-chip",
                        Severity.ERROR,
                        f"section {s.name} ({size} bytes at 0x{address:08x}) lies outside every memory "
                        f"region of {chip.name}: the firmware was linked for another memory map",
                        Location(address=address),
                    )
                )
    return findings


def group(footprint: Footprint, by: GroupBy, image: Image | None = None) -> tuple[GroupUse, ...]:
    """Bytes grouped by section, symbol, Go package or compile unit, largest first."""
    if by == "section":
        groups = [GroupUse(s.name, s.flash_bytes, s.ram_bytes, 0) for s in footprint.sections]
    else:
        flash: dict[str, int] = defaultdict(int)
        ram: dict[str, int] = defaultdict(int)
        count: dict[str, int] = defaultdict(int)
        for sym in footprint.symbols:
            key = _group_key(sym, by, image)
            count[key] += 1
            if sym.kind in ("text", "data"):
                flash[key] += sym.size
            if sym.kind in ("data", "bss"):
                ram[key] += sym.size
        groups = [GroupUse(k, flash[k], ram[k], count[k]) for k in count]
        groups += [GroupUse(f"(unattributed in {u.name})", u.flash_bytes, u.ram_bytes, 0) for u in footprint.unattributed]
    return tuple(sorted(groups, key=lambda g: (-(g.flash_bytes + g.ram_bytes), g.name)))


def _group_key(sym: SymbolUse, by: GroupBy, image: Image | None) -> str:
    if by == "symbol":
        return sym.name
    if by == "package":
        if sym.package:
            return sym.package
        code = sym.kind == "text"
        unit = image.compile_unit_of(sym.address, variables=False) if image is not None and code else None
        return f"(C) {unit}" if unit else "(C and other non-Go symbols)"
    if image is None:
        return "(no debug info)"
    unit = image.compile_unit_of(sym.address)
    if unit in (None, "<unknown>") and sym.kind == "text":
        # TinyGo puts a whole package's Go code in one unit named "<unknown>": the line table
        # still says which source file most of each function's code comes from.
        source = image.file_of_range(sym.address, sym.address + sym.size)
        if source is not None:
            return source
    if unit == "<unknown>" and sym.package:
        return f"(Go package {sym.package})"
    return unit or "(no debug info)"


