"""`gomcu diff` output: text for a terminal, JSON (schema-versioned like check's), and a compact
Markdown comment for a pull request (summary table first, details in collapsible sections)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from gomcu.limits.diff import Change, Diff, RootChange, SiteChange
from gomcu.report.console import stdout_console


def _signed(n: int | None, unit: str = " B") -> str:
    if n is None:
        return "–"
    return f"{n:+,}{unit}" if n else f"0{unit}"


def _size(n: int | None) -> str:
    return "–" if n is None else f"{n:,} B"


def _root_text(r: RootChange) -> str:
    def bound(b: int | None, ok: bool | None) -> str:
        return "absent" if b is None else (f"{b:,} B" if ok else f"≥ {b:,} B (unbounded)")
    def margin_of(m: int | None, ok: bool | None) -> str:
        return _size(m) if ok or m is None else f"≤ {_size(m)}"  # a lower bound's margin is an upper one
    margin = (f"; margin {margin_of(r.before_margin, r.before_bounded)} → {margin_of(r.after_margin, r.after_bounded)}"
              if r.after_allotted or r.before_allotted else "")
    allotted = "" if r.before_allotted == r.after_allotted else \
        f"; allotted {_size(r.before_allotted)} → {_size(r.after_allotted)}"
    why = f" ({r.why_unbounded})" if r.why_unbounded else ""
    return f"{r.name} [{r.stack}]: {bound(r.before_bound, r.before_bounded)} → {bound(r.after_bound, r.after_bounded)}" \
           f"{why}{allotted}{margin}"


def _site_text(s: SiteChange) -> str:
    where = f"{s.key.file}:{s.key.line}" if s.key.file else "no line"
    extra = []
    if s.in_interrupt:
        extra.append("reached from an interrupt")
    if s.loop:
        extra.append(f"loop {s.loop}")
    roots = f"; roots: {', '.join(s.roots)}" if s.roots else ""
    return f"{s.change}: {s.key.allocator} in {s.key.function} at {where}" + \
        (f" ({', '.join(extra)})" if extra else "") + roots


def summary_rows(d: Diff) -> list[tuple[str, str, str]]:
    """(what, change, detail) for the summary table: the figures a reviewer reads first."""
    rows = [("flash", _signed(d.flash.delta), f"{_size(d.flash.before)} → {_size(d.flash.after)}"),
            ("RAM (static)", _signed(d.ram.delta), f"{_size(d.ram.before)} → {_size(d.ram.after)}")]
    worst = max(d.roots, key=lambda r: r.bound_delta or 0, default=None)
    if d.max_stack_increase is None:
        rows.append(("worst-case stack", "cannot be proved",
                     f"unbounded after the change: {', '.join(d.unprovable_roots)}"))
    else:
        rows.append(("worst-case stack", _signed(d.max_stack_increase) if d.roots else "no change",
                     _root_text(worst) if worst is not None and worst.bound_delta else f"{len(d.roots)} root(s) changed"))
    added = sum(1 for s in d.sites if s.change == "added")
    removed = sum(1 for s in d.sites if s.change == "removed")
    rows.append(("allocation sites", f"+{added} / -{removed}", f"{d.new_isr_allocations} new from an interrupt"))
    worse = [h for h in d.handlers if h.after in ("violation", "unknown") and h.before != h.after]
    rows.append(("interrupt handlers", f"{len(d.handlers)} changed", ", ".join(f"{h.name}: {h.before} → {h.after}"
                                                                            for h in worse) or "none lost its proof"))
    if d.gc_kind[0] != d.gc_kind[1]:
        rows.append(("GC kind", "changed", f"{d.gc_kind[0]} → {d.gc_kind[1]}"))
    if d.cycles_added or d.cycles_removed:
        rows.append(("recursion", f"+{len(d.cycles_added)} / -{len(d.cycles_removed)}", ", ".join(d.cycles_added)))
    return rows


def render_text(d: Diff, budget_lines: list[str]) -> None:
    console = stdout_console()
    console.print(f"{escape(d.base)} → {escape(d.new)} (static)")
    if not d.changed:
        console.print("no change in any limit")
    for what, change, detail in summary_rows(d):
        console.print(f"  {escape(what)}: {escape(change)}  {escape(detail)}")
    if d.groups:
        console.print(f"by {d.by} (flash + RAM):")
        for g in d.groups:
            console.print(f"  {escape(g.name)}: {_signed(g.delta if g.delta is not None else _present(g))} "
                          f"({_size(g.before)} → {_size(g.after)})")
    if d.moved_sections:
        console.print("sections that moved: " + ", ".join(f"{escape(m.name)} 0x{m.before:08x} → 0x{m.after:08x}"
                                                          for m in d.moved_sections))
    for r in d.roots:
        console.print(f"stack {escape(_root_text(r))}")
    for s in d.sites:
        console.print(f"allocation {escape(_site_text(s))}")
    for h in d.handlers:
        console.print(f"handler {escape(h.name)}: {h.before or 'absent'} → {h.after or 'absent'}"
                      + (f" ({escape(h.why)})" if h.why else ""))
    for c in d.cycles_added:
        console.print(f"recursion added: {escape(c)}")
    for c in d.cycles_removed:
        console.print(f"recursion removed: {escape(c)}")
    for u in d.unmatched:
        console.print(f"not compared: {escape(u)}")
    for n in d.notes:
        console.print(f"note: {escape(n)}")
    for line in budget_lines:
        console.print(escape(line))


def _present(c: Change) -> int:
    return (c.after or 0) - (c.before or 0)


def to_json(d: Diff, budget: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "base": d.base, "new": d.new, "changed": d.changed, "by": d.by,
        "flash": _change(d.flash), "ram": _change(d.ram),
        "groups": [_change(g) for g in d.groups],
        "moved_sections": [{"name": m.name, "before": m.before, "after": m.after} for m in d.moved_sections],
        "roots": [{"name": r.name, "stack": r.stack, "bound": [r.before_bound, r.after_bound],
                   "bounded": [r.before_bounded, r.after_bounded], "allotted": [r.before_allotted, r.after_allotted],
                   "margin": [r.before_margin, r.after_margin], "why_unbounded": r.why_unbounded} for r in d.roots],
        "allocation_sites": [{"change": s.change, "function": s.key.function, "file": s.key.file, "line": s.key.line,
                              "allocator": s.key.allocator, "roots": list(s.roots), "in_interrupt": s.in_interrupt,
                              "loop": s.loop} for s in d.sites],
        "handlers": [{"name": h.name, "before": h.before, "after": h.after, "why": h.why} for h in d.handlers],
        "gc_kind": list(d.gc_kind), "runtime": list(d.runtime),
        "recursion_added": list(d.cycles_added), "recursion_removed": list(d.cycles_removed),
        "max_stack_increase_bytes": d.max_stack_increase, "unprovable_roots": list(d.unprovable_roots),
        "new_isr_allocations": d.new_isr_allocations,
        "unmatched": list(d.unmatched), "notes": list(d.notes), "budget": budget,
    }


def _change(c: Change) -> dict[str, Any]:
    return {"name": c.name, "before": c.before, "after": c.after, "delta": c.delta}


def render_markdown(d: Diff, budget_lines: list[str]) -> str:
    """A pull-request comment: the summary table, then details in <details> blocks."""
    lines = ["### gomcu diff", "", f"`{d.base}` → `{d.new}`" + ("" if d.changed else ": **no change**"), "",
             "| | change | detail |", "| --- | --- | --- |"]
    lines += [f"| {what} | {change} | {_md(detail)} |" for what, change, detail in summary_rows(d)]
    if budget_lines:
        lines += ["", *[f"- {_md(b)}" for b in budget_lines]]

    def section(title: str, items: list[str]) -> None:
        if items:
            lines.extend(["", f"<details><summary>{title} ({len(items)})</summary>", ""]
                         + [f"- {_md(i)}" for i in items] + ["", "</details>"])

    section(f"footprint by {d.by}", [f"{g.name}: {_signed(g.delta if g.delta is not None else _present(g))} "
                                     f"({_size(g.before)} → {_size(g.after)})" for g in d.groups])
    section("stacks", [_root_text(r) for r in d.roots])
    section("allocation sites", [_site_text(s) for s in d.sites])
    section("interrupt handlers", [f"{h.name}: {h.before or 'absent'} → {h.after or 'absent'}"
                                   + (f" ({h.why})" if h.why else "") for h in d.handlers])
    section("sections that moved", [f"{m.name}: 0x{m.before:08x} → 0x{m.after:08x}" for m in d.moved_sections])
    section("not compared", list(d.unmatched))
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
