"""Call chains from a root to functions a profile names (allocator, blocking, printing...).

Both the GC analysis (which roots reach the allocator) and the interrupt analysis (what a
handler reaches that is unsafe) ask the same question of the call graph; this is the one place
that answers it. A breadth-first search gives the shortest chain to every target, with the call
sites, so a report can point at source lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gomcu.code.model import CodeModel
from gomcu.code.types import CallSite


@dataclass(frozen=True)
class Chain:
    """root -> ... -> target, with the call site used at each step (len(sites) == len(functions) - 1)."""

    functions: tuple[str, ...]
    sites: tuple[CallSite, ...]

    @property
    def target(self) -> str:
        return self.functions[-1]

    @property
    def last_site(self) -> CallSite | None:
        return self.sites[-1] if self.sites else None


def chains_to(model: CodeModel, root: str, is_target: Callable[[str], bool], stop_at_targets: bool = True,
              stop: Callable[[str], bool] | None = None, avoid: Callable[[str], bool] | None = None) -> list[Chain]:
    """The shortest chain from `root` to every reachable function for which `is_target` holds.

    With `stop_at_targets`, the search does not continue through a target (what the allocator
    calls internally is the allocator's business, not the caller's); nor through a function for
    which `stop` holds (one the runtime allows whatever it calls on other paths). Functions for
    which `avoid` holds are not entered at all (a panic path: the program is dying there)."""
    if model.function(root) is None:
        return []
    parent: dict[str, tuple[str, CallSite] | None] = {root: None}
    queue = deque([root])
    found: list[str] = []
    while queue:
        name = queue.popleft()
        if is_target(name):
            found.append(name)
            if stop_at_targets and name != root:
                continue
        if stop is not None and name != root and stop(name):
            continue
        fn = model.function(name)
        if fn is None:
            continue
        for site in fn.calls:
            callee = site.callee
            if callee is None or callee in parent or model.function(callee) is None:
                continue
            if avoid is not None and avoid(callee):
                continue
            parent[callee] = (name, site)
            queue.append(callee)
    return [_chain(parent, target) for target in found]


def _chain(parent: dict[str, tuple[str, CallSite] | None], target: str) -> Chain:
    functions = [target]
    sites: list[CallSite] = []
    step = parent[target]
    while step is not None:
        caller, site = step
        functions.append(caller)
        sites.append(site)
        step = parent[caller]
    return Chain(tuple(reversed(functions)), tuple(reversed(sites)))


def unresolved_reachable(model: CodeModel, root: str, stop: Callable[[str], bool] | None = None) -> list[CallSite]:
    """Indirect calls gomcu could not resolve anywhere below `root`: what it cannot see past.
    With `stop`, the search does not go below a function for which it holds (a target already
    reported, like `chains_to`'s: what a panic path calls on its way down is the panic's)."""
    reached = model.reachable_from(root) if stop is None else _below(model, root, stop)
    out: list[CallSite] = []
    for name in sorted(reached):
        fn = model.function(name)
        if fn is not None:
            out.extend(fn.unresolved)
    return out


def _below(model: CodeModel, root: str, stop: Callable[[str], bool]) -> frozenset[str]:
    """What `root` reaches without going below a function for which `stop` holds."""
    seen = {root} if model.function(root) is not None else set()
    work = list(seen)
    while work:
        name = work.pop()
        if name != root and stop(name):
            continue
        fn = model.function(name)
        for c in fn.calls if fn is not None else ():
            if c.callee is not None and c.callee not in seen and model.function(c.callee) is not None:
                seen.add(c.callee)
                work.append(c.callee)
    return frozenset(seen)
