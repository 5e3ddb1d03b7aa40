"""What one emulated run shows of a runtime with a collector that stops the world and a tasker
that switches threads in PendSV (Embedded Go): its stop-the-world pauses by phase and GC
cycle, its context switches, the latency of the interrupts injected, what it printed through
the ITM, and the MPU as it set it up - each with how the run ended (partial if it stopped early).

The pauses come from the emulator's span probe over the profile's `stw_span` functions; a
switch is a PendSV whose exception return went to another stack than the one it interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.limits.outcome import RunOutcome, outcome_of
from gomcu.limits.rtos_run import Spread, spread_of
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:
    from gomcu.emu import Probe, RunResult
    from gomcu.emu.result import MpuState
    from gomcu.image import Image

PENDSV = 14
STW = "stop-the-world"


@dataclass(frozen=True)
class Pause:
    """One stop-the-world pause: `cycle` is the GC cycle (from 1; 0 before the first cycle's
    first phase), `cycles` None if the world was still stopped when the run ended."""

    phase: str
    stopped_by: str | None
    gc_cycle: int
    start_cycle: int
    cycles: int | None
    instructions: int | None


@dataclass(frozen=True)
class TaskerRun:
    outcome: RunOutcome
    clock_hz: int
    pauses: tuple[Pause, ...]
    gc_cycles: int
    switches: int
    switch_cycles: Spread | None  # PendSV handlers that switched: entry to return
    pendsv: int  # PendSV handlers taken (switching or not)
    latency: tuple[tuple[str, Spread], ...]  # injected interrupts: pend to first handler instruction
    itm: tuple[tuple[int, str], ...]  # (stimulus port, text)
    mpu: MpuState | None
    measured_stw: bool  # the image has the profile's stop/start functions

    def us(self, cycles: float) -> float:
        return cycles * 1e6 / self.clock_hz if self.clock_hz else 0.0

    def phase_spreads(self) -> tuple[tuple[str, Spread], ...]:
        """Pause cycles by phase, in the order the phases first occur."""
        order: list[str] = []
        for p in self.pauses:
            if p.phase not in order:
                order.append(p.phase)
        out = []
        for phase in order:
            spread = spread_of([p.cycles for p in self.pauses if p.phase == phase and p.cycles is not None])
            if spread is not None:
                out.append((phase, spread))
        return tuple(out)


def probes(image: Image, profile: RuntimeProfile | None) -> list[Probe]:
    """The span probe over the profile's stop/start-the-world functions, if the image has them."""
    from gomcu import emu

    span = profile.stw_span(s.name for s in image.symbols) if profile is not None else None
    return [emu.SpanProbe(STW, span[0], span[1])] if span else []


def applies(image: Image, profile: RuntimeProfile | None) -> bool:
    """Whether the profile has a stop-the-world span or a PendSV tasker to report on."""
    if profile is None:
        return False
    names = {s.name for s in image.symbols}
    return profile.stw_span(names) is not None or any(n in names for n in profile.tasks.get("switch", ()))


def stw_pauses(profile: RuntimeProfile, result: RunResult) -> tuple[tuple[Pause, ...], int]:
    """The run's stop-the-world pauses in order, with their phase and GC cycle, and the number
    of GC cycles (pauses of the profile's first phase)."""
    pauses: list[Pause] = []
    gc_cycle = 0
    for span in sorted((s for s in result.spans if s.name == STW), key=lambda s: s.start_cycle):
        index, phase = profile.stw_phase(span.opened_by)
        if index == 0:
            gc_cycle += 1
        pauses.append(Pause(phase, span.opened_by, gc_cycle if index >= 0 else 0, span.start_cycle, span.cycles,
                            span.instructions))
    return tuple(pauses), gc_cycle


def from_run(image: Image, profile: RuntimeProfile, result: RunResult, run: str = "the emulated run") -> TaskerRun:
    pauses, gc_cycle = stw_pauses(profile, result)
    pendsv = [s for s in result.interrupts if s.exception == PENDSV]
    switched = [s for s in pendsv if s.switched]
    injected: dict[str, list[int]] = {}
    for s in result.interrupts:
        if s.injected:
            injected.setdefault(s.name, []).append(s.latency_cycles)
    latency = tuple((name, spread) for name, values in injected.items()
                    if (spread := spread_of(values)) is not None)
    itm = tuple(sorted((int(k[3:]), v) for k, v in result.streams.items() if k.startswith("itm") and k[3:].isdigit()))
    names = {s.name for s in image.symbols}
    return TaskerRun(outcome_of(result, image, run), result.clock_hz, pauses, gc_cycle, len(switched),
                     spread_of([s.duration_cycles for s in switched if s.duration_cycles is not None]), len(pendsv),
                     latency, itm, result.mpu, profile.stw_span(names) is not None)
