"""The Embedded Go profile on the reference firmware with its shape (examples/embeddedgo).

Every figure here can be read off egofw.c / egofw.S / egofw.ld and GCC's egofw.su:
ISR stack 0x20000800 - 0x20000000 = 2048 B; main.blinky's bound is added up in its test from
egofw.su and egofw.S (main.work: push {lr} + sub #20 = 24 B); TIM2's newobject(&tim2_type) allocates the
16 B the type descriptor's first word says.
"""

from __future__ import annotations

import json
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
    # blinky 8 + main.work 24 + main.depth 16 + the 32 B exception frame; main.work's bounds-check
    # panic path (panicIndex -> goPanicIndex -> newobject -> mallocgc ...) is left out: it is dying
    assert blinky.bound_bytes == 8 + 24 + 16 + 32
    # the build tag stm32h7x3 (egofw.S go:buildinfo) picks const_noos_stm32h7.go: 512 KiB / 8
    assert blinky.allotted_bytes == load_profile("embeddedgo").memory["targets"]["stm32h7"]["max_stack_bytes"] == 65536
    assert "maxstacksize (runtime/const_noos_stm32h7.go" in blinky.allotted_source


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
    assert len(recursion) == 1
    # printpanics recurses only on the way down (the profile's `dying`): bounds leave the dying
    # paths out, and the report says which
    assert any(n.startswith("bounds leave out the 4 functions") and "runtime.printpanics" in n for n in report.notes)


def test_allocation_sites_and_handlers(image) -> None:  # type: ignore[no-untyped-def]
    analysis = gc.analyse(image)
    assert analysis.runtime == "embeddedgo" and analysis.gc_kind == "precise"
    tim2 = next(s for s in analysis.sites if s.function == "IRQ28_Handler")
    assert (tim2.allocator, tim2.size, tim2.in_interrupt) == ("runtime.newobject", 16, True)
    assert any("malloc during signal" in f.message for f in analysis.findings)
    # heap: runtime.end .. runtime.ramend
    assert analysis.budget.heap_bytes == image.symbol("runtime.ramend").address - image.symbol("runtime.end").address
    irq = {h.name: h for h in interrupts.analyse(image).handlers}
    # wakes a note, reads the time and calls main.lineOf: clean. lineOf's morestack is no growth in
    # a handler, and its bounds check's panic path (which allocates and calls through a pointer)
    # is information, not the handler's allocation nor an unknown
    exti0 = irq["IRQ6_Handler"]
    assert exti0.status == "clean" and not exti0.unresolved
    assert [(v.kind, v.chain, v.severity.name) for v in exti0.violations] == \
        [("runtime_check", ("IRQ6_Handler", "main.lineOf", "runtime.panicIndex"), "INFO")]
    assert not any(s.in_interrupt for s in analysis.sites if s.function == "runtime.goPanicIndex")
    assert [v.chain for v in irq["IRQ28_Handler"].violations if v.kind == "alloc"][0][:2] == \
        ("IRQ28_Handler", "runtime.newobject")
    # svcallHandler's jump through runtime.syscalls reaches the table's handlers
    assert not irq["runtime.svcallHandler"].unresolved


def test_check_cli(image) -> None:  # type: ignore[no-untyped-def]
    p = run_gomcu("check", str(ELF))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    out = " ".join(p.stdout.split())
    assert "runtime profile embeddedgo" in out and "gc.alloc-in-interrupt" in out
    # check judges goroutines against the build tag's maxstacksize too (stm32h7x3: 65536 B)
    p = run_gomcu("check", str(ELF), "--format", "json")
    memory = next(x for x in json.loads(p.stdout)["limits"] if x["limit"] == "memory")
    roots = {r["name"]: r for r in memory["details"]["stack"]["roots"]}
    assert roots["main.logger"]["allotted_bytes"] == 65536


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
    assert [(v.kind, v.target) for v in without["IRQ6_Handler"].violations] == \
        [("scheduler", "runtime.futexwakeup"), ("runtime_check", "runtime.panicIndex")]


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
    every = {-1: "runtime.hardfaultHandler", 0x20: "IRQ23_Handler", 0x60: "IRQ28_Handler",
             0x80: "runtime.svcallHandler", 0xA0: "IRQ6_Handler", 0xFE: "runtime.pendsvHandler"}
    # main.enableIRQs enables the IRQs after rt0_go left the MSP, and nothing before executes svc
    # or pends PendSV: only HardFault nests on the reset path (gomcu.limits.reset_path)
    assert {x.level: x.handler for x in system.levels} == {-1: "runtime.hardfaultHandler"}
    assert {n for n, _ in system.not_during_reset} == set(every.values()) - {"runtime.hardfaultHandler"}
    reset = roots["_rt0_thumb_noos"].bound_bytes + roots["runtime.hardfaultHandler"].bound_bytes
    alone = sum(roots[n].bound_bytes for n in every.values())
    assert (system.reset_case_bytes, system.alone_bytes) == (reset, alone)
    assert system.bound_bytes == max(reset, alone)


def test_handler_above_int_prio_syscall_makes_no_system_call(image) -> None:  # type: ignore[no-untyped-def]
    """IRQ23 (0x20) reads nanotime through SVC: above rtos.IntPrioSysCall (0x80) that escalates to
    HardFault. IRQ6 (0xA0) may; IRQ28 (0x60) is above it but makes no system call."""
    report = interrupts.analyse(image)
    found = [f for f in report.findings if f.rule == "irq.syscall-above-syscall-priority"]
    assert [(f.location.function if f.location else None, f.chain) for f in found] == [
        ("IRQ23_Handler", ("IRQ23_Handler", "runtime.nanotime"))]
    assert "0x20" in found[0].message and "0x80" in found[0].message
    assert any("rtos.IntPrioSysCall = 0x80: 3 handler(s) checked" in n for n in report.notes)


def test_go_prologues_frames(image) -> None:  # type: ignore[no-untyped-def]
    """Go's frames as egofw.S writes them: main.work pushes lr and subtracts 20 (24 B) and its
    panicIndex call (which never returns) falls into the morestack tail `b main.work`;
    main.table takes 380 B with Go's large-frame prologue (subw r7, sp, #380; mov sp, r7)."""
    m = CodeModel(image)
    assert m.function("main.work").frame.bytes == 24 and not m.function("main.work").frame.notes
    assert m.function("main.table").frame.bytes == 380 and not m.function("main.table").frame.notes


def test_goroutines_from_newproc_funcvals(image) -> None:  # type: ignore[no-untyped-def]
    """Go's newproc(fn *funcval): main.main passes &blinky_fv (egofw.c), whose first word is
    main.blinky; rt0 passes runtime.mainPC in newproc's stack slot and reuses r0, and mainPC's
    first word is runtime.main. No '-fm' method value is taken for a goroutine."""
    roots = {r.name: r for r in CodeModel(image).roots if r.kind is RootKind.GOROUTINE}
    assert set(roots) == {"main.blinky", "main.logger", "runtime.main"}
    fv = image.symbol("blinky_fv") or next(s for s in image.symbols if s.name.startswith("blinky_fv"))
    assert image.read_word(fv.address) & ~1 == image.symbol("main.blinky").address
    assert roots["main.blinky"].evidence.startswith(f"funcval at 0x{fv.address:x}")
    assert image.read_word(image.symbol("runtime.mainPC").address) & ~1 == roots["runtime.main"].address


def test_isr_stack_holds_reset_until_the_psp_switch_and_the_handlers(image) -> None:  # type: ignore[no-untyped-def]
    """rt0_go (egofw.S) runs schedinit on the ISR stack, then sets CONTROL.SPSEL and starts
    newproc(mainPC) and mstart on the PSP: the reset path's share is rt0_go's `sub sp, #8` (schedinit's
    8 B frame runs before it, at depth 0). Handlers: hardfault, svcall, pendsv 32 B each (their
    frames 0: throw is dying) but SVCall's Go-shaped slow path pushes g and lr and 16 B of
    arguments (24 B: egofw.S), EXTI0 8 + lineOf 8 + 32, EXTI9_5 8 + 32, TIM2 16 (newobject's ABI0
    argument area) + mallocgc 48 + gcStart 8 + gcDrain 16 + 32 (egofw.su); each at its own level. Only HardFault can be taken
    before the switch (the IRQs are enabled after it, nothing before executes svc or pends PendSV):
    the reset case is 8 + 32 = 40 B, the handlers alone 32 + 56 + 32 + 48 + 40 + 120 = 328 B, the
    bound the larger: 328 of 2048 B (every handler nesting on the reset path was 336 B)."""
    report = stack.analyse(image)
    reset = next(r for r in report.roots if r.root.kind is RootKind.RESET)
    assert (reset.bound_bytes, [s.function for s in reset.bound.path]) == (8, ["_rt0_thumb_noos", "runtime.rt0_go"])
    handlers = {r.name: r.bound_bytes for r in report.roots if r.root.kind in (RootKind.IRQ, RootKind.EXCEPTION)}
    assert handlers == {"runtime.hardfaultHandler": 32, "runtime.svcallHandler": 24 + 32, "runtime.pendsvHandler": 32,
                        "IRQ6_Handler": 8 + 8 + 32, "IRQ23_Handler": 8 + 32, "IRQ28_Handler": 16 + 48 + 8 + 16 + 32}
    assert report.system is not None and report.system.bounded
    assert (report.system.bound_bytes, report.system.allotted_bytes) == (328, 2048)
    assert (report.system.reset_case_bytes, report.system.all_nest_bytes) == (40, 336)


def test_smallest_margin_is_the_system_stacks_when_its_roots_share_it(image) -> None:  # type: ignore[no-untyped-def]
    """Every root on the main stack shares its 2048 B: the headline margin is what is left of it
    once they nest (2048 - 328 = 1720 B), not the largest one root alone leaves (2048 - 120)."""
    from gomcu.limits import memory

    result = memory.evaluate(image, None, stack.analyse(image))
    figure = next(f for f in result.figures if f.name.startswith("smallest stack margin"))
    assert (figure.name, figure.value, figure.qualifier) == ("smallest stack margin (system stack)", 1720, "")


def test_findings_inside_the_go_root_are_the_runtimes() -> None:
    """egofw-roots.elf is egofw with DWARF lines under a Go root (/opt/ego/go/src/PACKAGE/, as a
    real Embedded Go build's): the runtime's own allocation loop and the fault handler's throw are
    wholly inside the runtime (hidden unless --include-runtime); the user's handler, loop and
    recursion stay. Without the root (egofw.elf) nothing can be told apart by its file."""
    def findings(name: str) -> dict[tuple[str, str | None], bool]:
        p = run_gomcu("check", str(EGO / name), "--no-cache", "--format", "json")
        assert p.returncode == 1, p.stderr
        return {(f["rule"], (f["location"] or {}).get("function")): f["in_runtime"]
                for limit in json.loads(p.stdout)["limits"] for f in limit["findings"]}

    rooted = findings("egofw-roots.elf")
    assert {k for k, inside in rooted.items() if inside} == {
        ("gc.alloc-in-loop", "runtime.gcenable"), ("irq.panic-in-handler", "runtime.hardfaultHandler")}
    for users in (("gc.alloc-in-interrupt", "IRQ28_Handler"), ("gc.alloc-in-loop", "main.main"),
                  ("stack.recursion", "main.depth"), ("irq.syscall-above-syscall-priority", "IRQ23_Handler")):
        assert rooted[users] is False, users
    assert not any(findings("egofw.elf").values())
    text = run_gomcu("check", str(EGO / "egofw-roots.elf"), "--no-cache").stdout
    assert "wholly inside the toolchain's runtime (--include-runtime shows them)" in text
    assert "runtime.gcenable" not in text.split("garbage collection (")[1].split("interrupt context (")[0]


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None,
                    reason="needs arm-none-eabi-gcc and make")
def test_rooted_variant_rebuilds_bit_identical(tmp_path: Path) -> None:
    assert_rebuilds_identically(EGO, tmp_path, ("egofw.c", "egofw.S", "egofw.ld", "names.txt", "Makefile"),
                                ("egofw-roots.elf",), ("egofw-roots.elf",))


def test_build_information_picks_the_target(image) -> None:  # type: ignore[no-untyped-def]
    """go:buildinfo (egofw.S) says -tags=stm32h7x3 and GOARM=7,softfloat: GOGC 30 from
    const_noos_stm32h7.go; the memory limit rt0_go computes is (ramend - end) + the non-DMA
    64 KiB (egofw.ld); a soft-float build takes 32 B exception frames."""
    from gomcu.image.gobuild import read_go_build

    build = read_go_build(image)
    assert build is not None and build.tags == ("stm32h7x3",) and build.soft_float is True
    analysis = gc.analyse(image)
    assert analysis.gogc is not None and analysis.gogc[0] == 30 and "const_noos_stm32h7.go" in analysis.gogc[1]
    ramend, end = image.symbol("runtime.ramend").address, image.symbol("runtime.end").address
    assert analysis.memory_limit is not None and analysis.memory_limit[0] == (ramend - end) + 64 * 1024
    assert stack.analyse(image).exception_frame == 32


def test_goroutine_growth_on_the_heap(image) -> None:  # type: ignore[no-untyped-def]
    """main.logger's frame is 1536 B (egofw.su) + 32 B exception frame = 1568 B; with the 464 B
    guard and the 108 B system area (noosStackSystem) that is 2140 B: more than the 2048 B a
    goroutine starts with (round2(108 + stackMin 1024)), so newstack doubles it to 4096 B."""
    report = stack.analyse(image)
    logger = next(r for r in report.roots if r.name == "main.logger")
    assert (logger.bound_bytes, logger.bounded) == (1536 + 32, True)
    assert logger.allotted_source.endswith("1568 B + 464 B guard + 108 B system area grow it to 4096 B on the heap")
    blinky = next(r for r in report.roots if r.name == "main.blinky")  # main.depth recursion: no bound
    assert "how far the stack grows is unknown" in blinky.allotted_source


def test_package_initialiser_is_init_and_panic_paths_are_not_the_program(image) -> None:  # type: ignore[no-untyped-def]
    """sync.init allocates in a loop, but runtime.doInit1 calls it through the inittasks table
    (an indirect call) once: its site is init only and no loop warning is made. goPanicIndex
    allocates only when a bounds check fails: no loop finding, and it is not counted among the
    sites whose roots indirect calls hide."""
    analysis = gc.analyse(image)
    init = next(s for s in analysis.sites if s.function == "sync.init")
    assert (init.init_only, init.loop, init.roots) == (True, "in sync.init", ())
    loops = {f.location.function: f for f in analysis.findings if f.rule == "gc.alloc-in-loop"}
    assert set(loops) == {"main.main", "runtime.gcenable"}
    # the program's loop is the warning; runtime.gcenable's (runtime.main calls it) is the runtime's own
    assert loops["main.main"].severity.name == "WARNING" and loops["runtime.gcenable"].severity.name == "INFO"
    assert loops["runtime.gcenable"].message.startswith("inside the runtime")
    hidden = next(f for f in analysis.findings if f.rule == "gc.unresolved-calls")
    assert hidden.message.startswith("2 allocation site(s)")  # sync.init and runtime.copystack


def test_svcall_dispatch_and_duffcopy_resolved(image) -> None:  # type: ignore[no-untyped-def]
    """svcallHandler (egofw.S) jumps through runtime.syscalls for fast calls (ldr pc), calls the
    handler it read from the table on the slow path (ldr r0, [r0, r1, lsl #2]; blx r0), and copies
    arguments through a computed entry into runtime.duffcopy: none is left unresolved."""
    f = CodeModel(image).function("runtime.svcallHandler")
    assert f is not None and not f.unresolved
    table = {"runtime.sysnanotime", "runtime.sysfutexsleep", "runtime.sysirqctl"}
    by_site: dict[str, set[str]] = {}
    for c in f.calls:
        by_site.setdefault(c.kind, set()).add(str(c.callee))
    assert by_site == {"tail-call": table, "call": table | {"runtime.duffcopy"}}


def test_morestack_retry_is_no_loop(image) -> None:  # type: ignore[no-untyped-def]
    """main.table allocates once; its prologue's tail (`bl morestack_noctxt; b main.table`,
    egofw.S) branches back to the entry, which is a retry on a grown stack, not a loop."""
    table = next(s for s in gc.analyse(image).sites if s.function == "main.table")
    assert table.loop is None
