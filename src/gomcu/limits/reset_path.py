"""Which handlers can be taken while the reset path holds the system stack (Cortex-M).

The system stack's bound puts the handlers that nest by priority on top of the reset path's
deepest point (gomcu.limits.nesting). A handler can only be there if its exception can be taken
while that code runs: NMI, HardFault and the configurable faults always can; an IRQ, SysTick,
PendSV or SVCall only once code reachable from it (or from a handler taken meanwhile) has enabled,
pended or raised it (gomcu.code.enables). The reset path's share of the MSP is what it reaches
before it leaves the MSP (the profile's `off_system_stack`: Embedded Go's rt0_go switches to the
PSP before newproc and mstart); a reset path that never leaves it (TinyGo's scheduler, a C main
loop, FreeRTOS before its scheduler starts) runs beside every other thread, so all the program's
code counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code.vectors import vector_name

if TYPE_CHECKING:  # gomcu.code.enables loads capstone: not for a check read back from the cache
    from gomcu.code.enables import Enable
    from gomcu.code.model import CodeModel


@dataclass(frozen=True)
class ResetNesting:
    """The handlers left off the reset path's deepest point (name, why); of them, those that run
    only at an svc the reset path executes (`at_svc`, counted on the deepest such svc,
    `svc_depth` bytes down); and what the stretch of code is and what can be taken during it."""

    left_out: tuple[tuple[str, str], ...] = ()
    at_svc: tuple[str, ...] = ()
    svc_depth: int = 0
    during: str = ""


def not_during_reset(model: CodeModel, runtime: object | None, off_system_stack: Iterable[tuple[str, str]],
                     reset: str, entry_depths: Mapping[str, int],
                     vectors: Mapping[str, tuple[int, ...]]) -> ResetNesting:
    """Which handlers (name -> vectors) cannot be taken on the reset path's deepest point:
    proved unable to run while it holds the MSP, or only at an svc it executes. `entry_depths`:
    the deepest the reset path enters each function at (its stack bound's)."""
    from gomcu.code.enables import enables, excludable, takeable

    off = frozenset(off_system_stack)
    cut = model.without_calls_to(frozenset(), off) if off else model
    leaves = bool(off) and cut is not model
    thread = cut.reachable_from(reset) if leaves else frozenset(f.name for f in model.functions)
    found = enables(model, runtime)
    taken = takeable(cut, found, thread, vectors)  # the thread code stops where it leaves the MSP
    if taken.anything is not None:
        return ResetNesting()
    out = []
    for name, vs in vectors.items():
        if name in taken.handlers and name not in taken.at_svc or not vs or not all(excludable(v) for v in vs):
            continue
        why = "; ".join(_why(v, found.where(v)) for v in vs) if name not in taken.at_svc else \
            f"only at an svc instruction the reset path executes ({', '.join(vector_name(v) for v in vs)})"
        out.append((name, why))
    if not out:
        return ResetNesting()
    # an svc is at most its function's frame below where the reset path enters that function
    depths = [entry_depths[f] + (fn.frame.bytes if (fn := model.function(f)) is not None else 0)
              for f in taken.svc_functions if f in entry_depths]
    scope = (f"while the reset path runs on the MSP (until {' / '.join(f'{a} -> {b}' for a, b in sorted(off))} "
             "leaves it)" if leaves else "while the reset path runs (it never leaves the MSP: all the program's code "
             "runs beside it)")
    can = sorted({v for h in taken.handlers - taken.at_svc for v in vectors[h]})
    names = ", ".join(vector_name(v) for v in can if v not in (8, 9, 10, 13))  # not the reserved slots
    unresolved = sum(1 for c in model.unresolved_calls if c.caller in taken.functions)
    caveat = (f" (through the calls gomcu resolved: {unresolved} indirect calls on that code are taken to enable "
              "nothing)") if unresolved else ""
    at_svc = tuple(n for n, _ in out if n in taken.at_svc)
    svc = (f"; {', '.join(at_svc)} only at the svc instructions it executes (the deepest {max(depths, default=0)} B "
           "down), with what nests there") if at_svc else ""
    return ResetNesting(tuple(out), at_svc, max(depths, default=0),
                        f"{scope} only {names} can be taken{caveat}{svc}")


def _why(vector: int, where: Enable | None) -> str:
    """Why `vector` cannot be taken during the reset path: nothing it reaches enables it."""
    what = {11: "no svc instruction", 14: "no store setting ICSR.PENDSVSET",
            15: "no write setting SYST_CSR.TICKINT or ICSR.PENDSTSET"}.get(vector, "no enable of it")
    elsewhere = f"; {where.how} in {where.function} at 0x{where.address:x}" if where is not None \
        else "; the code has none anywhere"
    return f"{vector_name(vector)}: {what} is reachable from the reset path{elsewhere}"
