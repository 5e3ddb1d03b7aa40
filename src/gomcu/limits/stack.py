"""Worst-case stacks judged against the stacks the binary allots (the memory limit's stack part).

Per root: the call-graph bound (code.worstcase) plus what hardware and runtime add: on Cortex-M
an exception frame (32 bytes, 104 with FP context on FPU cores) lands on whatever stack is
interrupted, so goroutine stacks and each nested handler carry one; goroutine stacks lose the
canary word at their bottom and are aligned to 8. The system (MSP) stack holds the reset path
plus the handlers nesting on it: by the priority levels the code sets (gomcu.limits.nesting),
every handler whose level is not known assumed to nest.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, replace

from gomcu.code import CodeModel, model as code_model
from gomcu.code.cfi_check import cross_check_frames
from gomcu.code.roots import TINYGO, TaskProfile, stack_sizes
from gomcu.code.types import CallSite, Cycle, Function, Root, RootKind
from gomcu.code.worstcase import StackBound, StackGraph
from gomcu.errors import GomcuError
from gomcu.findings import Finding, Location, Severity, Status, Verdict
from gomcu.image import Arch, Image
from gomcu.image.gobuild import read_go_build
from gomcu.limits.nesting import SystemStack, by_level, every_handler, static_levels
from gomcu.limits.reset_path import ResetNesting, not_during_reset
from gomcu.code.vectors import vector_name
from gomcu.runtime.profile import RuntimeProfile, detect_profile
from gomcu.runtime.targets import target_constants

EXCEPTION_FRAME = 32
EXCEPTION_FRAME_FP = 104
STACK_ALIGN = 8


@dataclass(frozen=True)
class Cost:
    """A cost added to a call-graph bound, with why."""

    what: str
    bytes: int


@dataclass(frozen=True)
class RootStack:
    """One root: its bound on the stack it runs on, what that stack is given, and the verdict."""

    root: Root
    bound: StackBound
    added: tuple[Cost, ...]
    bound_bytes: int  # call graph + added costs; a lower bound when not `bounded`
    bounded: bool
    stack: str  # "system", "goroutine", "task"
    allotted_bytes: int | None
    allotted_source: str
    status: Status

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def margin(self) -> int | None:
        return None if self.allotted_bytes is None else self.allotted_bytes - self.bound_bytes


@dataclass(frozen=True)
class Recursion:
    """A recursion cycle, the roots that reach it and how deep it may go on the tightest of their stacks."""

    cycle: Cycle
    roots: tuple[str, ...]
    root: str | None  # the root whose stack limits it most
    stack_bytes: int | None  # the usable bytes of that stack
    entry_depth: int  # bytes on that stack when the cycle is first entered
    deepest_activation: int  # one activation of the head plus its non-recursive callees
    max_depth: int | None  # deepest safe recursion (activations of the head), None without a stack size
    tinygo_misses: bool  # a call TinyGo's analysis sees as indirect closes the cycle
    entry_argument: int | None = None  # constant first argument where the cycle is entered
    implied_bytes: int | None = None  # stack needed if that argument counts the depth down to 0

    @property
    def implied_depth(self) -> int | None:
        return None if self.entry_argument is None else self.entry_argument + 1


@dataclass(frozen=True)
class StackReport:
    path: str
    arch: str
    core: str
    exception_frame: int
    roots: tuple[RootStack, ...]
    system: SystemStack | None
    recursion: tuple[Recursion, ...]
    unresolved_calls: tuple[CallSite, ...]
    functions: tuple[Function, ...]
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]
    verdict: Verdict

    @property
    def failed(self) -> bool:
        return self.verdict.status is Status.FAIL


def system_stack_size(image: Image, symbols: tuple[str, ...] = ()) -> int | None:
    """The MSP stack: the `.stack` section, else an absolute `_stack_size` symbol (or one of the
    runtime's `symbols`, such as CubeMX's and the FreeRTOS demos' `_Min_Stack_Size`)."""
    return _system_stack(image, symbols)[0]


def _system_stack(image: Image, symbols: tuple[str, ...]) -> tuple[int | None, str]:
    section = image.section(".stack")
    if section is not None and section.size:
        return section.size, ".stack section"
    for name in ("_stack_size", *symbols):
        sym = image.symbol(name)
        if sym is not None and sym.section_index is None and sym.address:
            return sym.address, f"linker symbol {name}"

    # Embedded Go: the ISR stack runs from RAM's base to the vector table's initial sp
    profile = detect_profile(s.name for s in image.symbols)
    if profile is not None and profile.memory.get("isr_stack_from_vector"):
        base = image.symbol(str(profile.memory.get("ram_start", "")))
        top = _initial_sp(image)
        if base is not None and top is not None and top > base.address:
            return top - base.address, f"vector word 0 (0x{top:x}) - {base.name} (0x{base.address:x})"
    return None, "unknown"


def _initial_sp(image: Image) -> int | None:
    """The initial sp the vector table holds (word 0), if the image has a table."""
    from gomcu.code.vectors import decode_vector_table

    table = decode_vector_table(image, None)
    return table[0].address if table else None


def _task_costs(model: CodeModel, profile: TaskProfile, exc: int) -> list[Cost]:
    """What a task's own stack holds beyond its calls, besides the exception frame."""
    out = []
    if profile.canary_bytes:
        out.append(Cost("canary word at the stack bottom", profile.canary_bytes))
    if profile.switch_on_task_stack:
        fpu = exc == EXCEPTION_FRAME_FP
        push = profile.switch_push_bytes_fpu if fpu else profile.swap_push_bytes
        out.append(Cost("registers the context switch saves on the task's stack ("
                        + ("r4-r11, lr and s16-s31" if fpu else "r4-r11") + ")", push))
    if profile.stack_check_bytes and profile.stack_check_hook and model.function(profile.stack_check_hook):
        out.append(Cost(f"bytes the stack check watches ({profile.stack_check_hook} is linked)",
                        profile.stack_check_bytes))
    return out


def _growth(need: int, bounded: bool, profile: TaskProfile) -> str:
    """What a goroutine's static need costs on the heap: stack.go's newstack doubles the stack
    from its start until the need, the guard below it and the system area above it fit."""
    size = profile.default_stack_size
    room = need + profile.stack_guard + profile.swap_push_bytes
    while size < room:
        size *= 2
    over = profile.max_stack_size is not None and size > profile.max_stack_size
    parts = f"{need} B + {profile.stack_guard} B guard + {profile.swap_push_bytes} B system area"
    if not bounded:
        return f"the need is unbounded (at least {parts}: {size} B or more): how far the stack grows is unknown"
    fits = f"fit in its first {size} B" if size == profile.default_stack_size else f"grow it to {size} B on the heap"
    return f"{parts} {fits}" + (" (over maxstacksize: newstack throws 'stack overflow')" if over else "")


def _exception_frame(image: Image, model: CodeModel) -> int:
    if image.arch is not Arch.ARM:
        return 0  # RISC-V traps push nothing in hardware; handlers save registers in their frames
    build = read_go_build(image)
    if build is not None and build.soft_float:
        return EXCEPTION_FRAME  # GOARM=...,softfloat: Embedded Go's rt0_go never enables the FPU
    fpu = image.hard_float or any(f.uses_fpu for f in model.functions)
    return EXCEPTION_FRAME_FP if fpu else EXCEPTION_FRAME


def _align(n: int) -> int:
    return (n + STACK_ALIGN - 1) // STACK_ALIGN * STACK_ALIGN


def analyse(image: Image, stack_size: int | None = None, root: str | None = None,
            profile: TaskProfile | None = None, model: CodeModel | None = None,
            runtime: RuntimeProfile | None = None, priority_bits: int | None = None) -> StackReport:
    """Bounds for every root (or one, `root`), judged against their stacks.

    `stack_size` overrides the goroutine/task stack size (like TinyGo's -stack-size).
    `profile`: the runtime's task machinery (default: detected from the image, else TinyGo's).
    `model`: the image's code model with calls resolved from elsewhere (`--src`), if any.
    `runtime`: the runtime profile (its priority setters; default: detected); `priority_bits`: the
    chip's implemented priority bits (the system stack's nesting levels; None: all 8 count).
    """
    model = model or code_model(image)
    runtime = runtime or detect_profile(s.name for s in image.symbols)
    if profile is None:
        profile = TaskProfile.from_runtime(runtime) if runtime is not None else TINYGO
    # growable stacks: the target the binary was built for sets maxstacksize and the guard
    target = target_constants(image, runtime) if profile.growth else None
    if target is not None and target.max_stack_bytes is not None:
        profile = replace(profile, max_stack_size=target.max_stack_bytes, max_stack_source=target.origin,
                          stack_guard=target.stack_guard_bytes or profile.stack_guard)
    dying_cut = frozenset(f.name for f in model.functions if fnmatch_any(f.name, profile.dying)) \
        if profile.bounds_without_dying else frozenset()
    cut = frozenset(profile.growth) | dying_cut
    graph = StackGraph(model, cut)
    # the reset path's share of the system stack ends where it switches stacks (profile data)
    reset_graph = StackGraph(model.without_calls_to(frozenset(), frozenset(profile.off_system_stack)),
                             cut) if profile.off_system_stack else graph
    exc = _exception_frame(image, model)
    roots = list(model.roots)
    if root is not None:
        chosen = [r for r in roots if r.name == root]
        if not chosen:
            f = model.function(root)
            if f is None:
                raise GomcuError(f"{image.path}: no root or function named {root!r}")
            chosen = [Root(f.name, RootKind.TASK, f.address, evidence="chosen with --root")]
        roots = chosen
    system_size, system_source = _system_stack(image, profile.system_stack_size_symbols)
    tasks_present = any(model.function(n) is not None
                        for n in (*profile.task_start, profile.start_trampoline, profile.swap))
    table = stack_sizes(model, profile)
    trampoline = model.function(profile.start_trampoline)
    results: list[RootStack] = []
    findings: list[Finding] = []
    for r in roots:
        bound = (reset_graph if r.kind is RootKind.RESET else graph).bound(r.name)
        added: list[Cost] = []
        base = bound.bytes
        reasons = list(bound.reasons)
        if r.kind in (RootKind.GOROUTINE, RootKind.TASK):
            if trampoline is not None and tasks_present:
                # the trampoline calls the entry, then the exit path (Pause -> swapTask): the
                # deeper of the two stays on the goroutine stack
                tb = graph.bound(trampoline.name)
                if tb.bytes > base:
                    added.append(Cost(f"exit path through {trampoline.name} is deeper by", tb.bytes - base))
                    base = tb.bytes
                reasons.extend(x for x in tb.reasons if f"in {trampoline.name} at" not in x and x not in reasons)
            if exc:
                added.append(Cost("exception frame of an interrupt taken on this stack", exc))
            added.extend(_task_costs(model, profile, exc))
            stack = "goroutine" if r.kind is RootKind.GOROUTINE else "task"
            if stack_size is not None:
                allotted, source = stack_size, "--stack-size"
            elif r.stack_size is not None:
                allotted, source = r.stack_size, r.stack_source or f"{profile.stack_sizes_symbol}[{r.stack_slot}]"
            elif table is not None and r.kind is RootKind.GOROUTINE:
                # the binary allots per goroutine, and this one is not tied to its slot
                allotted, source = None, f"unknown: not tied to a slot of {profile.stack_sizes_symbol}"
            elif tasks_present and profile.max_stack_size is not None and profile.growth:
                allotted, source = profile.max_stack_size, (
                    f"maxstacksize ({profile.max_stack_source}): starts at {profile.default_stack_size} B, "
                    f"grows through {profile.growth[0]} (copied to a larger stack on the heap)")
            elif tasks_present and profile.default_stack_size:
                allotted, source = profile.default_stack_size, "default stack size"
            else:
                allotted, source = None, "unknown"
        else:
            stack = "system"
            if r.kind is not RootKind.RESET and exc:
                added.append(Cost("exception frame", exc))
            allotted, source = system_size, system_source
        total = base + sum(c.bytes for c in added if not c.what.startswith("exit path"))
        if stack != "system":
            aligned = _align(total)
            if aligned != total:
                added.append(Cost("alignment to 8 bytes", aligned - total))
                total = aligned
        if stack == "goroutine" and source.startswith("maxstacksize"):
            source += "; " + _growth(total, not reasons, profile)
        bounded = not reasons
        status = _status(total, bounded, allotted)
        results.append(RootStack(r, bound, tuple(added), total, bounded, stack, allotted, source, status))
        if stack != "system" and allotted is not None and total > allotted:
            findings.append(Finding(
                "stack.under-allocated", Severity.ERROR,
                f"{r.kind.value} {r.name}: needs {'at least ' if not bounded else ''}{total} B but its stack "
                f"is {allotted} B ({source}): {total - allotted} B short",
                Location(address=r.address, function=r.name), tuple(s.function for s in bound.path)))
    system, priority_notes = _system(model, results, system_size, runtime, priority_bits,
                                     profile.off_system_stack) if root is None else (None, [])
    if system is not None and system.allotted_bytes is not None and system.bound_bytes > system.allotted_bytes:
        findings.append(Finding(
            "stack.under-allocated", Severity.ERROR,
            f"system stack: reset path + nested handlers need {'at least ' if not system.bounded else ''}"
            f"{system.bound_bytes} B but it is {system.allotted_bytes} B: "
            f"{system.bound_bytes - system.allotted_bytes} B short ({system.assumption})"))
    recursion = _recursion(graph, results, model)
    # The program's own cycles first: they are the headline; the runtime's (panic printing,
    # scheduler, GC paths, named by the profile) follow as information.
    recursion = tuple(sorted(recursion, key=lambda r: profile.is_runtime_code(r.cycle.functions)))
    for rec in recursion:
        holder = next((r for r in results if r.name == rec.root), None)
        if rec.implied_bytes is not None and holder is not None and holder.allotted_bytes is not None \
                and rec.implied_bytes > holder.allotted_bytes:
            findings.append(Finding(
                "stack.under-allocated", Severity.ERROR,
                f"{holder.root.kind.value} {holder.name}: {rec.cycle.functions[0]} is entered with argument "
                f"{rec.entry_argument}; if it counts down to 0 that is {rec.implied_depth} levels needing "
                f"{rec.implied_bytes} B, but the stack is {holder.allotted_bytes} B ({holder.allotted_source}): "
                f"{rec.implied_bytes - holder.allotted_bytes} B short; the deepest safe recursion is {rec.max_depth}",
                Location(address=holder.root.address, function=holder.name),
                tuple(s.function for s in holder.bound.path)))
            i = results.index(holder)
            results[i] = RootStack(holder.root, holder.bound, holder.added, holder.bound_bytes, holder.bounded,
                                   holder.stack, holder.allotted_bytes, holder.allotted_source, Status.FAIL)
        depth = f"deepest safe recursion {rec.max_depth} on {rec.root}'s {rec.stack_bytes} B" if rec.max_depth is not None \
            else "no stack size to bound it"
        dying = [f for f in rec.cycle.functions if fnmatch_any(f, profile.dying)]
        if dying:
            findings.append(Finding(
                "stack.recursion-while-dying", Severity.INFO,
                f"recursion {' -> '.join(rec.cycle.functions + rec.cycle.functions[:1])} closes only through "
                f"{dying[0]}: it runs only once the program is already dying (a panic or fault report), "
                f"{rec.cycle.bytes_per_iteration} B per iteration",
                Location(function=rec.cycle.functions[0]), rec.cycle.functions))
            continue
        runtime_own = profile.is_runtime_code(rec.cycle.functions)
        findings.append(Finding(
            "stack.recursion", Severity.INFO if runtime_own else Severity.WARNING,
            ("inside the runtime (its own, not the program's): " if runtime_own else "")
            + f"recursion {' -> '.join(rec.cycle.functions + rec.cycle.functions[:1])}: "
            f"{rec.cycle.bytes_per_iteration} B per iteration; {depth}"
            + (("; closed through a call TinyGo's analysis sees as indirect" if image.toolchain.name == "tinygo"
                else "; closed through an indirect call gomcu resolved") if rec.tinygo_misses else ""),
            Location(function=rec.cycle.functions[0]), rec.cycle.functions))
    for rs in results:
        if not rs.bounded and not rs.bound.cycles:
            findings.append(Finding(
                "stack.unbounded", Severity.WARNING,
                f"{rs.name}: at least {rs.bound_bytes} B, unbounded because {'; '.join(rs.bound.reasons[:3])}"
                + (f" (+{len(rs.bound.reasons) - 3} more)" if len(rs.bound.reasons) > 3 else ""),
                Location(address=rs.root.address, function=rs.name)))
    reachable = set().union(*(model.reachable_from(r.name) for r in roots)) if roots else set()
    unresolved = tuple(c for c in model.unresolved_calls if c.caller in reachable or root is None)
    functions = model.functions if root is None else tuple(f for f in model.functions if f.name in reachable)
    frames = cross_check_frames(model)
    frame_notes: list[str] = []
    if frames.checked:
        frame_notes.append(f"frames cross-checked against .debug_frame: {frames.checked - len(frames.disagreements)} of "
                     f"{frames.checked} agree")
    # Bounds use the frame read from the code: where .debug_frame says less (Go's assembly carries
    # a placeholder), the bound already holds the larger figure; where it says more, it may be low.
    too_small = [d for d in frames.disagreements if d.computed < d.cfi]
    for d in frames.disagreements:
        low = d.computed < d.cfi
        findings.append(Finding(
            "stack.frame-disagrees-with-cfi", Severity.WARNING if low else Severity.INFO,
            f"{d.function}: frame read from the code is {d.computed} B but .debug_frame says {d.cfi} B; "
            + (f"bounds through it may be {d.cfi - d.computed} B too small" if low else
               "bounds use the code's larger frame"), Location(function=d.function)))
    status = Status.FAIL if any(f.severity is Severity.ERROR for f in findings) else (
        Status.WARN if any(not r.bounded for r in results) or too_small else Status.PASS)
    verdict = Verdict("stack", status, findings=tuple(findings))
    notes = list(model.notes) + frame_notes + priority_notes
    if dying_cut:
        notes.append(f"bounds leave out the {len(dying_cut)} functions that run only once the program is dying "
                     f"(panics, failed run-time checks: {', '.join(sorted(dying_cut)[:3])}, ...): a panic uses the "
                     "stack it happens on, through paths that recurse in the runtime, and is not bounded")
    if profile.off_system_stack and any(model.function(a) for a, _ in profile.off_system_stack):
        notes.append("reset path on the system stack without the calls it makes after switching to the PSP: "
                     + ", ".join(f"{a} -> {b}" for a, b in profile.off_system_stack))
    if exc:
        notes.append(f"exception frame {exc} B ({'FP context: FPU in use' if exc == EXCEPTION_FRAME_FP else 'no FPU use seen'})")
    return StackReport(image.path, image.arch.value, image.core, exc, tuple(results), system, recursion,
                       unresolved, functions, tuple(findings), tuple(notes), verdict)


def fnmatch_any(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _status(total: int, bounded: bool, allotted: int | None) -> Status:
    if allotted is None:
        return Status.UNKNOWN if bounded else Status.WARN
    if total > allotted:
        return Status.FAIL
    return Status.PASS if bounded else Status.WARN


def _system(model: CodeModel, results: list[RootStack], allotted: int | None, profile: RuntimeProfile | None,
            bits: int | None, off_system_stack: tuple[tuple[str, str], ...] = ()) -> tuple[SystemStack | None, list[str]]:
    """The system stack, nesting by the priorities the code sets where they are known, with the
    handlers that cannot be taken during the reset path left off it; with the notes that say
    which priorities were found."""
    reset = next((r for r in results if r.root.kind is RootKind.RESET), None)
    handlers = [r for r in results if r.root.kind in (RootKind.EXCEPTION, RootKind.IRQ)]
    if reset is None and not handlers:
        return None, []
    if model.image.arch is not Arch.ARM:
        return _riscv(reset, handlers, allotted), []
    from gomcu.code.priorities import find

    found = find(model, profile, bits or 8)
    assert found is not None
    nesting = not_during_reset(model, profile, off_system_stack, reset.name, dict(reset.bound.entry_depths),
                               {h.name: h.root.vectors for h in handlers}) if reset is not None else ResetNesting()
    notes = [f"priority set in the code: {vector_name(s.exception)} "
             + (f"0x{s.value:02X}" if s.value is not None else "(value not constant)")
             + f" in {s.function} at 0x{s.address:x} ({s.how})" for s in found.sets]
    if found.computed:
        notes.append(f"priorities unknown statically: {found.computed[0]}"
                     + (f" (+{len(found.computed) - 1} more)" if len(found.computed) > 1 else ""))
        return every_handler(reset, handlers, allotted, "priorities unknown statically (a store into the NVIC/SCB "
                             "at an address that is not constant): every handler assumed to nest", nesting), notes
    system = every_handler(reset, handlers, allotted, "every handler assumed to nest", nesting)
    if not handlers:
        return system, notes
    why = "priorities set in the code, the rest at their reset value 0"
    if not found.prigroup_known:
        why += ", PRIGROUP not known: 0 assumed (the most levels)"
    elif found.prigroup:
        why += f", PRIGROUP {found.prigroup}"
    if bits is None:
        why += ", 8 priority bits assumed (no --chip)"
    return by_level(system, static_levels(handlers, found, bits or 8), "static", why), notes


def _riscv(reset: RootStack | None, handlers: list[RootStack], allotted: int | None) -> SystemStack:
    """RISC-V: traps do not nest unless a handler re-enables interrupts: the deepest one counts."""
    worst = max(handlers, key=lambda h: h.bound_bytes, default=None)
    system = every_handler(reset, handlers, allotted, "RISC-V traps do not nest unless the handler re-enables "
                           "interrupts")
    if worst is None:
        return system
    return SystemStack(system.reset, system.reset_bytes, ((worst.name, worst.bound_bytes),),
                       system.reset_bytes + worst.bound_bytes, system.bounded, allotted, system.assumption,
                       all_handlers=system.all_handlers)


def _recursion(graph: StackGraph, results: list[RootStack], model: CodeModel) -> tuple[Recursion, ...]:
    out: list[Recursion] = []
    by_cycle: dict[tuple[str, ...], list[RootStack]] = {}
    cycles: dict[tuple[str, ...], Cycle] = {}
    for rs in results:
        for cyc in rs.bound.cycles:
            by_cycle.setdefault(cyc.functions, []).append(rs)
            cycles[cyc.functions] = cyc
    for key, holders in sorted(by_cycle.items()):
        cyc = cycles[key]
        head = cyc.functions[0]
        comp = set(cyc.component)
        f = graph.functions[head]
        deepest = max([f.frame.bytes] + [c.stack_depth + graph.cost(c.callee) for c in f.calls
                                         if c.callee is not None and c.callee in graph.functions and c.callee not in comp])
        best: tuple[int, RootStack, int, int] | None = None
        for rs in holders:
            entry = dict(rs.bound.entry_depths).get(head, 0)
            if rs.allotted_bytes is None:
                continue
            overhead = sum(c.bytes for c in rs.added if not c.what.startswith(("exit path", "alignment")))
            usable = rs.allotted_bytes - overhead
            if rs.stack == "system" and rs.root.kind is not RootKind.RESET:
                continue
            per = max(cyc.bytes_per_iteration, 1)
            room = usable - entry - deepest
            depth = room // per + 1 if room >= 0 else 0
            if best is None or depth < best[0]:
                best = (depth, rs, entry, usable)
        indirect = any(c.resolved_by for n in cyc.functions for c in graph.functions[n].calls
                       if c.callee in comp)
        entry0 = best[2] if best else dict(holders[0].bound.entry_depths).get(head, 0)
        # A constant first argument where the cycle is entered from outside it: the common
        # countdown shape recurse(N) -> recurse(N-1) ... -> recurse(0) runs N+1 levels.
        args = [model.call_args.get(c.address, (None,))[0] for c in model.callers_of(head) if c.caller not in comp]
        arg = args[0] if args and all(a == args[0] for a in args) and args[0] is not None and args[0] < 1 << 16 else None
        implied = None
        if arg is not None and best is not None:
            overhead = best[1].allotted_bytes - best[3] if best[1].allotted_bytes is not None else 0
            implied = overhead + entry0 + arg * cyc.bytes_per_iteration + deepest
        out.append(Recursion(cyc, tuple(r.name for r in holders), best[1].name if best else None,
                             best[3] if best else None, entry0, deepest, best[0] if best else None, indirect,
                             arg, implied))
    return tuple(out)
