"""The ELF image loader on real ELF files, including deliberately broken ones."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import ELF_FIXTURES, needs_tool, run_gomcu
from gomcu.errors import ImageError
from gomcu.image import Arch, SymbolKind, load


@pytest.mark.parametrize(
    "name, arch, core, hard_float",
    [
        ("mini-m0.elf", Arch.ARM, "ARMv6-M", False),
        ("mini-m4f.elf", Arch.ARM, "ARMv7E-M", True),
        ("mini-m33.elf", Arch.ARM, "ARMv8-M.main", False),
        ("mini-rv32.elf", Arch.RISCV32, "RV32IMAC", False),
    ],
)
def test_core_from_build_attributes(name: str, arch: Arch, core: str, hard_float: bool) -> None:
    image = load(ELF_FIXTURES / name)
    assert (image.arch, image.core, image.hard_float) == (arch, core, hard_float)


def test_thumb_bit_is_cleared_and_recorded() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    reset = image.symbol("Reset_Handler")
    assert reset is not None and reset.kind is SymbolKind.FUNC and reset.thumb
    assert reset.address % 2 == 0
    # The vector table's reset entry is the same address with the Thumb bit set.
    table = image.symbol("vector_table")
    assert table is not None
    assert image.read_word(table.address + 4) == reset.address | 1


def test_mapping_symbols_are_kept_apart_from_symbols() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    assert image.mapping_symbols, "GCC emits $t/$d mapping symbols"
    assert not any(s.name.startswith("$") for s in image.symbols)


def test_data_is_loaded_from_flash() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    data = image.section(".data")
    assert data is not None
    assert data.vma >= 0x20000000 and data.lma < 0x10000, "`.data` runs in RAM and is stored in flash"


def test_source_lines_from_dwarf() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    checksum = image.symbol("checksum")
    assert checksum is not None
    line = image.line_for(checksum.address)
    source = (ELF_FIXTURES / "mini.c").read_text().splitlines()
    assert line is not None and line.file.endswith("mini.c")
    first = next(i for i, text in enumerate(source, 1) if "int checksum(" in text)
    last = next(i for i, text in enumerate(source, 1) if i > first and text.startswith("}"))
    assert first <= line.line <= last, "the function's first instruction maps into its body"


def test_toolchain_and_compile_units() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    assert image.toolchain.name == "gcc"
    assert any(cu.name.endswith("mini.c") and cu.producer.startswith("GNU C") for cu in image.compile_units)


def test_stripped_image_loads_and_says_so() -> None:
    image = load(ELF_FIXTURES / "mini-stripped.elf")
    assert image.stripped
    assert image.toolchain.name == "unknown"
    assert image.line_for(0x10) is None


# -- bad input: each one line on stderr, exit 2, no traceback ---------------------------------


def _broken(tmp_path: Path, name: str, mutate) -> Path:  # type: ignore[no-untyped-def]
    data = bytearray((ELF_FIXTURES / "mini-m4f.elf").read_bytes())
    mutate(data)
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def _corrupt_section_table(data: bytearray) -> None:
    # e_shoff (offset 0x20 in a 32-bit header) points far past the end of the file.
    struct.pack_into("<I", data, 0x20, len(data) + 0x100000)


def _truncate(data: bytearray) -> None:
    del data[len(data) // 3 :]


def _not_elf(data: bytearray) -> None:
    data[:4] = b"\x00BAD"


@pytest.mark.parametrize(
    "name, mutate, expected",
    [
        ("notelf.elf", _not_elf, "not an ELF file"),
        ("truncated.elf", _truncate, "truncated"),
        ("badshoff.elf", _corrupt_section_table, "corrupt"),
    ],
)
def test_broken_elves_are_one_line_errors(tmp_path: Path, name: str, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _broken(tmp_path, name, mutate)
    with pytest.raises(ImageError, match=expected):
        load(path)
    result = run_gomcu("size", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.stderr


def test_x86_64_is_refused_clearly() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "x86-64.elf"))
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "unsupported architecture x86-64: gomcu reads ARM Cortex-M and RISC-V 32 firmware"
    )


def test_missing_file_and_directory() -> None:
    for path in ("/nonexistent/firmware.elf", str(ELF_FIXTURES)):
        result = run_gomcu("size", path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


@needs_tool("make")
@needs_tool("arm-none-eabi-gcc")
@needs_tool("riscv64-unknown-elf-gcc")
def test_fixtures_rebuild_identically(tmp_path: Path) -> None:
    """The committed ELFs are what their Makefile builds (the recipe next to the binary)."""
    work = tmp_path / "elf"
    shutil.copytree(ELF_FIXTURES, work)
    committed = {p.name: p.read_bytes() for p in ELF_FIXTURES.glob("mini-*.elf")}
    subprocess.run(["make", "-s", "clean"], cwd=work, check=True)
    subprocess.run(["make", "-s", *committed], cwd=work, check=True, capture_output=True)
    for name, data in committed.items():
        assert (work / name).read_bytes() == data, f"{name} differs from its rebuild"


def test_file_of_a_code_range_is_where_most_of_it_comes_from() -> None:
    from conftest import REFMW_BUILD

    image = load(REFMW_BUILD / "refmw-m3.elf")
    for name, expected in (("main.recurse", "main.c"), ("runtime.alloc", "runtime.c"), ("internal/task.start", "task.c")):
        sym = image.symbol(name)
        assert sym is not None and sym.size > 0
        assert image.file_of_range(sym.address, sym.end) == expected
    assert image.file_of_range(0xFFFF0000, 0xFFFF0010) is None


@pytest.mark.parametrize(("cpu", "core"), [("cortex-m0plus", "ARMv6-M"), ("cortex-m4", "ARMv7E-M"),
                                           ("cortex-m33", "ARMv8-M.main")])
def test_core_from_the_cpu_name_alone(cpu: str, core: str) -> None:
    """LLVM (so TinyGo) writes only Tag_CPU_name for the RP2040 (a public Pico build has exactly
    {'TAG_CPU_NAME': 'cortex-m0plus'}): the core comes from the name, not the ARMv7-M default
    that made `check --chip RP2040` refuse the chip the firmware was built for."""
    from gomcu.image.arch import decode_arm

    assert decode_arm({"TAG_CPU_NAME": cpu}, 0).core == core
    assert decode_arm({}, 0).core == "ARMv7-M"  # nothing said: the common family, as before
