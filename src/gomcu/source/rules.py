"""The judgements of the source layer: interrupt handlers, goroutines, recursion, MMIO without
volatile, allocation in loops. Each returns plain results and findings (origin: source). What the
source asks for is not what the binary does (inlining, escape analysis): `gomcu irq` on the ELF
is the proof for the binary."""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.graphs import strongly_connected
from gomcu.findings import Finding, Location, Severity
from gomcu.source.callgraph import CallGraph, Unresolved, _key
from gomcu.source.model import Call, CallKind, Form, Function, GoStatement, MmioAccess, MmioPointer, Package, Position, Registration

HANDLER_SEVERITY = {"alloc": Severity.ERROR, "block": Severity.ERROR, "go": Severity.ERROR,
                    "defer": Severity.WARNING, "panic": Severity.WARNING, "print": Severity.WARNING,
                    "recursion": Severity.WARNING}
CLEAN = "proved clean (source)"


def _loc(pos: Position, function: str) -> Location:
    return Location(file=pos.file, line=pos.line, function=function)


@dataclass(frozen=True)
class Violation:
    kind: str          # the construct (make, send, ...) or the external call's name
    category: str      # alloc, block, go, defer, panic, print
    severity: Severity
    chain: tuple[str, ...]
    position: Position
    text: str


@dataclass(frozen=True)
class HandlerResult:
    registration: Registration
    status: str                      # proved clean (source) | violation | unknown
    violations: tuple[Violation, ...]
    unresolved: tuple[Unresolved, ...]
    reachable: tuple[str, ...]
    fine: tuple[Violation, ...] = ()  # constructs that look unsafe but are not (select with default)


def _handler_function(package: Package, reg: Registration) -> Function | None:
    if not reg.resolved:
        return None
    found = package.named(reg.handler)
    return found[0] if found else None


def analyse_handlers(package: Package, graph: CallGraph,
                     cycles: tuple[Cycle, ...] = ()) -> tuple[tuple[HandlerResult, ...], list[Finding]]:
    """Judge each piece of interrupt code by what it reaches; `cycles`: the package's recursion,
    which in interrupt context runs on the one system stack with no bound the source can give."""
    cycle_of = {name: c for c in cycles for name in c.functions}
    results: list[HandlerResult] = []
    findings: list[Finding] = []
    for reg in package.registrations:
        root = _handler_function(package, reg)
        if root is None:
            why = reg.how or "handler is not a function of the package"
            unresolved = (Unresolved(_pseudo_call(reg), reg.function, why),)
            results.append(HandlerResult(reg, "unknown", (), unresolved, ()))
            detail = ("is not a function declared in the package (TinyGo needs a constant function)"
                      if reg.form is Form.INTERRUPT_NEW else f"cannot be followed: {why}")
            findings.append(Finding("source.irq-unknown", Severity.WARNING,
                                    f"{reg.label}: handler {reg.handler} {detail}",
                                    _loc(reg.position, reg.function), (reg.handler,)))
            continue
        violations: list[Violation] = []
        fine: list[Violation] = []
        unresolved_calls: list[Unresolved] = []
        reached = graph.reach(root)
        for fn, chain in reached.values():
            if fn.name in cycle_of:
                names = cycle_of[fn.name].functions
                violations.append(Violation("recursion", "recursion", HANDLER_SEVERITY["recursion"], chain,
                                            fn.position, f"{' -> '.join(names + names[:1])}"))
            for c in fn.constructs:
                if c.category == "fine":
                    fine.append(Violation(c.kind, c.category, Severity.INFO, chain, c.position, c.text))
                    continue
                violations.append(Violation(c.kind, c.category, HANDLER_SEVERITY[c.category], chain, c.position, c.text))
            for call in fn.calls:
                cats = graph.names.categories(call.callee) if call.kind is CallKind.EXTERNAL else ()
                for cat in cats[:1]:
                    text = f"call to {call.callee}" + (f" (also {', '.join(cats[1:])})" if len(cats) > 1 else "")
                    violations.append(Violation(call.callee, cat, HANDLER_SEVERITY[cat], chain + (call.callee,),
                                                call.position, text))
                reason = graph.unresolved_reason(call)
                if reason is not None:
                    unresolved_calls.append(Unresolved(call, fn.name, reason))
        violations.sort(key=lambda v: (v.position.file, v.position.line, v.position.column))
        status = "violation" if violations else ("unknown" if unresolved_calls else CLEAN)
        reachable = tuple(sorted(fn.name for fn, _ in reached.values()))
        results.append(HandlerResult(reg, status, tuple(violations), tuple(unresolved_calls), reachable,
                                     tuple(sorted(fine, key=lambda v: (v.position.file, v.position.line)))))
        for v in fine:
            findings.append(Finding("source.irq-nonblocking", Severity.INFO,
                                    f"{reg.label} {root.name}: {v.kind} at {v.position} never blocks (fine in "
                                    f"interrupt context), via {' -> '.join(v.chain)}",
                                    _loc(v.position, v.chain[-1]), v.chain))
        for v in violations:
            findings.append(Finding(f"source.irq-{v.category}", v.severity,
                                    f"{reg.label} handler {root.name}: {v.category} ({v.text}) at {v.position}, "
                                    f"via {' -> '.join(v.chain)}",
                                    _loc(v.position, v.chain[-1] if v.chain[-1] != v.kind else v.chain[-2]), v.chain))
        if not violations and unresolved_calls:
            which = ", ".join(f"{u.call.callee} ({u.reason}) at {u.call.position}" for u in unresolved_calls)
            findings.append(Finding("source.irq-unknown", Severity.WARNING,
                                    f"{reg.label} handler {root.name}: cannot follow {which}",
                                    _loc(reg.position, reg.function), (root.name,)))
    return tuple(results), findings


def _pseudo_call(reg: Registration) -> Call:
    return Call(reg.handler, CallKind.VALUE, reg.position, False)


def goroutine_findings(package: Package) -> list[Finding]:
    out = []
    for g in package.goroutines:
        if g.in_loop:
            out.append(Finding("source.go-in-loop", Severity.WARNING,
                               f"go {g.target} inside a loop at {g.position}: unbounded number of goroutines, "
                               "each with its own stack", _loc(g.position, g.function)))
    return out


@dataclass(frozen=True)
class Cycle:
    functions: tuple[str, ...]
    calls: tuple[tuple[str, str, Position], ...]  # (caller, callee, call site)


def recursion(package: Package, graph: CallGraph) -> tuple[tuple[Cycle, ...], list[Finding]]:
    """Strongly connected components of the call graph, each a recursion cycle."""
    nodes = {_key(f): f for f in package.functions}
    succ: dict[str, list[tuple[str, Position]]] = {k: [] for k in nodes}
    for caller, callee, call in graph.edges():
        succ[_key(caller)].append((_key(callee), call.position))
    sccs = strongly_connected(list(nodes), {k: [w for w, _ in v] for k, v in succ.items()})
    cycles: list[Cycle] = []
    findings: list[Finding] = []
    for comp in sccs:
        members = set(comp)
        calls = tuple(sorted(((nodes[a].name, nodes[b].name, pos) for a in comp for b, pos in succ[a] if b in members),
                             key=lambda t: (t[2].file, t[2].line, t[2].column)))
        if len(comp) == 1 and not calls:
            continue
        names = tuple(sorted(nodes[k].name for k in comp))
        cycles.append(Cycle(names, calls))
        kind = "direct" if len(comp) == 1 else "mutual"
        sites = ", ".join(f"{a} -> {b} at {p}" for a, b, p in calls)
        findings.append(Finding("source.recursion", Severity.INFO,
                                f"{kind} recursion {' -> '.join(names + names[:1])}: {sites} (the binary's stack "
                                "analysis, `gomcu stack`, bounds its depth)",
                                _loc(calls[0][2], calls[0][0]), names))
    cycles.sort(key=lambda c: c.functions)
    return tuple(cycles), findings


def mmio_findings(package: Package) -> tuple[tuple[MmioPointer, ...], tuple[MmioAccess, ...], list[Finding]]:
    pointers = tuple(p for p in package.mmio_pointers if not p.volatile)
    findings = [Finding("source.mmio-no-volatile", Severity.WARNING,
                        f"pointer to {p.type_text} at address {p.address_text} without runtime/volatile at "
                        f"{p.position}: the compiler may merge or drop accesses through it (use "
                        "volatile.Register32 or volatile.Load/Store)", _loc(p.position, p.function))
                for p in pointers]
    for a in package.mmio_accesses:
        what = "write" if a.write else "read"
        through = a.variable or "a constant address"
        findings.append(Finding("source.mmio-access", Severity.WARNING,
                                f"{what} through {through} without volatile at {a.position}: {a.text}",
                                _loc(a.position, a.function)))
    return pointers, package.mmio_accesses, findings


def loop_allocations(package: Package, graph: CallGraph, handler_reach: set[str]) -> list[Finding]:
    """Allocation in loop bodies of functions no handler reaches (handlers are judged already)."""
    out = []
    for fn in package.functions:
        if _key(fn) in handler_reach:
            continue
        sites: list[tuple[Position, str]] = [(c.position, f"{c.kind}: {c.text}") for c in fn.constructs
                                             if c.in_loop and c.category == "alloc"]
        sites += [(call.position, call.callee) for call in fn.calls if call.in_loop and call.kind is CallKind.EXTERNAL
                  and "alloc" in graph.names.categories(call.callee)]
        for pos, what in sorted(sites, key=lambda s: (s[0].line, s[0].column)):
            out.append(Finding("source.alloc-in-loop", Severity.WARNING,
                               f"allocation in a loop in {fn.name} ({what}) at {pos}: GC pressure",
                               _loc(pos, fn.name)))
    return out


__all__ = ["CLEAN", "Cycle", "GoStatement", "HandlerResult", "Violation", "analyse_handlers",
           "goroutine_findings", "loop_allocations", "mmio_findings", "recursion"]
