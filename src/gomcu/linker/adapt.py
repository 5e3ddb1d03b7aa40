"""Write a linker script that keeps a vendor's memory map and satisfies a runtime profile.

The vendor's MEMORY regions are kept (all of them, with the bootloader offset); the flash and
RAM regions get the profile's names through REGION_ALIAS; output sections the vendor placed in
flash before the vector table (a second-stage bootloader such as RP2040's boot2) keep their own
region carved from the start of flash, so that the vector table is at a region origin; then the
TinyGo layout follows: vectors and code, the stack-size table, the system stack at the bottom of
RAM, .data loaded from flash, .bss, and the heap symbols.
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.errors import LinkerScriptError
from gomcu.linker import ast
from gomcu.linker.check import find_input, flash_region, ram_region
from gomcu.linker.layout import Layout
from gomcu.linker.requirements import RuntimeProfile


@dataclass(frozen=True)
class Adapted:
    script: str
    target_json: dict[str, object]
    notes: tuple[str, ...]


def expr_text(e: ast.Expr) -> str:
    """An expression back as ld syntax (fully parenthesised where it matters)."""
    if isinstance(e, ast.Num):
        return hex(e.value) if e.value > 9 else str(e.value)
    if isinstance(e, ast.Sym):
        return e.name
    if isinstance(e, ast.Unary):
        return f"{e.op}({expr_text(e.operand)})"
    if isinstance(e, ast.Binary):
        return f"({expr_text(e.left)} {e.op} {expr_text(e.right)})"
    if isinstance(e, ast.Cond):
        return f"({expr_text(e.cond)} ? {expr_text(e.then)} : {expr_text(e.otherwise)})"
    if e.func == "SIZEOF_HEADERS":
        return "SIZEOF_HEADERS"
    if e.name is not None and not e.args:
        return f"{e.func}({e.name})"
    return f"{e.func}({', '.join(expr_text(a) for a in e.args)})"


def _spec_text(spec: ast.InputSpec) -> str:
    def wrap(text: str, sorts: tuple[str, ...]) -> str:
        for s in reversed(sorts):
            text = f"{s}({text})"
        return text

    parts = []
    for sp in spec.sections:
        text = wrap(sp.pattern, sp.sort)
        if sp.exclude_files:
            text = f"EXCLUDE_FILE({' '.join(sp.exclude_files)}) {text}"
        parts.append(text)
    body = wrap(spec.file_pattern, spec.file_sort)
    if spec.exclude_files:
        body = f"EXCLUDE_FILE({' '.join(spec.exclude_files)}) {body}"
    if parts:
        body += f"({' '.join(parts)})"
    return f"KEEP({body})" if spec.keep else body


def _item_text(item: object) -> str | None:
    if isinstance(item, ast.InputSpec):
        return _spec_text(item)
    if isinstance(item, ast.Assignment):
        text = f"{item.target} {item.op} {expr_text(item.expr)}"
        return f"{item.wrapper}({text});" if item.wrapper else f"{text};"
    if isinstance(item, ast.Data):
        return f"{item.kind}({expr_text(item.expr)})"
    return None


def adapt(script: ast.Script, layout: Layout, profile: RuntimeProfile, source_name: str,
          stack_size: int | None = None) -> Adapted:
    p = profile
    stack_size = stack_size or p.default_stack_size
    flash = flash_region(layout, script, p)
    ram = ram_region(layout, p)
    if flash is None:
        raise LinkerScriptError(f"{source_name}: cannot tell which region is flash "
                                "(no region with attributes (rx) and no vector table)")
    if ram is None:
        raise LinkerScriptError(f"{source_name}: cannot tell which region is RAM "
                                "(no .data or .bss section and no region named RAM)")
    notes: list[str] = []

    # output sections the vendor puts in flash before the vector table
    vectors = find_input(script, p.vector_section)
    pre: list[ast.OutputSection] = []
    if vectors is not None:
        from gomcu.linker.check import output_sections

        for out in output_sections(script):
            if out is vectors.output:
                break
            placed = layout.section(out.name)
            in_flash = out.region is not None and layout.aliases.get(out.region, out.region) \
                == flash.name
            if in_flash and any(isinstance(i, ast.InputSpec) for i in out.items):
                pre.append(out)
            elif in_flash and placed is not None and placed.size:
                pre.append(out)
    pre_size = 0
    if pre:
        pre_size = sum(s.size for s in layout.sections if s.name in {o.name for o in pre})
        pre_size = max(256, (pre_size + 255) // 256 * 256)

    lines = [
        f"/* Adapted by gomcu from {source_name} for the {p.name} runtime.",
        " * The vendor's MEMORY map is kept as it was; the runtime's layout follows:",
        f" * vectors at the {p.flash_region} origin, the system stack at the bottom of "
        f"{p.ram_region},",
        " * .data loaded from flash, .bss, and the heap up to the end of RAM. */",
        "",
        "MEMORY",
        "{",
    ]
    taken = {r.name for r in layout.regions}
    flash_name = p.flash_region
    for r in layout.regions:
        attrs = f" ({r.attrs})" if r.attrs else ""
        lines.append(f"    {r.name}{attrs} : ORIGIN = {r.origin:#010x}, LENGTH = {r.length:#x}")
    boot_name = None
    if pre:
        boot_name = "BOOT2_TEXT" if "BOOT2_TEXT" not in taken else "GOMCU_BOOT"
        if flash.name == p.flash_region:
            raise LinkerScriptError(f"{source_name}: sections precede the vector table in "
                                    f"{flash.name}; rename that region to split it")
        lines.append(f"    {boot_name} (rx) : ORIGIN = {flash.origin:#010x}, "
                     f"LENGTH = {pre_size:#x}")
        lines.append(f"    {flash_name} (rx) : ORIGIN = {flash.origin + pre_size:#010x}, "
                     f"LENGTH = {flash.length - pre_size:#x}")
        notes.append(f"{', '.join(o.name for o in pre)} stay in the first {pre_size} bytes of "
                     f"{flash.name} ({boot_name}); {p.flash_region} starts after them")
    lines.append("}")
    lines.append("")
    if not pre and flash.name != p.flash_region:
        if p.flash_region in taken:
            raise LinkerScriptError(f"{source_name}: region {p.flash_region} exists but is not "
                                    "the flash region")
        lines.append(f'REGION_ALIAS("{p.flash_region}", {flash.name});')
    if ram.name != p.ram_region:
        if p.ram_region in taken:
            raise LinkerScriptError(f"{source_name}: region {p.ram_region} exists but is not "
                                    "the RAM the script uses for .data")
        lines.append(f'REGION_ALIAS("{p.ram_region}", {ram.name});')
    lines += [
        "",
        f"{p.stack_size} = DEFINED({p.stack_size}) ? {p.stack_size} : {stack_size:#x};",
        "",
        "ENTRY(Reset_Handler)",
        "",
        "SECTIONS",
        "{",
    ]
    for out in pre:
        lines.append(f"    {out.name} :")
        lines.append("    {")
        for item in out.items:
            text = _item_text(item)
            if text:
                lines.append(f"        {text}")
        lines.append(f"    }} >{boot_name}")
        lines.append("")
    lines += [
        "    .text :",
        "    {",
        f"        KEEP(*({p.vector_section}))",
        "        . = ALIGN(4);",
        "        *(.text .text.*)",
        "        *(.rodata .rodata.*)",
        "        . = ALIGN(4);",
        f"    }} >{p.flash_region}",
        "",
        "    .tinygo_stacksizes :",
        "    {",
        "        KEEP(*(.tinygo_stacksizes))",
        f"    }} >{p.flash_region}",
        "",
        "    .ARM.exidx :",
        "    {",
        "        *(.ARM.exidx* .gnu.linkonce.armexidx.*)",
        f"    }} >{p.flash_region}",
        "",
        f"    /* The system stack at the bottom of {p.ram_region}: an overflow faults instead of",
        "     * silently corrupting .data, .bss or the heap. */",
        f"    {p.stack_section} (NOLOAD) :",
        "    {",
        f"        . = ALIGN({p.stack_align});",
        f"        . += {p.stack_size};",
        f"        {p.stack_top} = .;",
        f"    }} >{p.ram_region}",
        "",
        f"    _sidata = LOADADDR({p.data_section});",
        f"    {p.data_section} :",
        "    {",
        "        . = ALIGN(4);",
        "        _sdata = .;",
        "        *(.data .data.*)",
        "        *(.init_array .init_array.*)",
        "        . = ALIGN(4);",
        "        _edata = .;",
        f"    }} >{p.ram_region} AT>{p.flash_region}",
        "",
        f"    {p.bss_section} (NOLOAD) :",
        "    {",
        "        . = ALIGN(4);",
        "        _sbss = .;",
        "        *(.bss .bss.* COMMON)",
        "        . = ALIGN(4);",
        "        _ebss = .;",
        f"    }} >{p.ram_region}",
        "",
        "    /DISCARD/ :",
        "    {",
        "        *(.ARM.attributes.*)",
        "        *(.comment)",
        "        *(.note .note.*)",
        "    }",
        "}",
        "",
        "_globals_start = _sdata;",
        "_globals_end = _ebss;",
        f"{p.heap_start} = _ebss;",
        f"{p.heap_end} = ORIGIN({p.ram_region}) + LENGTH({p.ram_region});",
        "",
        f'ASSERT({p.stack_size} % 8 == 0, "{p.stack_size} must be a multiple of 8")',
        "",
    ]
    for r in layout.regions:
        if r.name not in (flash.name, ram.name):
            notes.append(f"region {r.name} is kept in MEMORY but the {p.name} runtime does "
                         "not place anything there")
    target: dict[str, object] = {
        "linkerscript": "OUT.ld",
        "ldflags": [p.target_json_ldflag.format(size=stack_size)],
    }
    return Adapted("\n".join(lines), target, tuple(notes))
