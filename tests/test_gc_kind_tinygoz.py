"""The GC kind from evidence that survives -opt=z: what the allocator does with its layout argument.

tests/fixtures/tinygoz: tinygoz.elf has a conservative runtime.alloc (it never reads r1, the
layout); tinygoz-inlined.elf a precise one whose named helpers (runtime.gcLayout*) were inlined
away: only `mov r4, r1` ... `str r4, [r0]` in runtime.alloc tells.
"""

from __future__ import annotations

from conftest import FIXTURES

from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.limits import gc

TINYGOZ = FIXTURES / "tinygoz"


def test_argument_read_finds_the_first_use_of_an_entry_register():
    m = code_model(image_mod.load(TINYGOZ / "tinygoz-inlined.elf"))
    alloc = m.function("runtime.alloc")
    at = m.argument_read("runtime.alloc", 1)
    assert at is not False and at is not None and alloc.address <= at < alloc.address + alloc.size
    ins = next(i for i in m.instructions("runtime.alloc") if i.address == at)
    assert ins.copy_from == m.register("r1")  # mov r4, r1
    assert m.argument_read("runtime.alloc", 0) is not False  # the size is used too
    plain = code_model(image_mod.load(TINYGOZ / "tinygoz.elf"))
    assert plain.argument_read("runtime.alloc", 1) is False
    assert plain.argument_read("no.such.function", 1) is None


def test_precise_collector_told_by_the_allocator_without_its_named_helpers():
    img = image_mod.load(TINYGOZ / "tinygoz-inlined.elf")
    assert not any(s.name.startswith(("runtime.gcLayout", "runtime.parseGCLayout")) for s in img.symbols)
    analysis = gc.analyse(img)
    assert analysis.gc_kind == "precise"
    assert any("uses its layout argument" in e for e in analysis.evidence)


def test_conservative_collector_ignores_the_layout():
    analysis = gc.analyse(image_mod.load(TINYGOZ / "tinygoz.elf"))
    assert analysis.gc_kind == "conservative"
    assert any("never reads its layout argument" in e for e in analysis.evidence)


def test_riscv_reads_come_from_the_operands():
    """Capstone gives no register access lists for RISC-V: reads come from the operands, and a
    compressed two-operand form (c.addi a0, 4) reads its destination too."""
    from gomcu.code.arch_riscv import RiscvDecoder
    from gomcu.code.constprop import entry_value_read

    d = RiscvDecoder()
    uses = bytes.fromhex("1105" "2e86" "10c1" "8280")  # c.addi a0,4; c.mv a2,a1; sw a2,0(a0); ret
    ignores = bytes.fromhex("8d45" "2e95" "8280")  # li a1,3; add a0,a0,a1; ret
    insns = d.decode(uses, 0, lambda a: None)
    assert d.register("a0") in insns[0].reads and insns[1].reads == (d.register("a1"),)
    a1 = d.register("a1")
    assert entry_value_read(insns, 0, len(uses), {}, a1, d.clobbered) == 2
    insns = d.decode(ignores, 0, lambda a: None)
    assert entry_value_read(insns, 0, len(ignores), {}, a1, d.clobbered) is False
