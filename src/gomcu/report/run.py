"""Text and JSON views of an emulator RunResult (`gomcu run`). Prints; computes nothing new."""

from __future__ import annotations

import statistics
from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.emu.result import RunResult
from gomcu.report import fmt
from gomcu.report.console import stdout_console


def _interrupt_summary(result: RunResult) -> list[dict[str, Any]]:
    by: dict[str, list[Any]] = {}
    for s in result.interrupts:
        by.setdefault(s.name, []).append(s)
    out = []
    for name, samples in by.items():
        lat = [s.latency_cycles for s in samples]
        dur = [s.duration_cycles for s in samples if s.duration_cycles is not None]
        out.append({
            "name": name, "exception": samples[0].exception, "count": len(samples),
            "injected": sum(1 for s in samples if s.injected),
            "latency_cycles": {"min": min(lat), "median": statistics.median(lat), "max": max(lat)},
            "duration_cycles": {"min": min(dur), "median": statistics.median(dur), "max": max(dur)} if dur else None,
        })
    return out


def _alloc_summary(result: RunResult) -> dict[str, Any]:
    allocs = result.allocations
    if not allocs:
        return {"count": 0}
    sizes = [a.size for a in allocs]
    costs = [a.insns for a in allocs]
    callers: dict[str, int] = {}
    for a in allocs:
        key = a.caller_name or f"0x{a.caller:08x}"
        callers[key] = callers.get(key, 0) + 1
    return {"count": len(allocs), "bytes": sum(sizes), "max_size": max(sizes),
            "max_insns": max(costs), "median_insns": statistics.median(costs),
            "in_exception": sum(1 for a in allocs if a.in_exception), "callers": callers}


def to_json(result: RunResult, firmware: str, samples: bool = True) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "file": firmware,
        "board": result.board,
        "board_reason": result.board_reason,
        "core": result.core,
        "clock_hz": result.clock_hz,
        "exit": {"stop": result.stop, "code": result.exit_code, "message": result.message,
                 "fault": None if result.fault is None else {
                     "message": result.fault.message, "pc": result.fault.pc,
                     "registers": result.fault.registers, "backtrace": list(result.fault.backtrace)},
                 "pc": result.stop_pc, "sp": result.stop_sp, "return_addresses": list(result.return_addresses)},
        "output": result.output,
        "streams": result.streams,
        "instructions": result.instructions,
        "cycles": result.cycles,
        "idle_cycles": result.idle_cycles,
        "time_us": result.time_us,
        "wall_seconds": result.wall_seconds,
        "stacks": [{"name": s.name, "kind": s.kind, "bottom": s.bottom, "top": s.top, "size": s.size,
                    "used": s.used, "overflow": s.overflow, "created_cycle": s.created_cycle, "start": s.start}
                   for s in result.stacks],
        "functions": [{"name": f.name, "address": f.address, "calls": f.calls, "total_insns": f.total_insns,
                       "total_excl_interrupts": f.total_excl_interrupts, "min_insns": f.min_insns,
                       "max_insns": f.max_insns, "max_cycles": f.max_cycles, "unfinished": f.unfinished}
                      for f in result.functions],
        "interrupts": {"summary": _interrupt_summary(result), "exception_counts": result.exception_counts},
        "allocations": {"summary": _alloc_summary(result)},
        "unknown_mmio": [{"address": m.address, "peripheral": m.peripheral, "first_pc": m.first_pc,
                          "reads": m.reads, "writes": m.writes} for m in result.unknown_mmio],
        "hooks": [{"function": h.function, "action": h.action, "address": h.address, "applied": h.applied,
                   "calls": h.calls} for h in result.hooks],
        "reached": result.reached,
        "polls": [{"address": p.address, "peripheral": p.peripheral, "pc": p.pc, "function": p.function,
                   "line": p.line, "value": p.value, "mask": p.mask, "previous": p.previous, "reads": p.reads,
                   "instructions": p.instructions, "exit_pc": p.exit_pc, "exit_function": p.exit_function,
                   "exit_line": p.exit_line, "also_at": list(p.also_at), "why": p.why} for p in result.polls],
    }
    if samples:
        doc["interrupts"]["samples"] = [
            {"exception": s.exception, "name": s.name, "injected": s.injected, "pend_cycle": s.pend_cycle,
             "entry_cycle": s.entry_cycle, "latency_cycles": s.latency_cycles, "duration_cycles": s.duration_cycles,
             "exclusive_cycles": s.exclusive_cycles, "function_at_pend": s.function_at_pend,
             "active_at_pend": s.active_at_pend, "tail_chained": s.tail_chained} for s in result.interrupts]
        doc["allocations"]["events"] = [
            {"cycle": a.cycle, "size": a.size, "caller": a.caller, "caller_name": a.caller_name,
             "result": a.result, "insns": a.insns, "cycles": a.cycles, "in_exception": a.in_exception}
            for a in result.allocations]
    return doc


def _place(function: str | None, line: str | None, pc: int | None) -> str:
    if pc is None:
        return "-"
    where = line.rsplit("/", 1)[-1] if line else None
    return (function or f"0x{pc:08x}") + (f" ({where})" if where else "")


def render_text(result: RunResult, firmware: str) -> None:
    con = stdout_console()
    con.print(f"[bold]{firmware}[/] on [bold]{result.board}[/] ({result.board_reason}; {result.core}, "
              f"{result.clock_hz / 1e6:g} MHz)")
    con.rule("program output")
    con.out(result.output, end="" if result.output.endswith("\n") or not result.output else "\n", highlight=False)
    con.rule()
    if result.stop == "exit":
        con.print(f"exit status [bold]{result.exit_code}[/]")
    else:
        con.print(f"[red]stopped: {result.stop}[/]: {result.message}")
        if result.fault is not None:
            regs = result.fault.registers
            con.print("  " + " ".join(f"{k}={v:08x}" for k, v in regs.items()))
            for line in result.fault.backtrace:
                con.print(f"  at {line}")
    con.print(f"{result.instructions:,} instructions, {result.cycles:,} cycles "
              f"({result.idle_cycles:,} asleep), {result.time_us:,.1f} µs emulated "
              f"[dim](cycle model: 1 per instruction + exception entry/exit; "
              f"{result.mips:.0f} M instr/s)[/]")
    if result.stacks:
        t = Table(title="stack high-water (painted)", title_justify="left")
        for col in ("stack", "kind", "range", "size", "used", "%"):
            t.add_column(col, justify="right" if col in ("size", "used", "%") else "left")
        for s in result.stacks:
            t.add_row(escape(s.name), s.kind, f"0x{s.bottom:08x}-0x{s.top:08x}", fmt.size(s.size), fmt.size(s.used),
                      f"{100 * s.used / s.size:.0f}%" + (" [red]overflow[/]" if s.overflow else ""))
        con.print(t)
    if result.functions:
        t = Table(title="function timing (instructions)", title_justify="left")
        for col in ("function", "calls", "total", "excl. interrupts", "min", "max", "max cycles", "unfinished"):
            t.add_column(col, justify="left" if col == "function" else "right")
        for f in result.functions:
            t.add_row(escape(f.name), str(f.calls), f"{f.total_insns:,}", f"{f.total_excl_interrupts:,}", f"{f.min_insns:,}",
                      f"{f.max_insns:,}", f"{f.max_cycles:,}", str(f.unfinished))
        con.print(t)
    summary = _interrupt_summary(result)
    if summary:
        t = Table(title="exceptions taken (cycles)", title_justify="left")
        for col in ("exception", "count", "injected", "latency min/median/max", "duration min/median/max"):
            t.add_column(col, justify="left" if col == "exception" else "right")
        for row in summary:
            lat, dur = row["latency_cycles"], row["duration_cycles"]
            t.add_row(escape(row["name"]), str(row["count"]), str(row["injected"]),
                      f"{lat['min']}/{lat['median']:g}/{lat['max']}",
                      f"{dur['min']}/{dur['median']:g}/{dur['max']}" if dur else "-")
        con.print(t)
    a = _alloc_summary(result)
    if a["count"]:
        con.print(f"allocations: {a['count']:,} calls, {a['bytes']:,} bytes, largest {a['max_size']} B, "
                  f"cost median {a['median_insns']:g} / max {a['max_insns']:,} instructions, "
                  f"{a['in_exception']} in exception handlers")
        top = sorted(a["callers"].items(), key=lambda kv: -kv[1])[:8]
        con.print("  callers: " + ", ".join(f"{k} ({v})" for k, v in top))
    for name, insns in result.reached.items():
        con.print(f"reached {escape(name)} after {insns:,} instructions")
    if result.hooks:
        con.print("hooks: " + ", ".join(_hook_text(h) for h in result.hooks))
    if result.polls:
        t = Table(title="polls answered by the solver (reads there return the value in the mask bits)",
                  title_justify="left")
        for col in ("register", "value", "mask", "read at", "loop exit", "why"):
            t.add_column(col)
        for p in result.polls:
            t.add_row(f"0x{p.address:08x}" + (f" {escape(p.peripheral)}" if p.peripheral else ""), f"0x{p.value:x}",
                      f"0x{p.mask:x}", escape(_place(p.function, p.line, p.pc)),
                      escape(_place(p.exit_function, p.exit_line, p.exit_pc)), escape(p.why.split("; ")[0]))
        con.print(t)
    if result.unknown_mmio:
        con.print("unmodelled MMIO (reads return the last value written, else 0, or the solver's answer): " + ", ".join(
            f"0x{m.address:08x}{' ' + m.peripheral if m.peripheral else ''} r{m.reads}/w{m.writes}"
            for m in result.unknown_mmio[:12]) + (f" (+{len(result.unknown_mmio) - 12} more)"
                                                   if len(result.unknown_mmio) > 12 else ""))


def _hook_text(h: Any) -> str:
    if h.address is None:
        return f"{escape(h.function)} absent (inlined or not linked)"
    if not h.applied:
        return f"{escape(h.function)} runs as code (the board models what it uses)"
    if h.action == "yield":
        return f"{escape(h.function)} yield (runs; the poll solver's trials return from it)"
    return f"{escape(h.function)} {h.action} ({h.calls:,} calls)"


def render_profile(costs: Any, instructions: int, top: int = 20) -> None:
    """`gomcu run --profile`: the functions that ran most instructions themselves."""
    console = stdout_console()
    table = Table(title=f"profile: exclusive instructions per function (of {instructions:,}, emulated)",
                  title_justify="left")
    for title in ("function", "instructions", "%", "in interrupts"):
        table.add_column(title, justify="left" if title == "function" else "right")
    for c in costs[:top]:
        share = 100 * c.exclusive_insns / instructions if instructions else 0.0
        table.add_row(escape(c.name), f"{c.exclusive_insns:,}", f"{share:.1f}", f"{c.exclusive_in_interrupts:,}")
    if len(costs) > top:
        rest = sum(c.exclusive_insns for c in costs[top:])
        table.add_row(f"({len(costs) - top} more)", f"{rest:,}", f"{100 * rest / instructions:.1f}", "")
    console.print(table)
