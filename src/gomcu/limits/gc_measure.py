"""Measured collections: run the firmware in the emulator with probes on the profile's collector
and allocator, and re-run it with smaller heaps to see how pauses and collection counts scale.

Built only on the emulator's public `run` and probes. A pause is one call of the profile's
`pause_probe` function, timed by an `AllocProbe` on it (the probe records every call's cost,
whatever the function); when that entry is inlined (optimised TinyGo), it is an allocator call
during which a marking function ran. The sweep moves `_heap_end` by patching the literal-pool words through
which the code loads it, in a temporary copy of the ELF: the firmware then lays out its heap
(and the collector's metadata at its end) in the smaller space, as it would on a smaller chip.
"""

from __future__ import annotations

import bisect
import math
import os
import re
import statistics
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gomcu.code.model import CodeModel
from gomcu.errors import GomcuError
from gomcu.image import Image
from gomcu.image import load as load_image
from gomcu.limits.outcome import RunOutcome, outcome_of, worst
from gomcu.limits.run_limits import DEFAULT_MAX_INSNS, DEFAULT_TIMEOUT
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:
    from gomcu import emu
    from gomcu.chips import Chip
    from gomcu.emu import Allocation
    from gomcu.limits.tasker_run import Pause


@dataclass(frozen=True)
class Distribution:
    """count / min / median / p99 / max of a sample (p99 by nearest rank)."""

    count: int
    min: float | None
    median: float | None
    p99: float | None
    max: float | None

    @staticmethod
    def of(values: "list[int] | list[float] | tuple[int, ...]") -> "Distribution":
        if not values:
            return Distribution(0, None, None, None, None)
        ordered = sorted(values)
        rank = max(1, math.ceil(0.99 * len(ordered)))
        return Distribution(len(ordered), ordered[0], statistics.median(ordered), ordered[rank - 1], ordered[-1])

    def scaled(self, factor: float) -> "Distribution":
        def s(v: float | None) -> float | None:
            return None if v is None else round(v * factor, 3)

        return Distribution(self.count, s(self.min), s(self.median), s(self.p99), s(self.max))


@dataclass(frozen=True)
class GcRun:
    """One emulated run: how it ended, its collections and its allocations."""

    heap_bytes: int | None  # _heap_end - _heap_start in this run
    stop: str
    exit_code: int | None
    message: str
    instructions: int
    cycles: int
    clock_hz: int
    board: str
    pause_function: str | None
    pauses_insns: tuple[int, ...]
    pauses_cycles: tuple[int, ...]
    allocations: int
    alloc_insns: tuple[int, ...]
    alloc_in_interrupt: int
    heap_high_water: int | None  # highest heap byte any allocation handed out, from the heap start
    collector_calls: int | None = None  # the collector's call count from a function probe (cross-check)
    output_tail: str = ""
    notes: tuple[str, ...] = ()
    alloc_sizes: tuple[int, ...] = ()  # requested size of each allocator call, in call order
    alloc_cycles: tuple[int, ...] = ()
    outcome: RunOutcome | None = None  # the worse of the run's two passes
    #: a concurrent collector's GC cycles, each with several stop-the-world pauses (None: one
    #: pause is one collection)
    gc_cycles: int | None = None
    #: bytes the allocator was asked for from one GC cycle's start to the next: [0] before the
    #: first cycle, [k] from cycle k's start (the last up to the run's end); () when the profile
    #: measures the heap by its high-water instead or the collector has no cycles to split on
    alloc_bytes_by_cycle: tuple[int, ...] = ()
    #: (label, bytes) of the runtime's own heap accounting read at the run's end (the profile's
    #: `heap_counters`); None where the image's DWARF or the memory did not give it
    heap_counters: tuple[tuple[str, int | None], ...] = ()

    @property
    def alloc_bytes(self) -> int:
        """Bytes asked of the allocator over the run (requested sizes, before any rounding)."""
        return sum(self.alloc_sizes)

    @property
    def ok(self) -> bool:
        return self.stop == "exit" and (self.exit_code in (0, None))

    @property
    def collections(self) -> int:
        return self.gc_cycles if self.gc_cycles is not None else len(self.pauses_insns)

    def pauses(self) -> Distribution:
        return Distribution.of(self.pauses_insns)

    def pauses_us(self, clock_hz: int | None = None) -> Distribution:
        hz = clock_hz or self.clock_hz
        return Distribution.of(self.pauses_cycles).scaled(1e6 / hz)

    def alloc_latency(self) -> Distribution:
        return Distribution.of(self.alloc_insns)


@dataclass(frozen=True)
class Scaling:
    """Least-squares line of the median pause against the heap size over the sweep's good runs:
    pause = intercept + slope * heap (instructions, instructions per KiB), with R²."""

    intercept_insns: float
    slope_insns_per_kib: float
    r2: float
    runs: int


def scaling(runs: "tuple[GcRun, ...] | list[GcRun]") -> Scaling | None:
    points: list[tuple[float, float]] = []
    for r in runs:
        if not r.ok or r.heap_bytes is None:
            continue
        median = r.pauses().median
        if median is not None:
            points.append((r.heap_bytes / 1024, float(median)))
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for _, y in points)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in points)
    r2 = 1.0 - ss_res / ss_tot if ss_tot else 1.0
    return Scaling(round(intercept, 1), round(slope, 2), round(r2, 4), n)


@dataclass(frozen=True)
class GcMeasurement:
    run: GcRun
    sweep: tuple[GcRun, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def scaling(self) -> Scaling | None:
        return scaling(self.sweep)


def _heap_bounds(image: Image, profile: RuntimeProfile) -> tuple[int | None, int | None]:
    mem = profile.memory
    a, b = image.symbol(mem.get("heap_start", "_heap_start")), image.symbol(mem.get("heap_end", "_heap_end"))
    return (a.address if a else None, b.address if b else None)


def run_once(image: Image, profile: RuntimeProfile, *, chip: Chip | None = None,
             max_insns: int = DEFAULT_MAX_INSNS, timeout: float | None = DEFAULT_TIMEOUT) -> GcRun:
    """Two deterministic runs of the same firmware: one times every allocator call (and counts
    the collector's calls), one times every collector call. Raises EmulationError for firmware
    the emulator cannot run."""
    from gomcu import emu

    names = {s.name for s in image.symbols}
    allocator = next((a for a in profile.allocators() if a in names), None)
    if allocator is None:
        raise GomcuError("no allocator in this firmware: nothing to measure")
    stw = profile.stw_span(names)
    pause_fn = None if stw else profile.pause_probe(names)
    marker = None if pause_fn or stw else profile.collection_marker(names)
    extra_notes: list[str] = []
    gc_cycles = 0
    board = chip.name if chip is not None else None
    probes: list = [allocator_probe(profile, allocator)]
    if pause_fn:
        probes.append(emu.FunctionProbe(pause_fn))
    if stw:
        from gomcu.limits import tasker_run

        probes += tasker_run.probes(image, profile)
    from gomcu.runtime.boundary import boundary_hooks

    hooks = boundary_hooks(profile)
    counters = profile.heap_counters()
    first = emu.run(image, chip=board, max_insns=max_insns, timeout=timeout, probes=probes, hooks=hooks,
                    snapshot=bool(counters))
    heap_counters = read_counters(image, first, counters, extra_notes)
    pauses_i: tuple[int, ...] = ()
    pauses_c: tuple[int, ...] = ()
    calls = None
    outcomes = [outcome_of(first, image, "the GC measurement run")]
    cycle_starts: list[int] = []
    if stw:
        # The collector is concurrent: a pause is the world stopped, not a whole collection.
        from gomcu.limits.tasker_run import stw_pauses

        pauses, gc_cycles = stw_pauses(profile, first)
        cycle_starts = cycle_start_instants(pauses)
        pauses_i = tuple(p.instructions for p in pauses if p.instructions is not None)
        pauses_c = tuple(p.cycles for p in pauses if p.cycles is not None)
        pause_fn = f"stop-the-world ({stw[0]} entry to {stw[1]} return)"
        extra_notes.append(f"{len(pauses)} stop-the-world pause(s) in {gc_cycles} GC cycle(s)")
        extra_notes += [f"{phase}: {len(c)} pause(s), max {max(c)} cycles" for phase, c in _by_phase(pauses)]
        if len(pauses_c) < len(pauses):
            extra_notes.append("the world was still stopped when the run ended: that pause is not counted")
    elif pause_fn:
        timing = next((f for f in first.functions if f.name == pause_fn), None)
        calls = timing.calls if timing else None
        second = emu.run(image, chip=board, max_insns=max_insns, timeout=timeout, probes=[emu.AllocProbe(pause_fn)],
                         hooks=hooks)
        outcomes.append(outcome_of(second, image, "the GC measurement run"))
        pauses_i = tuple(a.insns for a in second.allocations)
        pauses_c = tuple(a.cycles for a in second.allocations)
    elif marker:
        # The collector is inlined into the allocator: the same deterministic run again, timing
        # the marker's calls; the allocator calls they fall inside are the collections.
        second = emu.run(image, chip=board, max_insns=max_insns, timeout=timeout, probes=[emu.AllocProbe(marker)],
                         hooks=hooks)
        outcomes.append(outcome_of(second, image, "the GC measurement run"))
        collecting, outside = innermost_calls(first.allocations, [a.cycle for a in second.allocations])
        if outside:
            extra_notes.append(f"{marker} also ran {outside} time(s) outside allocator calls (an explicit "
                               "runtime.GC(), inlined): those collections are not timed")
        calls = len(collecting)
        pauses_i = tuple(a.insns for a in collecting)
        pauses_c = tuple(a.cycles for a in collecting)
        pause_fn = f"{allocator} calls that ran {marker}"
    start, end = _heap_bounds(image, profile)
    allocs = [a for a in first.allocations]
    high = None
    by_cycle: tuple[int, ...] = ()
    if not profile.heap_high_water_measurable():
        extra_notes.append("heap high-water not measured: on this runtime's page heap the highest block "
                           f"{allocator} returned is not the heap's extent, and live bytes are not known "
                           "without the collector's sweep; the run reports the bytes requested from "
                           f"{allocator} in each GC cycle instead")
        if stw:
            by_cycle = bytes_by_cycle(allocs, cycle_starts)
    elif start is not None:
        ends = [a.result + a.size - start for a in allocs
                if a.result is not None and end is not None and start <= a.result < end]
        high = max(ends) if ends else 0
    return GcRun(
        heap_bytes=(end - start) if start is not None and end is not None else None,
        stop=first.stop, exit_code=first.exit_code, message=first.message,
        instructions=first.instructions, cycles=first.cycles, clock_hz=first.clock_hz, board=first.board,
        pause_function=pause_fn, pauses_insns=pauses_i, pauses_cycles=pauses_c,
        allocations=len(allocs), alloc_insns=tuple(a.insns for a in allocs),
        alloc_sizes=tuple(a.size for a in allocs), alloc_cycles=tuple(a.cycles for a in allocs),
        alloc_in_interrupt=sum(1 for a in allocs if a.in_exception), gc_cycles=gc_cycles if stw else None,
        heap_high_water=high, collector_calls=calls, output_tail=first.output[-200:], notes=tuple(extra_notes),
        outcome=worst(outcomes), alloc_bytes_by_cycle=by_cycle, heap_counters=heap_counters,
    )


def read_counters(image: Image, result: "emu.RunResult", counters: Sequence[tuple[str, str, str]],
                  notes: list[str]) -> tuple[tuple[str, int | None], ...]:
    """The runtime's counters (label, variable, field) from the end-of-run memory, each field
    found through the DWARF type of the variable; a note for each one that could not be read."""
    out: list[tuple[str, int | None]] = []
    for label, variable, member in counters:
        symbol = image.symbol(variable)
        where = image.dwarf.member(symbol.address, member) if symbol is not None and image.dwarf else None
        data = result.read(symbol.address + where[0], where[1]) if symbol is not None and where else None
        if data is None:
            notes.append(f"{label} not read: "
                         + (f"no {variable}.{member} in the image's symbols and DWARF" if where is None
                            else "its memory was not in the run's snapshot"))
        out.append((label, int.from_bytes(data, "little") if data is not None else None))
    return tuple(out)


def allocator_probe(profile: RuntimeProfile, allocator: str) -> "emu.AllocProbe":
    """The emulator's allocation probe on `allocator`, reading the size and the result where the
    profile says the runtime's calling convention puts them."""
    from gomcu import emu

    spec = profile.allocator_probe(allocator)
    try:
        return emu.AllocProbe(allocator, size_at=spec.size_at, result_at=spec.result_at, restart=spec.restart,
                              restart_return=spec.restart_return)
    except GomcuError as error:  # the profile's data, not the firmware: the user's error
        raise GomcuError(f"runtime profile {profile.name!r}, [gc.allocator_probe]: {error}") from None


def cycle_start_instants(pauses: "Sequence[Pause]") -> list[int]:
    """The instant (cycles) each GC cycle began: its first stop-the-world pause's start."""
    first: dict[int, int] = {}
    for p in pauses:
        if p.gc_cycle > 0:
            first.setdefault(p.gc_cycle, p.start_cycle)
    return [first[c] for c in sorted(first)]


def bytes_by_cycle(allocs: "Sequence[Allocation]", starts: Sequence[int]) -> tuple[int, ...]:
    """Requested bytes between GC cycle starts: [0] before the first, [k] from cycle k's start
    to the next one's (an allocation counts where it was entered: the one whose call started a
    cycle counts before it)."""
    out = [0] * (len(starts) + 1)
    for a in allocs:
        out[bisect.bisect_right(starts, a.cycle)] += a.size
    return tuple(out)


def _by_phase(pauses: "Sequence[Pause]") -> list[tuple[str, list[int]]]:
    out: dict[str, list[int]] = {}
    for p in pauses:
        if p.cycles is not None:
            out.setdefault(p.phase, []).append(p.cycles)
    return list(out.items())


def innermost_calls(calls: "Sequence[Allocation]", instants: Sequence[int]) -> tuple[list[Allocation], int]:
    """For each instant, the innermost call (latest start) whose span [cycle, cycle + cycles)
    holds it: an interrupt handler's own allocator call nests inside the thread's. Returns the
    calls that hold at least one instant, in order, and how many instants no call holds."""
    ordered = sorted(calls, key=lambda c: c.cycle)
    starts = [c.cycle for c in ordered]
    chosen: dict[int, Allocation] = {}
    outside = 0
    for t in instants:
        i = bisect.bisect_right(starts, t) - 1
        while i >= 0 and not t < ordered[i].cycle + ordered[i].cycles:
            i -= 1  # an earlier, longer call may still enclose it (nesting)
        if i < 0:
            outside += 1
        else:
            chosen.setdefault(i, ordered[i])
    return [chosen[i] for i in sorted(chosen)], outside


# -- the sweep -------------------------------------------------------------------------------

def heap_end_literals(model: CodeModel, value: int) -> tuple[int, ...]:
    """Addresses of literal-pool words inside functions that hold `value` (how Thumb code loads
    a linker symbol's address): the words to patch to move the heap's end."""
    image = model.image
    out = []
    for fn in model.functions:
        covered = [(i.address, i.end) for i in model.instructions(fn.name)]
        code = {a for lo, hi in covered for a in range(lo, hi)}
        start = (fn.address + 3) & ~3
        for address in range(start, fn.address + fn.size - 3, 4):
            if address in code:
                continue
            if image.read_word(address) == value:
                out.append(address)
    return tuple(sorted(set(out)))


def _file_offset(image: Image, address: int) -> int | None:
    for s in image.sections:
        if s.alloc and not s.nobits and s.lma <= address < s.lma + s.size:
            return s.offset + address - s.lma
    return None


def patched_copy(image: Image, words: dict[int, int], directory: str) -> str:
    """A copy of the ELF file with the given words (address -> value) rewritten."""
    data = bytearray(Path(image.path).read_bytes())
    for address, value in words.items():
        offset = _file_offset(image, address)
        if offset is None:
            raise GomcuError(f"cannot patch 0x{address:08x}: not in a loaded section")
        data[offset:offset + 4] = value.to_bytes(4, "little")
    path = os.path.join(directory, "patched.elf")
    Path(path).write_bytes(bytes(data))
    return path


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?i?[bB]?|%)?\s*$")


def parse_sizes(text: str, heap_bytes: int | None, option: str = "--sweep") -> tuple[int, ...]:
    """`8K,16K,32768,50%` -> heap sizes in bytes (K = 1024, % of the linked heap). Without
    `heap_bytes` (several firmware at once) percentages are refused and sizes are not capped."""
    out = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = _SIZE.match(part)
        if not m:
            raise GomcuError(f"{option}: cannot read the size {part.strip()!r} (use e.g. 8K,16K,50%)")
        number, unit = float(m.group(1)), (m.group(2) or "").lower()
        if unit == "%":
            if heap_bytes is None:
                raise GomcuError(f"{option}: give sizes in bytes or K, not {part.strip()!r}")
            size = int(heap_bytes * number / 100)
        elif unit.startswith("k"):
            size = int(number * 1024)
        elif unit.startswith("m"):
            size = int(number * 1024 * 1024)
        else:
            size = int(number)
        if size <= 0:
            raise GomcuError(f"{option}: size {part.strip()!r} is not positive")
        if heap_bytes is not None and size > heap_bytes:
            raise GomcuError(f"{option}: {size} bytes is more than the linked heap ({heap_bytes} bytes); "
                             "the sweep can only shrink it")
        out.append(size)
    if not out:
        raise GomcuError(f"{option}: no sizes given")
    return tuple(sorted(set(out)))


@contextmanager
def heap_resized(image: Image, model: CodeModel, profile: RuntimeProfile, size: int) -> Iterator[tuple[Image, str]]:
    """A copy of the firmware whose heap ends `size` bytes after _heap_start (the literal words
    holding _heap_end patched), and a note saying which words; removed on exit."""
    start, end = _heap_bounds(image, profile)
    if start is None or end is None:
        raise GomcuError("resizing the heap needs _heap_start and _heap_end symbols")
    literals = heap_end_literals(model, end)
    if not literals:
        raise GomcuError(f"cannot move _heap_end: no literal word holding 0x{end:08x} in the code "
                         "(the firmware computes it another way)")
    note = (f"_heap_end moved by patching {len(literals)} literal word(s) at "
            + ", ".join(f"0x{a:08x}" for a in literals))
    with tempfile.TemporaryDirectory(prefix="gomcu-gc-") as directory:
        patched = load_image(patched_copy(image, {a: start + size for a in literals}, directory))
        try:
            yield patched, note
        finally:
            patched.close()


def sweep(image: Image, model: CodeModel, profile: RuntimeProfile, sizes: tuple[int, ...], *,
          chip: Chip | None = None, max_insns: int = DEFAULT_MAX_INSNS,
          timeout: float | None = DEFAULT_TIMEOUT) -> tuple[tuple[GcRun, ...], tuple[str, ...]]:
    """Re-run with the heap cut to each size (bytes from _heap_start)."""
    runs = []
    notes: list[str] = []
    for size in sizes:
        with heap_resized(image, model, profile, size) as (patched, note):
            runs.append(_with_heap(run_once(patched, profile, chip=chip, max_insns=max_insns, timeout=timeout), size))
        if not notes:
            notes.append(note)
    return tuple(runs), tuple(notes)


def _with_heap(run: GcRun, size: int) -> GcRun:
    from dataclasses import replace

    return replace(run, heap_bytes=size)


def measure(image: Image, model: CodeModel, profile: RuntimeProfile, *, chip: Chip | None = None,
            sweep_sizes: tuple[int, ...] = (), max_insns: int = DEFAULT_MAX_INSNS,
            timeout: float | None = DEFAULT_TIMEOUT) -> GcMeasurement:
    base = run_once(image, profile, chip=chip, max_insns=max_insns, timeout=timeout)
    notes: list[str] = list(base.notes)
    if base.pause_function is None:
        notes.append("no collector entry and no marking function to time: pauses not measured")
    elif " calls that ran " in base.pause_function:
        notes.append(f"the collector's entry is inlined: a pause is a whole {base.pause_function.split()[0]} call "
                     "during which marking ran (it includes that allocation's own search)")
    elif base.collector_calls is not None and base.collector_calls != base.collections:
        notes.append(f"pause probe saw {base.collections} calls, the function probe {base.collector_calls}")
    runs: tuple[GcRun, ...] = ()
    if sweep_sizes:
        runs, sweep_notes = sweep(image, model, profile, sweep_sizes, chip=chip, max_insns=max_insns, timeout=timeout)
        notes.extend(sweep_notes)
    return GcMeasurement(base, runs, tuple(notes))
