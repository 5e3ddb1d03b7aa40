"""Text and JSON views of an IrqReport (the interrupt limit). Formatting only: every number is
computed in gomcu.limits.interrupts and its parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from gomcu.emu.clock import cycles_to_us
from gomcu.findings import Location
from gomcu.report.console import stdout_console

if TYPE_CHECKING:
    from gomcu.limits.interrupts import IrqReport
    from gomcu.limits.irq_latency import Campaign
    from gomcu.limits.irq_join import SourceJoin
    from gomcu.limits.irq_static import Handler


def _loc(loc: Location | None) -> dict[str, Any] | None:
    if loc is None:
        return None
    return {"function": loc.function, "file": loc.file, "line": loc.line, "address": loc.address}


def _priority(report: IrqReport, h: Handler) -> dict[str, Any] | None:
    if report.priorities is None:
        return None
    p = next((p for p in report.priorities.priorities if p.exception in h.vectors), None)
    if p is None:
        return None
    return {"written": p.written, "implemented": p.implemented, "enabled": p.enabled}


def _handler_json(report: IrqReport, h: Handler) -> dict[str, Any]:
    return {
        "name": h.name,
        "irq": list(h.irqs),
        "exceptions": [v for v in h.vectors if v < 16],
        "vectors": list(h.vector_names),
        "kind": h.kind,
        "address": h.address,
        "priority": _priority(report, h),
        "status": h.status,
        "violations": [{"kind": v.kind, "target": v.target, "severity": v.severity.value, "chain": list(v.chain),
                        "location": _loc(v.location), "consequences": [list(c) for c in v.consequences]}
                       for v in h.violations],
        "unresolved_calls": [_loc(u) for u in h.unresolved],
        "reachable_functions": h.reachable,
        "stack_bytes": h.stack_bytes,
        "stack_bounded": h.stack_bounded,
        "max_instructions": h.max_insns,
        "max_instructions_note": h.insns_note or None,
        "user_code": list(h.user_code),
    }


def _stats(s: Any, clock: int) -> dict[str, Any] | None:
    if s is None:
        return None
    return {"count": s.count, "cycles": {"min": s.min, "median": s.median, "p99": s.p99, "max": s.max},
            "us": s.to_us(clock)}


def _campaign_json(c: Campaign | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if c is None:
        return None, None
    latency = {
        "irq": c.irq, "handler": c.handler, "priority": c.priority, "board": c.board, "clock_hz": c.clock_hz,
        "injected": c.count_requested, "period_cycles": c.period_cycles, "jitter_cycles": c.jitter_cycles,
        "seed": c.seed, "run_stop": c.stop, "run_message": c.stop_message, "last_output": c.output_tail,
        "samples": len(c.samples), "latency": _stats(c.latency, c.clock_hz), "duration": _stats(c.duration, c.clock_hz),
        "late_threshold_cycles": c.late_threshold, "causes": dict(c.causes),
        "collections": c.gc_pauses, "collections_in_handler": c.gc_in_handler,
        "late_samples": [{"pend_cycle": s.pend_cycle, "latency_cycles": s.latency_cycles,
                          "duration_cycles": s.duration_cycles, "function_at_pend": s.function_at_pend,
                          "gc_active": s.gc_active, "cause": s.cause} for s in c.samples if s.cause],
        "series": [[s.pend_cycle, s.latency_cycles, s.duration_cycles, int(s.gc_active),
                    None if s.heap_percent is None else round(s.heap_percent, 3)] for s in c.samples],
        "notes": list(c.notes),
    }
    f = c.fit
    model = {"formula": "latency_cycles = intercept + gc * gc_active + heap * heap_percent",
             "intercept": f.intercept, "gc": f.gc, "heap": f.heap, "r2": f.r2, "n": f.n, "note": f.note or None}
    return latency, model


def _render_source(console: Any, join: SourceJoin) -> None:
    """The Go source joined to the binary: each callback, its compiled function, the calls resolved."""
    console.print(f"\n[bold]Go source[/] {escape(join.directory)} (package {escape(join.package)}: "
                  f"{join.in_binary} of {join.functions} functions in the binary) \\[source]")
    for link in join.callbacks:
        if link.joined:
            console.print(f"  {escape(link.label)} {escape(link.handler)} ({escape(link.declared)}) = "
                          f"{escape(link.compiled or '?')} [dim]({escape(link.evidence)})[/]")
            for site in link.sites:
                console.print(f"    resolved from source: indirect call in {escape(str(site))}")
        else:
            console.print(f"  {escape(link.label)} {escape(link.handler)} ({escape(link.declared)}): "
                          f"[yellow]not joined[/]: {escape(link.reason or '')}")
    for e in join.exports:
        console.print(f"  //export {escape(e.name)} ({escape(e.handler)}): "
                      + ("the vector's handler in the binary" if e.found else "[yellow]not in the binary[/]"))
    if not join.callbacks and not join.exports:
        console.print("  no callbacks or exported handlers in the source")


def _source_json(join: SourceJoin | None) -> dict[str, Any] | None:
    if join is None:
        return None
    return {
        "directory": join.directory, "package": join.package, "origin": "source",
        "functions": join.functions, "functions_in_binary": join.in_binary,
        "callbacks": [{"label": c.label, "handler": c.handler, "declared": c.declared, "compiled": c.compiled,
                       "evidence": c.evidence, "joined": c.joined, "reason": c.reason,
                       "resolved_calls": [{"function": s.function, "address": s.address, "dispatcher": s.dispatcher}
                                          for s in c.sites]} for c in join.callbacks],
        "exports": [{"name": e.name, "handler": e.handler, "in_binary": e.found} for e in join.exports],
    }


def to_json(report: IrqReport) -> dict[str, Any]:
    latency, model = _campaign_json(report.campaign)
    pr = report.priorities
    return {
        "file": report.path,
        "arch": report.arch,
        "core": report.core,
        "runtime": report.runtime,
        "chip": report.chip,
        "handlers": [_handler_json(report, h) for h in report.handlers],
        "vector_problems": [{"vector": p.number, "address": p.address, "problem": p.problem, "detail": p.detail}
                            for p in report.vector_problems],
        "priorities": None if pr is None else {
            "board": pr.board, "chip_priority_bits": pr.chip_bits, "prigroup": pr.prigroup,
            "run_stop": pr.stop, "instructions": pr.instructions,
            "exceptions": [{"exception": p.exception, "name": p.name, "handler": p.handler, "written": p.written,
                            "implemented": p.implemented, "enabled": p.enabled} for p in pr.priorities],
            "masking": [{"function": m.function, "address": m.address, "what": m.what} for m in pr.masks],
            "preempts": [list(x) for x in pr.preempts],
            "checks": [{"rule": c.rule, "severity": c.severity, "message": c.message} for c in pr.checks],
            "notes": list(pr.notes),
        },
        "latency": latency,
        "model": model,
        "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message,
                      "location": _loc(f.location), "chain": list(f.chain)} for f in report.findings],
        "notes": list(report.notes),
        "source": _source_json(report.source),
    }


def interesting_priorities(report: IrqReport) -> list[Any]:
    """Exceptions worth a row: enabled with a handler of their own, or given a non-zero priority."""
    pr = report.priorities
    if pr is None:
        return []
    own = {v for h in report.handlers if not h.catch_all for v in h.vectors}
    return [p for p in pr.priorities if (p.enabled and p.exception in own) or p.written]


_INSNS_WHY = (("loop", "loops"), ("recursion", "recursion"), ("unresolved", "unresolved"),
              ("jump table", "jump table"), ("computed jump", "computed jump"))


def insns_text(h: Handler) -> str:
    """The worst-case instruction count, or in a word why there is none ('loops', 'recursion')."""
    if h.max_insns is not None:
        return str(h.max_insns)
    return next((word for key, word in _INSNS_WHY if key in h.insns_note), "?")


def handler_cells(report: IrqReport, h: Handler) -> dict[str, str]:
    """One handler's row as the text table and the HTML page both show it."""
    vec = ", ".join(h.vector_names)
    if len(vec) > 40:
        vec = f"{len(h.vectors)} vectors (shared)"
    prio = _priority(report, h)
    reaches = ", ".join(sorted({v.kind.replace("_", " ") for v in h.violations}))
    if h.status == "clean":
        noted = ", ".join(sorted({v.kind.replace("_", " ") for v in h.violations}))
        reaches = f"proved clean ({h.reachable} functions)" + (f"; info: {noted}" if noted else "")
    elif h.unresolved:
        reaches += (", " if reaches else "") + f"{len(h.unresolved)} unresolved"
    return {
        "handler": h.name, "vectors": vec,
        "priority": "" if prio is None else f"0x{prio['written']:02X}/0x{prio['implemented']:02X}",
        "status": h.status, "reaches": reaches,
        "stack": "?" if h.stack_bytes is None else f"{'' if h.stack_bounded else '≥ '}{h.stack_bytes} B",
        "max insns": insns_text(h),
    }


def render_text(report: IrqReport) -> None:
    console = stdout_console()
    console.print(f"[bold]{escape(report.path)}[/]: {report.arch} {report.core}, runtime "
                  f"{report.runtime or 'unknown'}; interrupt handlers [dim](static)[/]")
    table = Table(title="handlers", title_justify="left")
    for col in ("handler", "vectors", "priority", "status", "reaches", "stack", "max insns"):
        table.add_column(col, justify="right" if col in ("stack", "max insns") else "left")
    colour = {"clean": "green", "violation": "red", "unknown": "yellow"}
    for h in report.handlers:
        cells = handler_cells(report, h)
        cells["status"] = f"[{colour[h.status]}]{h.status}[/]"
        if h.max_insns is None:
            cells["max insns"] = f"[dim]{cells['max insns']}[/]"
        table.add_row(*(cells[k] if k in ("status", "max insns") else escape(cells[k]) for k in cells))
    console.print(table)
    for h in report.handlers:
        for v in h.violations:
            console.print(f"  {escape(h.name)}: [bold]{v.kind}[/] {escape(' -> '.join(v.chain))}  "
                          f"[dim]at {escape(str(v.location))}[/]")
            for then in v.consequences:
                console.print(f"      then {escape(' -> '.join(then))}")
        for u in h.unresolved[:3]:
            console.print(f"  {escape(h.name)}: [yellow]unresolved indirect call[/] at {escape(str(u))}")
    for p in report.vector_problems:
        console.print(f"[red]vector {p.number}:[/] {escape(p.detail)}")
    if report.source is not None:
        _render_source(console, report.source)
    pr = report.priorities
    if pr is not None:
        t = Table(title=f"priorities as the firmware set them (read back on {pr.board}; chip keeps "
                        f"{pr.chip_bits} bits; PRIGROUP {pr.prigroup}) [emulated]", title_justify="left")
        for col in ("exception", "handler", "written", "implemented", "enabled"):
            t.add_column(col)
        for p in interesting_priorities(report):
            t.add_row(p.name, escape(p.handler or ""), f"0x{p.written:02X}", f"0x{p.implemented:02X}",
                      "yes" if p.enabled else "no")
        console.print(t)
        for a, b in pr.preempts:
            console.print(f"  {escape(a)} can preempt {escape(b)}")
        if pr.masks:
            console.print("  masking: " + ", ".join(f"{m.what} in {escape(m.function)}" for m in pr.masks[:10]))
        else:
            console.print("  masking: no CPSID / MSR PRIMASK/BASEPRI/FAULTMASK in the code")
    c = report.campaign
    if c is not None:
        console.print(f"\n[bold]latency[/] IRQ {c.irq} ({escape(c.handler or '?')}), {len(c.samples)} samples of "
                      f"{c.count_requested} injected every {c.period_cycles} ± {c.jitter_cycles} cycles on {c.board} "
                      f"at {c.clock_hz / 1e6:g} MHz [dim](emulated)[/]; run: {c.stop}"
                      + (f" ({escape(c.output_tail)})" if c.output_tail else ""))
        for label, s in (("latency", c.latency), ("duration", c.duration)):
            if s is not None:
                console.print(f"  {label}: min {s.min} / median {s.median:g} / p99 {s.p99:.0f} / max {s.max} cycles"
                              f" = {cycles_to_us(s.min, c.clock_hz):.2f} / {cycles_to_us(s.median, c.clock_hz):.2f} / "
                              f"{cycles_to_us(s.p99, c.clock_hz):.2f} / {cycles_to_us(s.max, c.clock_hz):.2f} µs")
        causes = ", ".join(f"{k} {n}" for k, n in sorted(c.causes.items(), key=lambda kv: -kv[1])) or "none"
        console.print(f"  late (> {c.late_threshold} cycles): {causes}")
        f = c.fit

        def num(x: float | None) -> str:
            return "n/a" if x is None else f"{x:.4g}"
        console.print(f"  model: latency = {num(f.intercept)} + {num(f.gc)} × gc_active + {num(f.heap)} × heap%  "
                      f"R² = {num(f.r2)} (n = {f.n})" + (f"  [dim]{escape(f.note)}[/]" if f.note else ""))
    for finding in report.findings:
        style = {"error": "red", "warning": "yellow", "info": "dim"}[finding.severity.value]
        console.print(f"[{style}]{finding.severity.value}:[/] {escape(finding.message)}")
    for n in report.notes:
        console.print(f"[dim]{escape(n)}[/]")
