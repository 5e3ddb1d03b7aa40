"""The reference firmware (examples/refmw) is the project's ground truth, so check it holds.

1. Rebuilt from source (where the cross compilers exist), every committed ELF is
   bit-identical to the fresh one: the Makefile uses relative source paths,
   -fdebug-prefix-map, --build-id=none and -fno-ident, so neither the checkout path nor
   the build directory leaks into the file.
2. Under qemu every build prints exactly its recorded expected/<build>.out and exits
   with its recorded status (0, or 1 for the small-stack variant that detects its
   overflowed canary).  Only stdout is compared: qemu's lm3s6965 model prints a harmless
   "Timer with period zero" warning on stderr.  The recorded priorities were read back
   under qemu 7.2, which keeps all 8 priority bits.
3. Every C function that has a symbol in an ELF has a GCC -fstack-usage (.su) record in
   that build's directory (matched through DWARF, because the ELF names are asm labels
   such as runtime.alloc while .su files use the C name); every other function symbol
   comes from an assembly file.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

REFMW = Path(__file__).resolve().parent.parent / "examples" / "refmw"
BUILD = REFMW / "build"
EXPECTED = REFMW / "expected"


@dataclass(frozen=True)
class Build:
    """One committed firmware build and how to run it."""

    name: str  # refmw-<name>.elf, build/<name>/*.su, expected/refmw-<name>.out
    qemu: str
    machine: tuple[str, ...]
    exit_status: int

    @property
    def elf(self) -> Path:
        return BUILD / f"refmw-{self.name}.elf"


_SEMIHOSTING = ("-semihosting-config", "enable=on,target=native")
BUILDS = (
    Build("m3", "qemu-system-arm", ("-M", "lm3s6965evb", *_SEMIHOSTING), 0),
    Build("m4f", "qemu-system-arm", ("-M", "mps2-an386", *_SEMIHOSTING), 0),
    Build("m3-small-stack", "qemu-system-arm", ("-M", "lm3s6965evb", *_SEMIHOSTING), 1),
    Build("m3-stack-top", "qemu-system-arm", ("-M", "lm3s6965evb", *_SEMIHOSTING), 0),
    Build("rv32", "qemu-system-riscv32", ("-M", "virt", "-bios", "none"), 0),
)
IDS = [b.name for b in BUILDS]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the Makefile into a fresh directory, once for the module."""
    for tool in ("make", "arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    out = tmp_path_factory.mktemp("refmw-build")
    proc = subprocess.run(
        ["make", "-s", "-j4", "-C", str(REFMW), f"BUILD={out}"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_rebuild_is_bit_identical(build: Build, rebuilt: Path) -> None:
    fresh = rebuilt / build.elf.name
    assert fresh.read_bytes() == build.elf.read_bytes(), (
        f"{build.elf.name} differs from a rebuild: run `make -C examples/refmw` and commit"
    )


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_rebuild_su_files_match(build: Build, rebuilt: Path) -> None:
    committed = {p.name: p.read_text() for p in (BUILD / build.name).glob("*.su")}
    fresh = {p.name: p.read_text() for p in (rebuilt / build.name).glob("*.su")}
    assert committed and committed == fresh


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_runs_under_qemu_with_recorded_output(build: Build) -> None:
    if shutil.which(build.qemu) is None:
        pytest.skip(f"{build.qemu} is not installed")
    proc = subprocess.run(
        [build.qemu, *build.machine, "-nographic", "-monitor", "none", "-serial", "stdio",
         "-kernel", str(build.elf)],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
    )
    expected = (EXPECTED / f"refmw-{build.name}.out").read_bytes()
    assert proc.stdout.decode() == expected.decode()
    assert proc.returncode == build.exit_status


def _su_records(directory: Path) -> set[tuple[str, str]]:
    """(source file, C function name) pairs from every .su file of one build."""
    records = set()
    for su in directory.glob("*.su"):
        for line in su.read_text().splitlines():
            location, _frame, _kind = line.split("\t")
            source, _line, _col, name = location.split(":")
            records.add((source, name))
    return records


def _dwarf_functions(elf: ELFFile) -> tuple[dict[int, tuple[str, str]], list[tuple[int, int]]]:
    """C functions by start address -> (compile unit, C name); address ranges of asm units."""
    functions: dict[int, tuple[str, str]] = {}
    asm_ranges: list[tuple[int, int]] = []
    dwarf = elf.get_dwarf_info()
    for cu in dwarf.iter_CUs():
        top = cu.get_top_DIE()
        unit = top.attributes["DW_AT_name"].value.decode()
        if unit.endswith(".S"):
            for entry in dwarf.range_lists().get_range_list_at_offset(
                top.attributes["DW_AT_ranges"].value, cu=cu
            ) if "DW_AT_ranges" in top.attributes else []:
                asm_ranges.append((entry.begin_offset, entry.end_offset))
            if "DW_AT_low_pc" in top.attributes and "DW_AT_high_pc" in top.attributes:
                low = top.attributes["DW_AT_low_pc"].value
                high = top.attributes["DW_AT_high_pc"].value
                asm_ranges.append((low, low + high if high < low else high))
            continue
        for die in cu.iter_DIEs():
            if die.tag != "DW_TAG_subprogram" or "DW_AT_low_pc" not in die.attributes:
                continue
            origin = die
            while "DW_AT_name" not in origin.attributes:
                ref = ("DW_AT_abstract_origin" if "DW_AT_abstract_origin" in origin.attributes
                       else "DW_AT_specification")
                origin = origin.get_DIE_from_attribute(ref)
            functions[die.attributes["DW_AT_low_pc"].value] = (
                unit, origin.attributes["DW_AT_name"].value.decode())
    return functions, asm_ranges


@pytest.mark.parametrize("build", BUILDS, ids=IDS)
def test_su_file_for_every_c_function(build: Build) -> None:
    su = _su_records(BUILD / build.name)
    with build.elf.open("rb") as f:
        elf = ELFFile(f)
        functions, asm_ranges = _dwarf_functions(elf)
        symtab = elf.get_section_by_name(".symtab")
        assert isinstance(symtab, SymbolTableSection)
        symbols = [(s.name, s["st_value"] & ~1) for s in symtab.iter_symbols()
                   if s["st_info"]["type"] == "STT_FUNC"]
    assert symbols
    checked = 0
    for name, address in symbols:
        if address in functions:
            assert functions[address] in su, f"{name}: no .su record for {functions[address]}"
            checked += 1
        else:
            assert any(lo <= address < hi for lo, hi in asm_ranges), (
                f"{name} at {address:#x} is neither a C function with DWARF nor assembly")
    assert checked >= 15
