"""Call graph, roots and vector table of the stack fixtures (ARM and RISC-V)."""

from __future__ import annotations

from conftest import FIXTURES
from gomcu import image
from gomcu.code import RootKind, model

STACK = FIXTURES / "stack"


def load(name: str):
    return model(image.load(STACK / name))


def test_direct_tail_and_resolved_indirect_calls_arm() -> None:
    for variant in ("stackfx-m0.elf", "stackfx-m4f.elf"):
        code = load(variant)
        assert "leaf" in code.function("middle").callees
        tail = [c for c in code.function("tail").calls if c.callee == "leaf"]
        # Cortex-M4 GCC turns `return leaf(x + 1)` into `b.w leaf`; M0+ keeps a push/bl/pop
        assert tail and tail[0].kind == ("tail-call" if "m4f" in variant else "call")
        via = [c for c in code.function("via_pointer").calls if c.callee == "callback"]
        assert via and via[0].resolved_by, "constant function pointer must resolve"
        unresolved = [c for c in code.unresolved_calls if c.caller == "via_table"]
        assert len(unresolved) == 1
        assert {c.caller for c in code.callers_of("leaf")} >= {"middle", "tail"}
        assert "recurse" in code.reachable_from("worker")
        assert "worker" not in code.reachable_from("Reset_Handler")


def test_vector_table_and_roots_arm() -> None:
    code = load("stackfx-m0.elf")
    table = {e.number: e for e in code.vector_table}
    assert table[1].handler == "Reset_Handler"
    assert table[15].handler == "SysTick_Handler"
    roots = {r.name: r for r in code.roots}
    assert roots["Reset_Handler"].kind is RootKind.RESET
    assert roots["UART_IRQHandler"].kind is RootKind.IRQ and roots["UART_IRQHandler"].irqs == (0,)
    # NMI, HardFault, SVCall, PendSV and IRQ1 are Default_Handler: one root
    assert set(roots["Default_Handler"].vectors) == {2, 3, 11, 14, 17}
    worker = roots["worker"]
    assert worker.kind is RootKind.GOROUTINE and worker.stack_slot == 0 and worker.stack_size == 256


def test_riscv_calls_and_trap_root() -> None:
    code = load("stackfx-rv32.elf")
    assert "leaf" in code.function("middle").callees
    assert {"ping", "dynamic", "tail", "via_table"} <= set(code.function("main").callees)
    roots = {r.name: r for r in code.roots}
    assert roots["Reset_Handler"].kind is RootKind.RESET
    assert roots["trap_handler"].kind is RootKind.EXCEPTION  # csrw mtvec with a constant
    assert roots["worker"].stack_size == 256
    assert any(c.caller == "via_table" for c in code.unresolved_calls)


def test_recursion_cycles_found() -> None:
    from gomcu.code import StackGraph

    for variant in ("stackfx-m0.elf", "stackfx-rv32.elf"):
        code = load(variant)
        graph = StackGraph(code)
        cycles = {c.functions: c for c in graph.cycles.values()}
        assert ("recurse",) in cycles
        assert cycles[("recurse",)].bytes_per_iteration == code.function("recurse").frame_bytes
        assert ("ping", "pong") in cycles
        ping_pong = cycles[("ping", "pong")].bytes_per_iteration
        assert ping_pong == code.function("ping").frame_bytes + code.function("pong").frame_bytes
        bound = graph.bound("Reset_Handler")
        assert not bound.bounded and any("recursion ping" in r for r in bound.reasons)


def test_stripped_image_falls_back_to_vector_table() -> None:
    code = model(image.load(FIXTURES / "elf" / "mini-stripped.elf"))
    assert code.functions and any(r.kind is RootKind.RESET for r in code.roots)
    assert any("no function symbols" in n for n in code.notes)


def test_masking_instructions_are_found() -> None:
    """irqdemo.c masks with cpsid/cpsie and writes BASEPRI twice; every site is listed."""
    from gomcu.code.masking import mask_sites

    sites = mask_sites(model(image.load(FIXTURES / "emu" / "irqdemo-m3.elf")))
    kinds = [s.what for s in sites]
    assert kinds.count("CPSID i") == kinds.count("CPSIE i") >= 1
    assert kinds.count("MSR BASEPRI") == 2
    assert all(s.function == "main" for s in sites)
