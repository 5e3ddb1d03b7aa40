"""Interrupt priorities as the firmware sets them, read back from the emulated NVIC/SCB, and checked.

The firmware's initialisation runs in the emulator (to its exit or an instruction budget) on a
copy of the board that keeps all 8 priority bits, so that the value each IPR/SHPR byte was
written with is what is read back; what the chip keeps is that value masked to its implemented
bits (an LM3S6965 has 3: 0xFF reads back as 0xE0). Where code masks interrupts (CPSID, MSR
PRIMASK/BASEPRI/FAULTMASK) is found in the disassembly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code.masking import MaskSite, mask_sites
from gomcu.code.model import CodeModel
from gomcu.code.vectors import vector_name
from gomcu.errors import GomcuError
from gomcu.image import Image

if TYPE_CHECKING:
    from gomcu.limits.irq_static import Handler

PENDSV, SYSTICK, SVCALL = 14, 15, 11
CONFIGURABLE_EXCEPTIONS = (4, 5, 6, 11, 12, 14, 15)
FIXED = {1: -3, 2: -2, 3: -1}  # reset, NMI, HardFault
INIT_BUDGET = 5_000_000

TINYGO_NOTE = ("TinyGo's scheduler is cooperative: goroutines switch only when they block "
               "(internal/task.Pause -> tinygo_swapTask), never from PendSV or SysTick, so no handler "
               "switches goroutines; a handler that blocks panics \"blocked inside interrupt\".")


@dataclass(frozen=True)
class Priority:
    """One exception's priority: as written, and as the chip keeps it (its implemented bits)."""

    exception: int
    name: str
    handler: str | None
    written: int
    implemented: int
    enabled: bool


@dataclass(frozen=True)
class PriorityCheck:
    rule: str
    severity: str  # "error", "warning", "info"
    message: str


@dataclass(frozen=True)
class PriorityState:
    priorities: tuple[Priority, ...]
    prigroup: int
    chip_bits: int
    board: str
    stop: str  # why the initialisation run ended: exit, budget, ...
    instructions: int
    masks: tuple[MaskSite, ...]
    preempts: tuple[tuple[str, str], ...]  # (A, B): A can preempt B
    checks: tuple[PriorityCheck, ...]
    notes: tuple[str, ...]

    def of(self, exception: int) -> Priority | None:
        return next((p for p in self.priorities if p.exception == exception), None)

    def group(self, value: int) -> int:
        """The preemption (group) part of an implemented priority under PRIGROUP."""
        return value & ((0xFF << (self.prigroup + 1)) & 0xFF) if value >= 0 else value


def read_back(image: Image, model: CodeModel, handlers: tuple[Handler, ...], chip: object | None,
              max_insns: int = INIT_BUDGET) -> PriorityState:
    """Run the firmware's initialisation and read back the priorities it set, then check them."""
    from gomcu import emu

    board, why = emu.choose_board(image, None, getattr(chip, "name", None) if chip is not None else None)
    chip_bits = getattr(chip, "nvic_priority_bits", None) or board.priority_bits
    # Keep all 8 bits in the run so that what the firmware wrote can be told from what the chip keeps.
    wide = dataclasses.replace(board, priority_bits=8)
    from gomcu.runtime.boundary import hooks_for_image

    result = emu.run(image, wide, max_insns=max_insns, timeout=30.0, hooks=hooks_for_image(image))
    nvic = result.nvic
    assert nvic is not None
    mask = (0xFF << (8 - chip_bits)) & 0xFF
    names = {v: h.name for h in handlers for v in h.vectors}
    exceptions = sorted(set(nvic.priorities) | set(nvic.enabled) | {PENDSV, SYSTICK, SVCALL} | set(names))
    priorities = []
    for exc in exceptions:
        if exc < 4:
            continue
        written = nvic.priorities.get(exc, 0) & 0xFF
        enabled = exc < 16 or exc in nvic.enabled
        priorities.append(Priority(exc, vector_name(exc), names.get(exc), written, written & mask, enabled))
    masks = mask_sites(model)
    state = PriorityState(tuple(priorities), nvic.prigroup, chip_bits, board.name, result.stop,
                          result.instructions, masks, (), (), ())
    preempts = _preemption(state, handlers)
    checks = _checks(state, handlers, preempts)
    notes = [f"initialisation run on {board.name} ({why}) with 8 priority bits kept: "
             f"{result.stop} after {result.instructions} instructions",
             f"implemented = written & 0x{mask:02X} ({chip_bits} priority bits)"]
    if result.stop not in ("exit", "budget"):
        notes.append(f"the run ended early: {result.message}")
    return dataclasses.replace(state, preempts=preempts, checks=tuple(checks), notes=tuple(notes))


def _live(state: PriorityState, handlers: tuple[Handler, ...]) -> list[tuple[Priority, Handler]]:
    """Exceptions that can be taken (enabled) and have a real handler (not a catch-all)."""
    by_vector = {v: h for h in handlers for v in h.vectors}
    out = []
    for p in state.priorities:
        h = by_vector.get(p.exception)
        if h is None or not p.enabled or h.catch_all:
            continue
        out.append((p, h))
    return out


def _preemption(state: PriorityState, handlers: tuple[Handler, ...]) -> tuple[tuple[str, str], ...]:
    live = _live(state, handlers)
    out = []
    for a, ha in live:
        for b, hb in live:
            if a is not b and state.group(a.implemented) < state.group(b.implemented):
                out.append((f"{a.name} {ha.name}", f"{b.name} {hb.name}"))
    return tuple(out)


def _checks(state: PriorityState, handlers: tuple[Handler, ...], preempts: tuple[tuple[str, str], ...]) -> list[PriorityCheck]:
    checks: list[PriorityCheck] = []
    live = _live(state, handlers)
    pendsv = state.of(PENDSV)
    pendsv_used = any(p.exception == PENDSV for p, _ in live)
    if pendsv is not None and pendsv_used:
        # Equal group priority cannot preempt: only handlers less urgent than PendSV can have it run inside them.
        above = [p for p, _ in live if p.exception != PENDSV and state.group(p.implemented) > state.group(pendsv.implemented)]
        if above:
            checks.append(PriorityCheck(
                "irq.pendsv-not-lowest", "warning",
                f"PendSV (0x{pendsv.implemented:02X}) is not the lowest priority: "
                + ", ".join(f"{p.name} 0x{p.implemented:02X}" for p in above)
                + " can be preempted by it; if PendSV switches context it would switch from inside them"))
        else:
            checks.append(PriorityCheck("irq.pendsv-lowest", "info",
                                        f"PendSV has the lowest priority (0x{pendsv.implemented:02X} implemented)"))
    for p, h in live:
        if p.written != p.implemented:
            checks.append(PriorityCheck(
                "irq.priority-bits", "info",
                f"{p.name} ({h.name}) written 0x{p.written:02X}, kept as 0x{p.implemented:02X} "
                f"by a chip with {state.chip_bits} priority bits"))
        if p.exception >= 16 and p.written == 0:
            checks.append(PriorityCheck(
                "irq.priority-default", "info",
                f"{p.name} ({h.name}) is enabled at priority 0 (the reset value, the highest): never set"))
    collide: dict[int, list[str]] = {}
    for p, h in live:
        collide.setdefault(state.group(p.implemented), []).append(f"{p.name} {h.name}")
    for value, group in collide.items():
        distinct_written = {p.written for p, h in live if state.group(p.implemented) == value}
        if len(group) > 1 and len(distinct_written) > 1:
            checks.append(PriorityCheck(
                "irq.priority-collapsed", "warning",
                f"{', '.join(group)} were written different priorities but share group priority "
                f"0x{value:02X} on this chip: they no longer preempt each other"))
    unsafe = {h.name: {v.kind for v in h.violations if v.kind in ("alloc", "gc", "block", "scheduler")} for _, h in live}
    for a, b in preempts:
        ha, hb = a.split(" ", 1)[1], b.split(" ", 1)[1]
        shared = unsafe.get(ha, set()) & unsafe.get(hb, set())
        if shared:
            checks.append(PriorityCheck(
                "irq.preempted-runtime-state", "error",
                f"{a} can preempt {b} and both reach {', '.join(sorted(shared))}: the runtime's state can be "
                "entered twice"))
    for _, h in live:
        if unsafe.get(h.name, set()) & {"alloc", "gc"}:
            checks.append(PriorityCheck(
                "irq.preempts-allocator", "error",
                f"{h.name} allocates and can interrupt thread code in the middle of runtime.alloc or a "
                "collection: the allocator is not re-entrant"))
    return checks


def require_arm(image: Image) -> None:
    from gomcu.image import Arch

    if image.arch is not Arch.ARM:
        raise GomcuError(f"{image.path}: priorities and latency need a Cortex-M firmware (this is {image.arch.value})")
