"""Text and JSON views of a tasker run (gomcu.limits.tasker_run): stop-the-world pauses by
phase, context switches, injected interrupts' latency, ITM output and the MPU set-up."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.limits.tasker_run import TaskerRun
from gomcu.report.console import stdout_console
from gomcu.report.rtos import spread_text


def _spread_json(s: Any) -> dict[str, Any] | None:
    return None if s is None else {"count": s.count, "min": s.min, "median": s.median, "max": s.max}


def to_json(run: TaskerRun) -> dict[str, Any]:
    o = run.outcome
    return {
        "outcome": {"state": o.state, "stop": o.stop, "message": o.message, "instructions": o.instructions,
                    "what": o.what, "note": o.partial_note()},
        "clock_hz": run.clock_hz,
        "stop_the_world": {
            "measured": run.measured_stw, "gc_cycles": run.gc_cycles,
            "pauses": [{"phase": p.phase, "stopped_by": p.stopped_by, "gc_cycle": p.gc_cycle,
                        "start_cycle": p.start_cycle, "cycles": p.cycles, "instructions": p.instructions,
                        "us": None if p.cycles is None else run.us(p.cycles)} for p in run.pauses],
            "by_phase": {phase: _spread_json(s) for phase, s in run.phase_spreads()},
        },
        "context_switches": {"count": run.switches, "pendsv_taken": run.pendsv,
                             "cycles": _spread_json(run.switch_cycles)},
        "injected_latency_cycles": {name: _spread_json(s) for name, s in run.latency},
        "itm": {str(port): text for port, text in run.itm},
        "mpu": None if run.mpu is None else {
            "enabled": run.mpu.enabled, "privdefena": run.mpu.privdefena,
            "regions": [{"number": r.number, "base": r.base, "size": r.size, "access": r.access, "xn": r.xn,
                         "srd": r.srd} for r in run.mpu.regions],
            "guards": [list(g) for g in run.mpu.guards]},
    }


def summary(run: TaskerRun) -> list[str]:
    """One line per figure, for `check --run`'s notes."""
    o = run.outcome
    tail = f" ({o.partial_note()})" if not o.complete else ""
    lines = []
    if run.measured_stw:
        lines.append(f"stop-the-world pauses (emulated): {len(run.pauses)} in {run.gc_cycles} GC cycle(s)" + "".join(
            f"; {phase}: {spread_text(s, run.clock_hz)}" for phase, s in run.phase_spreads()) + tail)
    lines.append(f"tasker (emulated): {run.switches} PendSV context switch(es) of {run.pendsv} PendSV taken"
                 + (f", {spread_text(run.switch_cycles, run.clock_hz)}" if run.switch_cycles else "") + tail)
    lines += [f"ITM (emulated): port {port} printed {len(text.encode()):,} bytes" for port, text in run.itm]
    if run.mpu is not None:
        lines.append("MPU (emulated): " + _mpu_text(run))
    return lines


def _mpu_text(run: TaskerRun) -> str:
    m = run.mpu
    assert m is not None
    state = "enabled" + (" with the default map for privileged code" if m.privdefena else "") if m.enabled else "disabled"
    guards = ", ".join(f"0x{lo:08x}-0x{hi - 1:08x}" for lo, hi in m.guards)
    return f"{state}, {len(m.regions)} region(s)" + (f"; no-access guard {guards} checked on every access"
                                                      if guards else "")


def render_text(run: TaskerRun) -> None:
    con = stdout_console()
    o = run.outcome
    con.rule("runtime (emulated)")
    if not o.complete:
        con.print(f"[yellow]{escape(o.partial_note())}[/]")
    if run.measured_stw and not run.pauses:
        con.print("stop-the-world pauses: none in this run")
    elif run.measured_stw:
        table = Table(title=f"stop-the-world pauses: {len(run.pauses)} in {run.gc_cycles} GC cycle(s) "
                            "(stopTheWorld entry to startTheWorld return)", title_justify="left")
        for col in ("cycle", "phase", "stopped by", "instructions", "cycles", "µs"):
            table.add_column(col, justify="left" if col in ("phase", "stopped by") else "right")
        for p in run.pauses:
            table.add_row(str(p.gc_cycle), escape(p.phase), escape(p.stopped_by or "?"),
                          "-" if p.instructions is None else f"{p.instructions:,}",
                          "still stopped" if p.cycles is None else f"{p.cycles:,}",
                          "-" if p.cycles is None else f"{run.us(p.cycles):.2f}")
        con.print(table)
        for phase, s in run.phase_spreads():
            con.print(f"  {escape(phase)}: {spread_text(s, run.clock_hz)}")
    else:
        con.print("stop-the-world pauses: not measured (the image lacks the profile's stop/start-the-world functions)")
    con.print(f"context switches (PendSV that returned to another thread's stack): {run.switches} of {run.pendsv} "
              f"PendSV taken" + (f"; {spread_text(run.switch_cycles, run.clock_hz)}" if run.switch_cycles else ""))
    for name, s in run.latency:
        con.print(f"injected {escape(name)} latency: {spread_text(s, run.clock_hz)}")
    for port, text in run.itm:
        con.print(f"ITM port {port}: {len(text.encode()):,} bytes (shown in the program output)")
    if run.mpu is not None:
        con.print("MPU: " + _mpu_text(run))
        for r in run.mpu.regions:
            con.print(f"  region {r.number}: 0x{r.base:08x} +{r.size:#x} {r.access}" + (" XN" if r.xn else "")
                      + (f" subregions off 0x{r.srd:02x}" if r.srd else ""))
