"""Boundary hooks: functions the emulator answers itself instead of running them.

A hook names a function and an action; it knows nothing about Go (the runtime profile says
which functions are the hardware boundary, see runtime/hooks.py). On a rehosted board (a real
chip's run model) the machine writes a `bkpt` at each hooked function's entry; when the core
reaches it, Python performs the action and returns to the caller (PC = LR), so a hooked call
costs one instruction and no per-instruction work. Actions:

* `putchar`: the byte in r0 is program output (stream "console").
* `ticks`: return the emulated time in units of `unit_hz` (64 bits in r0:r1, or 32 in r0).
* `sleep`: the argument (r0:r1, or r0) is a duration in `unit_hz` units: the clock advances by
  it, or to the next interrupt if one comes sooner (as a timer sleep woken early), counted as
  asleep.
* `wait`: sleep until the next event (as `wfe`); with none, the run stops as a deadlock.
* `random`: r0 = the next value of a fixed-seed xorshift32, r1..r(results-1) = 0 (a nil error).
* `yield`: a function a poll loop calls to give the CPU away (Embedded Go's `runtime.mcall`, which
  `runtime.Gosched` is, and `osyield`): the run executes it, but the poll solver's trials return
  from it at once, so `for reg&READY == 0 { runtime.Gosched() }` is answered like a tight loop
  (one iteration would otherwise run the scheduler and its system calls).

A `fallback` hook (TinyGo's ticks and sleepTicks) applies only where the run model has no timer
the firmware can use: with one, the firmware's own code reads it and sleeps on its interrupt.

`unit_hz` None means the board's runtime timer rate (the first timer of the run model);
`unit_by_family` overrides it per chip family (TinyGo's STM32 tick is 16 ns, not a timer count).
"""

from __future__ import annotations

from dataclasses import dataclass

ACTIONS = ("putchar", "ticks", "sleep", "wait", "random", "yield")
HOOK_BKPT = 0xBE5A  # bkpt 0x5a (semihosting is 0xab)


@dataclass(frozen=True)
class Hook:
    function: str
    action: str
    unit_hz: int | None = None
    bits: int = 64
    results: int = 1
    unit_by_family: tuple[tuple[str, int], ...] = ()
    #: apply only on a board without a model of the runtime's timer (else the firmware's own
    #: code counts and sleeps with the modelled timer and its interrupt)
    fallback: bool = False

    def unit_for(self, family: str | None, timer_hz: int | None) -> int | None:
        for fam, hz in self.unit_by_family:
            if fam == family:
                return hz
        return self.unit_hz or timer_hz


class XorShift32:
    """The deterministic random source `random` answers from (same seed every run)."""

    def __init__(self, seed: int = 0x2545F491) -> None:
        self.state = seed

    def next(self) -> int:
        x = self.state
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.state = x
        return x
