"""Worst-case stack depth from a root, over the call graph's strongly connected components.

Recursion is never cut silently: Tarjan's algorithm (iterative) finds the components, each
component with a cycle is reported with the bytes one trip round it costs, and every root that
reaches it gets a bound of "at least N" with the reason. Unresolved indirect calls and dynamic
frames make a bound open-ended in the same way.

The cost of a function is max(its frame, max over its call sites of the depth at the site plus
the callee's cost): the depth at the site is what the caller has pushed when it calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from gomcu.code.types import CallSite, Cycle
from gomcu.graphs import strongly_connected

if TYPE_CHECKING:
    from gomcu.code.model import CodeModel

_MAX_CYCLE_SEARCH = 20000


@dataclass(frozen=True)
class PathStep:
    """One function on a worst path: its name, its frame, the depth at which it is entered."""

    function: str
    frame_bytes: int | None
    entry_depth: int
    call_site: int | None = None  # address of the call that leads to the next step


@dataclass(frozen=True)
class StackBound:
    """The worst case from one function: `bytes` is exact when `bounded`, a lower bound otherwise."""

    root: str
    bytes: int
    bounded: bool
    path: tuple[PathStep, ...]
    reasons: tuple[str, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    unresolved: tuple[CallSite, ...] = ()
    dynamic: tuple[str, ...] = ()
    # function -> deepest stack depth on entry to it from this root (recursion counted once)
    entry_depths: tuple[tuple[str, int], ...] = ()


class StackGraph:
    """The call graph prepared for worst-case queries: components, per-function costs."""

    def __init__(self, model: CodeModel, growth: frozenset[str] = frozenset()) -> None:
        """`growth`: stack growth points (morestack); calls to them move to another stack, so they
        are left out of every bound and close no cycle."""
        self.model = model.without_calls_to(growth)  # what a bound can reach, its reasons included
        self.growth = growth
        self.functions = {f.name: f for f in self.model.functions}
        self.succ: dict[str, list[str]] = {
            name: list(dict.fromkeys(c.callee for c in f.calls if c.callee in self.functions))
            for name, f in self.functions.items()
        }
        comps = strongly_connected(list(self.functions), self.succ)
        self.components = comps  # callees first
        self.component_of: dict[str, int] = {}
        for i, comp in enumerate(comps):
            for n in comp:
                self.component_of[n] = i
        self.recursive: set[int] = {
            i for i, comp in enumerate(comps)
            if len(comp) > 1 or comp[0] in self.succ.get(comp[0], [])
        }
        self._cost, self._next = self._costs()

    def _costs(self) -> tuple[dict[str, int], dict[str, CallSite | None]]:
        """Cost of each function with calls inside its own component ignored (one trip round a cycle)."""
        cost: dict[str, int] = {}
        nxt: dict[str, CallSite | None] = {}
        for ci, comp in enumerate(self.components):
            # Inside a component, iterate to a fixpoint over the acyclic part: intra-component edges
            # are skipped, so members only see callees in components already done.
            for name in comp:
                f = self.functions[name]
                best = f.frame.bytes
                via: CallSite | None = None
                for c in f.calls:
                    if c.callee is None or c.callee not in self.functions:
                        continue
                    if self.component_of[c.callee] == ci:
                        continue
                    total = c.stack_depth + cost[c.callee]
                    if total > best:
                        best, via = total, c
                cost[name] = best
                nxt[name] = via
            if len(comp) > 1:
                # One trip round the cycle: a member may enter another member once before leaving.
                for _ in range(len(comp)):
                    changed = False
                    for name in comp:
                        f = self.functions[name]
                        for c in f.calls:
                            if c.callee in comp and c.callee != name and self._once(name, c.callee, comp):
                                total = c.stack_depth + cost[c.callee]
                                if total > cost[name]:
                                    cost[name], nxt[name] = total, c
                                    changed = True
                    if not changed:
                        break
        return cost, nxt

    def _once(self, caller: str, callee: str, comp: list[str]) -> bool:
        # Allow each intra-component edge in a fixed order only (from earlier to later member), so
        # the relaxation cannot go round a cycle twice.
        return comp.index(caller) < comp.index(callee)

    def cost(self, name: str) -> int:
        return self._cost[name]

    @cached_property
    def cycles(self) -> dict[int, Cycle]:
        """The heaviest elementary cycle of each recursive component."""
        out: dict[int, Cycle] = {}
        for ci in self.recursive:
            comp = self.components[ci]
            out[ci] = self._heaviest_cycle(comp)
        return out

    def _heaviest_cycle(self, comp: list[str]) -> Cycle:
        members = set(comp)
        edges: dict[str, list[tuple[str, int]]] = {}
        for name in comp:
            best: dict[str, int] = {}
            for c in self.functions[name].calls:
                if c.callee in members:
                    best[c.callee] = max(best.get(c.callee, 0), c.stack_depth)
            edges[name] = sorted(best.items())
        best_cycle: tuple[int, list[str]] = (-1, [])
        budget = _MAX_CYCLE_SEARCH
        for start in sorted(comp):
            # Elementary cycles through `start` using only members >= start (each cycle found once).
            stack = [(start, [start], 0)]
            while stack and budget > 0:
                budget -= 1
                node, path, weight = stack.pop()
                for nxt, w in edges[node]:
                    if nxt == start:
                        if weight + w > best_cycle[0]:
                            best_cycle = (weight + w, path)
                    elif nxt > start and nxt not in path:
                        stack.append((nxt, path + [nxt], weight + w))
        weight, path = best_cycle
        if budget <= 0:
            # Too many cycles to enumerate: bound a trip by the sum of each member's deepest call into the component.
            weight = sum(max((w for _, w in edges[n]), default=0) for n in comp)
            path = sorted(comp)
        return Cycle(tuple(path), weight, tuple(sorted(comp)))

    def bound(self, root: str) -> StackBound:
        """Worst case from `root`, its path, and what makes it open-ended."""
        if root not in self.functions:
            raise KeyError(root)
        reach = self.model.reachable_from(root)
        # Deepest entry depth of every reachable function (longest path in the component DAG).
        order = [n for comp in reversed(self.components) for n in comp if n in reach]
        entry: dict[str, int] = {root: 0}
        for name in order:
            if name not in entry:
                continue
            for c in self.functions[name].calls:
                if c.callee in reach and self.component_of[c.callee] != self.component_of[name]:
                    d = entry[name] + c.stack_depth
                    if d > entry.get(c.callee, -1):
                        entry[c.callee] = d
            comp = self.components[self.component_of[name]]
            for other in comp:  # members of one component are entered at the component's depth
                if other != name and other in reach:
                    entry[other] = max(entry.get(other, 0), entry[name])
        cycles: list[Cycle] = []
        seen_comps: set[int] = set()
        unresolved: list[CallSite] = []
        dynamic: list[str] = []
        for name in sorted(reach):  # sorted: the same reasons in the same order every run
            ci = self.component_of[name]
            if ci in self.recursive and ci not in seen_comps:
                seen_comps.add(ci)
                cycles.append(self.cycles[ci])
            f = self.functions[name]
            if f.frame.dynamic:
                dynamic.append(name)
            unresolved.extend(c for c in f.calls if c.callee is None)
        reasons: list[str] = []
        for cyc in cycles:
            reasons.append(f"recursion {' -> '.join(cyc.functions + cyc.functions[:1])} "
                           f"({cyc.bytes_per_iteration} B per iteration)")
        for name in sorted(dynamic):
            reasons.append(f"dynamic stack allocation in {name}")
        for c in unresolved:
            reasons.append(f"unresolved {c.kind} in {c.caller} at 0x{c.address:x}")
        path = self._path(root)
        return StackBound(
            root=root, bytes=self._cost[root], bounded=not reasons, path=path, reasons=tuple(reasons),
            cycles=tuple(sorted(cycles, key=lambda c: c.functions)), unresolved=tuple(unresolved),
            dynamic=tuple(sorted(dynamic)), entry_depths=tuple(sorted(entry.items())),
        )

    def _path(self, root: str) -> tuple[PathStep, ...]:
        steps: list[PathStep] = []
        depth = 0
        name: str | None = root
        seen: set[str] = set()
        while name is not None and name not in seen:
            seen.add(name)
            f = self.functions[name]
            via = self._next.get(name)
            steps.append(PathStep(name, f.frame_bytes, depth, via.address if via else None))
            if via is None:
                break
            depth += via.stack_depth
            name = via.callee
        return tuple(steps)
