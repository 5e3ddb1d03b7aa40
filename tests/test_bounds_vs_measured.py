"""Two views of one firmware must agree: a static stack bound is never below what the emulator
measures on the same stack (docs/architecture.md: if it is, gomcu has a bug)."""

from __future__ import annotations

import pytest

from conftest import REFMW_BUILD
from gomcu import emu
from gomcu.image import load
from gomcu.limits.stack import analyse


@pytest.mark.parametrize("name", ["refmw-m3.elf", "refmw-m4f.elf"])
def test_static_bounds_cover_measured_high_water(name: str) -> None:
    image = load(REFMW_BUILD / name)
    static = analyse(image)
    result = emu.run(image, probes=[emu.StackProbe("internal/task.start", "runtime.alloc")])
    assert result.stop == "exit" and result.exit_code == 0
    msp = next(s for s in result.stacks if s.kind == "msp")
    assert static.system is not None
    assert msp.used <= static.system.bound_bytes, "system stack: bound below measurement"
    # The reference firmware starts its goroutines in stack-slot order (examples/README.md).
    goroutines = sorted((r for r in static.roots if r.root.stack_slot is not None), key=lambda r: r.root.stack_slot or 0)
    measured = [s for s in result.stacks if s.kind != "msp"]
    assert len(measured) == len(goroutines)
    for root, use in zip(goroutines, measured):
        assert use.size == root.allotted_bytes, f"{root.name}: emulator and binary disagree on the stack size"
        if root.bounded:
            assert use.used <= root.bound_bytes, f"{root.name}: bound {root.bound_bytes} < measured {use.used}"
        else:
            # Unbounded (recursion): the static figure is a lower bound; the measurement must exceed it.
            assert use.used >= root.bound_bytes


def test_priority_aware_system_stack_covers_the_measurement() -> None:
    """With priorities read back, only handlers at distinct preemption levels nest; the bound
    still covers the emulator's MSP high-water, and the levels read from the code (static) are
    the levels the emulator read back: two views of one firmware agree."""
    from gomcu.limits import interrupts
    from gomcu.limits.nesting import by_level

    image = load(REFMW_BUILD / "refmw-m3.elf")
    static = analyse(image)
    levels = interrupts.preemption_levels(interrupts.analyse(image, run=True))
    assert levels is not None
    assert levels["UART1_IRQHandler"] != levels["GPIOPortA_IRQHandler"], "0x80 and 0x40 are distinct levels"
    assert static.system is not None
    nested = by_level(static.system, levels, "emulated", "priorities read back in the emulator")
    assert nested.assumption.startswith("priorities read back")
    by_level_seen: dict[int, list[str]] = {}
    for name, handler_levels in levels.items():
        for level in handler_levels:
            by_level_seen.setdefault(level, []).append(name)
    assert len(nested.handlers) == len(by_level_seen), "one handler per preemption level"
    assert [(x.level, x.handler) for x in nested.levels] == [(x.level, x.handler) for x in static.system.levels]
    assert nested.bound_bytes == static.system.bound_bytes
    result = emu.run(image)
    msp = next(s for s in result.stacks if s.kind == "msp")
    assert msp.used <= nested.bound_bytes
    assert result.nvic is not None and len(result.nvic.deepest) <= len(nested.levels)