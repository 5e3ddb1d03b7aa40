"""Calls resolved to the package's functions, by name (methods by receiver type when the source
spells it, else every method of that name), and what a root reaches with the chain to it."""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.source.model import Call, CallKind, Function, Package
from gomcu.source.names import SourceNames


@dataclass(frozen=True)
class Unresolved:
    """A call the source view cannot follow: a function value, interface method or other package."""

    call: Call
    function: str
    reason: str


class CallGraph:
    def __init__(self, package: Package, names: SourceNames) -> None:
        self.package = package
        self.names = names

    def targets(self, call: Call) -> tuple[Function, ...]:
        if call.kind in (CallKind.LOCAL, CallKind.LITERAL):
            return tuple(f for f in self.package.named(call.callee) if f.method is None)
        if call.kind is CallKind.METHOD:
            found = self.package.methods(call.callee, call.receiver_type)
            return found or self.package.methods(call.callee)
        return ()

    def unresolved_reason(self, call: Call) -> str | None:
        """Why a call cannot be followed, or None when it can (or is a known external call)."""
        if call.kind is CallKind.VALUE:
            return "function value"
        if call.kind is CallKind.INTERFACE:
            return "interface method"
        if call.kind is CallKind.EXTERNAL:
            if self.names.is_safe(call.callee) or self.names.categories(call.callee):
                return None
            return "external, not followed"
        if not self.targets(call):
            return "not found in the package"
        return None

    def reach(self, root: Function) -> dict[str, tuple[Function, tuple[str, ...]]]:
        """Every function reachable from root (root included), with the shortest chain of names."""
        seen: dict[str, tuple[Function, tuple[str, ...]]] = {_key(root): (root, (root.name,))}
        queue = [root]
        while queue:
            fn = queue.pop(0)
            chain = seen[_key(fn)][1]
            for call in fn.calls:
                for target in self.targets(call):
                    if _key(target) not in seen:
                        seen[_key(target)] = (target, chain + (target.name,))
                        queue.append(target)
        return seen

    def edges(self) -> list[tuple[Function, Function, Call]]:
        return [(fn, t, call) for fn in self.package.functions for call in fn.calls for t in self.targets(call)]


def _key(fn: Function) -> str:
    return f"{fn.name}@{fn.position}"
