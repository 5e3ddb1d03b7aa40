"""Speed paths that must not change an answer: Thumb summaries reused by encoding, and the
DWARF line programs run over their bytes instead of through pyelftools."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES, REFMW_BUILD, ROOT
from gomcu.code.arch_thumb import ThumbDecoder
from gomcu.code.model import CodeModel
from gomcu.code.types import Kind
from gomcu.image import load, lineprog

ARM_ELVES = [REFMW_BUILD / "refmw-m3.elf", REFMW_BUILD / "refmw-m4f.elf", ROOT / "examples/embeddedgo/egofw.elf",
             FIXTURES / "tinygoz/tinygoz.elf", FIXTURES / "stack/stackfx-m0.elf"]


@pytest.mark.parametrize("elf", ARM_ELVES, ids=lambda p: p.name)
def test_reused_summaries_equal_a_fresh_decoding(elf: Path) -> None:
    """Each function decoded by a decoder that has seen nothing else gives exactly the summaries
    the code model got from its shared decoder (which reuses encodings seen in other functions)."""
    image = load(elf)
    built = CodeModel(image)
    conditional = 0
    for function in built.functions:
        shared = built.instructions(function.name)
        if not shared:
            continue
        fresh = []
        for lo, hi in built._code_runs(function.address, function.address + function.size):
            fresh.extend(ThumbDecoder(image.core).decode(image.read(lo, hi - lo) or b"", lo, built.word))
        kept = {i.address for i in shared}
        assert [i for i in fresh if i.address in kept] == shared, function.name
        conditional += sum(1 for i in shared if i.conditional and i.kind is Kind.OTHER)
    if elf.name.startswith("refmw-m3"):
        assert conditional > 0, "no IT block: the test does not see the case the memo key guards"


@pytest.mark.parametrize("elf", [p for p in ARM_ELVES if load(p).dwarf is not None], ids=lambda p: p.name)
def test_line_rows_equal_pyelftools(elf: Path) -> None:
    dwarf = load(elf).dwarf
    assert dwarf is not None
    units = 0
    for cu in dwarf._info.iter_CUs():
        program = dwarf._info.line_program_for_CU(cu)
        if program is None:
            continue
        expected = [(e.state.address, e.state.file, e.state.line, e.state.end_sequence)
                    for e in program.get_entries() if e.state is not None]
        assert lineprog.rows(program) == expected
        units += 1
    assert units > 0
