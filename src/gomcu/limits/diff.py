"""What a change cost: two builds of one program compared limit by limit.

Matching is by names and source lines, never by addresses (a change moves almost every address):
stack roots by name, allocation sites by (function, file, line, allocator) and a running count when
one line holds several, handlers by name, recursion cycles by their functions, footprint groups by
package / compile unit, sections by name. What cannot be matched is listed, never guessed."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from gomcu.chips import Chip
from gomcu.errors import GomcuError
from gomcu.image import Image

GroupBy = Literal["package", "file", "section"]


@dataclass(frozen=True)
class Change:
    """One figure before and after (None: absent in that build)."""

    name: str
    before: int | None
    after: int | None

    @property
    def delta(self) -> int | None:
        return None if self.before is None or self.after is None else self.after - self.before


@dataclass(frozen=True)
class SectionMove:
    name: str
    before: int
    after: int


@dataclass(frozen=True)
class RootChange:
    name: str
    stack: str
    before_bound: int | None
    after_bound: int | None
    before_bounded: bool | None
    after_bounded: bool | None
    before_allotted: int | None
    after_allotted: int | None
    why_unbounded: str  # for a root that became unbounded

    @property
    def before_margin(self) -> int | None:
        return _margin(self.before_allotted, self.before_bound)

    @property
    def after_margin(self) -> int | None:
        return _margin(self.after_allotted, self.after_bound)

    @property
    def bound_delta(self) -> int | None:
        if self.before_bound is None or self.after_bound is None:
            return None
        return self.after_bound - self.before_bound


def _margin(allotted: int | None, bound: int | None) -> int | None:
    return None if allotted is None or bound is None else allotted - bound


@dataclass(frozen=True)
class SiteKey:
    function: str
    file: str | None
    line: int | None
    allocator: str
    nth: int  # 0 for the first site with these fields, 1 for the next ...


@dataclass(frozen=True)
class SiteChange:
    key: SiteKey
    change: str  # "added", "removed", "now reached from an interrupt", "now in a loop"
    roots: tuple[str, ...]  # the roots that reach it in the build where it exists
    in_interrupt: bool
    loop: str | None


@dataclass(frozen=True)
class HandlerChange:
    name: str
    before: str | None  # clean / violation / unknown, None: no such handler
    after: str | None
    why: str  # the new violations or unresolved calls, one line


@dataclass(frozen=True)
class Diff:
    base: str
    new: str
    by: GroupBy
    flash: Change
    ram: Change
    groups: tuple[Change, ...]  # changed groups only, largest change first
    moved_sections: tuple[SectionMove, ...]
    roots: tuple[RootChange, ...]  # changed roots only
    sites: tuple[SiteChange, ...]
    handlers: tuple[HandlerChange, ...]  # changed handlers only
    gc_kind: tuple[str, str]
    runtime: tuple[str | None, str | None]
    cycles_added: tuple[str, ...]
    cycles_removed: tuple[str, ...]
    unmatched: tuple[str, ...]  # what could not be compared, and why
    notes: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.flash.delta or self.ram.delta or self.groups or self.moved_sections or self.roots
                    or self.sites or self.handlers or self.gc_kind[0] != self.gc_kind[1]
                    or self.cycles_added or self.cycles_removed)

    @property
    def max_stack_increase(self) -> int | None:
        """The largest growth of a root's bound, or None when a changed root is unbounded after
        the change (its growth cannot be proved: a lower bound's change is no increase)."""
        if any(r.after_bounded is False for r in self.roots):
            return None
        return max([r.bound_delta for r in self.roots if r.bound_delta is not None] + [0])

    @property
    def unprovable_roots(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roots if r.after_bounded is False)

    @property
    def new_isr_allocations(self) -> int:
        return sum(1 for s in self.sites if s.in_interrupt and s.change in ("added", "now reached from an interrupt"))


@dataclass(frozen=True)
class _Build:
    """What one build's analyses say, in the shapes the comparison matches on."""

    image: Image
    runtime: str | None
    gc_kind: str
    flash: int
    ram: int
    groups: dict[str, int]
    sections: dict[str, int]
    roots: dict[str, tuple[str, int, bool, int | None, str]]
    sites: dict[SiteKey, tuple[tuple[str, ...], bool, str | None]]
    handlers: dict[str, tuple[str, str]]
    cycles: frozenset[str]
    stripped: bool


def _analyse(image: Image, chip: Chip | None, by: GroupBy) -> _Build:
    from gomcu.code.roots import TINYGO, TaskProfile
    from gomcu.limits import footprint, gc, interrupts, stack
    from gomcu.runtime.profile import detect_profile

    profile = detect_profile(s.name for s in image.symbols)
    fp = footprint.measure(image, chip)
    groups = {g.name: g.flash_bytes + g.ram_bytes for g in footprint.group(fp, by, image)}
    sections = {s.name: s.vma for s in fp.sections}
    report = stack.analyse(image, profile=TaskProfile.from_runtime(profile) if profile else TINYGO)
    roots = {}
    for r in report.roots:
        why = "; ".join(r.bound.reasons[:2]) if not r.bounded else ""
        roots[r.name] = (r.stack, r.bound_bytes, r.bounded, r.allotted_bytes, why)
    analysis = gc.analyse(image, chip, profile)
    sites: dict[SiteKey, tuple[tuple[str, ...], bool, str | None]] = {}
    seen: Counter[tuple[str, str | None, int | None, str]] = Counter()
    for s in sorted(analysis.sites, key=lambda s: s.address):
        base = (s.function, _unversioned(s.file), s.line, s.allocator)
        key = SiteKey(*base, seen[base])
        seen[base] += 1
        in_irq = any(r.kind in ("irq", "exception") for r in s.roots)
        sites[key] = (tuple(sorted({r.root for r in s.roots})), in_irq, s.loop)
    irq = interrupts.analyse(image, chip, profile, stack_report=report)
    handlers = {}
    for h in irq.handlers:
        why = "; ".join([f"{v.kind}: {' -> '.join(v.chain)}" for v in h.violations][:2]
                        + [f"unresolved call at {u}" for u in h.unresolved][:2])
        handlers[h.name] = (h.status, why)
    cycles = frozenset(" -> ".join(r.cycle.functions) for r in report.recursion)
    return _Build(image, profile.name if profile else None, analysis.gc_kind, fp.flash_bytes, fp.ram_bytes, groups,
                  sections, roots, sites, handlers, cycles, image.stripped)


def _unversioned(path: str | None) -> str | None:
    """A source path without Go module versions (`drivers@v0.32.0/` -> `drivers/`), so that a
    dependency bump does not turn every site in it into one removed and one added."""
    return None if path is None else re.sub(r"@v[0-9][^/\\]*", "", path)


def compare(base: Image, new: Image, chip: Chip | None = None, by: GroupBy = "package") -> Diff:
    """Compare two builds; raises GomcuError for builds that are not of one program's kind."""
    if base.arch != new.arch:
        raise GomcuError(f"{base.path} is {base.arch.value} and {new.path} is {new.arch.value}: "
                         "a diff needs two builds for one architecture")
    a, b = _analyse(base, chip, by), _analyse(new, chip, by)
    if a.runtime != b.runtime and not (a.stripped or b.stripped):
        raise GomcuError(f"{base.path} runs on runtime {a.runtime or 'unknown'} and {new.path} on "
                         f"{b.runtime or 'unknown'}: a diff needs two builds of one runtime")
    unmatched: list[str] = []
    if a.stripped or b.stripped:
        which = ", ".join(p for p, s in ((base.path, a.stripped), (new.path, b.stripped)) if s)
        unmatched.append(f"{which}: no symbol table: roots, sites and handlers cannot be matched by name; "
                         "only totals and sections are compared")
    groups = [Change(n, a.groups.get(n), b.groups.get(n)) for n in sorted(set(a.groups) | set(b.groups))]
    groups = [g for g in groups if g.before != g.after]
    groups.sort(key=lambda g: (-abs((g.after or 0) - (g.before or 0)), g.name))
    moved = tuple(SectionMove(n, a.sections[n], b.sections[n]) for n in sorted(set(a.sections) & set(b.sections))
                  if a.sections[n] != b.sections[n])
    roots = []
    if not (a.stripped or b.stripped):
        for name in sorted(set(a.roots) | set(b.roots)):
            ra, rb = a.roots.get(name), b.roots.get(name)
            if ra is not None and rb is not None and ra[1:4] == rb[1:4]:
                continue
            roots.append(RootChange(
                name, (rb or ra)[0],  # type: ignore[index]
                ra[1] if ra else None, rb[1] if rb else None, ra[2] if ra else None, rb[2] if rb else None,
                ra[3] if ra else None, rb[3] if rb else None,
                rb[4] if rb is not None and not rb[2] and (ra is None or ra[2]) else ""))
    sites = []
    if not (a.stripped or b.stripped):
        for key in sorted(set(a.sites) | set(b.sites), key=lambda k: (k.function, k.file or "", k.line or 0, k.nth)):
            sa, sb = a.sites.get(key), b.sites.get(key)
            if sa is None and sb is not None:
                sites.append(SiteChange(key, "added", sb[0], sb[1], sb[2]))
            elif sb is None and sa is not None:
                sites.append(SiteChange(key, "removed", sa[0], sa[1], sa[2]))
            elif sa is not None and sb is not None:
                if sb[1] and not sa[1]:
                    sites.append(SiteChange(key, "now reached from an interrupt", sb[0], True, sb[2]))
                elif sb[2] and not sa[2]:
                    sites.append(SiteChange(key, "now in a loop", sb[0], sb[1], sb[2]))
        if any(k.line is None for k in (*a.sites, *b.sites)):
            unmatched.append("allocation sites without a source line (no DWARF line table) are matched by "
                             "function only, in address order")
    handlers = []
    for name in sorted(set(a.handlers) | set(b.handlers)):
        ha, hb = a.handlers.get(name), b.handlers.get(name)
        if ha is not None and hb is not None and ha[0] == hb[0]:
            continue
        handlers.append(HandlerChange(name, ha[0] if ha else None, hb[0] if hb else None, (hb or ha or ("", ""))[1]))
    notes = []
    if chip is None:
        notes.append("no --chip: totals are the ELFs' own; fit against a chip is not compared")
    return Diff(base.path, new.path, by, Change("flash", a.flash, b.flash), Change("ram", a.ram, b.ram),
                tuple(groups), moved, tuple(roots), tuple(sites), tuple(handlers), (a.gc_kind, b.gc_kind),
                (a.runtime, b.runtime), tuple(sorted(b.cycles - a.cycles)), tuple(sorted(a.cycles - b.cycles)),
                tuple(unmatched), tuple(notes))
