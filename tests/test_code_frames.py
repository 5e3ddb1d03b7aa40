"""Frames from the disassembly equal GCC's -fstack-usage on every function it reports."""

from __future__ import annotations

from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from conftest import FIXTURES, REFMW_BUILD
from gomcu import image
from gomcu.code import model

STACK_FIXTURES = FIXTURES / "stack"


def su_entries(directory: Path) -> dict[str, tuple[int, str]]:
    """C name -> (bytes, qualifier) from every .su file of a build directory."""
    out: dict[str, tuple[int, str]] = {}
    for su in sorted(directory.glob("*.su")):
        for line in su.read_text().splitlines():
            location, size, qualifier = line.split("\t")
            out[location.rsplit(":", 1)[-1]] = (int(size), qualifier)
    return out


def c_to_symbol(path: Path) -> dict[str, str]:
    """C name -> ELF symbol for functions renamed with asm labels (DWARF linkage names)."""
    names: dict[str, str] = {}
    with open(path, "rb") as stream:
        elf = ELFFile(stream)
        if not elf.has_dwarf_info():
            return names
        for cu in elf.get_dwarf_info(relocate_dwarf_sections=False).iter_CUs():
            for die in cu.iter_DIEs():
                if die.tag != "DW_TAG_subprogram":
                    continue
                a = die.attributes
                if "DW_AT_name" in a and "DW_AT_linkage_name" in a:
                    names[a["DW_AT_name"].value.decode()] = a["DW_AT_linkage_name"].value.decode().strip('"')
    return names


BUILDS = [
    (STACK_FIXTURES / "stackfx-m0.elf", STACK_FIXTURES / "m0"),
    (STACK_FIXTURES / "stackfx-m4f.elf", STACK_FIXTURES / "m4f"),
    (STACK_FIXTURES / "stackfx-rv32.elf", STACK_FIXTURES / "rv32"),
    (REFMW_BUILD / "refmw-m3.elf", REFMW_BUILD / "m3"),
    (REFMW_BUILD / "refmw-m4f.elf", REFMW_BUILD / "m4f"),
    (REFMW_BUILD / "refmw-rv32.elf", REFMW_BUILD / "rv32"),
    (REFMW_BUILD / "refmw-m3-small-stack.elf", REFMW_BUILD / "m3-small-stack"),
]


@pytest.mark.parametrize("elf,su_dir", BUILDS, ids=[b[0].stem for b in BUILDS])
def test_frames_equal_stack_usage(elf: Path, su_dir: Path) -> None:
    if not elf.exists():
        pytest.skip(f"{elf} not built")
    expected = su_entries(su_dir)
    assert expected, f"no .su files in {su_dir}"
    renamed = c_to_symbol(elf)
    code = model(image.load(elf))
    checked = 0
    for c_name, (size, qualifier) in expected.items():
        fn = code.function(renamed.get(c_name, c_name))
        if fn is None:
            continue  # inlined everywhere or removed by --gc-sections
        checked += 1
        if qualifier.startswith("dynamic"):
            assert fn.frame.dynamic, f"{fn.name}: GCC says dynamic"
            assert fn.frame_bytes is None
            assert fn.frame.bytes <= size
        else:
            assert not fn.frame.dynamic, f"{fn.name}: {fn.frame.notes}"
            assert fn.frame_bytes == size, f"{fn.name}: computed {fn.frame_bytes}, GCC {size}"
    assert checked >= len(expected) // 2, f"only {checked} of {len(expected)} .su entries found in the ELF"


def test_asm_frames_of_the_reference_firmware() -> None:
    """Assembly has no .su entry: the computed pushes stand (examples/README.md)."""
    elf = REFMW_BUILD / "refmw-m3.elf"
    if not elf.exists():
        pytest.skip("reference firmware not built")
    code = model(image.load(elf))
    assert code.function("tinygo_swapTask").frame_bytes == 36
    assert code.function("tinygo_scanCurrentStack").frame_bytes == 40
    assert code.function("tinygo_startTask").frame_bytes == 0


def test_real_dynamic_and_literal_pools_are_not_code() -> None:
    code = model(image.load(STACK_FIXTURES / "stackfx-m0.elf"))
    dyn = code.function("dynamic")
    assert dyn.frame.dynamic and dyn.frame_bytes is None
    # literal pools after via_pointer's `bx r3` are $d: nothing undecodable anywhere
    assert not any("could not decode" in n for f in code.functions for n in f.notes)


@pytest.mark.parametrize("name", ["refmw-m3.elf", "refmw-m4f.elf", "refmw-rv32.elf"])
def test_frames_agree_with_debug_frame(name: str) -> None:
    """Two independent accounts of every frame: the prologue as gomcu reads it, and GCC's CFI."""
    from gomcu.code.cfi_check import cross_check_frames

    check = cross_check_frames(model(image.load(REFMW_BUILD / name)))
    assert check.checked >= 15
    assert check.disagreements == ()
