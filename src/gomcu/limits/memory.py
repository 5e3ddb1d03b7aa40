"""The memory-model verdict: footprint against the chip, heap left, and (when the stack
analysis is available) worst-case stacks against what was allotted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from gomcu.findings import Figure, Finding, Origin, Severity, Status, status_of
from gomcu.image import Image
from gomcu.limits import footprint
from gomcu.limits.outcome import RunOutcome, same_stops
from gomcu.limits.ram import RamAccount
from gomcu.limits.result import LimitResult

if TYPE_CHECKING:
    from gomcu.chips import Chip
    from gomcu.emu import StackUse
    from gomcu.limits.nesting import SystemStack
    from gomcu.limits.stack import StackReport


def evaluate_footprint(image: Image, chip: Chip | None, ram: RamAccount | None = None
                       ) -> tuple[footprint.Footprint, list[Finding], list[Figure], list[str]]:
    fp = footprint.measure(image, chip)
    findings = footprint.check_fit(fp, chip) if chip else []
    figures = [
        Figure("flash", fp.flash_bytes, "bytes", Origin.STATIC),
        Figure("static RAM", fp.ram_bytes, "bytes", Origin.STATIC),
    ]
    if ram is not None:
        findings.extend(_ram_account(ram, chip, figures))
    suggestions: list[str] = []
    if chip is not None:
        figures.append(Figure(f"{chip.name} flash", chip.flash_bytes, "bytes", Origin.DATASHEET))
        figures.append(Figure(f"{chip.name} RAM", chip.ram_bytes, "bytes", Origin.DATASHEET))
    if fp.heap_bytes is not None:
        # Whether it is enough is the GC limit's judgement, on the heap left after GC metadata
        # and goroutine stacks (gc.low-heap), not on this raw extent.
        figures.append(Figure("heap", fp.heap_bytes, "bytes", Origin.STATIC))
    if any(f.rule in ("memory.region-overflow", "memory.ram-short") for f in findings):
        from gomcu.chips import rank_fits

        need = ram.needed_bytes if ram is not None else fp.ram_bytes
        fitting = [f.chip.name for f in rank_fits(image.arch.value, image.core, fp.flash_bytes, need,
                                                   hard_float=image.hard_float,
                                                   headroom=ram.headroom if ram is not None else None) if f.fits][:5]
        if fitting:
            suggestions.append(f"chips this firmware fits (smallest first): {', '.join(fitting)}")
        suggestions.append("or less static data: `gomcu size --by symbol` lists the largest symbols")
    return fp, findings, figures, suggestions


@dataclass(frozen=True)
class MemoryAnalysis:
    """What the memory verdict was made from: the footprint, the stack analysis, the stacks an
    emulated run painted (named as the static analysis names them) and how that run ended."""

    footprint: footprint.Footprint
    stack: StackReport | None = None
    high_water: tuple[StackUse, ...] = ()
    outcome: RunOutcome | None = None


def evaluate(image: Image, chip: Chip | None, stack: StackReport | None = None,
             high_water: tuple[StackUse, ...] = (), outcome: RunOutcome | None = None,
             others: Sequence[RunOutcome] = (), ram: RamAccount | None = None,
             nesting_seen: tuple[int, ...] | None = None) -> LimitResult:
    """Footprint against the chip, plus worst-case stacks against what each was given; with
    `high_water` (stacks painted in the emulator by a run that ended as `outcome`), the
    measurement beside the bound. `others`: the other limits' runs whose failure this limit
    reports (a stack overflow, see outcome.stop_owners); one finding per distinct stop. `ram`: the
    RAM account (what `chips --fits` judges by too). `nesting_seen`: the longest chain of nested
    exceptions the emulated runs saw (outermost first)."""
    fp, findings, figures, suggestions = evaluate_footprint(image, chip, ram)
    if stack is not None:
        findings.extend(stack.findings)
        if stack.system is not None:
            system = stack.system
            name = "system stack bound" + {"emulated": " (nesting by the priorities read back in the emulator)",
                                           "static": " (nesting by the priorities set in the code)"}.get(system.origin, "")
            figures.append(Figure(name, system.bound_bytes, "bytes", Origin.STATIC))
            if system.saved_by_levels:
                figures.append(Figure("system stack if every handler nested", system.all_nest_bytes, "bytes",
                                      Origin.STATIC))
            if stack.system.allotted_bytes is not None:
                figures.append(Figure("system stack allotted", stack.system.allotted_bytes, "bytes", Origin.STATIC))
        margins = stack_margins(stack)
        if stack.system is not None and stack.system.margin is not None:
            # the roots on the main stack share it: what is left of it is the system stack's margin
            margins["system stack"] = (stack.system.margin, stack.system.bounded)
        if margins:
            name, (margin, proved) = min(margins.items(), key=lambda kv: (kv[1][0], kv[1][1]))
            figures.append(Figure(f"smallest stack margin ({name})", margin, "bytes", Origin.STATIC,
                                  qualifier="" if proved else "at most", deciding=True))
        for root in stack.roots:
            if root.status is Status.FAIL and root.allotted_bytes is not None:
                implied = [r.implied_bytes for r in stack.recursion if r.root == root.name and r.implied_bytes]
                needed = max([root.bound_bytes, *implied])
                need = _round_up(needed, 256)
                how = (f"the depth at its creation call: {(needed + 3) // 4} words or more"
                       if root.root.stack_source.startswith("stack depth at") else f"with TinyGo: -stack-size={need}")
                suggestions.append(f"give {root.name} a stack of at least {need} bytes (needs {needed}, "
                                   f"allotted {root.allotted_bytes}); {how}")
        if high_water:
            findings.extend(_compare_with_measurement(stack, high_water, figures, outcome))
        if nesting_seen is not None and stack.system is not None:
            findings.extend(_nesting_seen(stack.system, nesting_seen, figures,
                                          outcome.partial_note() if outcome is not None else ""))
    if outcome is not None and not outcome.complete and not outcome.failed and high_water:
        findings.append(Finding("memory.run-partial", Severity.WARNING,
                                f"the emulated run did not reach the program's end: stack high-water figures are "
                                f"{outcome.partial_note()}", outcome.location))
    # one finding per distinct stop: this limit's own run, and the other runs' failures it reports
    stops = [o for o in (outcome, *others) if o is not None]
    for same in same_stops(stops):
        first = same[0]
        rule = "stack.overflow-measured" if any(o.overflow for o in same) else "memory.run-failed"
        findings.append(first.failure(rule, same[1:]))
    status = status_of(findings)
    return LimitResult("memory", status, tuple(figures), tuple(findings), tuple(suggestions),
                       analysis=MemoryAnalysis(fp, stack, high_water, outcome))


def _ram_account(ram: RamAccount, chip: Chip | None, figures: list[Figure]) -> list[Finding]:
    """RAM needed before the first object, and what is left of the chip's RAM for objects."""
    if ram.needed_bytes == ram.static_bytes:
        return []
    figures.append(Figure("RAM needed (static + goroutine stacks + GC metadata)", ram.needed_bytes, "bytes",
                          Origin.STATIC, deciding=chip is None))
    if chip is None:
        return []
    left = ram.headroom(chip.ram_bytes)
    figures.append(Figure(f"heap left for objects on {chip.name}", left, "bytes", Origin.STATIC, deciding=True))
    if left >= 0:
        return []
    return [Finding("memory.ram-short", Severity.ERROR,
                    f"{chip.name} has {chip.ram_bytes} B of RAM but the program needs {ram.needed_bytes} B before "
                    f"its first object ({ram.static_bytes} B static, {ram.goroutine_stack_bytes} B of goroutine "
                    f"stacks on the heap, GC metadata): {-left} B short")]


def stack_margins(stack: StackReport) -> dict[str, tuple[int, bool]]:
    """Each root's margin on its stack and whether it is proved. An unbounded root's margin is
    at most allotted minus its lower bound (or minus what a constant-depth recursion implies):
    it is an upper bound on the margin, never a margin to rely on."""
    out: dict[str, tuple[int, bool]] = {}
    for root in stack.roots:
        if root.allotted_bytes is None:
            continue
        implied = [r.implied_bytes for r in stack.recursion if r.root == root.name and r.implied_bytes]
        out[root.name] = (root.allotted_bytes - max([root.bound_bytes, *implied]), root.bounded)
    return out


def _compare_with_measurement(stack: StackReport, high_water: tuple[StackUse, ...],
                              figures: list[Figure], outcome: RunOutcome | None) -> list[Finding]:
    """Measured high-water beside the static bound; a bound below a measurement is gomcu's bug.
    From a run that stopped early, each figure is partial, and a stack never written is absent."""
    findings: list[Finding] = []
    partial = outcome.partial_note() if outcome is not None else ""
    if partial:
        high_water = tuple(s for s in high_water if s.used)
    msp = next((s for s in high_water if s.kind == "msp"), None)
    if msp is not None and stack.system is not None:
        figures.append(Figure("system stack high-water", msp.used, "bytes", Origin.EMULATED, partial=partial))
        if stack.system.bounded and msp.used > stack.system.bound_bytes:
            findings.append(Finding("stack.bound-below-measurement", Severity.ERROR,
                                    f"the system stack reached {msp.used} B in the emulator, above the static bound "
                                    f"{stack.system.bound_bytes} B: a bug in gomcu's analysis, please report it"))
    runtime = [s for s in high_water if s.kind != "msp"]
    if runtime:
        worst = max(runtime, key=lambda s: s.used / s.size if s.size else 0)
        figures.append(Figure(f"fullest goroutine stack ({worst.name}, {worst.size} B)", worst.used, "bytes",
                              Origin.EMULATED, partial=partial))
        told = outcome.what + (outcome.stack or "") if outcome is not None and outcome.failed else ""
        for s in runtime:
            if s.overflow and s.name not in told:  # else the run's own failure names it
                findings.append(Finding("stack.overflow-measured", Severity.ERROR,
                                        f"{s.name} ({s.size} B at 0x{s.bottom:08x}) overflowed in the emulator"))
    return findings


def _nesting_seen(system: SystemStack, chain: tuple[int, ...], figures: list[Figure], partial: str) -> list[Finding]:
    """The deepest nesting the emulator saw beside the bound's: more exceptions nested at once
    than the bound counts handlers is gomcu's bug (a level assumed wrong). A run that took no
    exception measured nothing: no figure."""
    from gomcu.code.vectors import vector_name

    if not chain:
        return []
    shown = " > ".join(vector_name(e) for e in chain)
    figures.append(Figure(f"deepest exception nesting seen ({shown})", len(chain), "exceptions", Origin.EMULATED,
                          partial=partial))
    if len(chain) > system.max_nested:
        return [Finding("stack.nesting-above-bound", Severity.ERROR,
                        f"the emulator saw {len(chain)} exceptions nested ({shown}) but the system stack bound "
                        f"counts {system.max_nested} ({system.assumption}): a bug in gomcu's analysis, "
                        "please report it")]
    return []


def name_stacks(stack: StackReport, high_water: tuple[StackUse, ...]) -> tuple[StackUse, ...]:
    """The emulator names a stack by the start function the runtime passed when it created it,
    which is how the static analysis names the goroutine's root. A stack whose start is not known
    is matched by its size to the goroutine root whose allotted stack has that size, when exactly
    one root has it (otherwise the emulator's name stays, with the candidates)."""
    by_size: dict[int, list[str]] = {}
    for root in stack.roots:
        if root.stack != "system" and root.allotted_bytes is not None:
            by_size.setdefault(root.allotted_bytes, []).append(root.name)
    out = []
    for s in high_water:
        names = by_size.get(s.size, []) if s.kind != "msp" and s.start is None else []
        if len(names) == 1:
            s = replace(s, name=names[0])
        elif names:
            s = replace(s, name=f"{s.name} ({' or '.join(names)})")
        out.append(s)
    return tuple(out)


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step
