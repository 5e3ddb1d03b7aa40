"""Probes: generic measurements the caller asks for by function name or address.

They know nothing about Go: the analyses pass the profile's names (task start, allocator).

* `StackProbe(create, alloc)`: every block the allocator `alloc` returns while `create` is
  running is a stack: it is painted right after `alloc` returns and its high-water is read
  at the end (the MSP stack from the vector table is always painted before reset).
* `FunctionProbe(function)`: calls, inclusive instructions, and instructions with exception
  handlers subtracted; entries are hooked at the function's address, returns at the caller's
  return address (LR at entry) with the stack pointer back at its entry value, so tail calls
  and indirect calls are timed correctly.
* `AllocProbe(function)`: each call's size (r0), caller, result and cost.
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
