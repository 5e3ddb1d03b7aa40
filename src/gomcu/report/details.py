"""Each limit's detailed JSON document, derived from its typed analysis (the analyses never
build JSON; the JSON reporter and the HTML page read these)."""

from __future__ import annotations

from typing import Any

from gomcu.limits.result import LimitResult


def details_of(result: LimitResult) -> dict[str, Any]:
    """The `details` object of one limit in `gomcu check --format json`."""
    from gomcu.limits.gc import GcAnalysis
    from gomcu.limits.interrupts import IrqReport
    from gomcu.limits.linking import LinkerCheck
    from gomcu.limits.memory import MemoryAnalysis

    a = result.analysis
    if isinstance(a, MemoryAnalysis):
        return _memory(a)
    if isinstance(a, GcAnalysis):
        from gomcu.report.gc import to_json as gc_json

        return gc_json(a)
    if isinstance(a, IrqReport):
        from gomcu.report.irq import to_json as irq_json

        return irq_json(a)
    if isinstance(a, LinkerCheck):
        from gomcu.report.linker import layout_json

        done = a.laid_out
        return {"script": a.script_path, "runtime": done.profile.name, **layout_json(done.layout)}
    return {}  # a skipped limit, or one whose analysis has no detailed document


def _memory(a: Any) -> dict[str, Any]:
    fp = a.footprint
    doc: dict[str, Any] = {"flash_bytes": fp.flash_bytes, "ram_bytes": fp.ram_bytes, "heap_bytes": fp.heap_bytes,
                           "text": fp.text, "data": fp.data, "bss": fp.bss}
    if a.stack is not None:
        from gomcu.report.stack import to_json as stack_json

        doc["stack"] = stack_json(a.stack)
    if a.high_water:
        partial = a.outcome.partial_note() if a.outcome is not None else ""
        doc["stack_high_water"] = {s.name: {"used": s.used, "size": s.size, "partial": partial or None}
                                   for s in a.high_water if s.kind != "msp" and (s.used or not partial)}
    return doc
