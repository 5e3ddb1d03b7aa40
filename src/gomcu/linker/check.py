"""Judge a linker script and its layout against a runtime profile (and a chip's memory map).

Every finding names the rule, says why it matters for the Go runtime, and points at the script
line. Analyses judge and never print: the CLI renders the findings.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

from gomcu.findings import Finding, Location, Severity
from gomcu.linker import ast
from gomcu.linker.layout import Layout, OutputSectionLayout, RegionUse
from gomcu.linker.requirements import RuntimeProfile

RAM_KINDS = ("sram", "ccm", "tcm", "ram", "dtcm", "itcm")


@dataclass(frozen=True)
class Placement:
    """Where an input section name lands in the script."""

    output: ast.OutputSection
    spec: ast.InputSpec
    index: int  # position of the description among the output section's items


def _loc(pos: ast.Pos | None) -> Location | None:
    if pos is None or not pos.line:
        return None
    return Location(file=pos.file, line=pos.line)


def output_sections(script: ast.Script) -> Iterable[ast.OutputSection]:
    for cmd in script.commands:
        if isinstance(cmd, ast.Sections):
            for item in cmd.items:
                if isinstance(item, ast.OutputSection):
                    yield item
                elif isinstance(item, ast.Overlay):
                    yield from item.sections


def find_input(script: ast.Script, section_name: str) -> Placement | None:
    """The first input-section description whose patterns take `section_name`."""
    for out in output_sections(script):
        for i, item in enumerate(out.items):
            if isinstance(item, ast.InputSpec):
                for sp in item.sections or (ast.SectionPattern("*"),):
                    if fnmatch.fnmatchcase(section_name, sp.pattern.replace("[^", "[!")):
                        return Placement(out, item, i)
    return None


def flash_region(layout: Layout, script: ast.Script, profile: RuntimeProfile) -> RegionUse | None:
    region = layout.region(profile.flash_region)
    if region is not None:
        return region
    placed = find_input(script, profile.vector_section)
    if placed is not None:
        out = layout.section(placed.output.name)
        if out is not None and out.region:
            return layout.region(out.region)
    for r in layout.regions:
        attrs = r.attrs.lower().split("!")[0]
        if "x" in attrs and "w" not in attrs:
            return r
    return None


def ram_region(layout: Layout, profile: RuntimeProfile) -> RegionUse | None:
    region = layout.region(profile.ram_region)
    if region is not None:
        return region
    for name in (profile.data_section, profile.bss_section):
        out = _section(layout, name)
        if out is not None and out.region:
            return layout.region(out.region)
    return None


def _section(layout: Layout, name: str) -> OutputSectionLayout | None:
    for s in layout.sections:
        if s.name == name:
            return s
    return None


def _kib(n: int) -> str:
    return f"{n // 1024} KiB" if n % 1024 == 0 else f"{n} bytes"


def check(script: ast.Script, layout: Layout, profile: RuntimeProfile,
          chip: object | None = None, stack_size_from_command_line: bool = False
          ) -> list[Finding]:
    """Findings for `layout` (evaluated from `script`) against `profile` and `chip`."""
    out: list[Finding] = []
    p = profile

    def add(rule: str, severity: Severity, message: str, pos: ast.Pos | None = None) -> None:
        out.append(Finding(f"ld.{rule}", severity, message, _loc(pos)))

    # --- what ld itself would refuse
    for problem in layout.problems:
        if layout.has_inputs:
            add("ld-error", Severity.ERROR, f"GNU ld would fail: {problem.message}",
                problem.pos)
        else:
            add("ld-error", Severity.INFO,
                f"with every input section empty (no --input/--elf given), GNU ld would "
                f"fail: {problem.message}", problem.pos)

    for warning in layout.warnings:
        add("ld-warning", Severity.WARNING,
            f"GNU ld warns and links anyway: {warning.message} (it makes the region at "
            "address 0 spanning all memory, so whatever it holds lands at 0)", warning.pos)

    # --- regions
    flash = flash_region(layout, script, p)
    ram = ram_region(layout, p)
    if layout.region(p.flash_region) is None:
        hint = (f"; add REGION_ALIAS(\"{p.flash_region}\", {flash.name})" if flash else "")
        add("region-name", Severity.ERROR,
            f"no memory region {p.flash_region}: TinyGo's arm.ld places .text in "
            f"{p.flash_region}{hint}", flash.pos if flash else None)
    if layout.region(p.ram_region) is None:
        hint = (f"; add REGION_ALIAS(\"{p.ram_region}\", {ram.name})" if ram else "")
        add("region-name", Severity.ERROR,
            f"no memory region {p.ram_region}: TinyGo's arm.ld places the stack, .data, "
            f".bss and the heap in {p.ram_region}{hint}", ram.pos if ram else None)

    # --- symbols
    syms = layout.symbols
    for need in p.symbols:
        value = syms.get(need.name)
        if value is None:
            vendor = [n for n in need.vendor_names if n in syms]
            also = f" (the script defines {', '.join(vendor)} instead)" if vendor else ""
            add("symbol", Severity.ERROR,
                f"symbol {need.name} is not defined{also}: {need.why}")
            continue
        if value.value % need.align:
            severity = Severity.ERROR if value.value % 4 else Severity.WARNING
            add("alignment", severity,
                f"{need.name} = {value.value:#x} is not {need.align}-byte aligned ({need.why})",
                value.pos)

    # --- the stack
    stack = _section(layout, p.stack_section)
    top = syms.get(p.stack_top)
    if stack_size_from_command_line:
        add("stack-size", Severity.INFO,
            f"{p.stack_size} is not defined by the script; it must come from "
            f"--defsym={p.stack_size}=N (TinyGo passes it in the target JSON ldflags); "
            f"checked with {p.default_stack_size}")
    elif p.stack_size not in syms:
        add("stack-size", Severity.WARNING,
            f"{p.stack_size} is not defined: TinyGo sizes the system stack with it "
            f"(--defsym={p.stack_size}=N)")
    top_at_end = [n for n in p.top_of_ram_stack_names
                  if ram is not None and n in syms and syms[n].value == ram.end]
    if stack is None or stack.discarded:
        if top_at_end:
            name = top_at_end[0]
            add("stack-placement", Severity.WARNING,
                f"the stack starts at the top of {ram.name if ram else 'RAM'} ({name} = "
                f"{syms[name].value:#x}) and grows down towards the heap: an overflow silently "
                f"corrupts the end of the heap (where the GC keeps its block metadata) instead "
                f"of faulting. TinyGo puts a NOLOAD {p.stack_section} section at the bottom of "
                f"RAM so that an overflow runs off the start of RAM and faults.", syms[name].pos)
        else:
            add("stack-placement", Severity.ERROR,
                f"no {p.stack_section} section: TinyGo expects a NOLOAD {p.stack_section} at the "
                f"bottom of RAM ending at {p.stack_top}")
    else:
        if ram is not None and stack.vma != ram.origin:
            add("stack-placement", Severity.WARNING,
                f"{p.stack_section} starts at {stack.vma:#x}, not at the bottom of "
                f"{ram.name} ({ram.origin:#x}): an overflow can run into what lies below it "
                f"instead of faulting", stack.pos)
        if stack.load:
            add("stack-noload", Severity.WARNING,
                f"{p.stack_section} is not NOLOAD: its bytes would be stored in flash",
                stack.pos)
        if top is not None and top.value != stack.vma + stack.size:
            add("stack-top", Severity.WARNING,
                f"{p.stack_top} ({top.value:#x}) is not the end of {p.stack_section} "
                f"({stack.vma + stack.size:#x})", top.pos)

    # --- .data loaded from flash, .bss in RAM
    data = _section(layout, p.data_section)
    if data is None:
        add("data", Severity.ERROR, f"no {p.data_section} output section")
    else:
        if flash is not None and not flash.contains(data.lma) and data.size:
            add("data-load", Severity.ERROR,
                f"{p.data_section} is loaded at {data.lma:#x}, outside flash ({flash.name}): "
                f"initial values must be stored in flash (use `AT> {flash.name}`)", data.pos)
        elif data.lma == data.vma:
            add("data-load", Severity.ERROR,
                f"{p.data_section} has no load address in flash (no `AT>`): its initial "
                f"values would be lost at reset", data.pos)
        if ram is not None and not ram.contains(data.vma) and data.vma != ram.end:
            add("data-ram", Severity.ERROR,
                f"{p.data_section} runs at {data.vma:#x}, outside {ram.name}", data.pos)
    bss = _section(layout, p.bss_section)
    if bss is None:
        add("bss", Severity.ERROR, f"no {p.bss_section} output section")

    # --- the vector table and kept sections
    for name, why in p.kept_sections:
        placed = find_input(script, name)
        if placed is None or placed.output.name == "/DISCARD/":
            severity = Severity.ERROR if name == p.vector_section else Severity.WARNING
            add("keep", severity, f"no input-section description takes {name}: {why}")
            continue
        if not placed.spec.keep:
            add("keep", Severity.ERROR if name == p.vector_section else Severity.WARNING,
                f"{name} is not inside KEEP(): {why}", placed.spec.pos)
        if name == p.vector_section:
            _check_vectors(layout, script, placed, flash, chip, add)

    # --- the heap
    hs, he = syms.get(p.heap_start), syms.get(p.heap_end)
    if hs is not None and he is not None:
        if he.value < hs.value:
            add("heap", Severity.ERROR,
                f"the heap is negative: {p.heap_start} = {hs.value:#x} > {p.heap_end} = "
                f"{he.value:#x}", he.pos)
        elif ram is not None and he.value > ram.end:
            add("heap", Severity.ERROR,
                f"{p.heap_end} = {he.value:#x} is past the end of {ram.name} ({ram.end:#x})",
                he.pos)

    # --- the chip's real memory
    if chip is not None:
        _check_chip(layout, chip, flash, add)
    elif flash is not None and flash.origin % 0x10000:
        add("bootloader", Severity.INFO,
            f"flash starts at {flash.origin:#x}, which looks like space left for a bootloader: "
            "the vector table is then not at the boot address and must be relocated (VTOR)",
            flash.pos)

    # --- regions that nothing uses
    for r in layout.regions:
        if r.used == 0 and r is not flash and r is not ram:
            add("unused-region", Severity.INFO,
                f"region {r.name} ({_kib(r.length)} at {r.origin:#x}) holds nothing: the Go "
                "heap and stacks live in RAM only, so this memory is unused", r.pos)
    return out


def _check_vectors(layout: Layout, script: ast.Script, placed: Placement,
                   flash: RegionUse | None, chip, add) -> None:
    out = _section(layout, placed.output.name)
    if out is None or flash is None:
        return
    # what lands in flash ahead of the vector table: input specs, or whole output sections
    before: list[ast.InputSpec | ast.OutputSection] = [
        i for i in placed.output.items[:placed.index] if isinstance(i, ast.InputSpec)]
    for other in output_sections(script):
        if other is placed.output:
            break
        region = layout.aliases.get(other.region or "", other.region)
        if region == flash.name and any(isinstance(i, ast.InputSpec) for i in other.items):
            before.append(other)
    pattern = placed.spec.sections[0].pattern if placed.spec.sections else "*"
    stage2 = chip.boot.stage2 if chip is not None else None
    if stage2 is not None and flash.origin == stage2.origin:
        _check_after_stage2(layout, chip, out, pattern, bool(before), placed.spec.pos, add)
        return
    first_flash = min((s for s in layout.sections if not s.discarded and s.alloc and
                       s.region == flash.name and (s.size or s is out)),
                      key=lambda s: s.vma, default=None)
    if out.vma != flash.origin or before or (first_flash is not None and first_flash is not out
                                             and first_flash.vma < out.vma):
        hint = ("" if chip is not None else "; if the chip's boot ROM runs a boot stage from "
                "there (RP2040 boot2), name the chip with --chip")
        add("vector-table", Severity.ERROR,
            f"KEEP(*({pattern})) is not at the flash origin ({flash.origin:#x}): the core "
            f"boots from the vector table there (word 0 = initial stack pointer, word 1 = "
            f"Reset_Handler){hint}", placed.spec.pos)


def _check_after_stage2(layout: Layout, chip, out: OutputSectionLayout, pattern: str,
                        anything_before: bool, pos: ast.Pos | None, add) -> None:
    """The chip's boot ROM runs a boot stage from the flash origin: the table goes after it."""
    stage2, want = chip.boot.stage2, chip.vector_table
    where = (f"{chip.name}'s boot ROM runs {stage2.name} from [{stage2.origin:#x}, "
             f"{stage2.end:#x}) and it enters the application through the vector table at "
             f"{want:#x} ({chip.boot.source})")
    if out.vma == want:
        add("vector-table", Severity.INFO, f"KEEP(*({pattern})) is at {want:#x}: {where}", pos)
    elif not layout.has_inputs and anything_before:
        add("vector-table", Severity.INFO,
            f"KEEP(*({pattern})) follows what the script puts first in flash, which must fill "
            f"{stage2.name} exactly: {where}; with every input section empty it lands at "
            f"{out.vma:#x} (give --input/--elf to check where it really lands)", pos)
    else:
        add("vector-table", Severity.ERROR,
            f"KEEP(*({pattern})) is at {out.vma:#x}, not at {want:#x}: {where}", pos)


def _check_chip(layout: Layout, chip, flash: RegionUse | None, add) -> None:
    regions = tuple(chip.regions)
    covered = []
    for r in layout.regions:
        home = next((c for c in regions if c.contains(r.origin)), None)
        if home is None:
            add("chip-memory", Severity.ERROR,
                f"region {r.name} starts at {r.origin:#x}, where {chip.name} has no memory",
                r.pos)
            continue
        covered.append(home)
        if r.end > home.end:
            add("chip-memory", Severity.ERROR,
                f"region {r.name} claims {_kib(r.length)} from {r.origin:#x} but {chip.name}'s "
                f"{home.name} ends at {home.end:#x}: {r.end - home.end} bytes more than the chip "
                "has", r.pos)
        below = [o for o in layout.regions if o is not r and o.origin == home.origin
                 and o.end <= r.origin]
        stage2 = chip.boot.stage2
        if (r is flash and stage2 is not None and stage2.origin == home.origin
                and r.origin == chip.vector_table):
            add("bootloader", Severity.INFO,
                f"flash for the program starts at {r.origin:#x}, after {chip.name}'s "
                f"{stage2.name} [{stage2.origin:#x}, {stage2.end:#x})"
                f"{f' (region {below[0].name})' if below else ''}: the boot ROM runs "
                f"{stage2.name}, which enters the vector table at {r.origin:#x} "
                f"({chip.boot.source})", r.pos)
        elif r is flash and r.origin != home.origin and home.kind == "flash" and below:
            add("bootloader", Severity.INFO,
                f"flash for the program starts {r.origin - home.origin:#x} bytes after "
                f"{chip.name}'s flash origin; the script itself fills the gap (region "
                f"{below[0].name}, e.g. a second-stage bootloader), which must point SCB->VTOR "
                f"at the vector table at {r.origin:#x}", r.pos)
        elif (r is flash and r.origin != home.origin and home.kind == "flash"
              and chip.bootloaders_of(r.origin - home.origin)):
            add("bootloader", Severity.INFO,
                f"flash starts {r.origin - home.origin:#x} bytes after {chip.name}'s flash "
                f"origin: the room a board bootloader takes "
                f"({_bootloaders(chip.bootloaders_of(r.origin - home.origin))}); it sets "
                f"SCB->VTOR to the vector table at {r.origin:#x}. On a board without that "
                "bootloader this image does not start.", r.pos)
        elif r is flash and r.origin != home.origin and home.kind == "flash":
            add("bootloader", Severity.WARNING,
                f"flash starts {r.origin - home.origin:#x} bytes after {chip.name}'s flash "
                f"origin {home.origin:#x}: a bootloader sits below it, so the vector table is "
                "not at the boot address and must be relocated (the bootloader or startup "
                "code must set SCB->VTOR to the new table)", r.pos)
    for c in regions:
        if c.kind in RAM_KINDS and not any(c.intersects_range(r.origin, r.end)
                                           if hasattr(c, "intersects_range") else
                                           (r.origin < c.end and c.origin < r.end)
                                           for r in layout.regions):
            add("unused-bank", Severity.INFO,
                f"{chip.name} has {c.kind.upper()} {c.name} ({_kib(c.length)} at "
                f"{c.origin:#x}) that the script does not declare: the Go runtime will not "
                "use it")


def _bootloaders(loaders) -> str:
    return "; ".join(f"{b.name} on {', '.join(b.boards)}: {b.source}" for b in loaders)
