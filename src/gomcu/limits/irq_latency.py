"""Interrupt latency and jitter under injected interrupts, what drives the tail, and a fitted model.

One IRQ is pended many times (periodically with seeded jitter) while the firmware runs in the
emulator. Each sample's latency (pend -> first handler instruction, entry cost included) and
duration come from the emulator; each late sample is attributed to one cause, checked in order:
the IRQ was not yet enabled; its own previous activation was still running (and whether that
one was collecting garbage inside the interrupt); a handler of higher or equal priority ran in
between (and whether it was collecting); interrupts were masked by the interrupted code (it
contains CPSID / MSR PRIMASK/BASEPRI); a collection was running in the interrupted code.

Then latency ~ a + b * gc_active + c * heap_use_percent is fitted by least squares (normal
equations solved here; numpy is not a dependency), with R². `heap_use_percent` is the bytes
allocated since the last collection as a share of the heap, from the allocation trace: the
emulator does not snapshot the heap, so survivors of a collection are not counted (stated).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.emu.clock import cycles_to_us
from gomcu.limits.outcome import RunOutcome, outcome_of

if TYPE_CHECKING:
    from gomcu.code.model import CodeModel
    from gomcu.image import Image
    from gomcu.chips import Chip
    from gomcu.emu import Allocation, InterruptSample, RunResult
    from gomcu.limits.irq_priorities import PriorityState
    from gomcu.runtime.profile import RuntimeProfile

DEFAULT_COUNT = 200
DEFAULT_PERIOD_US = 400.0
MAX_INSNS = 100_000_000
TIMEOUT = 120.0
#: A sample is late when it is this many cycles beyond the median: two exception entries' worth.
LATE_MARGIN = 24

CAUSES = ("not-enabled", "own-previous", "gc-in-handler", "higher-priority", "masked", "gc-in-thread", "other")


@dataclass(frozen=True)
class Sample:
    pend_cycle: int
    latency_cycles: int
    duration_cycles: int | None
    function_at_pend: str | None
    gc_active: bool  # a collection was running (thread or handler) when it was pended
    heap_percent: float | None
    cause: str | None  # None: on time


@dataclass(frozen=True)
class Stats:
    count: int
    min: int
    median: float
    p99: float
    max: int

    def to_us(self, clock_hz: int) -> dict[str, float]:
        return {k: round(cycles_to_us(v, clock_hz), 3) for k, v in
                (("min", self.min), ("median", self.median), ("p99", self.p99), ("max", self.max))}


@dataclass(frozen=True)
class Fit:
    """latency_cycles = intercept + gc * gc_active + heap * heap_percent."""

    intercept: float | None
    gc: float | None  # None: the regressor never varied (cannot be estimated)
    heap: float | None
    r2: float | None  # None: latency did not vary
    n: int
    note: str


@dataclass(frozen=True)
class Campaign:
    irq: int
    handler: str | None
    priority: int | None
    count_requested: int
    period_cycles: int
    jitter_cycles: int
    seed: int
    clock_hz: int
    board: str
    stop: str
    stop_message: str
    output_tail: str
    samples: tuple[Sample, ...]
    latency: Stats | None
    duration: Stats | None
    late_threshold: int
    causes: dict[str, int]
    fit: Fit
    gc_pauses: int  # collections seen (in thread or handler)
    gc_in_handler: int  # collections run inside an interrupt handler
    notes: tuple[str, ...]
    outcome: RunOutcome | None = None
    deepest: tuple[int, ...] = ()  # the longest chain of nested exceptions the run saw


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of sorted or unsorted values."""
    s = sorted(values)
    if not s:
        return math.nan
    k = (len(s) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return float(s[lo]) if lo == hi else s[lo] + (s[hi] - s[lo]) * (k - lo)


def stats(values: list[int]) -> Stats | None:
    if not values:
        return None
    return Stats(len(values), min(values), percentile(values, 50), percentile(values, 99), max(values))


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when singular."""
    n = len(rhs)
    a = [row[:] + [rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-12:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                f = a[r][col] / a[col][col]
                for c in range(col, n + 1):
                    a[r][c] -= f * a[col][c]
    return [a[i][n] / a[i][i] for i in range(n)]


def least_squares(rows: list[list[float]], y: list[float]) -> tuple[list[float] | None, float | None]:
    """Coefficients of y ~ rows (each row starts with 1 for the intercept) and R²."""
    k = len(rows[0])
    xtx = [[sum(r[i] * r[j] for r in rows) for j in range(k)] for i in range(k)]
    xty = [sum(r[i] * yy for r, yy in zip(rows, y)) for i in range(k)]
    beta = solve(xtx, xty)
    if beta is None:
        return None, None
    mean = sum(y) / len(y)
    ss_tot = sum((v - mean) ** 2 for v in y)
    ss_res = sum((v - sum(b * x for b, x in zip(beta, r))) ** 2 for r, v in zip(rows, y))
    return beta, (1 - ss_res / ss_tot) if ss_tot > 0 else None


def fit_model(samples: list[Sample]) -> Fit:
    """latency ~ a + b*gc_active + c*heap%; a regressor that never varies is left out (None)."""
    usable = [s for s in samples if s.heap_percent is not None and s.cause != "not-enabled"]
    if len(usable) < 3:
        return Fit(None, None, None, None, len(usable), "too few samples to fit")
    y = [float(s.latency_cycles) for s in usable]
    gc = [1.0 if s.gc_active else 0.0 for s in usable]
    heap = [float(s.heap_percent or 0.0) for s in usable]
    use_gc = len(set(gc)) > 1
    use_heap = len(set(heap)) > 1
    rows = [[1.0] + ([g] if use_gc else []) + ([h] if use_heap else []) for g, h in zip(gc, heap)]
    beta, r2 = least_squares(rows, y)
    notes = []
    if not use_gc:
        notes.append("no sample was pended during a collection: the GC term cannot be estimated")
    if not use_heap:
        notes.append("heap use never varied: the heap term cannot be estimated")
    if r2 is None:
        notes.append("latency did not vary: R² is undefined")
    if beta is None:
        return Fit(None, None, None, None, len(usable), "; ".join(notes + ["singular system"]))
    it = iter(beta)
    intercept = next(it)
    b_gc = next(it) if use_gc else None
    b_heap = next(it) if use_heap else None
    return Fit(intercept, b_gc, b_heap, r2, len(usable), "; ".join(notes))


def gc_only_functions(model: CodeModel, profile: RuntimeProfile | None) -> frozenset[str]:
    """Functions only the collector runs: reachable from a collector entry, but from no root
    without passing through one. A pend whose PC is in one of them happened mid-collection."""
    if profile is None:
        return frozenset()
    collectors = [f.name for f in model.functions if profile.is_collector(f.name)]
    inside: set[str] = set()
    for c in collectors:
        inside |= model.reachable_from(c)
    outside: set[str] = set()
    stack = [r.name for r in model.roots if not profile.is_collector(r.name)]
    while stack:
        name = stack.pop()
        if name in outside or profile.is_collector(name):
            continue
        outside.add(name)
        fn = model.function(name)
        if fn is not None:
            stack.extend(c for c in fn.callees if c not in outside)
    return frozenset(inside - outside) | frozenset(collectors)


def heap_bytes(image: Image, profile: RuntimeProfile | None) -> int | None:
    if profile is None:
        return None
    start = image.symbol(str(profile.memory.get("heap_start", "_heap_start")))
    end = image.symbol(str(profile.memory.get("heap_end", "_heap_end")))
    if start is None or end is None or end.address <= start.address:
        return None
    return end.address - start.address


def run_campaign(image: Image, model: CodeModel, profile: RuntimeProfile | None, chip: Chip | None,
                 irq: int, count: int = DEFAULT_COUNT, period_us: float = DEFAULT_PERIOD_US,
                 jitter: float = 0.25, seed: int = 1, priorities: PriorityState | None = None,
                 handler: str | None = None, max_insns: int = MAX_INSNS, timeout: float = TIMEOUT) -> Campaign:
    """Inject IRQ `irq` `count` times every `period_us` (± `jitter` of a period) and analyse it."""
    from gomcu.emu import AllocProbe, Injection, Probe, choose_board, run
    from gomcu.errors import GomcuError

    board, _why = choose_board(image, None, chip.name if chip is not None else None)
    if not 0 <= irq < board.num_irqs:
        raise GomcuError(f"--inject {irq}: {board.name} has IRQs 0..{board.num_irqs - 1}")
    if count <= 0 or period_us <= 0:
        raise GomcuError("--count and --period must be positive")
    clock = board.clock_hz
    period = max(1, round(period_us * clock / 1e6))
    jitter_cycles = round(period * jitter)
    allocator = next((a for a in (profile.allocators() if profile else ()) if image.symbol(a) is not None), None)
    collector = collector_entry(model, profile)
    from gomcu.limits import tasker_run

    from gomcu.limits.gc_measure import allocator_probe

    probes: list[Probe] = [allocator_probe(profile, allocator)] if allocator and profile else []
    probes += [AllocProbe(collector)] if collector else []
    probes += tasker_run.probes(image, profile)
    injection = Injection(irq=irq, period_cycles=period, jitter_cycles=jitter_cycles, seed=seed, count=count)
    from gomcu.runtime.boundary import boundary_hooks

    result = run(image, board, max_insns=max_insns, timeout=timeout, probes=probes, injections=[injection],
                 hooks=boundary_hooks(profile))
    return analyse_run(image, model, profile, result, irq, count, period, jitter_cycles, seed, priorities, handler)


def collector_entry(model: CodeModel, profile: RuntimeProfile | None) -> str | None:
    """The outermost collector function the binary has (runtime.GC is often inlined away)."""
    if profile is None:
        return None
    for name in profile.gc.get("collector", ()):
        if model.function(name) is not None and model.callers_of(name):
            return name
    return None


def collector_returns(model: CodeModel, collector: str | None) -> frozenset[int]:
    """Return addresses of the calls to the collector: they tell its records in the call trace
    apart from the allocator's (both are traced with the emulator's per-call AllocProbe)."""
    if collector is None:
        return frozenset()
    out = set()
    for site in model.callers_of(collector):
        size = next((i.size for i in model.instructions(site.caller) if i.address == site.address), 4)
        out.add(site.address + size)
    return frozenset(out)


def split_trace(records: tuple[Allocation, ...], gc_returns: frozenset[int]) -> tuple[list[Allocation], list[tuple[int, int, int]]]:
    """(allocations, collections as (start, end, ipsr)) from the per-call trace of both functions."""
    allocs = [r for r in records if r.caller not in gc_returns]
    collections = [(r.cycle, r.cycle + r.cycles, r.in_exception) for r in records if r.caller in gc_returns]
    return allocs, collections


def analyse_run(image: Image, model: CodeModel, profile: RuntimeProfile | None, result: RunResult, irq: int,
                count: int, period: int, jitter_cycles: int, seed: int, priorities: PriorityState | None,
                handler: str | None) -> Campaign:
    exc = 16 + irq
    interrupts = list(result.interrupts)
    ours = [s for s in interrupts if s.exception == exc and s.injected]
    alloc_records, collections = split_trace(result.allocations, collector_returns(model, collector_entry(model, profile)))
    stopped = [(s.start_cycle, s.end_cycle, 0) for s in result.spans if s.end_cycle is not None]
    if stopped:  # a concurrent collector: it is active while the world is stopped
        collections = stopped
    gc_funcs = gc_only_functions(model, profile)
    heap = heap_bytes(image, profile)
    block = int(profile.memory.get("gc_block_bytes", 1)) if profile else 1
    allocs = sorted(alloc_records, key=lambda a: a.cycle)
    masks = priorities.masks if priorities is not None else ()
    masking_functions = {m.function for m in masks if m.what.startswith(("CPSID", "MSR"))}
    prio_of = {p.exception: p.implemented for p in priorities.priorities} if priorities is not None else {}
    group = priorities.group if priorities is not None else (lambda v: v)
    first_entry = min((s.entry_cycle for s in interrupts if s.exception == exc), default=None)
    entries = sorted(s.entry_cycle for s in ours)
    typical = percentile([s.latency_cycles for s in ours], 50) if ours else 0.0
    threshold = int(typical) + LATE_MARGIN
    samples: list[Sample] = []
    for s in ours:
        gc_active = any(a <= s.pend_cycle < b for a, b, _ in collections) or (s.function_at_pend in gc_funcs)
        heap_pct = _heap_percent(allocs, collections, s.pend_cycle, heap, block)
        cause = None
        if s.latency_cycles > threshold:
            cause = _cause(s, interrupts, collections, gc_active, masking_functions, prio_of, group, exc,
                           first_entry, entries)
        samples.append(Sample(s.pend_cycle, s.latency_cycles, s.duration_cycles, s.function_at_pend,
                              gc_active, heap_pct, cause))
    causes: dict[str, int] = {}
    for smp in samples:
        if smp.cause:
            causes[smp.cause] = causes.get(smp.cause, 0) + 1
    settled = [x for x in samples if x.cause != "not-enabled"]
    notes = [f"{len(collections)} stop-the-world pauses seen (gc_active: pended while the world was stopped)"
             if stopped else f"{len(collections)} collections seen in the allocation trace "
             f"({sum(1 for c in collections if c[2])} inside a handler)"]
    if heap is None:
        notes.append("heap size unknown: no heap-use regressor")
    notes.append("heap use = bytes allocated since the last collection / heap size (survivors not counted)")
    out_tail = result.output.strip().splitlines()[-1] if result.output.strip() else ""
    return Campaign(
        irq, handler, prio_of.get(exc), count, period, jitter_cycles, seed, result.clock_hz, result.board,
        result.stop, result.message, out_tail, tuple(samples),
        stats([x.latency_cycles for x in settled]),
        stats([x.duration_cycles for x in settled if x.duration_cycles is not None]),
        threshold, causes, fit_model(samples), len(collections), sum(1 for c in collections if c[2]), tuple(notes),
        outcome_of(result, image, f"the latency campaign (IRQ {irq} injected)"),
        result.nvic.deepest if result.nvic is not None else ())


def _heap_percent(allocs: list[Allocation], collections: list[tuple[int, int, int]], at: int, heap: int | None,
                  block: int) -> float | None:
    if heap is None:
        return None
    last = max((b for _, b, _ in collections if b <= at), default=0)
    used = 0
    for a in allocs:
        if a.cycle >= at:
            break
        if a.cycle >= last:
            used += -(-a.size // block) * block
    return min(100.0, 100.0 * used / heap)


def _cause(s: InterruptSample, interrupts: list[InterruptSample], collections: list[tuple[int, int, int]],
           gc_active: bool, masking: set[str], prio_of: dict[int, int], group: object, exc: int,
           first_entry: int | None, entries: list[int]) -> str:
    start, end = s.pend_cycle, s.entry_cycle
    grp = group  # callable: implemented priority -> group priority
    # the IRQ's own previous activation still running
    for o in interrupts:
        if o.exception == exc and o is not s and o.entry_cycle <= start and (o.exit_cycle or end) > start:
            inside = any(o.entry_cycle <= a < (o.exit_cycle or end) and ipsr for a, _b, ipsr in collections)
            return "gc-in-handler" if inside else "own-previous"
    mine = grp(prio_of.get(exc, 0))  # type: ignore[operator]
    for o in interrupts:
        if o.exception == exc or o.exit_cycle is None:
            continue
        if o.entry_cycle < end and o.exit_cycle > start and grp(prio_of.get(o.exception, 0)) <= mine:  # type: ignore[operator]
            inside = any(o.entry_cycle <= a < o.exit_cycle and ipsr for a, _b, ipsr in collections)
            return "gc-in-handler" if inside else "higher-priority"
    if s.active_at_pend == 0 and not any(o.entry_cycle < end and (o.exit_cycle or end) > start for o in interrupts
                                         if o is not s):
        if s.function_at_pend in masking:
            return "masked"
    if gc_active:
        return "gc-in-thread"
    if first_entry is not None and s.entry_cycle <= first_entry:
        return "not-enabled"  # pended before the firmware enabled the IRQ: the first entry of it at all
    return "other"
