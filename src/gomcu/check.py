"""`gomcu check`: run every analysis that applies and gather one Report.

This is orchestration only: each limit's module judges its own limit and returns a
LimitResult; this module decides which apply, passes the shared inputs (one Image, one chip,
one runtime profile), adds budgets and plot data, and never prints. The analyses' modules are
imported where they are used: a check whose result is on disk (`check_cache`) needs none of
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from dataclasses import dataclass, field, replace

from gomcu.findings import Status, status_of
from gomcu.limits.run_limits import DEFAULT_MAX_INSNS, DEFAULT_TIMEOUT
from gomcu.report.model import LimitResult, Plots, Report

if TYPE_CHECKING:
    from gomcu.budget import Budget, StackMargin
    from gomcu.chips import Chip
    from gomcu.image import Image
    from gomcu.limits.outcome import RunOutcome
    from gomcu.limits.stack import StackReport
    from gomcu.runtime.profile import RuntimeProfile

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CheckOptions:
    firmware: str
    chip: str | None = None
    ld_script: str | None = None
    ld_search: tuple[str, ...] = ()
    ld_defsyms: tuple[str, ...] = ()
    run: bool = False
    max_insns: int = DEFAULT_MAX_INSNS
    timeout: float = DEFAULT_TIMEOUT
    runtime: str | None = None
    budget: Budget | None = None
    src: str | None = None  # the program's Go package, joined to the binary (callbacks resolved from source)
    extra_notes: tuple[str, ...] = field(default_factory=tuple)


def _profile(image: Image, forced: str | None) -> RuntimeProfile | None:
    from gomcu.runtime.profile import detect_profile, load_profile

    if forced:
        return load_profile(forced)
    return detect_profile(s.name for s in image.symbols)


def run_check(options: CheckOptions, progress: Progress | None = None) -> Report:
    """Every limit's verdict. A static check of firmware checked before with the same options
    by the same gomcu is read from the disk cache (`check_cache`); the linker script and the
    budget are applied afresh either way."""
    from gomcu import check_cache

    entry = check_cache.entry(options)
    stored = check_cache.load(entry) if entry is not None else None
    report = stored.report() if stored is not None else None
    image = None
    if report is None:
        report, image = _analyse(options, progress or (lambda _msg: None))
        if entry is not None and image.digest == entry.digest:  # the bytes analysed are the bytes hashed
            check_cache.store(entry, report)
    if options.ld_script:
        report = _with_linker(report, options, image)
    if options.budget is not None:
        memory_result = report.limit("memory")
        analysis = memory_result.analysis if memory_result is not None else None
        if analysis is not None and analysis.stack is not None:
            report = _with_budget(report, options.budget, _budget_margins(analysis.stack, analysis.high_water))
    return report


def _with_linker(report: Report, options: CheckOptions, image: Image | None) -> Report:
    """The report with its linker limit judged against `options.ld_script` (its findings
    attributed like every other limit's)."""
    from gomcu import image as image_mod
    from gomcu.commands.base import chip_for_image
    from gomcu.limits import linking
    from gomcu.limits.attribution import attribute, owners

    assert options.ld_script is not None
    image = image or image_mod.load(options.firmware)
    chip = chip_for_image(options.chip, image) if options.chip else None
    result = linking.evaluate(options.ld_script, options.ld_search, options.ld_defsyms, options.firmware, chip,
                              "tinygo")
    result = _most_severe_first(replace(result, findings=attribute(result.findings, owners(image))))
    return replace(report, limits=tuple(result if r.limit == "linker" else r for r in report.limits))


def _analyse(options: CheckOptions, say: Progress) -> tuple[Report, Image]:
    """The report of every analysis but the linker script's and the budget's, and the image it
    was made from."""
    from gomcu import image as image_mod
    from gomcu.commands.base import chip_for_image
    from gomcu.limits import memory
    from gomcu.limits.outcome import stop_owners

    image = image_mod.load(options.firmware)
    chip: Chip | None = chip_for_image(options.chip, image) if options.chip else None
    profile = _profile(image, options.runtime)
    run = options.run or (options.budget is not None and options.budget.needs_measurements)

    limits: list[LimitResult] = []
    run_notes: list[str] = []
    say("memory model (footprint and worst-case stacks)")
    from gomcu.code.roots import TINYGO, TaskProfile
    from gomcu.limits import interrupts
    from gomcu.limits.nesting import by_level, with_static
    from gomcu.limits.stack import analyse as analyse_stack

    source = None
    if options.src:
        from gomcu.code import model as code_model
        from gomcu.limits.irq_join import join_directory

        say("Go source (joined to the binary)")
        source = join_directory(image, options.src, profile)
    stack = analyse_stack(image, profile=TaskProfile.from_runtime(profile) if profile else TINYGO,
                          model=source.resolve(code_model(image)) if source is not None else None,
                          runtime=profile, priority_bits=chip.nvic_priority_bits if chip is not None else None)
    say("interrupt context" + (" (reading back priorities, emulating the latency campaign)" if run else ""))
    irq_report = interrupts.analyse(image, chip, profile, run=run, stack_report=stack, source=source,
                                    max_insns=options.max_insns, timeout=options.timeout)
    levels = interrupts.preemption_levels(irq_report)
    if levels is not None and stack.system is not None:
        # Priorities are known from the emulator: only handlers at distinct levels can nest.
        stack = replace(stack, system=by_level(stack.system, with_static(levels, stack.system), "emulated",
                                               "priorities read back in the emulator (with those the code sets)"))
    high_water: tuple[Any, ...] = ()
    outcome: RunOutcome | None = None
    deepest: tuple[int, ...] = ()
    if run and image.arch.value == "arm":
        high_water, outcome, deepest = _stack_high_water(image, chip, profile, options, stack, run_notes)
    say("garbage collection" + (" (emulating to measure pauses)" if run else ""))
    from gomcu.limits import gc

    gc_analysis = gc.analyse(image, chip, profile, run=run, max_insns=options.max_insns, timeout=options.timeout)
    gc_result = gc.limit_result(gc_analysis, chip)
    campaign = irq_report.campaign
    runs = {"memory": outcome, "gc": gc_analysis.measurement.run.outcome if gc_analysis.measurement else None,
            "interrupts": campaign.outcome if campaign else None}
    owner = stop_owners(list(runs.items()))
    # A stop several runs hit is one finding, in the limit it belongs to (a stack overflow: memory).
    others = [o for limit, o in runs.items() if limit != "memory" and o is not None and owner.get(limit) == "memory"]
    from gomcu.limits.ram import account

    if campaign is not None and len(campaign.deepest) > len(deepest):
        deepest = campaign.deepest
    limits.append(memory.evaluate(image, chip, stack, high_water, outcome, others, account(image, profile),
                                  nesting_seen=deepest if run else None))
    limits.append(_failure_reported_under(gc_result, owner.get("gc"), runs["gc"], "gc.run-failed", "gc.run-partial",
                                          "GC"))
    irq = interrupts.limit_result(irq_report)
    limits.append(_failure_reported_under(irq, owner.get("interrupts"), runs["interrupts"], "irq.run-failed",
                                          "irq.run-partial", "latency"))

    say("linker script")  # judged by `_with_linker`, also on a result read back from the cache
    limits.append(LimitResult("linker", Status.UNKNOWN, skipped="no linker script given (--ld SCRIPT)"))

    plots = replace(_memory_plots(image, chip), stack_paths=_stack_paths(stack), **_latency_plots(irq_report),
                    gc_pauses_us=_pause_samples_us(gc_analysis))
    notes = list(options.extra_notes) + list(image.warnings) + run_notes
    if chip is None:
        notes.append("no --chip given: use against the chip's memory and its clock are not known")
    if not run and image.arch.value == "arm":
        notes.append("static analysis only: --run also measures GC pauses, interrupt latency and stack high-water "
                     "in the emulator")
    if run and image.arch.value != "arm":
        notes.append(f"measurements need the emulator, which runs Cortex-M firmware only: every figure for this "
                     f"{image.arch.value} image is static")

    from gomcu.limits.attribution import attribute, owners, source_root

    who = owners(image)
    limits = [_most_severe_first(replace(r, findings=attribute(r.findings, who))) for r in limits]
    report = Report(
        firmware=options.firmware,
        arch=image.arch.value,
        core=image.core,
        toolchain=image.toolchain.name,
        chip=chip.name if chip else None,
        runtime=profile.name if profile else None,
        limits=tuple(limits),
        plots=plots,
        notes=tuple(notes),
        source_root=source_root(who),
    )
    return report, image


_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _failure_reported_under(result: LimitResult, owner: str | None, outcome: RunOutcome | None, failed: str,
                            partial: str, figures: str) -> LimitResult:
    """A limit whose run stopped on a failure another limit reports keeps a warning that its
    figures are partial, not a second copy of the error."""
    if owner is None or outcome is None or owner == result.limit:
        return result
    from gomcu.limits.outcome import reported_under

    findings = tuple(reported_under(owner, outcome, partial, figures) if f.rule == failed else f
                     for f in result.findings)
    status = status_of(findings) if result.status is Status.FAIL else result.status
    return replace(result, findings=findings, status=status)


def _most_severe_first(result: LimitResult) -> LimitResult:
    """Findings in the user's code first, then errors, warnings, notes (stable within each), so the
    top ones matter most."""
    ordered = tuple(sorted(result.findings, key=lambda f: (f.in_runtime, _SEVERITY_ORDER[f.severity.value])))
    return replace(result, findings=ordered)


def _stack_high_water(image: Image, chip: Chip | None, profile: RuntimeProfile | None,
                      options: CheckOptions, stack: StackReport,
                      notes: list[str]) -> tuple[tuple[Any, ...], RunOutcome, tuple[int, ...]]:
    """Every stack's high-water from one emulated run (stack painting), beside the static bounds,
    how that run ended, and the deepest chain of nested exceptions it saw; a tasker runtime's
    figures from the same run go to `notes`. A run that stopped before the end having measured nothing at all (no
    stack ever written, no output, no exception) ran away: that is bad input (EmulationError)."""
    from gomcu import emu
    from gomcu.errors import EmulationError
    from gomcu.limits.memory import name_stacks
    from gomcu.limits.outcome import outcome_of

    from gomcu.limits import tasker_run

    probes: list[emu.Probe] = tasker_run.probes(image, profile)
    tasks = profile.tasks if profile else {}
    starts = [n for n in tasks.get("start", ()) if image.symbol(n)]
    allocators = [n for n in (profile.allocators() if profile else ()) if image.symbol(n)]
    if starts and allocators:
        # the emulator names each stack by the start function it was created for
        probes.append(emu.StackProbe(starts[0], allocators[0], "goroutine"))
    from gomcu.runtime.boundary import boundary_hooks

    result = emu.run(image, chip=chip.name if chip else None, probes=probes, max_insns=options.max_insns,
                     timeout=options.timeout, hooks=boundary_hooks(profile))
    result = replace(result, stacks=name_stacks(stack, result.stacks))
    outcome = outcome_of(result, image, "the stack high-water run")
    if profile is not None and tasker_run.applies(image, profile):
        from gomcu.report.tasker import summary

        notes += summary(tasker_run.from_run(image, profile, result, "the stack high-water run"))
    nothing = not any(s.used for s in result.stacks) and not result.output and not result.exception_counts
    if not outcome.complete and not outcome.failed and nothing:
        raise EmulationError(f"{image.path}: the firmware runs away in the emulator ({result.stop}: "
                             f"{result.message}) without measuring anything; --run has nothing to report "
                             "(raise --max-insns/--timeout, or give --chip for its memory map)")
    deepest = result.nvic.deepest if result.nvic is not None else ()
    return result.stacks, outcome, deepest


def _pause_samples_us(analysis: Any) -> tuple[float, ...]:
    """Every measured pause in µs at the emulated board's clock (as `gc --run` reports them)."""
    run = analysis.measurement.run if analysis.measurement is not None else None
    if run is None or not run.clock_hz:
        return ()
    return tuple(c * 1e6 / run.clock_hz for c in run.pauses_cycles)


def _latency_plots(irq_report: Any) -> dict[str, Any]:
    """Latency samples (µs) and latency against heap use with the fitted line, from the campaign."""
    c = irq_report.campaign
    if c is None or not c.samples or not c.clock_hz:
        return {}
    to_us = 1e6 / c.clock_hz
    measured = [s for s in c.samples if s.latency_cycles is not None and s.cause != "not-enabled"]
    line = None
    if c.fit.intercept is not None and c.fit.heap is not None:
        line = (c.fit.intercept * to_us, c.fit.heap * to_us)
    return {
        "latencies_us": tuple(s.latency_cycles * to_us for s in measured),
        "latency_vs_heap": tuple((s.heap_percent, s.latency_cycles * to_us) for s in measured),
        "latency_model": line,
    }


def _stack_paths(stack: StackReport) -> tuple[tuple[str, tuple[tuple[str, int | None], ...]], ...]:
    """The worst path of every root, as (function, frame) pairs for the HTML report."""
    out = []
    for root in stack.roots:
        steps = tuple((step.function, step.frame_bytes) for step in root.bound.path)
        out.append((f"{root.name}: {root.bound_bytes} B{'' if root.bounded else '+'}", steps))
    return tuple(out)


def _memory_plots(image: Image, chip: Chip | None) -> Plots:
    from gomcu.limits.footprint import measure

    fp = measure(image, chip)
    ram: list[tuple[str, int]] = []
    for region in fp.runtime_regions:
        ram.append((region.name, region.length or 0))
    ram_total = chip.ram_bytes if chip else None
    if not ram:
        ram = [("data", fp.data), ("bss", fp.bss)]
    if ram_total is not None:
        rest = ram_total - sum(v for _, v in ram)
        if rest > 0:
            ram.append(("not used", rest))
    flash = [("text + rodata", fp.text), ("data load image", fp.data)]
    flash_total = chip.flash_bytes if chip else None
    if flash_total:
        flash.append(("free", max(0, flash_total - fp.flash_bytes)))
    return Plots(ram_map=tuple(ram), ram_total=ram_total, flash_map=tuple(flash), flash_total=flash_total)


def budget_figures(report: Report) -> dict[str, float | None]:
    """The report's figures under the budget's keys: what `--budget` compares and what
    `gomcu init` starts a budget from."""
    figures: dict[str, float | None] = {"irq_latency_us": _worst_latency_us(report), "gc_pause_us": _worst_pause_us(report)}
    memory_result = report.limit("memory")
    if memory_result is not None and memory_result.analysis is not None:
        fp = memory_result.analysis.footprint
        figures["flash_bytes"] = fp.flash_bytes
        figures["ram_bytes"] = fp.ram_bytes
        figures["heap_headroom_bytes"] = fp.heap_bytes
    return figures


def _budget_margins(stack: StackReport, high_water: tuple[Any, ...]) -> dict[str, StackMargin]:
    """Each root's margin for the budget: proved or an upper bound, and the measured margin of
    the stack it runs on when a run painted it (the main stack for reset and handlers; a
    goroutine stack when the emulator named it after the root)."""
    from gomcu.budget import StackMargin
    from gomcu.limits.memory import stack_margins

    used = {s.name: s.used for s in high_water if s.used}
    msp = next((s.used for s in high_water if s.kind == "msp" and s.used), None)
    margins = stack_margins(stack)
    out: dict[str, StackMargin] = {}
    for root in stack.roots:
        margin, proved = margins.get(root.name, (None, root.bounded))
        seen = msp if root.stack == "system" else used.get(root.name)
        measured = None if seen is None or root.allotted_bytes is None else root.allotted_bytes - seen
        out[root.name] = StackMargin(margin, proved, measured)
    return out


def _with_budget(report: Report, budget: Budget, margins: dict[str, StackMargin]) -> Report:
    from gomcu.budget import evaluate

    figures = budget_figures(report)
    results = evaluate(budget, figures, margins)
    allowed = set(budget.allowed_findings)
    limits = tuple(
        replace(r, status=_status_without(r, allowed)) if allowed else r for r in report.limits
    )
    return replace(report, budget=tuple(results), limits=limits)


def _worst_pause_us(report: Report) -> float | None:
    gc = report.limit("gc")
    a = gc.analysis if gc is not None else None
    if a is None or a.measurement is None or not a.measurement.run.pauses_cycles:
        return None
    return a.measurement.run.pauses_us(a.clock_hz).max


def _worst_latency_us(report: Report) -> float | None:
    irq = report.limit("interrupts")
    c = irq.analysis.campaign if irq is not None and irq.analysis is not None else None
    if c is None or c.latency is None:
        return None
    return c.latency.to_us(c.clock_hz)["max"]


def _status_without(result: LimitResult, allowed: set[str]) -> Status:
    """A limit's status once the findings the budget allows are set aside."""
    remaining = [f for f in result.findings if f.rule not in allowed]
    if result.status in (Status.UNKNOWN,) or result.skipped:
        return result.status
    return status_of(remaining) if len(remaining) != len(result.findings) else result.status
