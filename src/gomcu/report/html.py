"""A single static HTML file: no server, no network, no script, every user string escaped
(autoescape). The page reads the analyses' typed results (as the text reporter does) and writes
each cell with the same words as the text: a placeholder the text spells out is spelled out here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

import gomcu
from gomcu.report import fmt, svg
from gomcu.report.model import Report
from gomcu.report.text import deciding


@dataclass(frozen=True)
class StackRow:
    """One stack as the page's table shows it (names as the text and the figures use them)."""

    name: str
    kind: str
    stack: str
    allotted: str
    bound: str
    margin: str
    status: str
    measured: str


LONG_TOKEN = 12  # characters: a longer word gets break opportunities
_AFTER = re.compile(r"([/.$(),:_\]])")
_RUN = re.compile(r"[^/.$(),:_\]\s\x00]{%d}" % LONG_TOKEN)


def breakable(text: object) -> Markup:
    """Escaped text whose long words (paths, Go symbols) may break after / . $ ( ) , : _ and every
    LONG_TOKEN characters otherwise: a table column then shrinks to fit the window without
    splitting short words, and without ever pushing the page sideways."""
    def word(w: str) -> str:
        if len(w) <= LONG_TOKEN:
            return str(escape(w))
        w = _RUN.sub(lambda m: m.group(0) + "\0", _AFTER.sub("\\1\0", w))
        return "<wbr>".join(str(escape(part)) for part in w.split("\0"))

    return Markup("".join(word(w) for w in re.split(r"(\s+)", str(text))))


def render_html(report: Report) -> str:
    env = Environment(loader=PackageLoader("gomcu.report", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["brk"] = breakable
    template = env.get_template("report.html.j2")
    memory, gc, irq, linker = (report.limit(n) for n in ("memory", "gc", "interrupts", "linker"))
    return template.render(
        report=report, plots=_plots(report), figure=fmt.figure, where=fmt.location, value=fmt.value,
        version=gomcu.__version__, deciding=deciding,
        stacks=_stack_rows(memory.analysis) if memory is not None else [],
        stack_paths=_stack_paths(memory.analysis) if memory is not None else [],
        system_note=_system_note(memory.analysis) if memory is not None else "",
        sites=_sites(gc.analysis) if gc is not None else None,
        handlers=_handlers(irq.analysis) if irq is not None else None,
        linker=_linker(linker.analysis) if linker is not None else None,
        linker_limit=linker,
    )


def _plots(report: Report) -> dict[str, str]:
    p = report.plots
    return {
        "ram_map": svg.stacked_bar("RAM", p.ram_map, p.ram_total) if p.ram_map else "",
        "flash_map": svg.stacked_bar("Flash", p.flash_map, p.flash_total) if p.flash_map else "",
        "gc_pauses": svg.histogram("GC pauses", p.gc_pauses_us, "pause") if p.gc_pauses_us else "",
        "latency": svg.histogram("Interrupt latency", p.latencies_us, "latency") if p.latencies_us else "",
        "model": svg.scatter("Latency against heap use", p.latency_vs_heap, "heap in use", "latency",
                             p.latency_model, x_unit="%", y_unit="µs") if p.latency_vs_heap else "",
    }


def _stack_rows(memory: Any) -> list[StackRow]:
    """Every root with its allotted stack, bound, margin (`≤` for an unbounded root: its bound is a
    lower one, and the margin is the one the memory verdict uses), status and what the emulator
    measured; then the system stack as a whole, and stacks the emulator found that no root owns."""
    from gomcu.limits.memory import MemoryAnalysis, stack_margins

    if not isinstance(memory, MemoryAnalysis) or memory.stack is None:
        return []
    stack = memory.stack
    margins = stack_margins(stack)
    partial = memory.outcome.partial_note() if memory.outcome is not None else ""
    ran = memory.outcome is not None
    measured = {s.name: s for s in memory.high_water if s.kind != "msp"}

    def use(s: Any) -> str:
        if s is None or (partial and not s.used):
            return "not created in the run" if ran else "not measured (--run)"
        text = f"{fmt.size(s.used)} of {fmt.size(s.size)}" + (" (overflow)" if s.overflow else "")
        return text + (" (partial)" if partial else "")

    rows = []
    for r in stack.roots:
        margin, proved = margins.get(r.name, (None, True))
        rows.append(StackRow(
            r.name, r.root.kind.value, r.stack, fmt.size(r.allotted_bytes) if r.allotted_bytes is not None
            else "unknown", ("" if r.bounded else "≥ ") + fmt.size(r.bound_bytes),
            "unknown" if margin is None else ("" if proved else "≤ ") + fmt.size(margin), r.status.value,
            "see system stack" if r.stack == "system" else use(measured.pop(r.name, None))))
    system = stack.system
    if system is not None:
        msp = next((s for s in memory.high_water if s.kind == "msp"), None)
        rows.append(StackRow(
            "system stack", "reset + nested handlers", "system",
            fmt.size(system.allotted_bytes) if system.allotted_bytes is not None else "unknown",
            ("" if system.bounded else "≥ ") + fmt.size(system.bound_bytes),
            "unknown" if system.margin is None else ("" if system.bounded else "≤ ") + fmt.size(system.margin),
            system.status.value, use(msp)))
    for s in measured.values():  # the emulator found it, and no root's name fits it
        rows.append(StackRow(s.name, "emulated only", "goroutine", fmt.size(s.size), "", "", "", use(s)))
    return rows


def _system_note(memory: Any) -> str:
    """What the system stack's bound adds up (by level when levels are known), and the nesting
    assumed: the line `gomcu stack` prints."""
    from gomcu.limits.memory import MemoryAnalysis
    from gomcu.report.stack import system_sum

    if not isinstance(memory, MemoryAnalysis) or memory.stack is None or memory.stack.system is None:
        return ""
    s = memory.stack.system
    lower = "" if s.bounded else "≥ "
    total = f"{lower}{fmt.size(s.bound_bytes)}"
    if s.reset_case_bytes is not None:  # the sum is the reset case; the bound the largest case
        total = f"{lower}{fmt.size(s.reset_case_bytes)}; bound (the largest case) {total}"
    note = (f"system stack (static): {system_sum(s)} = {total} of "
            f"{fmt.size(s.allotted_bytes) if s.allotted_bytes is not None else 'unknown'} ({s.assumption})")
    if s.saved_by_levels:
        note += f"; if every handler nested: {lower}{fmt.size(s.all_nest_bytes)}"
    return note


def _stack_paths(memory: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Each root's worst path: (root, its bound, [(function, frame)])."""
    from gomcu.limits.memory import MemoryAnalysis

    if not isinstance(memory, MemoryAnalysis) or memory.stack is None:
        return []
    return [(r.name, ("" if r.bounded else "≥ ") + fmt.size(r.bound_bytes),
             [(step.function, fmt.size(step.frame_bytes)) for step in r.bound.path]) for r in memory.stack.roots]


def _sites(gc: Any) -> dict[str, Any] | None:
    from gomcu.limits.gc import GcAnalysis
    from gomcu.report.gc import site_cells

    if not isinstance(gc, GcAnalysis):
        return None
    return {"gc_kind": gc.gc_kind, "rows": [site_cells(s) for s in gc.sites]}


def _handlers(irq: Any) -> list[dict[str, str]] | None:
    from gomcu.limits.interrupts import IrqReport
    from gomcu.report.irq import handler_cells

    if not isinstance(irq, IrqReport):
        return None
    rows = []
    for h in irq.handlers:
        cells = handler_cells(irq, h)
        cells["priority"] = cells["priority"] or "not read (--run reads it)"
        cells["why"] = h.insns_note
        rows.append(cells)
    return rows


def _linker(check: Any) -> dict[str, Any] | None:
    """The layout `gomcu ld` prints and `check --format json` carries: regions, sections, what ld
    would say."""
    from gomcu.limits.linking import LinkerCheck
    from gomcu.report.linker import kept_sections, section_region

    if not isinstance(check, LinkerCheck):
        return None
    layout = check.laid_out.layout
    regions = [{"name": r.name, "origin": f"0x{r.origin:08x}", "size": fmt.size(r.length), "used": fmt.size(r.used),
                "free": fmt.size(r.free), "share": fmt.percent(r.used, r.length), "attributes": r.attrs}
               for r in layout.regions]
    sections = [{"name": s.name, "vma": f"0x{s.vma:08x}", "lma": f"0x{s.lma:08x}", "size": fmt.size(s.size),
                 "region": section_region(s), "load": "load" if s.load else "no load"} for s in kept_sections(layout)]
    said = ([f"ASSERT failed ({a.pos}): {a.message}" for a in layout.asserts if not a.passed]
            + [f"ld warns{f' ({w.pos})' if w.pos is not None else ''}: {w.message}" for w in layout.warnings]
            + [f"ld would fail: {p.message}" for p in layout.problems
               if not any(a.message == p.message for a in layout.asserts)])
    orphans = [f"orphan {o.file}({o.name}), {o.size} bytes: placed in {layout.output_of(o) or '?'}"
               for o in layout.orphans]
    symbols = [(name, f"0x{v.value:08x}") for name, v in sorted(layout.symbols.items(), key=lambda kv: (kv[1].value, kv[0]))]
    return {"script": check.script_path, "runtime": check.laid_out.profile.name, "regions": regions,
            "sections": sections, "said": said, "orphans": orphans, "symbols": symbols,
            "assumed": check.laid_out.stack_size_assumed and check.laid_out.profile.stack_size}
