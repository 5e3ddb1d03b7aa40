"""The garbage-collection limit: where the program allocates and from which roots, whether a
build without a collector (-gc=none / -gc=leaking) would work, the heap it really has, and
(when it can run) how long its collections stop everything.

Static parts: `gc_static` (allocation sites), `gc_budget` (heap budget). Measured parts:
`gc_measure` (emulator runs and the heap-size sweep). This module judges: it turns those into
findings, figures and a `LimitResult`, and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gomcu.code import model as code_model
from gomcu.code.model import CodeModel
from gomcu.errors import EmulationError
from gomcu.findings import Figure, Finding, Location, Origin, Severity, Status, status_of
from gomcu.image import Image
from gomcu.limits import gc_measure
from gomcu.limits.gc_budget import HeapBudget, heap_budget
from gomcu.limits.gc_static import AllocationSite, SiteFinder
from gomcu.runtime.targets import memory_limit, target_constants
from gomcu.limits.result import LimitResult
from gomcu.runtime.profile import RuntimeProfile, detect_family, load_profile

if TYPE_CHECKING:
    from gomcu.chips import Chip

GC_KINDS = ("conservative", "precise", "leaking", "none", "unknown")
#: Below this much usable heap a collecting program spends its time collecting (a judgement).
LOW_HEAP_BYTES = 4096


@dataclass(frozen=True)
class NoGcVerdict:
    """Would the program work built with `-gc=<mode>`? `feasible` None: gomcu cannot tell."""

    mode: str  # "none" | "leaking"
    feasible: bool | None
    reason: str
    blocking: tuple[tuple[AllocationSite, str], ...]  # site, why it blocks
    total_bytes: int | None = None  # leaking: bound on all allocation over the run


@dataclass(frozen=True)
class GcAnalysis:
    runtime: str | None
    gc_kind: str
    evidence: tuple[str, ...]
    allocators: tuple[str, ...]
    sites: tuple[AllocationSite, ...]
    no_gc: tuple[NoGcVerdict, ...]
    budget: HeapBudget
    measurement: gc_measure.GcMeasurement | None
    clock_hz: int | None  # for µs: the chip's clock, else the emulated board's
    findings: tuple[Finding, ...]
    suggestions: tuple[str, ...]
    notes: tuple[str, ...]
    unresolved_calls: int
    #: what the runtime sets itself, read from the binary (Embedded Go: the build tag's GOGC, the
    #: memory limit rt0_go computes): (value, where it comes from)
    gogc: tuple[int, str] | None = None
    memory_limit: tuple[int, str] | None = None

    @property
    def status(self) -> Status:
        if self.gc_kind == "unknown" and not self.sites:
            return Status.UNKNOWN
        return status_of(self.findings)

    def verdict(self, mode: str) -> NoGcVerdict | None:
        return next((v for v in self.no_gc if v.mode == mode), None)


# -- the runtime and its GC kind ---------------------------------------------------------------

def _interrupt_alloc_failure(profile: RuntimeProfile | None) -> str:
    """What the runtime does when a handler allocates (the profile says; TinyGo's by default)."""
    default = "TinyGo panics 'heap alloc in interrupt'"
    return str(profile.gc.get("interrupt_alloc_failure", default)) if profile else default


def resolve_profile(image: Image, forced: RuntimeProfile | str | None) -> RuntimeProfile | None:
    if isinstance(forced, RuntimeProfile):
        return forced
    if forced:
        return load_profile(forced)
    return detect_family(s.name for s in image.symbols)


def gc_kind_of(image: Image, profile: RuntimeProfile | None) -> tuple[str, tuple[str, ...]]:
    """The collector the binary links, and the symbols that say so."""
    if image.stripped or not image.symbols:
        return "unknown", ("no symbol table: the allocator cannot be identified",)
    if profile is None:
        return "unknown", ("no runtime profile matches this firmware (force one with --runtime)",)
    names = {s.name for s in image.symbols}
    kind = profile.gc_kind(names)
    allocators = [a for a in profile.allocators() if a in names]
    marks = profile.mark_functions_present(names)
    evidence: tuple[str, ...]
    if kind == "none":
        evidence = (f"no allocator ({', '.join(profile.allocators())}) in the symbol table",)
    elif kind == "leaking":
        evidence = (f"allocator {', '.join(allocators)} present", "no mark functions: nothing is ever freed")
    else:
        evidence = (f"allocator {', '.join(allocators)} present", f"mark functions: {', '.join(marks)}")
        kind, layout = _layout_evidence(image, profile, kind, allocators)
        evidence += layout
    return kind, evidence


def _layout_evidence(image: Image, profile: RuntimeProfile, kind: str, allocators: list[str]
                     ) -> tuple[str, tuple[str, ...]]:
    """Precise or conservative from what the allocator does with its layout argument, which
    survives optimisation where the precise collector's named helpers do not."""
    index = profile.layout_argument()
    if index is None or not allocators:
        return kind, ()
    markers = profile.precise_markers_present(s.name for s in image.symbols)
    model = code_model(image)
    alloc = allocators[0]
    use = model.argument_read(alloc, index)
    if use is None:
        told = f"whether {alloc} uses its layout argument cannot be told from this code"
        # without it, a build whose precise helpers were inlined looks conservative: do not guess
        return (kind, (told,)) if markers else ("unknown", (told, "precise or conservative: unknown"))
    if use is False:
        if markers:
            return kind, (f"{alloc} never reads its layout argument, yet precise-GC helpers are linked",)
        return "conservative", (f"{alloc} never reads its layout argument (argument {index}): the conservative "
                                "collector ignores object layouts",)
    return "precise", (f"{alloc} uses its layout argument (argument {index}, read at 0x{use:x}): the precise "
                       "collector stores each object's layout",)


# -- no-GC feasibility -----------------------------------------------------------------------

def _why_unbounded(site: AllocationSite) -> str:
    if site.in_interrupt:
        return "reached from an interrupt handler: runs any number of times"
    if site.loop:
        return f"in a loop ({site.loop})"
    if not site.reached:
        return "reached only through indirect calls gomcu cannot follow: how often is unknown"
    return "reached through recursion or unbounded paths"


def no_gc_verdicts(sites: tuple[AllocationSite, ...], budget: HeapBudget) -> tuple[NoGcVerdict, ...]:
    # -gc=none: the allocator must not be linked at all.
    if not sites:
        none = NoGcVerdict("none", True, "no allocation site: the program never allocates", ())
    else:
        stacks = [s for s in sites if s.purpose == "goroutine stack"]
        reason = f"{len(sites)} allocation site(s) would be undefined references to the allocator"
        if stacks and len(stacks) == len(sites):
            reason = ("only goroutine stacks are allocated: they come from the heap under -scheduler=tasks; "
                      "-gc=none needs -scheduler=none (no goroutines)")
        blocking = tuple((s, "goroutine stack (scheduler=tasks)" if s.purpose == "goroutine stack" else "allocates")
                         for s in sites)
        none = NoGcVerdict("none", False, reason, blocking)

    # -gc=leaking: nothing is freed, so every allocation must be bounded and all of them must fit.
    blocking_l: list[tuple[AllocationSite, str]] = []
    total: int | None = 0
    for s in sites:
        if s.executions is None:
            blocking_l.append((s, _why_unbounded(s)))
            continue
        if s.purpose == "goroutine stack":
            size: int | None = budget.goroutine_stack_bytes or None
            count = 1  # the budget already sums one stack per goroutine
        else:
            size, count = s.size, s.executions
        if size is None or total is None:
            total = None
        else:
            total += size * count
    heap = budget.heap_bytes
    if blocking_l:
        leaking = NoGcVerdict("leaking", False,
                              f"{len(blocking_l)} allocation site(s) run a number of times the binary does not bound; "
                              "nothing would be freed",
                              tuple(blocking_l))
    elif total is None:
        leaking = NoGcVerdict("leaking", None, "every allocation runs a bounded number of times, "
                              "but some sizes are not constants: the total is unknown", ())
    elif heap is not None and total > heap:
        leaking = NoGcVerdict("leaking", False, f"bounded allocation of {total} bytes exceeds the {heap}-byte heap",
                              (), total)
    else:
        leaking = NoGcVerdict("leaking", True, f"all allocation is bounded: at most {total} bytes"
                              + (f" of a {heap}-byte heap" if heap is not None else ""), (), total)
    return none, leaking


# -- findings --------------------------------------------------------------------------------

def _location(site: AllocationSite) -> Location:
    return Location(site.address, site.function, site.file, site.line)


def _findings(analysis_sites: tuple[AllocationSite, ...], kind: str, budget: HeapBudget,
              verdicts: tuple[NoGcVerdict, ...], measured: gc_measure.GcMeasurement | None,
              unresolved: int, profile: RuntimeProfile | None = None) -> tuple[list[Finding], list[str]]:
    findings: list[Finding] = []
    suggestions: list[str] = []
    if kind == "unknown" and not analysis_sites:
        findings.append(Finding("gc.unknown-runtime", Severity.WARNING,
                                "cannot identify the runtime's allocator (stripped symbols or an unknown runtime): "
                                "allocation sites and the GC kind are unknown"))
    for s in analysis_sites:
        for r in s.roots:
            if r.interrupt:
                size = f"{s.size} bytes" if s.size is not None else "memory"
                findings.append(Finding(
                    "gc.alloc-in-interrupt", Severity.ERROR,
                    f"interrupt handler {r.root} allocates {size} at {s.where} (via {s.function}): "
                    f"{_interrupt_alloc_failure(profile)}, and a collection would run inside the handler",
                    _location(s), r.functions + (s.allocator,)))
    def dying(site: AllocationSite) -> bool:  # allocates only on the program's way down (a panic)
        return profile is not None and profile.is_dying(site.function)

    for s in analysis_sites:
        if s.init_only or s.in_interrupt or not s.loop or dying(s):
            continue
        own = s.loop == f"in {s.function}"
        if not s.roots:  # reached only through indirect calls: when it runs is not known
            findings.append(Finding(
                "gc.alloc-in-loop", Severity.INFO,
                f"allocation at {s.where} ({s.function}) repeats {s.loop}; no root is known to reach it "
                "(indirect calls only), so whether it runs after start-up is unknown", _location(s),
                (s.function, s.allocator)))
            continue
        runtime_own = profile is not None and profile.is_runtime_code(s.function)
        findings.append(Finding(
            "gc.alloc-in-loop", Severity.WARNING if own and not runtime_own else Severity.INFO,
            ("inside the runtime (its own, not the program's): " if runtime_own else "")
            + f"allocation at {s.where} ({s.function}) repeats {s.loop} after start-up: every pass adds garbage "
            "and can trigger a collection", _location(s), s.roots[0].functions + (s.allocator,)))
    if kind == "leaking":
        leaking = next(v for v in verdicts if v.mode == "leaking")
        if leaking.feasible is False:
            findings.append(Finding("gc.leaking-exhausts", Severity.WARNING,
                                    "built with the leaking GC, which never frees, but " + leaking.reason
                                    + ": the heap may run out"))
    if budget.usable_bytes is not None:
        if budget.usable_bytes <= 0:
            findings.append(Finding("gc.no-heap", Severity.ERROR,
                                    f"GC metadata and goroutine stacks take the whole {budget.heap_bytes}-byte heap"))
        elif budget.usable_bytes < LOW_HEAP_BYTES and kind in ("conservative", "precise", "leaking"):
            findings.append(Finding("gc.low-heap", Severity.WARNING,
                                    f"only {budget.usable_bytes} bytes of heap are left for the program's objects"))
    if unresolved and any(not s.reached and not dying(s) for s in analysis_sites):
        findings.append(Finding("gc.unresolved-calls", Severity.INFO,
                                f"{sum(1 for s in analysis_sites if not s.reached and not dying(s))} allocation site(s) are reached "
                                f"only through indirect calls ({unresolved} unresolved in the image): their roots are unknown"))
    if measured is not None:
        run = measured.run
        outcome = run.outcome
        if outcome is not None and outcome.failed:
            failure = outcome.failure("gc.run-failed")
            if "out of memory" in run.output_tail:
                failure = replace(failure, message=failure.message + " -- the heap ran out")
            findings.append(failure)
        elif outcome is not None and not outcome.complete:
            findings.append(Finding("gc.run-partial", Severity.WARNING,
                                    f"the emulated run did not reach the program's end: GC figures are "
                                    f"{outcome.partial_note()}", outcome.location))
        geo = budget.geometry
        area = geo.block_area if geo is not None else budget.heap_bytes
        if run.heap_high_water is not None and area is not None and run.heap_high_water > area:
            findings.append(Finding("gc.bound-below-measurement", Severity.WARNING,
                                    f"measured heap high-water {run.heap_high_water} bytes exceeds the static block "
                                    f"area of {area} bytes: a bug in gomcu's budget"))
    none, leaking = verdicts
    if none.feasible:
        suggestions.append("-gc=none would work: nothing allocates")
    elif leaking.feasible and kind in ("conservative", "precise"):
        suggestions.append(f"-gc=leaking would work ({leaking.reason}): no collector, no pauses")
    elif none.blocking and all(s.purpose == "goroutine stack" for s, _ in none.blocking):
        suggestions.append("-gc=none -scheduler=none would work if the program starts no goroutines")
    if any(f.rule == "gc.alloc-in-interrupt" for f in findings):
        suggestions.append("allocate the interrupt handler's buffers once at start-up and reuse them "
                           "(a global array or a pre-filled channel)")
    if any(f.rule == "gc.alloc-in-loop" and f.severity is Severity.WARNING for f in findings):
        suggestions.append("hoist allocations out of loops (reuse a buffer, pass slices in) to cut collections")
    return findings, suggestions


# -- the analysis ----------------------------------------------------------------------------

def analyse(image: Image, chip: Chip | None = None, profile: RuntimeProfile | str | None = None,
            run: bool = False, sweep: str | tuple[int, ...] | None = None,
            max_insns: int = gc_measure.DEFAULT_MAX_INSNS, timeout: float | None = gc_measure.DEFAULT_TIMEOUT,
            model: CodeModel | None = None) -> GcAnalysis:
    """The whole GC limit for one firmware. `sweep` (sizes, or text such as "8K,16K,50%")
    implies `run`. Raises GomcuError for bad input (unknown profile, bad sweep sizes,
    firmware the emulator refuses)."""
    prof = resolve_profile(image, profile)
    kind, evidence = gc_kind_of(image, prof)
    cm = model or code_model(image)
    notes: list[str] = []
    sites: tuple[AllocationSite, ...] = ()
    allocators: tuple[str, ...] = ()
    if prof is not None:
        # a growth point moves the goroutine's stack (its cost is the stack's, not an object's)
        finder = SiteFinder(cm.without_calls_to(prof.growth), prof)
        allocators = tuple(finder.allocator_names())
        sites = finder.sites() if kind != "unknown" or allocators else ()
    budget = heap_budget(image, cm, prof, kind, chip)
    verdicts = no_gc_verdicts(sites, budget) if kind != "unknown" or sites else (
        NoGcVerdict("none", None, "the allocator cannot be identified", ()),
        NoGcVerdict("leaking", None, "the allocator cannot be identified", ()))
    measurement = None
    sizes: tuple[int, ...] = ()
    if sweep:
        if budget.heap_bytes is None:
            notes.append("no heap symbols: the sweep cannot move the heap's end")
        else:
            sizes = gc_measure.parse_sizes(sweep, budget.heap_bytes) if isinstance(sweep, str) else tuple(sweep)
    if (run or sizes) and prof is not None and allocators:
        try:
            measurement = gc_measure.measure(image, cm, prof, chip=chip, sweep_sizes=sizes,
                                             max_insns=max_insns, timeout=timeout)
            notes.extend(measurement.notes)
        except EmulationError as error:
            notes.append(f"not measured: {error}")
    elif run or sizes:
        notes.append("not measured: no allocator to probe")
    clock = chip.clock_hz if chip is not None and getattr(chip, "clock_hz", None) else (
        measurement.run.clock_hz if measurement else None)
    unresolved = len(cm.unresolved_calls)
    findings, suggestions = _findings(sites, kind, budget, verdicts, measurement, unresolved, prof)
    notes.extend(budget.notes)
    target = target_constants(image, prof)
    gogc = (target.gogc, f"noosGOGC in {target.origin}") if target is not None and target.gogc is not None else None
    limit = memory_limit(image, prof)
    if gogc is not None:
        notes.append(f"GOGC {gogc[0]} ({gogc[1]}): a collection starts when the heap grows {gogc[0]}% over "
                     "what the last one left live")
    if limit is not None:
        notes.append(f"memory limit {limit[0]} B ({limit[1]}; the runtime sets it itself: readGOMEMLIMIT)")
    return GcAnalysis(prof.name if prof else None, kind, evidence, allocators, sites, verdicts, budget,
                      measurement, clock, tuple(findings), tuple(suggestions), tuple(notes), unresolved,
                      gogc, (limit[0], limit[1]) if limit is not None else None)


def figures(a: GcAnalysis, chip: Chip | None = None) -> tuple[Figure, ...]:
    b = a.budget
    out = [Figure("allocation sites", len(a.sites), "sites", Origin.STATIC),
           Figure("sites reachable from interrupts", sum(1 for s in a.sites if s.in_interrupt), "sites", Origin.STATIC)]
    if chip is not None:
        out.append(Figure(f"{chip.name} RAM", chip.ram_bytes, "bytes", Origin.DATASHEET))
    if b.heap_bytes is not None:
        out.append(Figure("heap", b.heap_bytes, "bytes", Origin.STATIC))
    out.append(Figure("GC metadata", b.gc_metadata_bytes, "bytes", Origin.STATIC))
    out.append(Figure("goroutine stacks on the heap", b.goroutine_stack_bytes, "bytes", Origin.STATIC))
    if b.usable_bytes is not None:
        out.append(Figure("usable heap", b.usable_bytes, "bytes", Origin.STATIC, deciding=True))
    if a.gogc is not None:
        out.append(Figure("GOGC", a.gogc[0], "%", Origin.STATIC))
    if a.memory_limit is not None:
        out.append(Figure("memory limit", a.memory_limit[0], "bytes", Origin.STATIC))
    m = a.measurement
    if m is not None:
        r = m.run
        p = r.pauses()
        us = r.pauses_us(a.clock_hz)
        partial = r.outcome.partial_note() if r.outcome is not None else ""
        measured = [Figure("collections", r.collections, "collections", Origin.EMULATED, partial=partial),
                    Figure("allocations", r.allocations, "calls", Origin.EMULATED, partial=partial)]
        if p.count:
            measured += [Figure("GC pause median", p.median, "instructions", Origin.EMULATED, partial=partial),
                         Figure("GC pause max", p.max, "instructions", Origin.EMULATED, partial=partial),
                         Figure("GC pause median", us.median, "µs", Origin.EMULATED, partial=partial),
                         Figure("GC pause p99", us.p99, "µs", Origin.EMULATED, partial=partial),
                         Figure("GC pause max", us.max, "µs", Origin.EMULATED, partial=partial, deciding=True)]
        if r.heap_high_water is not None:
            measured.append(Figure("heap high-water", r.heap_high_water, "bytes", Origin.EMULATED, partial=partial))
        if r.alloc_bytes_by_cycle:  # Go's page heap: what was requested between cycle starts, not a high-water
            measured.append(Figure("allocated", r.alloc_bytes, "bytes", Origin.EMULATED, partial=partial))
            if len(r.alloc_bytes_by_cycle) > 1:
                measured.append(Figure("allocated before the first GC cycle", r.alloc_bytes_by_cycle[0], "bytes",
                                       Origin.EMULATED))
            # a cycle the run stopped in is not whole: its bytes so far are no per-cycle figure
            whole = r.alloc_bytes_by_cycle[1:] if not partial else r.alloc_bytes_by_cycle[1:-1]
            if whole:
                measured.append(Figure("allocated per GC cycle max", max(whole), "bytes", Origin.EMULATED))
        measured += [Figure(label, value, "bytes", Origin.EMULATED, partial=partial)
                     for label, value in r.heap_counters if value is not None]
        # Zero up to an early stop is not a measurement: nothing of that kind happened yet.
        out += [f for f in measured if not partial or f.value]
    return tuple(out)


def evaluate(image: Image, chip: Chip | None = None, profile: RuntimeProfile | str | None = None,
             run: bool = False) -> LimitResult:
    """The GC limit for `gomcu check`."""
    return limit_result(analyse(image, chip, profile, run=run), chip)


def limit_result(a: GcAnalysis, chip: Chip | None = None) -> LimitResult:
    return LimitResult("gc", a.status, figures(a, chip), a.findings, a.suggestions, analysis=a)
