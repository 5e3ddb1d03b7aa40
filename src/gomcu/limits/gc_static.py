"""Allocation sites from the binary: every call of the runtime's allocator, where it is in the
source, which roots reach it, whether it sits in a loop, and whether it runs only at start-up.

The allocator's name comes from the runtime profile; roots and call chains from the code model
(`limits.reach`), so the same answer serves the GC limit and the interrupt limit.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property

from gomcu.code.model import CodeModel
from gomcu.code.types import CallSite, Kind, Root, RootKind
from gomcu.limits.reach import chains_to
from gomcu.runtime.names import go_package
from gomcu.runtime.profile import RuntimeProfile

INTERRUPT_KINDS = (RootKind.IRQ, RootKind.EXCEPTION)


@dataclass(frozen=True)
class RootReach:
    """One root that reaches an allocation site, by its shortest call chain.

    `functions` runs from the root to the function holding the site; `call_sites` are the
    addresses of the calls along it, the allocation call last. `phase` is "init" when the chain
    is start-up work (package initialisers, reset before main), "run" otherwise."""

    root: str
    kind: str
    functions: tuple[str, ...]
    call_sites: tuple[int, ...]
    phase: str

    @property
    def interrupt(self) -> bool:
        return self.kind in (k.value for k in INTERRUPT_KINDS)


@dataclass(frozen=True)
class AllocationSite:
    """A call of the allocator.

    `loop` says where the loop is that repeats it ("in <function>" for a back edge around the
    call itself, "in caller <function> at file:line" for one around a call leading to it), None
    when none is seen. `executions` bounds how often it runs: None when unbounded (a loop, an
    interrupt, recursion) or unknown (reached only through unresolved indirect calls)."""

    address: int
    function: str
    allocator: str
    file: str | None
    line: int | None
    package: str
    size: int | None
    purpose: str  # "goroutine stack" (in the task-start function) or "object"
    roots: tuple[RootReach, ...]
    loop: str | None
    init_only: bool
    executions: int | None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else f"0x{self.address:08x}"

    @property
    def in_interrupt(self) -> bool:
        return any(r.interrupt for r in self.roots)

    @property
    def reached(self) -> bool:
        return bool(self.roots)


class SiteFinder:
    """Finds and describes allocation sites in one code model under one profile."""

    def __init__(self, model: CodeModel, profile: RuntimeProfile) -> None:
        self.model = model
        self.profile = profile
        self.image = model.image

    # -- loops -------------------------------------------------------------------------------

    def loop_spans(self, function: str) -> list[tuple[int, int]]:
        """[start, end) of every backward branch's body inside `function`: its loops."""
        fn = self.model.function(function)
        if fn is None:
            return []
        spans = []
        growth = {f.address for n in self.profile.growth if (f := self.model.function(n)) is not None}
        prev = None
        for ins in self.model.instructions(function):
            # Go's prologue tail (`bl morestack_noctxt; b entry`) retries the function on a grown
            # stack: a branch back after a growth point's call is no loop
            retry = prev is not None and prev.kind is Kind.CALL and prev.target in growth
            if ins.kind is Kind.BRANCH and ins.target is not None and fn.address <= ins.target <= ins.address \
                    and not retry:
                spans.append((ins.target, ins.end))
            prev = ins
        return spans

    def in_loop(self, site: CallSite) -> bool:
        return any(lo <= site.address < hi for lo, hi in self._spans(site.caller))

    def _spans(self, function: str) -> list[tuple[int, int]]:
        cache = self.__dict__.setdefault("_span_cache", {})
        if function not in cache:
            cache[function] = self.loop_spans(function)
        return cache[function]

    def enclosing_loop(self, site: CallSite) -> str | None:
        """The nearest loop that repeats `site`: around it, or around a call on the way to it."""
        if self.in_loop(site):
            return f"in {site.caller}"
        seen = {site.caller}
        queue = deque([site.caller])
        while queue:
            name = queue.popleft()
            for call in self.model.callers_of(name):
                if self.in_loop(call):
                    line = self.image.line_for(call.address)
                    return f"in caller {call.caller}" + (f" at {line}" if line else f" at 0x{call.address:x}")
                if call.caller not in seen:
                    seen.add(call.caller)
                    queue.append(call.caller)
        return None

    # -- phases ------------------------------------------------------------------------------

    @cached_property
    def run_reachable(self) -> frozenset[str]:
        """Functions the running program reaches (not through initialisers): from main, every
        goroutine, task and handler root."""
        starts = [r.name for r in self.model.roots if r.kind is not RootKind.RESET]
        starts += [f.name for f in self.model.functions if self.profile.is_main(f.name)]
        seen = {s for s in starts if self.model.function(s) is not None and not self.profile.is_init(s)}
        stack = list(seen)
        while stack:
            fn = self.model.function(stack.pop())
            if fn is None:
                continue
            for call in fn.calls:
                callee = call.callee
                if callee is None or callee in seen or self.profile.is_init(callee):
                    continue
                if self.model.function(callee) is None:
                    continue
                seen.add(callee)
                stack.append(callee)
        return frozenset(seen)

    def _phase(self, root: Root, functions: tuple[str, ...]) -> str:
        if any(self.profile.is_init(f) for f in functions):
            return "init"
        if root.kind is RootKind.RESET and not any(self.profile.is_main(f) for f in functions):
            return "init"
        return "run"

    # -- execution counts --------------------------------------------------------------------

    def executions_of(self, function: str) -> int | None:
        """How many times `function` can run: the number of call paths from the roots, None
        when a path has a loop, an interrupt or recursion, or no root reaches it."""
        roots = {r.name: r for r in self.model.roots}
        memo: dict[str, int | None] = {}
        active: set[str] = set()
        unbounded = object()

        def paths(name: str) -> int | None | object:
            if name in memo:
                return memo[name]
            if name in active:
                return unbounded  # recursion
            active.add(name)
            total: int | object = 0
            root = roots.get(name)
            if root is not None:
                total = unbounded if root.kind in INTERRUPT_KINDS else 1
            for call in self.model.callers_of(name):
                if total is unbounded:
                    break
                if self.in_loop(call):
                    total = unbounded
                    break
                sub = paths(call.caller)
                if sub is unbounded:
                    total = unbounded
                elif isinstance(sub, int) and isinstance(total, int):
                    total += sub
            active.discard(name)
            memo[name] = total  # type: ignore[assignment]
            return total

        result = paths(function)
        if result is unbounded or not isinstance(result, int) or result == 0:
            return None
        return result

    # -- sites -------------------------------------------------------------------------------

    def allocator_names(self) -> list[str]:
        return sorted(f.name for f in self.model.functions if self.profile.is_allocator(f.name))

    def sites(self) -> tuple[AllocationSite, ...]:
        allocators = set(self.allocator_names())
        calls = [c for a in sorted(allocators) for c in self.model.callers_of(a) if c.caller not in allocators]
        holders = {c.caller for c in calls}
        reach: dict[str, list[RootReach]] = {h: [] for h in holders}
        def other_unsafe(n: str) -> bool:  # blocking, scheduler entry...: the interrupt analysis reports it
            return self.profile.unsafe_category(n) not in (None, "alloc")

        for root in self.model.roots:
            # a panic path allocates on the program's way down, and what an allocator calls (the
            # collector's own allocations) is the allocator's: neither is an allocation of the root's;
            # nor, for a handler, what it would allocate past a call it must not make at all
            handler = root.kind in INTERRUPT_KINDS

            def avoid(n: str, handler: bool = handler) -> bool:
                return n in allocators or self.profile.is_dying(n) or (handler and other_unsafe(n))

            for chain in chains_to(self.model, root.name, lambda n: n in holders, stop_at_targets=False, avoid=avoid):
                reach[chain.target].append(RootReach(
                    root.name, root.kind.value, chain.functions, tuple(s.address for s in chain.sites),
                    self._phase(root, chain.functions)))
        out = []
        for call in sorted(calls, key=lambda c: c.address):
            line = self.image.line_for(call.address)
            roots = tuple(RootReach(r.root, r.kind, r.functions, r.call_sites + (call.address,), r.phase)
                          for r in reach[call.caller])
            loop = self.enclosing_loop(call)
            own_loop = self.in_loop(call)
            executions = None if own_loop else self.executions_of(call.caller)
            out.append(AllocationSite(
                address=call.address,
                function=call.caller,
                allocator=call.callee or "?",
                file=line.file if line else None,
                line=line.line if line else None,
                package=self._package(call.caller, call.address),
                size=self._size_argument(call.address, call.callee),
                purpose="goroutine stack" if self.profile.is_task_start(call.caller) else "object",
                roots=roots,
                loop=loop,
                # a package initialiser runs once, even where only the init table's indirect calls reach it
                init_only=self.profile.is_init(call.caller) or (bool(roots) and call.caller not in self.run_reachable),
                executions=executions,
            ))
        return tuple(out)

    def _size_argument(self, address: int, allocator: str | None) -> int | None:
        """The bytes a call allocates when its arguments are constants: the first argument, or
        where the profile says so, the argument (`size_argument`: a register index or a location,
        "r1" or "stack+4" for Go's ABI0) or the first word of the type descriptor it passes
        (`size_from_type`: Go's newobject(typ), typ.size first; a list means the first register)."""
        gc = self.profile.gc
        typed = gc.get("size_from_type", ())
        if allocator is not None and allocator in typed:
            typ = self._argument(address, str(typed[allocator]) if isinstance(typed, dict) else "r0")
            return self.model.word(typ) if typ is not None else None
        positions = gc.get("size_argument")
        where: int | str = 0
        if isinstance(positions, dict):
            where = positions.get(allocator, -1) if allocator else -1
        if isinstance(where, int) and where < 0:
            return None
        return self._argument(address, f"r{where}" if isinstance(where, int) else str(where))

    def _argument(self, address: int, where: str) -> int | None:
        from gomcu.code.priorities import argument_at

        return argument_at(self.model, address, where)

    def _package(self, function: str, address: int) -> str:
        package = go_package(function)
        if package:
            return package
        if function.startswith("OUTLINED_FUNCTION_"):
            return "(LLVM-outlined code)"  # the machine outliner's; its callers are the real sites
        unit = self.image.compile_unit_of(address, variables=False)
        return f"(C) {unit}" if unit else "(C and other non-Go code)"


def allocation_sites(model: CodeModel, profile: RuntimeProfile) -> tuple[AllocationSite, ...]:
    """Every call of the profile's allocator in `model`, described."""
    return SiteFinder(model, profile).sites()
