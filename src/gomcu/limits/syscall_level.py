"""Embedded Go: a handler at or above the system-call priority may make no system call.

System calls enter the runtime through SVC, and Embedded Go's tasker gives SVCall the priority
byte of `rtos.IntPrioSysCall` (255 - 4<<5 in rtos levels: 0x80; profile `[interrupts]
syscall_priority`). An SVC executed where SVCall cannot preempt (a handler whose group priority is
the same or more urgent) escalates to HardFault (ARMv7-M ARM B1.5.4), so such a handler must not
reach one: not even the fast calls (nanotime, irqctl, write) the runtime allows lower handlers.

Each IRQ handler's priority comes from the emulator when it was read back, else from the code
(`gomcu.code.priorities`: `irq.Enable(prio, ctx)` compiles to an `irqctl` call with constant
stack arguments); an IRQ nothing sets keeps 0, the most urgent. A function makes a system call
when it holds an SVC instruction; the search does not enter the functions the runtime allows in
handlers (`rtos.Note.Wakeup` makes none in handler mode), the stack growth point (`morestack`
from a handler ends in `badmorestackg0`) or the panic functions: those paths are already dying.
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from gomcu.code.vectors import vector_name
from gomcu.findings import Finding, Location, Severity
from gomcu.limits.reach import chains_to
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:  # (the priorities module loads capstone: not for a check read back from the cache)
    from gomcu.code.model import CodeModel
    from gomcu.code.priorities import StaticPriorities
    from gomcu.limits.irq_priorities import PriorityState
    from gomcu.limits.irq_static import Handler

def check(model: CodeModel, profile: RuntimeProfile, handlers: tuple[Handler, ...],
          static: StaticPriorities | None, emulated: PriorityState | None,
          bits: int | None) -> tuple[list[Finding], list[str]]:
    """Findings (one error per handler above the level that reaches a system call, with the
    chain) and notes (the level, which handlers were checked, which could not be)."""
    from gomcu.code.masking import svc_functions

    level = profile.interrupts.get("syscall_priority")
    if level is None or static is None:
        return [], []
    bits = bits or (emulated.chip_bits if emulated is not None else 8)

    def group(value: int) -> int:
        if emulated is not None:
            return emulated.group(value & ((0xFF << (8 - bits)) & 0xFF))
        return static.group(value, bits)

    limit = group(int(level))
    calls = svc_functions(model)
    allowed = tuple(profile.interrupts.get("allowed", ()))

    # the search ends at what the runtime allows in handlers, at the stack growth point (a
    # handler that reaches morestack is already dying: badmorestackg0), at panics and at what
    # runs only once the program is dying (profile [tasks] dying)
    ends = (allowed + tuple(profile.tasks.get("growth", ())) + tuple(profile.unsafe_in_interrupt.get("panic", ()))
            + tuple(profile.tasks.get("dying", ())))

    def is_allowed(name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, p) for p in ends)

    findings: list[Finding] = []
    checked: list[str] = []
    unknown: list[str] = []
    for h in handlers:
        irqs = [v for v in h.vectors if v >= 16]
        if not irqs or h.catch_all:
            continue
        values: list[tuple[int, int, str]] = []  # (vector, priority byte, where from)
        for v in irqs:
            p = emulated.of(v) if emulated is not None else None
            if p is not None:
                values.append((v, p.implemented, "read back in the emulator"))
                continue
            state, written = static.of(v)
            if state == "unknown":
                break
            values += [(v, w, _where(static, v, w)) for w in sorted(written)]
        else:
            checked.append(h.name)
            above = [(v, w, how) for v, w, how in values if group(w) <= limit]
            if not above:
                continue
            chain = next(iter(chains_to(model, h.name, lambda n: n in calls, stop=is_allowed)), None)
            if chain is None:
                continue
            v = above[0][0]
            shown = " or ".join(f"0x{w:02X} ({how})" for _, w, how in above)
            findings.append(Finding(
                "irq.syscall-above-syscall-priority", Severity.ERROR,
                f"{h.name} ({vector_name(v)}, priority {shown}) is at or above rtos.IntPrioSysCall "
                f"(0x{int(level):02X}, SVCall's priority) and makes a system call: {' -> '.join(chain.functions)}; "
                "its SVC cannot be taken there and escalates to HardFault",
                Location(function=h.name, address=h.address), chain.functions))
            continue
        unknown.append(h.name)
    notes = [f"rtos.IntPrioSysCall = 0x{int(level):02X}: {len(checked)} handler(s) checked against it"
             + (f"; priority not known for {', '.join(unknown)}" if unknown else "")]
    return findings, notes


def _where(static: StaticPriorities, vector: int, value: int) -> str:
    """Where a priority the code may give `vector` comes from, in words."""
    if any(p.exception == vector and p.value == value for p in static.sets):
        return "set in the code"
    if any(p.value == value for p in static.anywhere):
        return "set in the code for an IRQ not constant"
    return "the reset value"
