"""Shared helpers for the linker-script tests: build the fixture objects, link a script with
GNU ld (the oracle) and compare its ELF with gomcu's evaluated layout.

Only the tests read the linked ELF with pyelftools; the library reads it through gomcu.image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from gomcu.linker import evaluate, load_script, parse_defsym, read_linked, read_object
from gomcu.linker.layout import Layout

FIXTURES = Path(__file__).parent / "fixtures" / "ld"
SRC = FIXTURES / "src"
COMMON = FIXTURES / "common"
REFMW = Path(__file__).parent.parent / "examples" / "refmw"

GCC = shutil.which("arm-none-eabi-gcc")
LD = shutil.which("arm-none-eabi-ld")
needs_toolchain = pytest.mark.skipif(GCC is None or LD is None,
                                     reason="arm-none-eabi-gcc/ld not installed")
CFLAGS = ["-mcpu=cortex-m4", "-mthumb", "-O1", "-ffunction-sections", "-fdata-sections",
          "-fno-ident", "-ffreestanding", "-fno-common"]


@dataclass(frozen=True)
class Case:
    """One oracle case: a script, the fixture sources to link, -L dirs and --defsym values."""

    script: str
    sources: tuple[str, ...]
    search: tuple[str, ...] = ()
    defsyms: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.script.removesuffix(".ld")


CASES = (
    Case("cubemx_style.ld", ("startup.c", "app.c", "extra_cubemx.c")),
    Case("pico_style.ld", ("startup.c", "app.c", "extra_pico.c")),
    Case("nrf_style.ld", ("startup.c", "app.c", "extra_nrf.c"), (str(COMMON),)),
    Case("tinygo_style_chip.ld", ("startup.c", "app.c", "extra_tinygo.c"), (str(COMMON),),
         ("_stack_size=4096",)),
    Case("tinygo_style_chip.ld", ("startup.c", "app.c", "extra_tinygo.c"), (str(COMMON),),
         ("_stack_size=0x800",)),
    Case("constructs.ld", ("constructs.S",)),
    Case("orphans.ld", ("orphans.S",)),
    Case("noload_lma.ld", ("rules.S",)),
    Case("stack_at_ram.ld", ("rules.S",)),
    Case("own_loadaddr.ld", ("rules.S",)),
    Case("end_after_discard.ld", ("rules.S",)),
    Case("provide_chain.ld", ("rules.S", "tls_user.S")),
    Case("slash_symbol.ld", ("rules.S",)),
    Case("discarding.ld", ("rules.S",)),
    Case("missing_region.ld", ("rules.S",)),
    Case("nomemory.ld", ("startup.c", "app.c")),
)


def compile_sources(sources: tuple[str, ...], out_dir: Path) -> list[str]:
    objects = []
    for name in sources:
        obj = out_dir / (Path(name).stem + ".o")
        if not obj.exists():
            subprocess.run([GCC, *CFLAGS, "-c", str(SRC / name), "-o", str(obj)], check=True,
                           capture_output=True)
        objects.append(str(obj))
    return objects


def link(script: Path, objects: list[str], out: Path, search: tuple[str, ...] = (),
         defsyms: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    args = [LD]
    for d in search:
        args += ["-L", d]
    for d in defsyms:
        args.append(f"--defsym={d}")
    args += ["-T", str(script), *objects, "-o", str(out)]
    return subprocess.run(args, capture_output=True, text=True)


def evaluate_case(script: Path, objects: list[str], search: tuple[str, ...],
                  defsyms: tuple[str, ...], elf: str | None = None) -> Layout:
    parsed = load_script(str(script), list(search))
    defs = [parse_defsym(d) for d in defsyms]
    if elf is not None:
        return evaluate(parsed, defs, [read_linked(elf)], linked=True)
    return evaluate(parsed, defs, [read_object(o) for o in objects])


@dataclass(frozen=True)
class ElfFacts:
    sections: dict[str, tuple[int, int, int, bool, bool]]  # name -> vma, lma, size, alloc, nobits
    symbols: dict[str, int]


def elf_facts(path: str) -> ElfFacts:
    """Section VMA/LMA/size and symbol values of a linked ELF, read with pyelftools."""
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        sections = {}
        for s in elf.iter_sections():
            if not s.name or s["sh_type"] in ("SHT_SYMTAB", "SHT_STRTAB"):
                continue
            vma, size = s["sh_addr"], s["sh_size"]
            alloc = bool(s["sh_flags"] & 2)
            nobits = s["sh_type"] == "SHT_NOBITS"
            lma = vma
            for seg in loads:
                in_memory = seg["p_vaddr"] <= vma < seg["p_vaddr"] + seg["p_memsz"]
                in_file = seg["p_offset"] <= s["sh_offset"] < seg["p_offset"] + seg["p_filesz"]
                # a NOBITS (NOLOAD, .bss) section's load address is its segment's too
                if in_memory and (in_file or nobits):
                    lma = seg["p_paddr"] + vma - seg["p_vaddr"]
                    break
            sections[s.name] = (vma, lma, size, alloc, nobits)
        symbols = {sym.name: sym["st_value"] for sym in elf.get_section_by_name(".symtab")
                   .iter_symbols() if sym.name}
    return ElfFacts(sections, symbols)


def object_symbols(objects: list[str]) -> set[str]:
    names: set[str] = set()
    for o in objects:
        f = read_object(o)
        names |= {n for n, _, _ in f.defined} | {n for n, _ in f.absolute}
    return names


def differences(layout: Layout, facts: ElfFacts, script_targets: set[str],
                objects_define: set[str], check_symbol_values: bool = True) -> list[str]:
    """Everything on which gomcu's layout and the ELF linked by GNU ld disagree."""
    out: list[str] = []
    kept = {s.name: s for s in layout.sections if not s.discarded}
    for name, (vma, lma, size, alloc, nobits) in facts.sections.items():
        mine = kept.get(name)
        if mine is None:
            if alloc:
                out.append(f"section {name}: in the ELF, not in the layout")
            continue
        if (mine.vma, mine.size if alloc else size) != (vma, size):
            # (ld synthesises non-allocated sections such as .ARM.attributes: address only)
            out.append(f"section {name}: layout vma {mine.vma:#x} size {mine.size:#x}, "
                       f"ld vma {vma:#x} size {size:#x}")
        if alloc and size and mine.lma != lma:
            out.append(f"section {name}: layout lma {mine.lma:#x}, ld lma {lma:#x}")
    for name, s in kept.items():
        if name not in facts.sections and name != "/DISCARD/":
            out.append(f"section {name}: in the layout, not in the ELF")
    defined_by_script = {t for t in script_targets if t in facts.symbols
                         and t not in objects_define}
    mine_names = set(layout.symbols)
    for name in sorted(defined_by_script ^ (mine_names & script_targets)):
        out.append(f"symbol {name}: defined by {'ld' if name in defined_by_script else 'gomcu'}"
                   " only")
    if check_symbol_values:
        for name, value in layout.symbols.items():
            if name in facts.symbols and name not in objects_define and \
                    facts.symbols[name] != value.value:
                out.append(f"symbol {name}: layout {value.value:#x}, ld "
                           f"{facts.symbols[name]:#x}")
    return out


def script_targets(layout_script) -> set[str]:
    """Every symbol name a script assigns (at any depth)."""
    from gomcu.linker import ast

    names: set[str] = set()

    def visit(node) -> None:
        if isinstance(node, ast.Assignment) and node.target != ".":
            names.add(node.target)
        elif isinstance(node, ast.Sections):
            for i in node.items:
                visit(i)
        elif isinstance(node, ast.OutputSection):
            for i in node.items:
                visit(i)
        elif isinstance(node, ast.Overlay):
            for s in node.sections:
                visit(s)
                stem = "".join(c if c.isalnum() or c == "_" else "_" for c in s.name.lstrip("."))
                names.update({f"__load_start_{stem}", f"__load_stop_{stem}"})

    for cmd in layout_script.commands:
        visit(cmd)
    return names


@pytest.fixture(scope="session")
def object_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ld-objects")


def refmw_ready() -> bool:
    return (REFMW / "refmw-m3.ld").exists() and (REFMW / "build" / "refmw-m3.elf").exists()


__all__ = ["CASES", "COMMON", "FIXTURES", "REFMW", "Case", "compile_sources", "differences",
           "elf_facts", "evaluate_case", "link", "needs_toolchain", "object_symbols",
           "refmw_ready", "script_targets", "os"]


def mid_section_symbols(parsed) -> set[str]:
    """Symbols assigned between two input-section descriptions of one output section: with
    --elf the evaluator knows only the section's total size, so these are approximate."""
    from gomcu.linker import ast

    out: set[str] = set()

    def visit_section(sec) -> None:
        spec_positions = [i for i, item in enumerate(sec.items) if isinstance(item, ast.InputSpec)]
        if len(spec_positions) < 1:
            return
        first, last = spec_positions[0], spec_positions[-1]
        for i, item in enumerate(sec.items):
            if isinstance(item, ast.Assignment) and first < i < last:
                out.add(item.target)

    for cmd in parsed.commands:
        if isinstance(cmd, ast.Sections):
            for item in cmd.items:
                if isinstance(item, ast.OutputSection):
                    visit_section(item)
    return out
