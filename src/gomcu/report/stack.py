"""Text and JSON views of a StackReport."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from gomcu.limits.nesting import SystemStack, level_name
from gomcu.limits.stack import RootStack, StackReport
from gomcu.limits.stack_tinygo import TinygoCheck, TinygoFigure
from gomcu.report import fmt
from gomcu.report.console import stdout_console


def _root_json(r: RootStack) -> dict[str, Any]:
    return {
        "name": r.name,
        "kind": r.root.kind.value,
        "address": r.root.address,
        "vectors": list(r.root.vectors),
        "bound_bytes": r.bound_bytes,
        "bounded": r.bounded,
        "call_graph_bytes": r.bound.bytes,
        "added": [{"what": c.what, "bytes": c.bytes} for c in r.added],
        "stack": r.stack,
        "allotted_bytes": r.allotted_bytes,
        "allotted_source": r.allotted_source,
        "margin_bytes": r.margin,
        # an unbounded root's bound is a lower bound, so its margin is an upper one
        "margin_is_upper_bound": r.margin is not None and not r.bounded,
        "status": r.status.value,
        "reasons": list(r.bound.reasons),
        "path": [{"function": s.function, "frame_bytes": s.frame_bytes, "entry_depth": s.entry_depth,
                  "call_site": s.call_site} for s in r.bound.path],
        "evidence": r.root.evidence,
    }


def to_json(report: StackReport) -> dict[str, Any]:
    system = report.system
    return {
        "file": report.path,
        "arch": report.arch,
        "core": report.core,
        "status": report.verdict.status.value,
        "exception_frame_bytes": report.exception_frame,
        "roots": [_root_json(r) for r in report.roots],
        "system_stack": None if system is None else {
            "reset": system.reset, "reset_bytes": system.reset_bytes,
            "handlers": [{"name": n, "bytes": b} for n, b in system.handlers],
            "bound_bytes": system.bound_bytes, "bounded": system.bounded,
            "allotted_bytes": system.allotted_bytes, "margin_bytes": system.margin,
            "assumption": system.assumption,
            "levels_from": system.origin or None,
            "levels": [{"level": x.level, "name": level_name(x.level), "handler": x.handler, "bytes": x.bytes}
                       for x in system.levels],
            "unknown_priority": list(system.unplaced),
            "handler_count": len(system.all_handlers),
            "every_handler_nesting_bytes": system.all_nest_bytes,
            # handlers left off the reset path's deepest point, and the cases the bound is the largest of
            "not_during_reset": [{"handler": n, "why": why, "at_svc": n in system.at_svc}
                                 for n, why in system.not_during_reset],
            "during_reset": system.during_reset or None,
            "reset_case_bytes": system.reset_case_bytes,
            "svc_depth_bytes": system.svc_depth if system.at_svc else None,
            "svc_case_bytes": system.svc_case_bytes,
            "svc_case_handlers": [{"name": n, "bytes": b} for n, b in system.svc_case],
            "alone_bytes": system.alone_bytes,
            "alone_handlers": [{"name": n, "bytes": b} for n, b in system.alone],
        },
        "recursion": [
            {"functions": list(x.cycle.functions), "component": list(x.cycle.component),
             "bytes_per_iteration": x.cycle.bytes_per_iteration, "max_depth": x.max_depth,
             "root": x.root, "stack_bytes": x.stack_bytes, "entry_depth": x.entry_depth,
             "roots": list(x.roots), "entry_argument": x.entry_argument, "implied_bytes": x.implied_bytes,
             "tinygo_misses": x.tinygo_misses}
            for x in report.recursion
        ],
        "unresolved_calls": [
            {"caller": c.caller, "address": c.address, "kind": c.kind} for c in report.unresolved_calls
        ],
        "functions": [
            {"name": f.name, "address": f.address, "size": f.size, "frame_bytes": f.frame_bytes,
             "dynamic": f.frame.dynamic, "callees": list(f.callees)}
            for f in report.functions
        ],
        "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message} for f in report.findings],
        "notes": list(report.notes),
    }


def system_sum(system: SystemStack) -> str:
    """The system stack's sum as text: the reset path, then each level's deepest handler
    ([level] name bytes), then the handlers assumed to nest."""
    parts = [f"{system.reset or 'reset'} {system.reset_bytes}"]
    if system.origin:
        parts += [f"[{level_name(x.level)}] {x.handler} {x.bytes}" for x in system.levels]
        parts += [f"{n} {b}" for n, b in system.handlers[len(system.levels):]]
    else:
        parts += [f"{n} {b}" for n, b in system.handlers]
    return " + ".join(parts)


def cases(system: SystemStack) -> list[str]:
    """The cases the bound is the largest of, when handlers are left off the reset path."""
    if system.alone_bytes is None:
        return []
    b = system.bounded
    out = [f"reset path + handlers that can nest on it: {_bytes(system.reset_case_bytes, b)}"]
    if system.svc_case_bytes is not None:
        out.append(f"deepest svc ({system.svc_depth} B) + " + " + ".join(f"{n} {x}" for n, x in system.svc_case)
                   + f" = {_bytes(system.svc_case_bytes, b)}")
    out.append("handlers without the reset path: " + " + ".join(f"{n} {x}" for n, x in system.alone)
               + f" = {_bytes(system.alone_bytes, b)}")
    out += [f"not on the reset path: {n} ({why})" for n, why in system.not_during_reset]
    return out


def _bytes(n: int | None, bounded: bool = True) -> str:
    if n is None:
        return "?"
    return fmt.size(n) if bounded else f"≥ {fmt.size(n)}"


def render_text(report: StackReport) -> None:
    console = stdout_console()
    console.print(f"[bold]{escape(report.path)}[/]: {report.arch} {report.core}, worst-case stack per root [dim](static)[/]")
    table = Table(title="roots", title_justify="left")
    for col in ("root", "kind", "bound", "stack", "allotted", "margin", "status"):
        table.add_column(col, justify="left" if col in ("root", "kind", "stack", "status") else "right")
    colour = {"pass": "green", "warn": "yellow", "fail": "red", "unknown": "dim"}
    for r in report.roots:
        table.add_row(escape(r.name), r.root.kind.value, _bytes(r.bound_bytes, r.bounded), r.stack,
                      _bytes(r.allotted_bytes), "" if r.margin is None else f"{'' if r.bounded else '≤ '}{fmt.size(r.margin)}",
                      f"[{colour[r.status.value]}]{r.status.value}[/]")
    console.print(table)
    system = report.system
    if system is not None:
        total = _bytes(system.bound_bytes, system.bounded)
        if system.reset_case_bytes is not None:  # the sum is the reset case; the bound the largest case
            total = f"{_bytes(system.reset_case_bytes, system.bounded)}; bound (the largest case) {total}"
        console.print(f"system stack: {escape(system_sum(system))} = {total} of {_bytes(system.allotted_bytes)}"
                      + f"  [dim]({escape(system.assumption)})[/]")
        for line in cases(system):
            console.print(f"  {escape(line)}")
        if system.saved_by_levels:
            console.print(f"  [dim]if every handler nested: {_bytes(system.all_nest_bytes, system.bounded)}[/]")
    for r in report.roots:
        console.print(f"\n[bold]{escape(r.name)}[/] ({r.root.kind.value}, {escape(r.root.evidence)}): "
                      f"{_bytes(r.bound_bytes, r.bounded)}")
        for s in r.bound.path:
            console.print(f"  {s.entry_depth:>6}  {escape(s.function)}  [dim]frame {_bytes(s.frame_bytes)}[/]")
        for c in r.added:
            console.print(f"  [dim]+ {c.bytes} B {escape(c.what)}[/]")
        for reason in r.bound.reasons[:5]:
            console.print(f"  [yellow]unbounded:[/] {escape(reason)}")
        if len(r.bound.reasons) > 5:
            console.print(f"  [yellow]unbounded:[/] ... {len(r.bound.reasons) - 5} more")
    if report.recursion:
        rec = Table(title="recursion", title_justify="left")
        for col in ("cycle", "B/iteration", "max depth", "on"):
            rec.add_column(col, justify="right" if col in ("B/iteration", "max depth") else "left")
        for x in report.recursion:
            rec.add_row(escape(" -> ".join(x.cycle.functions + x.cycle.functions[:1])), str(x.cycle.bytes_per_iteration),
                        "?" if x.max_depth is None else str(x.max_depth),
                        f"{escape(x.root)} ({x.stack_bytes} B usable)" if x.root else "")
        console.print(rec)
    if report.unresolved_calls:
        console.print(f"\nunresolved calls ({len(report.unresolved_calls)}):")
        for call in report.unresolved_calls[:20]:
            console.print(f"  0x{call.address:08x}  {call.kind} in {escape(call.caller)}")
    for f in report.findings:
        style = {"error": "red", "warning": "yellow", "info": "dim"}[f.severity.value]
        console.print(f"[{style}]{f.severity.value}:[/] {escape(f.message)}")
    for note in report.notes:
        console.print(f"[dim]note: {escape(note)}[/]")


def _figure(f: TinygoFigure) -> str:
    return f"{f.bytes} B" if f.bytes is not None else (f.reason or "?")


def tinygo_json(check: TinygoCheck) -> dict[str, Any]:
    return {
        "roots": [{"root": c.root, "tinygo_function": c.tinygo.function, "tinygo_bytes": c.tinygo.bytes,
                   "tinygo_reason": c.tinygo.reason, "allotted_bytes": c.allotted_bytes,
                   "call_graph_bytes": c.call_graph_bytes, "bound_bytes": c.bound_bytes, "bounded": c.bounded,
                   "tinygo_below_bound": c.below_bound,
                   "tinygo_missed_recursion": c.missed_recursion} for c in check.comparisons],
        "findings": [{"rule": f.rule, "severity": f.severity.value, "message": f.message} for f in check.findings],
        "unmatched": [{"function": f.function, "bytes": f.bytes, "reason": f.reason} for f in check.unmatched],
    }


def render_tinygo(check: TinygoCheck) -> None:
    console = stdout_console()
    table = Table(title="TinyGo -print-stacks beside gomcu", title_justify="left")
    for col in ("root", "TinyGo", "gomcu call graph", "gomcu bound", "allotted", "flag"):
        table.add_column(col, justify="left" if col in ("root", "TinyGo", "flag") else "right")
    for c in check.comparisons:
        flags = [x for x, on in (("TinyGo below bound", c.below_bound), ("recursion TinyGo missed", c.missed_recursion))
                 if on]
        table.add_row(escape(c.root), escape(_figure(c.tinygo)), _bytes(c.call_graph_bytes, c.bounded),
                      _bytes(c.bound_bytes, c.bounded), _bytes(c.allotted_bytes),
                      f"[yellow]{', '.join(flags)}[/]" if flags else "")
    console.print(table)
    for f in check.unmatched:
        console.print(f"[dim]TinyGo's {escape(f.function)} ({escape(_figure(f))}): no root of that name here[/]")
    for finding in check.findings:
        console.print(f"[yellow]{finding.severity.value}:[/] {escape(finding.message)}")
