"""What each interrupt handler can reach, proved from the call graph (the interrupt limit's static part).

Handlers come from the decoded vector table (entries sharing one handler, such as the weak
aliases of `Default_Handler`, are one handler). For each one, every function the runtime
profile calls unsafe in interrupt context (allocation, blocking, scheduler entry, panic/defer,
printing) that the handler can reach is a violation, with the shortest call chain and the source
line of the call that enters the unsafe function. A handler whose reachable code has an
unresolved indirect call is "unknown", never "clean": the proof cannot see past it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code.model import CodeModel
from gomcu.code.types import CallSite, Insn, Kind, Root, RootKind
from gomcu.code.vectors import vector_name
from gomcu.findings import Location, Severity
from gomcu.image import Image
from gomcu.limits.reach import chains_to, unresolved_reachable

if TYPE_CHECKING:
    from gomcu.runtime.profile import RuntimeProfile

#: How bad reaching each category is from a handler. Allocation (and so a collection), blocking and
#: scheduler entry corrupt runtime state or hang (TinyGo panics "heap alloc in interrupt" /
#: "blocked inside interrupt"); panic and print paths are legal but long and end the program;
#: implicit run-time checks (bounds, nil) only fire on a bug. Info-level reach (run-time checks,
#: and panics or prints in fault handlers, which exist to report) leaves a handler clean.
SEVERITY = {
    "alloc": Severity.ERROR,
    "gc": Severity.ERROR,
    "block": Severity.ERROR,
    "scheduler": Severity.ERROR,
    "critical": Severity.ERROR,  # an RTOS's task-level critical section (FreeRTOS asserts in a handler)
    "assert": Severity.INFO,  # an RTOS's assertion-failure handler: reached only when a check fails
    "panic": Severity.WARNING,
    "print": Severity.WARNING,
    "runtime_check": Severity.INFO,
}
FAULT_EXCEPTIONS = frozenset({2, 3, 4, 5, 6})  # NMI, HardFault, MemManage, BusFault, UsageFault
#: Source paths of the runtime's own packages (TinyGo's or Embedded Go's GOROOT), to tell user
#: code from runtime.
RUNTIME_PATH_MARKS = ("/src/runtime/", "/src/machine/", "/src/device/", "/src/internal/", "/src/sync/", "/src/embedded/",
                      "/src/runtime/interrupt/", "/lib/", "/src/os/", "/src/time/")


@dataclass(frozen=True)
class Violation:
    """A path from a handler to a function unsafe in interrupt context."""

    kind: str  # the profile's category: alloc, gc, block, scheduler, panic, print
    target: str
    chain: tuple[str, ...]
    location: Location  # the call that enters `target` (or the handler itself)
    severity: Severity
    consequences: tuple[tuple[str, ...], ...] = ()  # e.g. runtime.alloc -> runtime.GC: what the target goes on to do


@dataclass(frozen=True)
class Handler:
    """One handler and what the static proof says about it."""

    name: str
    address: int
    vectors: tuple[int, ...]
    kind: str  # "exception" or "irq"
    violations: tuple[Violation, ...]
    unresolved: tuple[Location, ...]  # indirect calls the proof cannot see past
    reachable: int  # functions it can reach (itself included)
    stack_bytes: int | None  # worst-case stack incl. its exception frame (gomcu.limits.stack)
    stack_bounded: bool
    max_insns: int | None  # worst-case instructions on a loop-free path, callees included
    insns_note: str  # why max_insns is None
    user_code: tuple[str, ...]  # user source files / functions found in it (TinyGo inlines the handler)
    status: str  # clean / violation / unknown

    @property
    def irqs(self) -> tuple[int, ...]:
        return tuple(v - 16 for v in self.vectors if v >= 16)

    @property
    def vector_names(self) -> tuple[str, ...]:
        return tuple(vector_name(v) for v in self.vectors)

    @property
    def vectors_text(self) -> str:
        """The vectors it serves, shortened when it is a catch-all for dozens of them."""
        names = self.vector_names
        if len(names) <= 6:
            return ", ".join(names)
        return f"{len(names)} vectors: {', '.join(names[:4])}, ..."

    @property
    def catch_all(self) -> bool:
        """Serves fault exceptions: panicking there is how a fault is reported, not a bug."""
        return bool(FAULT_EXCEPTIONS & set(self.vectors))


@dataclass(frozen=True)
class VectorProblem:
    """A vector-table word that does not lead to a known handler."""

    number: int
    address: int
    problem: str  # "outside-code" or "no-symbol"
    detail: str


def location(image: Image, address: int | None, function: str | None) -> Location:
    line = image.line_for(address) if address is not None else None
    return Location(address=address, function=function, file=line.file if line else None,
                    line=line.line if line else None)


def vector_problems(image: Image, model: CodeModel) -> tuple[VectorProblem, ...]:
    """Vectors pointing outside executable memory, or into code where no function starts."""
    out = []
    for e in model.vector_table:
        if e.number < 1 or e.address == 0:
            continue
        section = image.section_at(e.address)
        if section is None or not section.exec or section.nobits:
            where = f"in {section.name}" if section is not None else "outside every section of the image"
            out.append(VectorProblem(e.number, e.address, "outside-code",
                                     f"{vector_name(e.number)} points at 0x{e.address:08x}, {where}: "
                                     "taking it would fault"))
            continue
        f = model.function_at(e.address)
        if f is None or f.address != e.address:
            inside = f" (inside {f.name} at +0x{e.address - f.address:x})" if f is not None else ""
            out.append(VectorProblem(e.number, e.address, "no-symbol",
                                     f"{vector_name(e.number)} points at 0x{e.address:08x}{inside}, where no "
                                     "function symbol starts: its handler cannot be analysed"))
    return tuple(out)


def handler_roots(model: CodeModel) -> tuple[Root, ...]:
    """Exception and IRQ roots whose address is the start of a known function."""
    out = []
    for r in model.roots:
        if r.kind not in (RootKind.EXCEPTION, RootKind.IRQ) or not r.vectors:
            continue
        f = model.function(r.name)
        if f is None or f.address != r.address:
            continue  # reported as a vector problem
        out.append(r)
    return tuple(out)


def _other_unsafe(category: Callable[[str], str | None], target: str) -> Callable[[str], bool]:
    """Is a function, other than `target` itself, in an unsafe category?"""
    return lambda n: n != target and category(n) is not None


def analyse_handler(image: Image, model: CodeModel, root: Root, profile: RuntimeProfile | None,
                    stacks: dict[str, tuple[int, bool]], counter: InsnCounter) -> Handler:
    violations: list[Violation] = []
    if profile is not None:
        category = profile.unsafe_category
        catch_all = bool(FAULT_EXCEPTIONS & set(root.vectors))
        allowed = profile.is_interrupt_safe
        for chain in chains_to(model, root.name, lambda n: allowed(n) or category(n) is not None):
            if allowed(chain.target):  # the runtime allows it in handlers: look no further
                continue
            kind = category(chain.target) or "?"
            site = chain.last_site
            loc = location(image, site.address if site else root.address, site.caller if site else root.name)
            severity = SEVERITY.get(kind, Severity.WARNING)
            if catch_all and kind in ("panic", "print"):
                severity = Severity.INFO
            consequences = tuple(
                c.functions for c in chains_to(model, chain.target, _other_unsafe(category, chain.target))
                if category(c.target) != kind)
            violations.append(Violation(kind, chain.target, chain.functions, loc, severity, consequences))
    violations.sort(key=lambda v: (_rank(v.severity), v.kind, len(v.chain), v.target))
    stop = None if profile is None else (lambda n: profile.is_interrupt_safe(n) or profile.unsafe_category(n) is not None)
    unresolved = tuple(location(image, c.address, c.caller) for c in unresolved_reachable(model, root.name, stop))
    reachable = len(model.reachable_from(root.name))
    stack_bytes, stack_bounded = stacks.get(root.name, (None, False))
    insns, note = counter.count(root.name)
    if any(v.severity is not Severity.INFO for v in violations):
        status = "violation"
    elif unresolved or profile is None:
        status = "unknown"
    else:
        status = "clean"
    kind = "irq" if any(v >= 16 for v in root.vectors) else "exception"
    return Handler(root.name, root.address, root.vectors, kind, tuple(violations), unresolved, reachable,
                   stack_bytes, stack_bounded, insns, note, user_code(image, model, root.name), status)


def _rank(s: Severity) -> int:
    return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[s]


def _is_runtime_file(path: str) -> bool:
    p = path.replace("\\", "/")
    return any(m in p for m in RUNTIME_PATH_MARKS)


def user_code(image: Image, model: CodeModel, handler: str) -> tuple[str, ...]:
    """Source files other than the runtime's whose code sits inside the handler's own instructions
    (TinyGo inlines the function given to interrupt.New into `<Name>_IRQHandler`), plus user
    functions it calls directly. Empty when no DWARF line information exists."""
    files: dict[str, None] = {}
    for ins in model.instructions(handler):
        line = image.line_for(ins.address)
        if line is not None and line.file and not _is_runtime_file(line.file):
            files.setdefault(line.file, None)
    f = model.function(handler)
    called = [c for c in (f.callees if f else ()) if c.startswith("main.")]
    return tuple(files) + tuple(called)


class InsnCounter:
    """Worst-case instruction count from a function, callees included, where every path is loop-free.

    Loops, recursion, jump tables and unresolved indirect transfers make the count unknown
    (None, with the reason): a bound that ignores a loop would be a lie."""

    def __init__(self, model: CodeModel) -> None:
        self.model = model
        self._memo: dict[str, tuple[int | None, str]] = {}
        self._active: set[str] = set()

    def count(self, name: str) -> tuple[int | None, str]:
        if name in self._memo:
            return self._memo[name]
        if name in self._active:
            return None, f"recursion through {name}"
        self._active.add(name)
        try:
            result = self._count(name)
        finally:
            self._active.discard(name)
        self._memo[name] = result
        return result

    def _count(self, name: str) -> tuple[int | None, str]:
        fn = self.model.function(name)
        if fn is None:
            return None, f"{name} is not a known function"
        insns = self.model.instructions(name)
        if not insns:
            return None, f"{name} has no decoded instructions"
        sites = {c.address: c for c in fn.calls}
        alternatives: dict[int, list[CallSite]] = {}  # one indirect call resolved to several callees
        for c in fn.calls:
            alternatives.setdefault(c.address, []).append(c)
        index = {ins.address: i for i, ins in enumerate(insns)}
        weight: list[int] = []
        succ: list[list[int]] = []
        for i, ins in enumerate(insns):
            nxt = [i + 1] if i + 1 < len(insns) else []
            w = 1
            kind = ins.kind
            if kind is Kind.RETURN or kind is Kind.TRAP:
                s = nxt if ins.conditional and kind is Kind.RETURN else []
            elif kind is Kind.BRANCH:
                if ins.target is not None and ins.target in index:
                    s = [index[ins.target]] + (nxt if ins.conditional else [])
                else:
                    callee, why = self._callee(sites.get(ins.address), ins, alternatives.get(ins.address))
                    if callee is None:
                        return None, why
                    w += callee
                    s = nxt if ins.conditional else []
            elif kind is Kind.CALL or kind is Kind.INDIRECT_CALL:
                callee, why = self._callee(sites.get(ins.address), ins, alternatives.get(ins.address))
                if callee is None:
                    return None, why
                w += callee
                s = nxt
            elif kind is Kind.INDIRECT_JUMP:
                site = sites.get(ins.address)
                if site is None or site.callee is None:
                    return None, f"computed jump in {name} at 0x{ins.address:x}"
                callee, why = self._callee(site, ins)
                if callee is None:
                    return None, why
                w += callee
                s = []
            elif kind is Kind.JUMP_TABLE:
                return None, f"jump table in {name} at 0x{ins.address:x}"
            else:
                s = nxt
            weight.append(w)
            succ.append(s)
        # Longest path from the entry over a DAG; a back edge is a loop.
        order: list[int] = []
        state = [0] * len(insns)  # 0 new, 1 on the DFS stack, 2 done
        stack = [(0, 0)]
        while stack:
            node, k = stack.pop()
            if k == 0:
                if state[node] == 2:
                    continue
                state[node] = 1
            if k < len(succ[node]):
                stack.append((node, k + 1))
                child = succ[node][k]
                if state[child] == 1:
                    return None, f"loop in {name} (0x{insns[node].address:x} -> 0x{insns[child].address:x})"
                if state[child] == 0:
                    stack.append((child, 0))
            else:
                state[node] = 2
                order.append(node)
        best = [0] * len(insns)
        for node in order:  # post-order: successors first
            best[node] = weight[node] + max((best[c] for c in succ[node]), default=0)
        return best[0], ""

    def _callee(self, site: CallSite | None, ins: Insn, others: list[CallSite] | None = None) -> tuple[int | None, str]:
        """The callee's count; the largest when the call has several resolved callees."""
        if site is None or site.callee is None:
            return None, f"unresolved call in {site.caller if site else '?'} at 0x{ins.address:x}"
        best = 0
        for s in others or [site]:
            if s.callee is None:
                return None, f"unresolved call in {s.caller} at 0x{ins.address:x}"
            count, why = self.count(s.callee)
            if count is None:
                return None, why
            best = max(best, count)
        return best, ""
