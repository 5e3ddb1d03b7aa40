"""Probes: generic measurements the caller asks for by function name or address.

They know nothing about Go: the analyses pass the profile's names (task start, allocator).

* `StackProbe(create, alloc)`: every block the allocator `alloc` returns while `create` is
  running is a stack: it is painted right after `alloc` returns and its high-water is read
  at the end (the MSP stack from the vector table is always painted before reset).
* `FunctionProbe(function)`: calls, inclusive instructions, and instructions with exception
  handlers subtracted; entries are hooked at the function's address, returns at the caller's
  return address (LR at entry) with the stack pointer back at its entry value, so tail calls
  and indirect calls are timed correctly.
* `AllocProbe(function, size_at, result_at, restart)`: each call's size, caller, result and
  cost. The size is read at entry and the result at the return, from a register ("r0", the C
  convention) or from the stack ("stack+4": the word at the stack pointer of the call's entry,
  which is also the stack pointer at its return; Go's ABI0 passes both on the stack). A
  `restart` function entered with the stack pointer of an open call's entry and that call's
  return address in `restart_return` abandons the call: it will be entered again from the top
  (Go's prologue calls morestack, which resumes the function at its entry), so each call is
  recorded once, at the return that ends it.
* `SpanProbe(name, begin, end)`: intervals from the entry of `begin` to the return of `end`
  (a collector's stop-the-world pause: stopTheWorld... to startTheWorld...), with the function
  that called `begin`; one interval is open at a time.
* `Injection(irq, period_cycles, ...)`: pend an IRQ periodically (optionally with
  deterministic jitter) or at given instants; latency and duration are recorded for every
  exception taken, injected or not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from gomcu.errors import EmulationError
from gomcu.runtime.profile import argument_location

PAINT = 0xC5A5C5A5


@dataclass(frozen=True)
class StackProbe:
    """`zero_paint`: do not paint blocks the allocator returned zeroed (see machine.py)."""

    create: str | int
    alloc: str | int
    name: str = "stack"
    zero_paint: bool = False


@dataclass(frozen=True)
class FunctionProbe:
    function: str | int


@dataclass(frozen=True)
class AllocProbe:
    function: str | int
    size_at: str = "r0"
    result_at: str = "r0"
    restart: tuple[str | int, ...] = ()
    restart_return: str = "r3"

    def __post_init__(self) -> None:
        for spec in (self.size_at, self.result_at, self.restart_return):
            location(spec)
        if location(self.restart_return)[0] != "reg":
            raise EmulationError(f"probe: restart_return must name a register, not {self.restart_return!r}")


def location(spec: str) -> tuple[str, int]:
    """("reg", n) for "rN", ("stack", offset) for "sp+offset" or "stack+offset": where a probe
    reads a value at a call's entry or return (gomcu.runtime.profile.argument_location)."""
    found = argument_location(spec)
    if found is None:
        raise EmulationError(f"probe: cannot read the location {spec!r} (use r0..r12 or stack+N, N a multiple of 4)")
    return found


@dataclass(frozen=True)
class SpanProbe:
    name: str
    begin: str | int
    end: str | int


@dataclass(frozen=True)
class Injection:
    """Pend IRQ `irq` every `period_cycles` from `start_cycle` (default: one period), with a
    uniform jitter of +-`jitter_cycles` from a seeded generator, at most `count` times; or
    exactly at `instants` (cycles) when given."""

    irq: int
    period_cycles: int = 0
    start_cycle: int | None = None
    jitter_cycles: int = 0
    seed: int = 1
    count: int | None = None
    instants: tuple[int, ...] = ()

    def schedule(self) -> "InjectionSchedule":
        return InjectionSchedule(self)


@dataclass
class InjectionSchedule:
    spec: Injection
    fired: int = 0
    next_cycle: int | None = None
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.spec.seed)
        s = self.spec
        if s.instants:
            self.next_cycle = sorted(s.instants)[0]
        elif s.period_cycles > 0:
            self.next_cycle = self._jitter(s.start_cycle if s.start_cycle is not None else s.period_cycles)

    def _jitter(self, base: int) -> int:
        j = self.spec.jitter_cycles
        return max(0, base + (self.rng.randint(-j, j) if j else 0))

    def advance(self) -> None:
        s = self.spec
        self.fired += 1
        if s.count is not None and self.fired >= s.count:
            self.next_cycle = None
        elif s.instants:
            rest = sorted(s.instants)[self.fired:]
            self.next_cycle = rest[0] if rest else None
        else:
            base = (s.start_cycle if s.start_cycle is not None else s.period_cycles) + self.fired * s.period_cycles
            self.next_cycle = self._jitter(base)
