"""Goroutine stacks on hand-written TinyGo -opt=z shapes (tests/fixtures/tinygoz/tinygoz.S).

Every goroutine must get its size from internal/task.stackSizes however the code reads it, and a
finite bound where its code has no recursion or unresolved call. The expected bounds are summed
here from the frames written in the assembly (push/sub counts), independently of gomcu.
"""

from __future__ import annotations

from conftest import FIXTURES

from gomcu import image as image_mod
from gomcu.code import model as code_model
from gomcu.code.types import RootKind
from gomcu.limits import stack

TINYGOZ = FIXTURES / "tinygoz"
EXC, CANARY = 32, 4  # Cortex-M3 exception frame (no FPU), canary word

# frames of tinygoz.S, from its push/sub instructions
FRAME = {
    "runtime.run$1$gowrapper": 24 + 8, "OUTLINED_FUNCTION_1": 0, "internal/task.start": 16,
    "runtime.alloc": 16 + 8, "runtime.markRoots": 8, "tinygo_scanCurrentStack": 40, "runtime.markStack": 0,
    "main.worker$gowrapper": 16, "main.sender$gowrapper": 8 + 16, "main.mayPanic": 8, "runtime.chanSend": 8 + 8,
    "internal/task.Pause": 8, "tinygo_swapTask": 36, "runtime.chanRecv": 8, "main.idle$gowrapper": 8,
    "runtime._panic": 8, "tinygo_longjmp": 0,
}
GC_PATH = FRAME["runtime.alloc"] + FRAME["runtime.markRoots"] + FRAME["tinygo_scanCurrentStack"]
PAUSE_PATH = FRAME["internal/task.Pause"] + FRAME["tinygo_swapTask"]


def _align8(n: int) -> int:
    return (n + 7) // 8 * 8


def _report(name: str):
    return stack.analyse(image_mod.load(TINYGOZ / name))


def _table(name: str) -> list[int]:
    img = image_mod.load(TINYGOZ / name)
    sym = img.symbol("internal/task.stackSizes")
    return [img.read_word(sym.address + 4 * i) for i in range(sym.size // 4)]


def test_every_goroutine_gets_its_slot_whichever_way_the_table_is_read():
    report = _report("tinygoz.elf")
    sizes = _table("tinygoz.elf")
    goroutines = {r.name: r for r in report.roots if r.root.kind is RootKind.GOROUTINE}
    assert set(goroutines) == {"runtime.run$1$gowrapper", "main.worker$gowrapper", "main.sender$gowrapper",
                               "main.idle$gowrapper"}
    # direct call, slot through r0 + 4 / outlined helper, r7 + 0 / blx r9 in a loop, r7 + 8
    for name, slot in (("runtime.run$1$gowrapper", 1), ("main.worker$gowrapper", 0), ("main.sender$gowrapper", 2)):
        g = goroutines[name]
        assert (g.root.stack_slot, g.allotted_bytes) == (slot, sizes[slot]), name
        assert g.allotted_source == f"internal/task.stackSizes[{slot}]"
    assert "OUTLINED_FUNCTION_1" in goroutines["main.worker$gowrapper"].root.evidence
    # started through a func value: the table has its slot (3) but nothing ties it: no allotment is made up
    idle = goroutines["main.idle$gowrapper"]
    assert idle.allotted_bytes is None and idle.margin is None and "not tied" in idle.allotted_source
    assert "not tied" in idle.root.evidence


def test_goroutine_bounds_are_finite_and_summed_from_the_frames():
    report = _report("tinygoz.elf")
    got = {r.name: r for r in report.roots}
    main = FRAME["runtime.run$1$gowrapper"] + FRAME["OUTLINED_FUNCTION_1"] + FRAME["internal/task.start"] + GC_PATH
    worker = FRAME["main.worker$gowrapper"] + GC_PATH  # deeper than its chanSend -> Pause path
    assert worker > FRAME["main.worker$gowrapper"] + FRAME["runtime.chanSend"] + PAUSE_PATH
    sender = FRAME["main.sender$gowrapper"] + FRAME["main.mayPanic"] + FRAME["runtime.chanSend"] + PAUSE_PATH
    idle = FRAME["main.idle$gowrapper"] + FRAME["runtime.chanRecv"] + PAUSE_PATH
    for name, calls in (("runtime.run$1$gowrapper", main), ("main.worker$gowrapper", worker),
                        ("main.sender$gowrapper", sender), ("main.idle$gowrapper", idle)):
        r = got[name]
        assert r.bounded and not r.bound.reasons, (name, r.bound.reasons)
        assert r.bound.bytes == calls, name
        assert r.bound_bytes == _align8(calls + EXC + CANARY), name
    assert got["main.worker$gowrapper"].margin == _table("tinygoz.elf")[0] - _align8(worker + EXC + CANARY)


def test_calls_through_registers_resolve_and_longjmp_ends_the_path():
    m = code_model(image_mod.load(TINYGOZ / "tinygoz.elf"))
    assert m.function("OUTLINED_FUNCTION_1").callees == ("internal/task.start",)
    assert "internal/task.start" in m.function("runtime.run$1$gowrapper").callees  # blx r9
    assert m.function("main.worker$gowrapper").callees[0] == "runtime.alloc"  # blx r6
    longjmp = m.function("tinygo_longjmp")
    assert not longjmp.calls and any("restores a context" in n for n in longjmp.notes)
    # the panic path reaches it, and the sender's bound stays finite
    assert "tinygo_longjmp" in m.reachable_from("main.sender$gowrapper")
    unresolved = {c.caller for c in m.unresolved_calls}
    assert unresolved == {"tinygo_startTask"}  # blx r4: the entry, counted per goroutine


def test_main_goroutine_found_when_task_start_is_inlined():
    report = _report("tinygoz-inlined.elf")
    assert code_model(image_mod.load(TINYGOZ / "tinygoz-inlined.elf")).function("internal/task.start") is None
    (g,) = [r for r in report.roots if r.root.kind is RootKind.GOROUTINE]
    assert g.name == "runtime.run$1$gowrapper"
    assert (g.root.stack_slot, g.allotted_bytes) == (0, _table("tinygoz-inlined.elf")[0])
    body = 16  # push {r4, r5, r6, lr}
    assert g.bounded and g.bound.bytes == body + GC_PATH
    assert g.bound_bytes == _align8(body + GC_PATH + EXC + CANARY)


def test_without_a_table_the_size_is_the_constant_stack_allocation():
    report = _report("tinygoz-notable.elf")
    (g,) = [r for r in report.roots if r.root.kind is RootKind.GOROUTINE]
    assert g.allotted_bytes == 1 << 12  # movs r4, #1; lsls r4, r4, #12 before runtime.alloc
    assert g.allotted_source.startswith("runtime.alloc(4096) at 0x") and "runtime.run" in g.allotted_source
