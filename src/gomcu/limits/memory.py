"""The memory-model verdict: footprint against the chip, heap left, and (when the stack
analysis is available) worst-case stacks against what was allotted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gomcu.findings import Figure, Finding, Origin, Severity, Status, status_of
from gomcu.image import Image
from gomcu.limits import footprint
from gomcu.report.model import LimitResult

if TYPE_CHECKING:
    from gomcu.chips import Chip
    from gomcu.emu import StackUse
    from gomcu.limits.stack import StackReport


def evaluate_footprint(image: Image, chip: Chip | None) -> tuple[footprint.Footprint, list[Finding], list[Figure], list[str]]:
    fp = footprint.measure(image, chip)
    findings = footprint.check_fit(fp, chip) if chip else []
    figures = [
        Figure("flash", fp.flash_bytes, "bytes", Origin.STATIC),
        Figure("static RAM", fp.ram_bytes, "bytes", Origin.STATIC),
    ]
    suggestions: list[str] = []
    if chip is not None:
        figures.append(Figure(f"{chip.name} flash", chip.flash_bytes, "bytes", Origin.DATASHEET))
        figures.append(Figure(f"{chip.name} RAM", chip.ram_bytes, "bytes", Origin.DATASHEET))
    if fp.heap_bytes is not None:
        # Whether it is enough is the GC limit's judgement, on the heap left after GC metadata
        # and goroutine stacks (gc.low-heap), not on this raw extent.
        figures.append(Figure("heap", fp.heap_bytes, "bytes", Origin.STATIC))
    if any(f.rule == "memory.region-overflow" for f in findings):
        from gomcu.chips import rank_fits

        fitting = [f.chip.name for f in rank_fits(image.arch.value, image.core, fp.flash_bytes, fp.ram_bytes,
                                                   hard_float=image.hard_float) if f.fits][:5]
        if fitting:
            suggestions.append(f"chips this firmware fits (smallest first): {', '.join(fitting)}")
        suggestions.append("or less static data: `gomcu size --by symbol` lists the largest symbols")
    return fp, findings, figures, suggestions


def evaluate(image: Image, chip: Chip | None, stack: StackReport | None = None,
             high_water: tuple[StackUse, ...] = ()) -> LimitResult:
    """Footprint against the chip, plus worst-case stacks against what each was given; with
    `high_water` (stacks painted in the emulator), the measurement beside the bound."""
    fp, findings, figures, suggestions = evaluate_footprint(image, chip)
    doc: dict[str, Any] = {"flash_bytes": fp.flash_bytes, "ram_bytes": fp.ram_bytes, "heap_bytes": fp.heap_bytes,
                           "text": fp.text, "data": fp.data, "bss": fp.bss}
    if stack is not None:
        findings.extend(stack.findings)
        if stack.system is not None:
            emulated = stack.system.assumption.startswith("priorities read back")
            name = "system stack bound" + (" (nesting by the priorities read back in the emulator)" if emulated else "")
            figures.append(Figure(name, stack.system.bound_bytes, "bytes", Origin.STATIC))
            if stack.system.allotted_bytes is not None:
                figures.append(Figure("system stack allotted", stack.system.allotted_bytes, "bytes", Origin.STATIC))
        tightest = min((r for r in stack.roots if r.margin is not None and r.bounded), key=lambda r: r.margin or 0, default=None)
        if tightest is not None:
            figures.append(Figure(f"smallest stack margin ({tightest.name})", tightest.margin, "bytes", Origin.STATIC))
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
            findings.extend(_compare_with_measurement(stack, high_water, figures))
        from gomcu.report.stack import to_json as stack_json

        doc["stack"] = stack_json(stack)
    status = status_of(findings)
    return LimitResult("memory", status, tuple(figures), tuple(findings), tuple(suggestions), doc)


def _compare_with_measurement(stack: StackReport, high_water: tuple[StackUse, ...],
                              figures: list[Figure]) -> list[Finding]:
    """Measured high-water beside the static bound; a bound below a measurement is gomcu's bug."""
    findings: list[Finding] = []
    msp = next((s for s in high_water if s.kind == "msp"), None)
    if msp is not None and stack.system is not None:
        figures.append(Figure("system stack high-water", msp.used, "bytes", Origin.EMULATED))
        if stack.system.bounded and msp.used > stack.system.bound_bytes:
            findings.append(Finding("stack.bound-below-measurement", Severity.ERROR,
                                    f"the system stack reached {msp.used} B in the emulator, above the static bound "
                                    f"{stack.system.bound_bytes} B: a bug in gomcu's analysis, please report it"))
    runtime = [s for s in high_water if s.kind != "msp"]
    if runtime:
        worst = max(runtime, key=lambda s: s.used / s.size if s.size else 0)
        figures.append(Figure(f"fullest goroutine stack ({worst.name}, {worst.size} B)", worst.used, "bytes",
                              Origin.EMULATED))
        for s in runtime:
            if s.overflow:
                findings.append(Finding("stack.overflow-measured", Severity.ERROR,
                                        f"{s.name} ({s.size} B at 0x{s.bottom:08x}) overflowed in the emulator"))
    return findings


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step
