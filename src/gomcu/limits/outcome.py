"""How an emulated run ended, as every emulated figure must carry it.

A run is *complete* when the program exited (status 0) and printed no panic; *failed* when it
faulted, panicked, overflowed a stack or exited with a non-zero status (the firmware is broken:
the limit the run belongs to fails, with the function and line); *partial* for every other stop
(instruction budget, wall-clock limit, a spin or sleep nothing can end, a register nothing models,
and any stop reason the emulator adds later): what was measured is true only up to the stop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.findings import Finding, Location, Severity
from gomcu.limits.attribution import CodeOwners, owners

if TYPE_CHECKING:
    from gomcu.emu import RunResult
    from gomcu.image import Image

COMPLETE, PARTIAL, FAILED = "complete", "partial", "failed"
_PANIC = re.compile(r"^(panic: .*|fatal error: .*)$", re.MULTILINE)
_ADDRESS = re.compile(r"\bat (0x[0-9a-fA-F]+)")


@dataclass(frozen=True)
class RunOutcome:
    """`state` is complete, partial or failed; `what` names a failure (fault, panic, stack
    overflow, exit status); `location` is where the run stopped, when the code says: the faulting
    instruction of a fault, else the innermost frame of the user's code in `calls` (the frames at
    the stop, innermost first, read off the emulated stack); `stack` is the stack it ran on."""

    state: str
    stop: str
    message: str
    instructions: int
    what: str = ""
    location: Location | None = None
    run: str = "an emulated run"  # which run, for messages
    calls: tuple[Location, ...] = ()
    stack: str | None = None
    pc: int | None = None  # where it stopped (the faulting instruction of a fault)
    reason: str = ""  # `what` without what a stack probe added (not every run paints stacks)

    @property
    def key(self) -> tuple[int | None, str]:
        """What makes two stops the same stop: the same place, for the same reason."""
        return self.pc, self.reason or self.what or self.stop

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    @property
    def overflow(self) -> bool:
        return self.failed and "stack overflow" in self.what

    def where(self) -> str:
        return f" in {self.location}" if self.location is not None else ""

    def chain(self) -> str:
        """The frames at the stop, innermost first ('' when no more than the stop's own place)."""
        if len(self.calls) < 2 and (not self.calls or self.calls[0] == self.location):
            return ""
        frames = " <- ".join(_frame(loc) for loc in self.calls)
        return f" (calls at the stop: {frames}{' <- ...' if len(self.calls) >= _DEPTH else ''})"

    def partial_note(self) -> str:
        """What a figure from this run is: 'partial, up to the stop (...)', or '' when complete."""
        if self.complete:
            return ""
        cause = self.what if self.failed else self.stop
        return f"partial: {self.run} stopped after {self.instructions:,} instructions ({cause}{self.where()})"

    def failure(self, rule: str, same: Sequence[RunOutcome] = ()) -> Finding:
        """The error finding a failed run gives the limit it belongs to; `same`: the other runs
        that stopped the same way (one finding for them all, naming each)."""
        on = f" on the stack of {self.stack}" if self.stack else ""
        runs = [o for o in (self, *same) if o.key == self.key]
        if len(runs) == 1:
            return Finding(rule, Severity.ERROR, f"{self.run}: the firmware {self.what}{self.where()}{on} after "
                           f"{self.instructions:,} instructions in the emulator{self.chain()}", self.location)
        each = ", ".join(f"{o.run} after {o.instructions:,} instructions" for o in runs)
        return Finding(rule, Severity.ERROR, f"the firmware {self.what}{self.where()}{on} in {len(runs)} emulated "
                       f"runs ({each}){self.chain()}", self.location)


_DEPTH = 24  # frames read off the stack at most (emu.unwind.backtrace's limit)


def _frame(loc: Location) -> str:
    if loc.function is None:
        return f"0x{loc.address or 0:08x}"
    return f"{loc.function} ({loc.file.rsplit('/', 1)[-1]}:{loc.line})" if loc.file and loc.line else loc.function


def stop_owners(runs: Sequence[tuple[str, RunOutcome | None]]) -> dict[str, str]:
    """For each limit whose run failed, the limit that reports the failure: a stack overflow is
    the memory limit's, a heap that ran out the GC limit's, anything else the first limit (in the
    order given) whose run hit it. A stop several runs hit is reported once, by its owner; the
    other limits' figures from those runs are partial."""
    failed = [(limit, o) for limit, o in runs if o is not None and o.failed]
    out: dict[str, str] = {}
    for group in same_stops([o for _, o in failed]):
        limits = [limit for limit, o in failed if any(o is g for g in group)]
        if any(o.overflow for o in group):
            owner = "memory"
        elif any("out of memory" in o.what for o in group):
            owner = "gc"
        else:
            owner = limits[0]
        out.update((limit, owner) for limit in limits)
    return out


def reported_under(owner: str, outcome: RunOutcome, rule: str, figures: str) -> Finding:
    """The warning a limit keeps when its run stopped on a failure another limit reports."""
    return Finding(rule, Severity.WARNING, f"{outcome.run} stopped on the failure the {owner} limit reports: "
                   f"{figures} figures are partial, up to instruction {outcome.instructions:,}", outcome.location)


def same_stops(outcomes: Sequence[RunOutcome]) -> list[list[RunOutcome]]:
    """Failed runs grouped by where and why they stopped, in order of first appearance."""
    groups: dict[tuple[int | None, str], list[RunOutcome]] = {}
    for o in outcomes:
        if o.failed:
            groups.setdefault(o.key, []).append(o)
    return list(groups.values())


def outcome_of(result: RunResult, image: Image | None = None, run: str = "an emulated run") -> RunOutcome:
    """Classify one run of the emulator; `run` names it in messages."""
    panic = _PANIC.search(result.output or "")
    overflowed = [s for s in result.stacks if s.overflow]
    what = ""
    if panic is not None:
        what = f"stopped with {panic.group(1).strip()!r}"
    elif result.stop == "fault":
        what = f"faulted ({result.message})"
    elif overflowed:
        what = f"had a stack overflow ({', '.join(s.name for s in overflowed)})"
    elif result.stop == "exit" and result.exit_code not in (0, None):
        what = f"exited with status {result.exit_code}"
    reason = what
    if what and panic is not None and "stack overflow" not in what and overflowed:
        what += f" and a stack overflow ({', '.join(s.name for s in overflowed)})"
    state = FAILED if what else (COMPLETE if result.stop == "exit" else PARTIAL)
    calls = _calls(result, image)
    location = _stop_location(result, image)
    if state == FAILED and result.fault is None and image is not None and calls:
        location = _place(calls, owners(image))
    elif location is None and calls and state != COMPLETE:
        location = calls[0]  # a stop whose message names no address (a timeout): where the pc was
    sp = result.stop_sp
    stack = next((s.name for s in result.stacks if sp is not None and s.bottom <= sp < s.top), None)
    return RunOutcome(state, result.stop, result.message, result.instructions, what, location, run,
                      calls, stack if stack is not None and state == FAILED else None, result.stop_pc, reason)


_PANIC_ROUTINE = re.compile(r"panic|abort", re.IGNORECASE)


def _place(calls: tuple[Location, ...], who: CodeOwners) -> Location:
    """The innermost frame in the user's code (the attribution rule of static findings); with
    none, the frame that called the runtime's panic or abort routine; else the stop itself."""
    user = next((c for c in calls if c.function and who.is_users(c.function)), None)
    if user is not None:
        return user
    dying = [i for i, c in enumerate(calls) if c.function and _PANIC_ROUTINE.search(c.function)]
    return calls[dying[-1] + 1] if dying and dying[-1] + 1 < len(calls) else calls[0]


def _calls(result: RunResult, image: Image | None) -> tuple[Location, ...]:
    """The stop's own place, then each call that led there (at the line of the call), innermost
    first: the frames that lie in a function."""
    if image is None or result.stop_pc is None:
        return ()
    out = []
    for i, address in enumerate((result.stop_pc, *result.return_addresses)):
        fn = image.function_at(address)
        if fn is None:
            continue
        line = image.line_for(address if i == 0 else address - 2)  # a return address: its call's line
        out.append(Location(address, fn.name, line.file if line else None, line.line if line else None))
    return tuple(out)


def _stop_location(result: RunResult, image: Image | None) -> Location | None:
    """The first address at the stop that lies in a function: the faulting pc, else its return
    address, else the address the stop message names."""
    candidates: list[int] = []
    if result.fault is not None:
        candidates += [result.fault.pc, result.fault.registers.get("lr", 0) & ~1]
    m = _ADDRESS.search(result.message or "")
    if m:
        candidates.append(int(m.group(1), 16))
    for address in candidates:
        if image is None:
            return Location(address=address)
        fn = image.function_at(address)
        if fn is None:
            continue
        line = image.line_for(address)
        return Location(address, fn.name, line.file if line else None, line.line if line else None)
    return Location(address=candidates[0]) if candidates else None


def worst(outcomes: list[RunOutcome]) -> RunOutcome | None:
    """The outcome that decides a limit measured by several runs: failed, then partial."""
    order = {FAILED: 0, PARTIAL: 1, COMPLETE: 2}
    return min(outcomes, key=lambda o: order[o.state], default=None)
