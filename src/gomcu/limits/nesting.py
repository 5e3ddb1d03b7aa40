"""The system (MSP) stack: the reset path plus the handlers that can nest on it, by priority.

On Cortex-M a handler preempts another only with a more urgent group priority (the part of the
priority byte above PRIGROUP, on the bits the chip implements): handlers at the same level
cannot nest, so a chain of nested handlers holds at most one per level, and the bound is the
reset path plus the deepest handler (with its exception frame) of each distinct level. Levels
come from the code (`gomcu.code.priorities`: constant stores and setter calls, else the reset
value 0) or from the emulator (the NVIC read back after initialisation). A handler whose level
is not known is assumed to nest on everything, and the bound says how many were.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gomcu.code.types import RootKind
from gomcu.findings import Status

if TYPE_CHECKING:
    from gomcu.code.priorities import StaticPriorities
    from gomcu.limits.reset_path import ResetNesting
    from gomcu.limits.stack import RootStack

#: NMI and HardFault have fixed priorities above every configurable one.
FIXED = {2: -2, 3: -1}
#: MemManage, BusFault and UsageFault escalate to HardFault unless enabled in SHCSR.
CONFIGURABLE_FAULTS = (4, 5, 6)


@dataclass(frozen=True)
class Level:
    """One preemption level in the bound: its value (negative for NMI/HardFault) and the
    deepest handler that runs at it."""

    level: int
    handler: str
    bytes: int


@dataclass(frozen=True)
class SystemStack:
    """The main stack (MSP): reset path plus handlers that can nest on it."""

    reset: str | None
    reset_bytes: int
    handlers: tuple[tuple[str, int], ...]  # (handler, its bound including its exception frame) counted
    bound_bytes: int
    bounded: bool
    allotted_bytes: int | None
    assumption: str
    #: by priority: where the levels come from ("static", "emulated"; "" when every handler nests)
    origin: str = ""
    levels: tuple[Level, ...] = ()
    unplaced: tuple[str, ...] = ()  # handlers whose level is not known: assumed to nest
    #: the bound with every handler nesting once (the figure before levels were known); below the
    #: bound by level when one handler serves vectors at several levels (it can nest on itself)
    all_nest_bytes: int | None = None
    all_handlers: tuple[tuple[str, int], ...] = ()  # every handler on this stack, counted or not
    placed: tuple[tuple[str, tuple[int, ...]], ...] = ()  # handler -> the levels it was placed at
    #: handlers left off the reset path's deepest point, with why: proved unable to run while it
    #: holds the MSP, or (`at_svc`) run only at an svc it executes. The sum above (`handlers`,
    #: `levels`, `unplaced`) leaves them out; the bound is the larger of it, the deepest svc
    #: (`svc_depth`) with the `at_svc` handlers also nesting (`svc_case_bytes`), and every handler
    #: nesting on an MSP the thread code no longer uses (`alone_bytes`)
    not_during_reset: tuple[tuple[str, str], ...] = ()
    at_svc: tuple[str, ...] = ()
    svc_depth: int = 0
    during_reset: str = ""  # what "while the reset path holds the MSP" covers, and what it can take
    reset_case_bytes: int | None = None  # reset path + the handlers that can nest on its deepest point
    svc_case_bytes: int | None = None  # the deepest svc + the handlers that can nest there
    svc_case: tuple[tuple[str, int], ...] = ()
    alone_bytes: int | None = None  # every handler nesting, without the reset path
    alone: tuple[tuple[str, int], ...] = ()  # the handlers that case counts (by level when known)

    @property
    def margin(self) -> int | None:
        return None if self.allotted_bytes is None else self.allotted_bytes - self.bound_bytes

    @property
    def status(self) -> Status:
        """Judged as a root's stack is (gomcu.limits.stack): short fails, an unproved bound warns."""
        from gomcu.limits.stack import _status

        return _status(self.bound_bytes, self.bounded, self.allotted_bytes)

    @property
    def max_nested(self) -> int:
        """The most handlers either case of the bound counts nested at once."""
        return max(len(self.handlers), len(self.svc_case), len(self.alone))

    @property
    def saved_by_levels(self) -> int:
        """Bytes the levels take off the every-handler figure (0 when they take nothing off)."""
        return max(0, (self.all_nest_bytes or 0) - self.bound_bytes)


def every_handler(reset: RootStack | None, handlers: list[RootStack], allotted: int | None,
                  assumption: str, nesting: ResetNesting | None = None) -> SystemStack:
    """The bound with every handler nesting on the one before (nothing known about priorities);
    `nesting`: the handlers left off the reset path's deepest point."""
    reset_bytes = reset.bound_bytes if reset else 0
    bounded = (reset.bounded if reset else True) and all(h.bounded for h in handlers)
    every = tuple((h.name, h.bound_bytes) for h in handlers)
    system = SystemStack(reset.name if reset else None, reset_bytes, every, reset_bytes + sum(b for _, b in every),
                         bounded, allotted, assumption, all_handlers=every)
    if nesting is None or not nesting.left_out:
        return system
    system = replace(system, not_during_reset=nesting.left_out, at_svc=nesting.at_svc, svc_depth=nesting.svc_depth,
                     during_reset=nesting.during)
    out = {name for name, _ in nesting.left_out}
    at_svc = out - set(nesting.at_svc)
    return _cases(system, tuple((n, b) for n, b in every if n not in out), (), (),
                  tuple((n, b) for n, b in every if n not in at_svc), every, assumption)


def _cases(system: SystemStack, counted: tuple[tuple[str, int], ...], levels: tuple[Level, ...],
           unplaced: tuple[str, ...], svc_case: tuple[tuple[str, int], ...], alone: tuple[tuple[str, int], ...],
           assumption: str) -> SystemStack:
    """`system` with the reset case (reset path + `counted`) and, when handlers are left out of
    it, the svc case (the deepest svc + `svc_case`) and the handlers-alone case (`alone`): the
    bound is the largest."""
    reset_case = system.reset_bytes + sum(b for _, b in counted)
    if not system.not_during_reset:
        return replace(system, handlers=counted, levels=levels, unplaced=unplaced, bound_bytes=reset_case,
                       assumption=assumption)
    alone_bytes = sum(b for _, b in alone)
    svc_bytes = system.svc_depth + sum(b for _, b in svc_case) if system.at_svc else None
    left_out = ", ".join(f"{name}: {why}" for name, why in system.not_during_reset)
    cases = [f"the reset path with the handlers that can nest on its deepest point ({reset_case} B)"]
    if svc_bytes is not None:
        cases.append(f"its deepest svc with those that can nest there ({svc_bytes} B)")
    cases.append(f"every handler nesting without it ({alone_bytes} B)")
    assumption += f"; {system.during_reset}: {left_out}; the bound is the largest of {', '.join(cases)}"
    return replace(system, handlers=counted, levels=levels, unplaced=unplaced,
                   bound_bytes=max(reset_case, svc_bytes or 0, alone_bytes), assumption=assumption,
                   reset_case_bytes=reset_case, svc_case_bytes=svc_bytes, svc_case=svc_case if svc_bytes else (),
                   alone_bytes=alone_bytes, alone=alone)


def static_levels(roots: Iterable[RootStack], priorities: StaticPriorities, bits: int) -> dict[str, set[int]]:
    """Handler -> the preemption levels it can run at, from the priorities the code sets; a
    handler with a vector whose priority is not known is left out (it is assumed to nest)."""
    out: dict[str, set[int]] = {}
    for rs in roots:
        if rs.root.kind not in (RootKind.EXCEPTION, RootKind.IRQ):
            continue
        levels: set[int] = set()
        for vector in rs.root.vectors:
            if vector in FIXED:
                levels.add(FIXED[vector])
                continue
            state, values = priorities.of(vector)
            if state == "unknown":
                break
            levels.update(priorities.group(v, bits) for v in values)
            if vector in CONFIGURABLE_FAULTS:
                levels.add(FIXED[3])  # escalated to HardFault when not enabled
        else:
            if levels:
                out[rs.name] = levels
    return out


def _nest(every: tuple[tuple[str, int], ...], levels: dict[str, set[int]]) -> tuple[tuple[Level, ...], tuple[str, ...]]:
    """The deepest handler of each level among `every`, and the handlers whose level is not known."""
    bounds = dict(every)
    worst: dict[int, tuple[str, int]] = {}
    for name, handler_levels in levels.items():
        if name not in bounds:
            continue
        for level in handler_levels:
            if level not in worst or bounds[name] > worst[level][1]:
                worst[level] = (name, bounds[name])
    unplaced = tuple(name for name in bounds if name not in levels)
    return tuple(Level(level, name, b) for level, (name, b) in sorted(worst.items())), unplaced


def by_level(system: SystemStack, levels: dict[str, set[int]], origin: str, why: str) -> SystemStack:
    """`system` (every handler nesting) bounded by levels: the deepest handler of each distinct
    level counts, plus every handler not in `levels`. `why`: what the levels come from. Handlers
    `system` says cannot run during the reset path are left out of the reset case only."""
    every = system.all_handlers or system.handlers
    bounds = dict(every)
    out = {name for name, _ in system.not_during_reset}
    chosen, unplaced = _nest(tuple((n, b) for n, b in every if n not in out), levels)
    all_chosen, all_unplaced = _nest(every, levels)
    known = len(bounds) - len(all_unplaced)
    assumption = (f"{why}: levels known for {known} of {len(bounds)} handlers, the deepest of each of "
                  f"{len(chosen)} level(s) counts")
    shared = sorted({x.handler for x in chosen if sum(y.handler == x.handler for y in chosen) > 1})
    if shared:
        assumption += f"; {', '.join(shared)} serve(s) vectors at several levels and count at each"
    if unplaced:
        assumption += f"; the {len(unplaced)} unknown assumed to nest"
    placed = tuple((name, tuple(sorted(levels[name]))) for name in bounds if name in levels)
    not_svc = out - set(system.at_svc)
    system = replace(system, placed=placed, origin=origin, all_nest_bytes=system.reset_bytes + sum(b for _, b in every),
                     all_handlers=every)
    return _cases(system, _sum(chosen, unplaced, bounds), chosen, unplaced,
                  _sum(*_nest(tuple((n, b) for n, b in every if n not in not_svc), levels), bounds),
                  _sum(all_chosen, all_unplaced, bounds), assumption)


def _sum(chosen: tuple[Level, ...], unplaced: tuple[str, ...], bounds: dict[str, int]) -> tuple[tuple[str, int], ...]:
    """The handlers a nesting by level counts: each level's deepest, then those of unknown level."""
    return tuple((x.handler, x.bytes) for x in chosen) + tuple((n, bounds[n]) for n in unplaced)


def with_static(emulated: dict[str, set[int]], system: SystemStack) -> dict[str, set[int]]:
    """The levels read back in the emulator joined with those the code sets (`system` placed by
    `static_levels`): a handler can run at either (the run saw only its initialisation), and one
    whose IRQ the run never enabled keeps its level from the code."""
    out = {name: set(levels) for name, levels in emulated.items()}
    if system.origin == "static":
        for name, levels in system.placed:
            out.setdefault(name, set()).update(levels)
    return out


def level_name(level: int) -> str:
    """A level as people read it: the priority byte, or the fixed exception above them all."""
    return {-2: "NMI", -1: "HardFault"}.get(level, f"0x{level:02X}")
