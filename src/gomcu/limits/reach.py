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
              stop: Callable[[str], bool] | None = None) -> list[Chain]:
    """The shortest chain from `root` to every reachable function for which `is_target` holds.

    With `stop_at_targets`, the search does not continue through a target (what the allocator
    calls internally is the allocator's business, not the caller's); nor through a function for
    which `stop` holds (one the runtime allows whatever it calls on other paths)."""
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


def unresolved_reachable(model: CodeModel, root: str) -> list[CallSite]:
    """Indirect calls gomcu could not resolve anywhere below `root`: what it cannot see past."""
    out: list[CallSite] = []
    for name in sorted(model.reachable_from(root)):
        fn = model.function(name)
        if fn is not None:
            out.extend(fn.unresolved)
    return out
