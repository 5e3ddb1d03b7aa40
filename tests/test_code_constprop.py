"""Constant propagation through registers (gomcu.code.constprop) on hand-written TinyGo -opt=z shapes.

tests/fixtures/tinygoz/tinygoz.S: r9 = internal/task.start and r7 = internal/task.stackSizes
loaded once and kept across calls and a loop; an outlined helper that tail-calls through r9
with the caller's r5/r7; an entry built with movw/movt; sizes read through r7 plus offsets.
"""

from __future__ import annotations


from conftest import FIXTURES, assert_rebuilds_identically, needs_tool

from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.code.arch_thumb import ThumbDecoder
from gomcu.code.types import Kind

TINYGOZ = FIXTURES / "tinygoz"


def _model(name: str = "tinygoz.elf"):
    return code_model(image_mod.load(TINYGOZ / name))


def _sites(m, caller: str, kind: Kind) -> list[int]:
    return [i.address for i in m.instructions(caller) if i.kind is kind]


def _table(m) -> tuple[int, list[int]]:
    sym = m.image.symbol("internal/task.stackSizes")
    return sym.address, [m.word(sym.address + 4 * i) for i in range(sym.size // 4)]


def test_table_in_a_writable_flash_section_is_a_known_word():
    m = _model()
    address, sizes = _table(m)
    assert m.image.section_at(address).write  # flagged WA by the assembler, placed in flash
    assert sizes == [152, 392, 216, 264]
    assert m.word(m.image.symbol("runtime.deferFrame").address) is None  # .bss: not constant


def test_registers_kept_across_calls_and_a_loop():
    m = _model()
    wrapper = "runtime.run$1$gowrapper"
    blx, after = _sites(m, wrapper, Kind.INDIRECT_CALL)  # blx r9 inside the loop, after three calls; after it
    regs = m.registers_at(blx)
    start = m.function("internal/task.start").address
    sender = m.function("main.sender$gowrapper").address
    table, sizes = _table(m)
    assert regs[m.register("r9")].value == start | 1
    assert regs[m.register("r0")].value == sender | 1 and regs[m.register("r0")].how == "movw/movt"
    r2 = regs[m.register("r2")]
    assert r2.loaded_from == table + 8 and r2.value == sizes[2]
    # r4 counts the loop down: its values differ where the paths join, so it is not known
    assert m.register("r4") not in regs
    site = next(c for c in m.function(wrapper).calls if c.address == blx)
    assert site.callee == "internal/task.start" and site.kind == "call"
    # after the loop: the entry comes from a func value in RAM (not constant), its address does
    late = m.registers_at(after)
    assert late[m.register("r0")].value is None and late[m.register("r0")].loaded_from == \
        m.image.symbol("main.idleFunc").address
    assert late[m.register("r9")].value == start | 1 and late[m.register("r2")].loaded_from == table + 12


def test_call_clobbers_argument_registers_only():
    m = _model()
    calls = _sites(m, "runtime.run", Kind.CALL)
    after = m.registers_at(calls[-1])  # bl runtime.scheduler, after bl internal/task.start
    assert not {m.register(r) for r in ("r0", "r1", "r2", "r3")} & set(after)
    assert m.register("r4") not in after  # runtime.run never set it
    args = m.call_arguments(calls[0])  # bl internal/task.start
    assert args[0].value == m.function("runtime.run$1$gowrapper").address | 1
    assert args[1].value == 0
    assert args[2].loaded_from == _table(m)[0] + 4


def test_outlined_helper_resolved_per_call_site():
    m = _model()
    outlined = m.function("OUTLINED_FUNCTION_1")
    (jump,) = outlined.calls
    assert jump.callee == "internal/task.start" and jump.kind == "tail-call"
    assert "caller's registers" in jump.resolved_by
    assert not m.unresolved_calls or all(c.caller != outlined.name for c in m.unresolved_calls)


def test_calls_to_gives_every_start_with_its_arguments():
    m = _model()
    table, _ = _table(m)
    worker = m.function("main.worker$gowrapper").address | 1
    starts = m.calls_to("internal/task.start")
    seen = sorted((s.site.caller, s.via.caller if s.via else "", s.arguments[0].value or 0,
                   s.arguments[2].loaded_from) for s in starts)
    assert seen == sorted([
        ("runtime.run", "", m.function("runtime.run$1$gowrapper").address | 1, table + 4),
        ("runtime.run$1$gowrapper", "", m.function("main.sender$gowrapper").address | 1, table + 8),
        ("runtime.run$1$gowrapper", "", 0, table + 12),  # go f(): the entry is not known
        ("OUTLINED_FUNCTION_1", "runtime.run$1$gowrapper", worker, table),
        ("OUTLINED_FUNCTION_1", "runtime.run$1$gowrapper", worker, table),
    ])
    vias = {s.via.address for s in starts if s.via}
    assert vias == set(_sites(m, "runtime.run$1$gowrapper", Kind.CALL)[:2])


def test_pop_and_writeback_forget_the_registers_they_overwrite():
    code = bytes.fromhex("30bc" "82c0")  # pop {r4, r5}; stmia r0!, {r1, r7}
    insns = ThumbDecoder().decode(code, 0x1000, lambda a: None)
    d = ThumbDecoder()
    assert set(insns[0].writes) >= {d.register("r4"), d.register("r5")}
    assert d.register("r0") in insns[1].writes


@needs_tool("arm-none-eabi-gcc")
@needs_tool("make")
def test_tinygoz_fixtures_rebuild_bit_identical(tmp_path):
    assert_rebuilds_identically(TINYGOZ, tmp_path, ("tinygoz.S", "tinygoz.ld", "Makefile"),
                                ("tinygoz.elf", "tinygoz-inlined.elf", "tinygoz-notable.elf"))
