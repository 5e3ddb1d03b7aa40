"""The emulated clock: instructions -> cycles -> microseconds.

The model is deliberately simple and stated, because its figures are compared across runs
rather than against a board:

* every instruction costs one cycle (Cortex-M3/M4/M7 issue most ALU, load/store-single and
  taken-branch-folded instructions in 1-3 cycles; the model ignores wait states, pipeline
  refills and multi-cycle loads/stores/divides, so it under-counts compute-bound code by
  roughly 1.2-1.5x);
* exception entry costs `entry` cycles, exception return `exit` cycles, and an entry that
  tail-chains from a return `tailchain` cycles instead of exit + entry (Arm's published
  latencies: 12/12/6 on Cortex-M3/M4/M7, 16/16/? on M0/M0+, whose tail-chain we take as 6);
* an extended (FP) frame adds 17 cycles (lazy stacking is not modelled: the FP context is
  stacked eagerly).

`cycles = instructions + exception overhead`; microseconds are cycles at the board's clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CoreTiming:
    core: str
    entry: int
    exit: int
    tailchain: int
    fp_frame: int = 17


_TIMINGS = {
    "cortex-m0": CoreTiming("cortex-m0", 16, 16, 6),
    "cortex-m0plus": CoreTiming("cortex-m0plus", 15, 15, 6),
    "cortex-m3": CoreTiming("cortex-m3", 12, 12, 6),
    "cortex-m4": CoreTiming("cortex-m4", 12, 12, 6),
    "cortex-m4f": CoreTiming("cortex-m4f", 12, 12, 6),
    "cortex-m7": CoreTiming("cortex-m7", 12, 12, 6),
    "cortex-m7f": CoreTiming("cortex-m7f", 12, 12, 6),
    "cortex-m33": CoreTiming("cortex-m33", 12, 12, 6),
    "cortex-m33f": CoreTiming("cortex-m33f", 12, 12, 6),
}


def timing_for(core: str) -> CoreTiming:
    return _TIMINGS.get(core, CoreTiming(core, 12, 12, 6))


def cycles_to_us(cycles: float, clock_hz: int) -> float:
    return cycles * 1e6 / clock_hz
