"""Text and JSON views of an RTOS run (gomcu.limits.rtos_run): measured task stacks beside the
static bounds, the heap's low-water mark, the tick and the context switch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.emu.clock import cycles_to_us
from gomcu.limits.rtos_run import RtosRun, Spread
from gomcu.report.console import stdout_console


def to_json(run: RtosRun) -> dict[str, Any]:
    out = asdict(run)
    out["findings"] = [{"rule": f.rule, "severity": f.severity.value, "message": f.message} for f in run.findings]
    for t, row in zip(run.tasks, out["tasks"]):
        row["used_bytes"] = t.used_bytes
        row["within_bound"] = t.within_bound
    return out


def spread_text(s: Spread | None, clock: int) -> str:
    if s is None:
        return "none taken"
    return (f"min {s.min} / median {s.median:g} / max {s.max} cycles "
            f"(max {cycles_to_us(s.max, clock):.2f} µs; {s.count} samples)")


def render_text(run: RtosRun) -> None:
    console = stdout_console()
    table = Table(title="FreeRTOS tasks, measured in the emulator (the stack's fill byte) beside the static bound",
                  title_justify="left")
    for col in ("task", "entry", "allotted", "min free", "used", "bound", "bound ≥ used"):
        table.add_column(col, justify="right" if col not in ("task", "entry") else "left")
    for t in run.tasks:
        used = t.used_bytes
        agree = {True: "yes", False: "[red]NO[/]", None: "?"}[t.within_bound]
        bound = "?" if t.bound_bytes is None else f"{'' if t.bounded else '>= '}{t.bound_bytes} B"
        table.add_row(escape(t.name), escape(t.entry or "?"),
                      "?" if t.allotted_bytes is None else f"{t.allotted_bytes} B", f"{t.min_free_bytes} B",
                      "?" if used is None else f"{used} B", bound, agree)
    console.print(table)
    clock = run.clock_hz
    console.print(f"heap never below: {'unknown (no xMinimumEverFreeBytesRemaining)' if run.heap_min_free is None else f'{run.heap_min_free} B free'}")
    console.print(f"tick (SysTick) latency: {spread_text(run.tick_latency, clock)}")
    console.print(f"tick (SysTick) handler: {spread_text(run.tick_duration, clock)}")
    console.print(f"context switch (PendSV handler, nested interrupts included): {spread_text(run.switch_duration, clock)}")
    for f in run.findings:
        style = {"error": "red", "warning": "yellow"}.get(f.severity.value, "dim")
        console.print(f"[{style}]{f.severity.value}:[/] {escape(f.message)}")
    for note in run.notes:
        console.print(f"[dim]note: {escape(note)}[/]")
