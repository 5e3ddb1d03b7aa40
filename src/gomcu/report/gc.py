"""Text and JSON views of a GcAnalysis (formatting only: every number is computed in limits/)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.limits.gc import GcAnalysis, NoGcVerdict
from gomcu.limits.gc_measure import Distribution, GcRun
from gomcu.limits.gc_static import AllocationSite
from gomcu.report import fmt
from gomcu.report.console import stdout_console


def _dist(d: Distribution) -> dict[str, Any]:
    return {"count": d.count, "min": d.min, "median": d.median, "p99": d.p99, "max": d.max}


def _site_json(s: AllocationSite) -> dict[str, Any]:
    return {
        "address": s.address, "function": s.function, "allocator": s.allocator,
        "file": s.file, "line": s.line, "location": s.where, "package": s.package,
        "size": s.size, "purpose": s.purpose,
        "in_loop": s.loop is not None, "loop": s.loop,
        "init_only": s.init_only, "in_interrupt": s.in_interrupt, "executions": s.executions,
        "roots": [{"root": r.root, "kind": r.kind, "phase": r.phase, "chain": list(r.functions),
                   "call_sites": list(r.call_sites)} for r in s.roots],
    }


def _verdict_json(v: NoGcVerdict) -> dict[str, Any]:
    return {"feasible": v.feasible, "reason": v.reason, "total_bytes": v.total_bytes,
            "blocking": [{"location": s.where, "function": s.function, "why": why} for s, why in v.blocking]}


def _groups(sites: tuple[AllocationSite, ...]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    by_loc: dict[str, list[AllocationSite]] = defaultdict(list)
    by_pkg: dict[str, list[AllocationSite]] = defaultdict(list)
    for s in sites:
        by_loc[s.where].append(s)
        by_pkg[s.package].append(s)
    locs = [{"location": k, "sites": len(v), "functions": sorted({s.function for s in v})} for k, v in by_loc.items()]
    pkgs = [{"package": k, "sites": len(v), "locations": sorted({s.where for s in v})}
            for k, v in sorted(by_pkg.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    return locs, pkgs


def per_cycle_text(by_cycle: tuple[int, ...]) -> str:
    """`alloc_bytes_by_cycle` in words: before the first cycle, then each cycle (or their max)."""
    first, rest = by_cycle[0], by_cycle[1:]
    text = f"requested per GC cycle (from one cycle's start to the next): {fmt.size(first)} before the first"
    if not rest:
        return text
    each = " / ".join(fmt.size(n) for n in rest) if len(rest) <= 6 else f"max {fmt.size(max(rest))}"
    cycles = f"cycles 1..{len(rest)}" if len(rest) > 1 else "cycle 1"
    return f"{text}, then {each} in {cycles} (the last up to the run's end)"


def _run_json(r: GcRun, clock_hz: int | None) -> dict[str, Any]:
    hz = clock_hz or r.clock_hz
    return {
        "heap_bytes": r.heap_bytes, "stop": r.stop, "exit_code": r.exit_code, "message": r.message,
        "instructions": r.instructions, "cycles": r.cycles, "board": r.board, "board_clock_hz": r.clock_hz,
        "collections": r.collections, "pause_function": r.pause_function,
        "pauses": _dist(r.pauses()), "pauses_cycles": _dist(Distribution.of(r.pauses_cycles)),
        "pauses_us": _dist(r.pauses_us(hz)),
        "pause_samples_cycles": list(r.pauses_cycles),
        "allocations": r.allocations, "alloc_latency": _dist(r.alloc_latency()),
        "alloc_in_interrupt": r.alloc_in_interrupt, "heap_high_water_bytes": r.heap_high_water,
        "alloc_bytes": r.alloc_bytes,
        "alloc_size_counts": {str(k): v for k, v in sorted(Counter(r.alloc_sizes).items())},
        "alloc_bytes_by_gc_cycle": list(r.alloc_bytes_by_cycle) if r.alloc_bytes_by_cycle else None,
        "runtime_heap_counters": dict(r.heap_counters),
    }


def to_json(a: GcAnalysis) -> dict[str, Any]:
    b = a.budget
    locs, pkgs = _groups(a.sites)
    m = a.measurement
    if m is not None:
        run = m.run
        pauses = {**_dist(run.pauses()), "unit": "instructions", "measured": True,
                  "cycles": _dist(Distribution.of(run.pauses_cycles)), "us": _dist(run.pauses_us(a.clock_hz)),
                  "clock_hz": a.clock_hz, "function": run.pause_function}
    else:
        pauses = {"count": None, "min": None, "median": None, "p99": None, "max": None,
                  "unit": "instructions", "measured": False}
    return {
        "runtime": a.runtime,
        "gc_kind": a.gc_kind,
        "gc_kind_evidence": list(a.evidence),
        "status": a.status.value,
        "allocators": list(a.allocators),
        "allocation_sites": [_site_json(s) for s in a.sites],
        "by_location": locs,
        "by_package": pkgs,
        "no_gc": {v.mode: _verdict_json(v) for v in a.no_gc},
        "heap_budget": {
            "ram_bytes": b.ram_bytes, "ram_source": b.ram_source,
            "data_bytes": b.data_bytes, "bss_bytes": b.bss_bytes,
            "system_stack_bytes": b.system_stack_bytes, "other_ram_bytes": b.other_ram_bytes,
            "heap_start": b.heap_start, "heap_end": b.heap_end, "heap_bytes": b.heap_bytes,
            "outside_bytes": b.outside_bytes,
            "gc_blocks": b.geometry.blocks if b.geometry else None,
            "gc_block_bytes": b.geometry.block_bytes if b.geometry else None,
            "gc_metadata_bytes": b.gc_metadata_bytes, "gc_overhead_bytes": b.gc_overhead_bytes,
            "goroutine_stacks": [{"root": g.root, "bytes": g.bytes, "source": g.source} for g in b.goroutine_stacks],
            "goroutine_stack_bytes": b.goroutine_stack_bytes,
            "usable_bytes": b.usable_bytes,
        },
        "pauses": pauses,
        "measured": None if m is None else _run_json(m.run, a.clock_hz),
        "sweep": [] if m is None else [_run_json(r, a.clock_hz) for r in m.sweep],
        "sweep_fit": None if m is None or m.scaling is None else {
            "model": "median pause = intercept + slope * heap KiB", "intercept_insns": m.scaling.intercept_insns,
            "slope_insns_per_kib": m.scaling.slope_insns_per_kib, "r2": m.scaling.r2, "runs": m.scaling.runs},
        "unresolved_calls": a.unresolved_calls,
        "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message,
                      "location": None if f.location is None else str(f.location), "chain": list(f.chain)}
                     for f in a.findings],
        "suggestions": list(a.suggestions),
        "notes": list(a.notes),
    }


def site_cells(s: AllocationSite) -> dict[str, str]:
    """One allocation site's row as the text table and the HTML page both show it."""
    return {
        "location": s.where, "function": s.function, "size": "-" if s.size is None else fmt.size(s.size),
        "roots": ", ".join(f"{r.root} ({r.kind})" for r in s.roots) or "? (indirect calls only)",
        "loop": s.loop or "-",
        "when": "interrupt" if s.in_interrupt else ("init only" if s.init_only else "running"),
    }


def _short(where: str) -> str:
    """The last two parts of a source path, for the terminal (JSON keeps the whole path)."""
    parts = where.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else where


def _stop(run: GcRun) -> str:
    """How a run ended: 'exit', or what failed / where it stopped early."""
    o = run.outcome
    if o is None or o.complete:
        return run.stop
    return o.what if o.failed else o.partial_note()


def render_text(a: GcAnalysis, path: str) -> None:
    c = stdout_console()
    c.print(f"[bold]{escape(path)}[/]: runtime {a.runtime or 'unknown'}, GC kind [bold]{a.gc_kind}[/] "
            f"[dim]({escape('; '.join(a.evidence))})[/]")

    c.print(f"\n[bold]Allocation sites[/] ({len(a.sites)}) [dim](static)[/]")
    if a.sites:
        t = Table(show_edge=False, pad_edge=False)
        for col in ("location", "function", "size", "roots", "loop", "when"):
            t.add_column(col)
        for s in a.sites:
            cells = site_cells(s)
            cells["location"] = _short(s.where)
            t.add_row(*(escape(v) for v in cells.values()))
        c.print(t)
        _, pkgs = _groups(a.sites)
        c.print("by package: " + ", ".join(f"{escape(p['package'])} {p['sites']}" for p in pkgs))

    c.print("\n[bold]Without a collector[/] [dim](static)[/]")
    for v in a.no_gc:
        mark = {True: "[green]yes[/]", False: "[red]no[/]", None: "[yellow]unknown[/]"}[v.feasible]
        c.print(f"  -gc={v.mode}: {mark} - {escape(v.reason)}")
        for s, why in v.blocking[:12]:
            c.print(f"      {escape(s.where)} {escape(s.function)}: {escape(why)}")
        if len(v.blocking) > 12:
            c.print(f"      ... and {len(v.blocking) - 12} more")

    b = a.budget
    c.print("\n[bold]Heap budget[/] [dim](static)[/]")
    rows = [("RAM", b.ram_bytes, b.ram_source), ("- .data", b.data_bytes, ""), ("- .bss", b.bss_bytes, ""),
            ("- system stack", b.system_stack_bytes, "")]
    if b.other_ram_bytes:
        rows.append(("- other RAM sections", b.other_ram_bytes, ""))
    if b.outside_bytes:
        rows.append(("- outside the heap", b.outside_bytes, "RAM beyond _heap_end or gaps"))
    rows.append(("= heap", b.heap_bytes, "_heap_end - _heap_start"))
    if b.geometry is not None:
        rows.append(("- GC metadata", b.gc_metadata_bytes, f"{b.geometry.blocks} blocks of {b.geometry.block_bytes} B"))
        if b.gc_overhead_bytes - b.gc_metadata_bytes:
            rows.append(("- alignment and tail", b.gc_overhead_bytes - b.gc_metadata_bytes, "rounding to whole blocks"))
    for g in b.goroutine_stacks:
        rows.append((f"- stack of {g.root}", g.bytes, g.source))
    rows.append(("= usable", b.usable_bytes, "for the program's objects"))
    t = Table(show_edge=False, pad_edge=False, show_header=False)
    for _ in range(3):
        t.add_column()
    for label, n, note in rows:
        t.add_row(escape(label), f"{n:,} B" if n is not None else "?", f"[dim]{escape(note)}[/]")
    c.print(t)

    m = a.measurement
    if m is not None:
        r = m.run
        hz = a.clock_hz or r.clock_hz
        c.print(f"\n[bold]Measured[/] [dim](emulated on {r.board}, {hz / 1e6:g} MHz; {escape(_stop(r))})[/]")
        p, us = r.pauses(), r.pauses_us(hz)
        heap = (f"heap high-water: {fmt.size(r.heap_high_water)}" if not r.alloc_bytes_by_cycle
                else f"requested: {fmt.size(r.alloc_bytes)}")
        c.print(f"  collections: {r.collections}   allocations: {r.allocations}"
                f" ({r.alloc_in_interrupt} in interrupts)   {heap}")
        if r.alloc_bytes_by_cycle:
            c.print(f"  {escape(per_cycle_text(r.alloc_bytes_by_cycle))}")
        read = [f"{label} {fmt.size(value)}" for label, value in r.heap_counters if value is not None]
        if read:
            c.print(f"  the runtime's accounting: {escape(', '.join(read))}")
        if p.count:
            c.print(f"  pause ({escape(r.pause_function or '')}): min {fmt.grouped(p.min)} / median {fmt.grouped(p.median)} / "
                    f"p99 {fmt.grouped(p.p99)} / max {fmt.grouped(p.max)} instructions = "
                    f"{fmt.grouped(us.min, 1)} / {fmt.grouped(us.median, 1)} / {fmt.grouped(us.p99, 1)} / {fmt.grouped(us.max, 1)} µs")
        al = r.alloc_latency()
        c.print(f"  allocation latency: median {fmt.grouped(al.median)} / p99 {fmt.grouped(al.p99)} / max {fmt.grouped(al.max)} instructions")
        if m.sweep:
            t = Table(title="heap-size sweep", show_edge=False, pad_edge=False)
            for col in ("heap", "stop", "collections", "pause median", "pause max", "max µs", "high-water"):
                t.add_column(col, justify="right")
            for run in m.sweep:
                sp, su = run.pauses(), run.pauses_us(hz)
                t.add_row(f"{run.heap_bytes:,} B", _stop(run),
                          str(run.collections), fmt.grouped(sp.median), fmt.grouped(sp.max), fmt.grouped(su.max, 1),
                          fmt.size(run.heap_high_water))
            c.print(t)
            fit = m.scaling
            if fit is not None:
                c.print(f"  median pause = {fmt.grouped(fit.intercept_insns)} + {fmt.grouped(fit.slope_insns_per_kib, 1)} x heap KiB "
                        f"instructions (R² {fit.r2:.3f}, {fit.runs} runs that completed)")

    if a.findings:
        c.print("\n[bold]Findings[/]")
        for f in a.findings:
            color = {"error": "red", "warning": "yellow", "info": "dim"}[f.severity.value]
            c.print(f"  [{color}]{f.severity.value}[/] {escape(f.rule)}: {escape(f.message)}")
            if f.chain:
                c.print(f"      [dim]{escape(' -> '.join(f.chain))}[/]")
    for suggestion in a.suggestions:
        c.print(f"  [green]suggestion[/]: {escape(suggestion)}")
    for text in a.notes:
        c.print(f"  [dim]note: {escape(text)}[/]")
    c.print(f"\n[bold]GC limit: {a.status.value}[/]")
