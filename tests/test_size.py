"""`gomcu size`: totals must equal arm-none-eabi-size on every fixture."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import ELF_FIXTURES, REFMW_BUILD, needs_tool, run_gomcu
from gomcu.image import load
from gomcu.limits.footprint import group, measure

FIXTURE_ELVES = sorted(p for p in ELF_FIXTURES.glob("*.elf") if p.name != "x86-64.elf") + sorted(
    REFMW_BUILD.glob("*.elf")
)


def _binutils_size(path: Path) -> tuple[int, int, int]:
    tool = "riscv64-unknown-elf-size" if "rv32" in path.name else "arm-none-eabi-size"
    out = subprocess.run([tool, "-B", str(path)], capture_output=True, text=True, check=True).stdout
    text, data, bss = map(int, out.splitlines()[1].split()[:3])
    return text, data, bss


@needs_tool("arm-none-eabi-size")
@needs_tool("riscv64-unknown-elf-size")
@pytest.mark.parametrize("path", FIXTURE_ELVES, ids=lambda p: p.name)
def test_totals_equal_binutils_size(path: Path) -> None:
    fp = measure(load(path))
    assert (fp.text, fp.data, fp.bss) == _binutils_size(path)
    assert fp.flash_bytes == fp.text + fp.data
    assert fp.ram_bytes == fp.data + fp.bss


def test_symbols_and_groups_add_up() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    fp = measure(image)
    by_file = group(fp, "file", image)
    assert sum(g.flash_bytes for g in by_file) == fp.flash_bytes
    assert sum(g.ram_bytes for g in by_file) == fp.ram_bytes
    names = {s.name: s for s in fp.symbols}
    assert names["buffer"].size == 1024 and names["buffer"].kind == "bss"
    assert names["counter"].kind == "data"
    assert any(g.name.endswith("mini.c") for g in by_file)


def test_heap_and_runtime_regions_from_linker_symbols() -> None:
    image = load(ELF_FIXTURES / "mini-m4f.elf")
    fp = measure(image)
    heap_start = image.symbol("_heap_start")
    assert heap_start is not None
    assert fp.heap_bytes == 0x20000000 + 16 * 1024 - heap_start.address
    stack = next(r for r in fp.runtime_regions if r.name == "system stack")
    assert (stack.origin, stack.length) == (0x20000000, 2048)


def test_json_keys() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m4f.elf"), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    for key in ("schema_version", "flash_bytes", "ram_bytes", "heap_bytes", "sections", "regions", "symbols", "packages"):
        assert key in doc
    assert doc["flash_bytes"] == doc["text"] + doc["data"]


def test_text_view_by_symbol() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m4f.elf"), "--by", "symbol", "--top", "3")
    assert result.returncode == 0, result.stderr
    assert re.search(r"buffer\s+│?\s*0\s+│?\s*1024", result.stdout)


def test_stripped_firmware_says_what_it_cannot_attribute() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-stripped.elf"))
    assert result.returncode == 0
    assert "no symbols" in result.stdout
    assert "unattributed" in result.stdout


def test_go_package_grouping() -> None:
    from gomcu.runtime.names import go_package

    assert go_package("(*fmt.pp).printArg") == "fmt"
    assert go_package("internal/task.start") == "internal/task"
    assert go_package("github.com/user/drv.(*Device).Read") == "github.com/user/drv"
    assert go_package("strconv$alloc.193") == "strconv"
    assert go_package("reflect/types.type:struct:{r:named:io.Reader}") == "reflect/types"
    assert go_package("memcpy.part.0") is None
    assert go_package("Reset_Handler") is None


def test_chip_that_cannot_run_the_firmware_is_bad_input() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m4f.elf"), "--chip", "lm3s6965")
    assert result.returncode == 2
    assert "cannot run this firmware" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_unknown_chip_suggests_names() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m4f.elf"), "--chip", "stm32f4077")
    assert result.returncode == 2 and "did you mean" in result.stderr and "stm32f407" in result.stderr


def test_sections_outside_the_chip_memory_map_fail() -> None:
    """mini is linked for flash at 0; an STM32F407's flash is at 0x08000000."""
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m4f.elf"), "--chip", "stm32f407", "--format", "json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert any(f["rule"] == "memory.outside-chip" for f in doc["findings"])


def test_region_use_against_chip() -> None:
    result = run_gomcu("size", str(ELF_FIXTURES / "mini-m0.elf"), "--chip", "lm3s6965", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    regions = {r["kind"]: r for r in doc["regions"]}
    assert regions["flash"]["used"] == doc["flash_bytes"]
    assert regions["sram"]["used"] == doc["ram_bytes"]


def test_region_overflow_is_reported_as_ld_would() -> None:
    """The reference firmware's 16 KiB .bss buffer cannot fit an LM3S6965 cut down to 16 KiB of SRAM."""
    import dataclasses

    from gomcu.chips import find_chip
    from gomcu.limits.footprint import check_fit

    chip = find_chip("lm3s6965")
    small = dataclasses.replace(
        chip, regions=tuple(dataclasses.replace(r, length=16 * 1024) if r.kind == "sram" else r for r in chip.regions)
    )
    fp = measure(load(REFMW_BUILD / "refmw-m3.elf"), small)
    findings = check_fit(fp, small)
    overflow = [f for f in findings if f.rule == "memory.region-overflow"]
    assert len(overflow) == 1
    assert f"overflowed by {fp.ram_bytes - 16 * 1024} bytes" in overflow[0].message


def test_bracketed_names_are_printed_as_they_are(tmp_path: Path) -> None:
    """TinyGo names generic instances `f[pkg.T]`; the terminal view must not eat the brackets."""
    data = (ELF_FIXTURES / "mini-m4f.elf").read_bytes()
    assert data.count(b"\x00checksum\x00") >= 1  # .strtab (and .debug_str)
    renamed = tmp_path / "generic.elf"
    renamed.write_bytes(data.replace(b"\x00checksum\x00", b"\x00f[i/x.T]\x00"))
    result = run_gomcu("size", str(renamed), "--by", "symbol", "--top", "5")
    assert result.returncode == 0, result.stderr
    assert "f[i/x.T]" in result.stdout
