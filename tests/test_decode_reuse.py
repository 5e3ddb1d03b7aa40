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


@pytest.mark.parametrize("elf", ARM_ELVES, ids=lambda p: p.name)
def test_moved_summaries_equal_a_decoding_without_reuse(elf: Path) -> None:
    """Branches, calls and literal loads reused from another instruction with the same operand
    text before the pc-relative operand (target or literal offset read from this one's operand,
    the literal word read again) equal a decoding that reuses nothing, over every function's
    whole extent (literal pools decoded as code included) and from 2 bytes in (a re-decode after
    a pool starts there), with one decoder shared by all of them as the code model shares it."""
    image = load(elf)
    built = CodeModel(image)
    shared, plain = ThumbDecoder(image.core), ThumbDecoder(image.core, reuse=False)
    moved = 0
    for function in built.functions:
        for lo in (function.address, function.address + 2):
            code = image.read(lo, function.address + function.size - lo) or b""
            assert shared.decode(code, lo, built.word) == plain.decode(code, lo, built.word), (function.name, lo)
    moved = {how for how, _, _ in shared._memo_moved.values()}
    assert {"target", "literal value"} <= moved, "no moved summary was reused: the test does not see them"


def test_fast_reader_agrees_with_capstone_objects() -> None:
    """Instruction boundaries and conditions read straight from capstone's instruction array
    equal those of its public `CsInsn` objects."""
    import capstone

    image = load(REFMW_BUILD / "refmw-m3.elf")
    built = CodeModel(image)
    cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    cs.detail = True
    compared = 0
    for function in built.functions:
        for lo, hi in built._code_runs(function.address, function.address + function.size):
            code = image.read(lo, hi - lo) or b""
            ours = [i for i in ThumbDecoder(image.core, reuse=False).decode(code, lo, built.word)
                    if i.kind is not Kind.INVALID]
            theirs = list(cs.disasm(code, lo))
            assert [(i.address, i.size) for i in ours] == [(i.address, i.size) for i in theirs[: len(ours)]]
            for mine, cs_insn in zip(ours, theirs):
                if mine.kind is Kind.OTHER and mine.dst is None:
                    assert mine.conditional == (cs_insn.cc not in (capstone.arm.ARM_CC_AL, capstone.arm.ARM_CC_INVALID))
            compared += len(ours)
    assert compared > 1000


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
