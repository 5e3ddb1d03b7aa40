"""The Embedded Go profile on the reference firmware with its shape (examples/embeddedgo).

Every figure here can be read off egofw.c / egofw.S / egofw.ld and GCC's egofw.su:
ISR stack 0x20000800 - 0x20000000 = 2048 B; main.blinky 8 + main.work 24 (push {lr} + sub #20)
+ main.depth 16 + the 32 B exception frame = 80 B; TIM2's newobject(&tim2_type) allocates the
16 B the type descriptor's first word says.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import assert_rebuilds_identically, run_gomcu
from gomcu.code.model import CodeModel
from gomcu.code.types import RootKind
from gomcu.code.worstcase import StackGraph
from gomcu.image import load as load_image
from gomcu.limits import gc, interrupts, stack
from gomcu.runtime.profile import detect_profile, load_profile

EGO = Path(__file__).parents[1] / "examples" / "embeddedgo"
ELF = EGO / "egofw.elf"


@pytest.fixture(scope="module")
def image():  # type: ignore[no-untyped-def]
    return load_image(ELF)


def test_profile_detected_and_toolchain_honest(image) -> None:  # type: ignore[no-untyped-def]
    assert detect_profile(s.name for s in image.symbols).name == "embeddedgo"
    # built by gcc (its DWARF says so), with an Embedded Go-shaped runtime
    assert image.toolchain.name == "gcc" and "_rt0_thumb_noos" in image.toolchain.evidence
    assert image.mapping_symbols == ()


def test_vector_table_from_runtime_vectors(image) -> None:  # type: ignore[no-untyped-def]
    vt = {e.name: e for e in CodeModel(image).vector_table}
    assert len(vt) == 16 + 29  # runtime.vectors' size: 45 words
    assert (vt["NMI"].address, vt["NMI"].handler) == (0, None)  # slot holding 1: no handler
    assert vt["IRQ6"].handler == "IRQ6_Handler" and vt["IRQ28"].handler == "IRQ28_Handler"
    assert vt["InitialSP"].address == image.symbol("isr_stack_top").address == 0x20000800


def test_isr_stack_and_goroutine_against_maxstacksize(image) -> None:  # type: ignore[no-untyped-def]
    report = stack.analyse(image)
    assert report.system is not None and report.system.allotted_bytes == 2048
    blinky = next(r for r in report.roots if r.name == "main.blinky")
    assert blinky.root.kind is RootKind.GOROUTINE
    assert blinky.bound_bytes == 8 + 24 + 16 + 32
    assert blinky.allotted_bytes == load_profile("embeddedgo").memory["max_stack_bytes"] == 32768
    assert "maxstacksize" in blinky.allotted_source


def test_morestack_is_a_growth_point_not_recursion(image) -> None:  # type: ignore[no-untyped-def]
    m = CodeModel(image)
    plain = StackGraph(m)  # without the profile: morestack -> newstack -> copystack -> morestack
    cyclic = {n for i in plain.recursive for n in plain.components[i]}
    assert {"runtime.morestack", "runtime.newstack", "runtime.copystack"} <= cyclic
    report = stack.analyse(image)
    cycles = [r.cycle.functions for r in report.recursion]
    assert not any("runtime.morestack" in c for c in cycles)
    # the user's recursion is the headline; the runtime's own is information
    recursion = [f for f in report.findings if f.rule == "stack.recursion"]
    assert recursion[0].message.startswith("recursion main.depth") and recursion[0].severity.name == "WARNING"
    assert "inside the runtime" in recursion[1].message and recursion[1].severity.name == "INFO"


def test_allocation_sites_and_handlers(image) -> None:  # type: ignore[no-untyped-def]
    analysis = gc.analyse(image)
    assert analysis.runtime == "embeddedgo" and analysis.gc_kind == "precise"
    tim2 = next(s for s in analysis.sites if s.function == "IRQ28_Handler")
    assert (tim2.allocator, tim2.size, tim2.in_interrupt) == ("runtime.newobject", 16, True)
    assert any("malloc during signal" in f.message for f in analysis.findings)
    # heap: runtime.end .. runtime.ramend
    assert analysis.budget.heap_bytes == image.symbol("runtime.ramend").address - image.symbol("runtime.end").address
    irq = {h.name: h for h in interrupts.analyse(image).handlers}
    assert not irq["IRQ6_Handler"].violations and not irq["IRQ6_Handler"].unresolved  # wakes a note: clean
    assert [v.chain for v in irq["IRQ28_Handler"].violations if v.kind == "alloc"][0][:2] == \
        ("IRQ28_Handler", "runtime.newobject")
    # svcallHandler's jump through runtime.syscalls reaches the table's handlers
    assert not irq["runtime.svcallHandler"].unresolved


def test_check_cli(image) -> None:  # type: ignore[no-untyped-def]
    p = run_gomcu("check", str(ELF))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    out = " ".join(p.stdout.split())
    assert "runtime profile embeddedgo" in out and "gc.alloc-in-interrupt" in out


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_rebuild_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(EGO, tmp_path, ("egofw.c", "egofw.S", "egofw.ld", "names.txt", "Makefile"),
                                ("egofw.elf",))


def test_note_wakeup_is_allowed_in_handlers(image) -> None:  # type: ignore[no-untyped-def]
    """rtos.(*Note).Wakeup's thread path makes a slow system call (futexwakeup); the runtime
    allows Wakeup in handlers, so IRQ6 is clean with the profile and flagged without its rule."""
    from dataclasses import replace

    profile = load_profile("embeddedgo")
    assert profile.is_interrupt_safe("embedded/rtos.(*Note).Wakeup") and profile.is_interrupt_safe("runtime.nanotime")
    with_rule = {h.name: h for h in interrupts.analyse(image, None, profile).handlers}
    without = {h.name: h for h in interrupts.analyse(image, None, replace(profile, interrupts={})).handlers}
    assert with_rule["IRQ6_Handler"].status == "clean"
    assert [(v.kind, v.target) for v in without["IRQ6_Handler"].violations] == [("scheduler", "runtime.futexwakeup")]


def test_priorities_from_irqctl_calls_and_taskerinit(image) -> None:  # type: ignore[no-untyped-def]
    """main.enableIRQs passes (irq, rtos level) on the stack to runtime.irqctl: the NVIC byte is
    255 - level (Low 95 -> 0xA0, Mid 159 -> 0x60, High 223 -> 0x20); runtime.taskerinit sets
    SVCall to 4<<5 and PendSV to 255 with read-modify-writes of SHPR2/SHPR3."""
    from gomcu.code.priorities import find

    found = find(CodeModel(image), load_profile("embeddedgo"))
    assert found is not None and not found.computed  # sysirqctl's computed store is irqctl's callers'
    by = {s.exception: (s.value, s.how) for s in found.sets}
    assert by[16 + 6] == (0xA0, "call of runtime.irqctl")
    assert by[16 + 28] == (0x60, "call of runtime.irqctl")
    assert by[16 + 23] == (0x20, "call of runtime.irqctl")
    assert by[11] == (0x80, "read-modify-write") and by[14] == (0xFF, "read-modify-write")


def test_isr_stack_nests_by_level(image) -> None:  # type: ignore[no-untyped-def]
    report = stack.analyse(image)
    system = report.system
    assert system is not None and system.origin == "static" and not system.unplaced
    roots = {r.name: r for r in report.roots}
    levels = {x.level: x.handler for x in system.levels}
    assert levels == {-1: "runtime.hardfaultHandler", 0x20: "IRQ23_Handler", 0x60: "IRQ28_Handler",
                      0x80: "runtime.svcallHandler", 0xA0: "IRQ6_Handler", 0xFE: "runtime.pendsvHandler"}
    assert system.bound_bytes == roots["_rt0_thumb_noos"].bound_bytes + sum(roots[n].bound_bytes for n in levels.values())


def test_handler_above_int_prio_syscall_makes_no_system_call(image) -> None:  # type: ignore[no-untyped-def]
    """IRQ23 (0x20) reads nanotime through SVC: above rtos.IntPrioSysCall (0x80) that escalates to
    HardFault. IRQ6 (0xA0) may; IRQ28 (0x60) is above it but makes no system call."""
    report = interrupts.analyse(image)
    found = [f for f in report.findings if f.rule == "irq.syscall-above-syscall-priority"]
    assert [(f.location.function if f.location else None, f.chain) for f in found] == [
        ("IRQ23_Handler", ("IRQ23_Handler", "runtime.nanotime"))]
    assert "0x20" in found[0].message and "0x80" in found[0].message
    assert any("rtos.IntPrioSysCall = 0x80: 3 handler(s) checked" in n for n in report.notes)
