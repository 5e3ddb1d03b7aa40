"""Roots of the call graph: where execution starts.

Reset (vector 1 or the ELF entry), every exception and IRQ handler in the vector table (entries
that share one handler, such as the weak aliases of `Default_Handler`, collapse into one root),
RISC-V trap handlers installed with a constant `csrw mtvec`, and goroutine / task entries:
TinyGo's `$gowrapper` functions, and entries passed as constants to the task-start function.
The runtime names are data (`TINYGO`), not code paths.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.runtime.profile import RuntimeProfile, load_profile
from gomcu.code import rtos_tasks
from gomcu.code.types import Function, Root, RootKind
from gomcu.image import Arch

if TYPE_CHECKING:
    from gomcu.code.model import CodeModel

CSR_MTVEC = 0x305


@dataclass(frozen=True)
class TaskProfile:
    """Names a runtime gives its task machinery (TINYGO-FACTS.md); built from a runtime profile."""

    task_start: tuple[str, ...] = ("internal/task.start",)
    wrapper_suffix: str = "$gowrapper"
    main_goroutine: str = "runtime.run$1"
    stack_sizes_symbol: str = "internal/task.stackSizes"
    stack_sizes_section: str = ".tinygo_stacksizes"
    swap: str = "tinygo_swapTask"
    start_trampoline: str = "tinygo_startTask"
    swap_push_bytes: int = 36  # r4-r11 + lr
    canary_bytes: int = 4
    default_stack_size: int = 2048  # cortex-m and riscv32 targets
    allocator: tuple[str, ...] = ("runtime.alloc",)  # allocates goroutine stacks (when start is inlined)
    #: an RTOS switch (FreeRTOS's PendSV) saves registers on the task's own stack: swap_push_bytes,
    #: or switch_push_bytes_fpu when tasks may have an FP context
    switch_on_task_stack: bool = False
    switch_push_bytes_fpu: int = 0
    #: a stack check that reports use of a stack's last bytes as an overflow, when this hook is linked
    stack_check_hook: str = ""
    stack_check_bytes: int = 0
    #: linker symbols (absolute) that give the system stack's size
    system_stack_size_symbols: tuple[str, ...] = ()
    dying: tuple[str, ...] = ()  # run only when the program is dying (panic, failed check, fault report)
    #: stack growth points (Embedded Go's morestack): they move the goroutine to a larger stack,
    #: so their calls add nothing to the stack being measured and close no recursion
    growth: tuple[str, ...] = ()
    #: the most a growable goroutine stack may reach (Embedded Go's maxstacksize); None: fixed stacks
    max_stack_size: int | None = None
    max_stack_source: str = "the runtime profile"
    #: the guard a growable stack keeps free below the frames (Go's stackGuard)
    stack_guard: int = 0
    #: name patterns of the runtime's own code: a cycle wholly inside it is the runtime's recursion
    runtime_code: tuple[str, ...] = ()
    #: the task start takes a funcval (Go's newproc(fn *funcval)): the entry is the word it points at
    start_funcval: bool = False
    #: the funcval the start-up code passes for the main goroutine (Embedded Go's runtime.mainPC)
    main_funcval: str = ""
    #: (caller, callee) calls of the reset path made after it left the system stack (rt0_go
    #: switches to the PSP before newproc and mstart)
    off_system_stack: tuple[tuple[str, str], ...] = ()
    #: leave the dying paths out of stack bounds (Embedded Go's panic path recurses through most of
    #: the runtime: with it no bound exists); the report says so
    bounds_without_dying: bool = False

    def is_runtime_code(self, functions: Iterable[str]) -> bool:
        """Is every function of a cycle the runtime's own?"""
        return bool(self.runtime_code) and all(
            any(fnmatch.fnmatchcase(f, p) for p in self.runtime_code) for f in functions)


    @classmethod
    def from_runtime(cls, profile: RuntimeProfile) -> TaskProfile:
        """The task machinery a runtime profile (runtime/profiles/*.toml) names."""
        tasks = profile.tasks
        defaults = cls()
        return cls(
            task_start=tuple(tasks.get("start", defaults.task_start)),
            wrapper_suffix=str(tasks.get("wrapper_suffix", defaults.wrapper_suffix)),
            main_goroutine=str(tasks.get("main_goroutine", defaults.main_goroutine)),
            stack_sizes_symbol=str(tasks.get("stack_sizes_symbol", defaults.stack_sizes_symbol)),
            stack_sizes_section=str(tasks.get("stack_sizes_section", defaults.stack_sizes_section)),
            swap=str((tasks.get("switch") or (defaults.swap,))[0]),
            start_trampoline=str(tasks.get("start_trampoline", defaults.start_trampoline)),
            swap_push_bytes=int(tasks.get("switch_push_bytes", defaults.swap_push_bytes)),
            canary_bytes=int(tasks.get("canary_bytes", defaults.canary_bytes)),
            default_stack_size=int(tasks.get("default_stack_size", defaults.default_stack_size)),
            allocator=tuple(profile.gc.get("allocator", defaults.allocator)),
            switch_on_task_stack="switch_push_bytes_fpu" in tasks,
            switch_push_bytes_fpu=int(tasks.get("switch_push_bytes_fpu", 0)),
            stack_check_hook=str(tasks.get("stack_check_hook", "")),
            stack_check_bytes=int(tasks.get("stack_check_bytes", 0)),
            system_stack_size_symbols=tuple(tasks.get("system_stack_size_symbols", ())),
            dying=tuple(tasks.get("dying", ())),
            growth=tuple(tasks.get("growth", ())),
            runtime_code=tuple(tasks.get("runtime_cycles", ())),
            max_stack_size=int(profile.memory["max_stack_bytes"]) if "max_stack_bytes" in profile.memory else None,
            start_funcval=bool(tasks.get("start_funcval", False)),
            stack_guard=int(profile.memory.get("stack_guard_bytes", 0)),
            main_funcval=str(tasks.get("main_funcval", "")),
            off_system_stack=tuple(_edge(e) for e in tasks.get("off_system_stack", ())),
            bounds_without_dying=bool(tasks.get("bounds_without_dying", False)),
        )


#: The default: TinyGo's names, read from runtime/profiles/tinygo.toml.
TINYGO = TaskProfile.from_runtime(load_profile("tinygo"))


def _edge(text: str) -> tuple[str, str]:
    """"caller -> callee" as a pair."""
    caller, _, callee = str(text).partition("->")
    return caller.strip(), callee.strip()


def task_profile_of(symbol_names: Iterable[str]) -> TaskProfile:
    """The task machinery the code model finds roots with: TinyGo's, unless the image's runtime has
    growable goroutine stacks (Embedded Go: goroutines start in runtime.newproc)."""
    from gomcu.runtime.profile import detect_family

    runtime = detect_family(symbol_names)
    if runtime is None or "growth" not in runtime.tasks:
        return TINYGO
    return TaskProfile.from_runtime(runtime)


def stack_sizes(model: CodeModel, profile: TaskProfile = TINYGO) -> tuple[int, tuple[int, ...]] | None:
    """(address, sizes) of the goroutine stack-size table, when the binary has one."""
    image = model.image
    sym = image.symbol(profile.stack_sizes_symbol)
    section = image.section(profile.stack_sizes_section)
    if sym is not None:
        address, size = sym.address, sym.size or (section.size if section is not None else 0)
    elif section is not None:
        address, size = section.vma, section.size
    else:
        return None
    data = image.read(address, size) if size else None
    if not data:
        return None
    return address, tuple(int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data) - 3, 4))


def find_roots(model: CodeModel, profile: TaskProfile = TINYGO) -> tuple[Root, ...]:
    roots: list[Root] = []
    reset = _reset(model)
    if reset is not None:
        roots.append(reset)
    roots.extend(_handlers(model, reset.address if reset else None))
    roots.extend(_tasks(model, profile, {r.address for r in roots}))
    roots.extend(rtos_tasks.task_roots(model, {r.address for r in roots}))
    return tuple(roots)


def _reset(model: CodeModel) -> Root | None:
    for entry in model.vector_table:
        if entry.number == 1 and entry.handler:
            return Root(entry.handler, RootKind.RESET, entry.address, (1,), evidence="vector 1 (reset)")
    image = model.image
    f = model.function_at(image.entry & ~1) if image.entry else None
    if f is not None:
        return Root(f.name, RootKind.RESET, f.address, evidence="ELF entry point")
    for name in ("Reset_Handler", "_start", "reset_handler"):
        f = model.function(name)
        if f is not None:
            return Root(f.name, RootKind.RESET, f.address, evidence=f"symbol {name}")
    return None


def _handlers(model: CodeModel, reset: int | None) -> list[Root]:
    by_address: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in model.vector_table:
        if entry.number < 2 or not entry.address or entry.handler is None or entry.address == reset:
            continue
        by_address.setdefault(entry.address, []).append(entry.number)
        names[entry.address] = entry.handler
    out = []
    for address, numbers in by_address.items():
        kind = RootKind.EXCEPTION if all(n < 16 for n in numbers) else RootKind.IRQ
        evidence = "vector " + ", ".join(str(n) for n in numbers)
        if len(numbers) > 1:
            evidence += " (shared handler)"
        out.append(Root(names[address], kind, address, tuple(numbers), evidence=evidence))
    if model.image.arch is Arch.RISCV32:
        seen: set[int] = set()
        for function, csr, value in model.csr_writes:
            if csr != CSR_MTVEC:
                continue
            target = value & ~3
            f = model.function_at(target)
            if f is not None and f.address == target and target not in seen:
                seen.add(target)
                mode = "vectored" if value & 1 else "direct"
                out.append(Root(f.name, RootKind.EXCEPTION, target,
                                evidence=f"trap vector (csrw mtvec in {function}, {mode} mode)"))
    return out


def _tasks(model: CodeModel, profile: TaskProfile, taken: set[int]) -> list[Root]:
    table = stack_sizes(model, profile)
    table_addr, sizes = table if table else (None, ())
    starts = [n for n in profile.task_start if model.function(n) is not None]
    machinery = bool(starts) or any(model.function(n) is not None for n in (profile.start_trampoline, profile.swap))
    found: dict[int, Root] = {}
    wrappers = [f for f in model.functions if f.name.endswith(profile.wrapper_suffix)] if profile.wrapper_suffix else []

    def slot_at(address: int | None) -> int | None:
        if table_addr is None or address is None:
            return None
        offset = address - table_addr
        return offset // 4 if 0 <= offset < 4 * len(sizes) and offset % 4 == 0 else None

    for start_name in starts:
        inner = [a for a in model.address_constants.get(start_name, ())
                 if (f := model.function_at(a)) is not None and f.name != profile.start_trampoline]
        for call in model.calls_to(start_name):
            site = call.site
            values = tuple(a.value if a is not None else None for a in call.arguments)
            where = f"{site.caller} at 0x{site.address:x}"
            if call.via is not None:
                where += f" with the registers of {call.via.caller} at 0x{call.via.address:x}"
            if profile.start_funcval:
                entry_index, entry, how = _funcval_entry(model, values, start_name, where)
            else:
                entry_index = next((i for i, v in enumerate(values) if model.code_address(v) is not None), None)
                entry = model.code_address(values[entry_index]) if entry_index is not None else None
                how = f"constant argument of {start_name} in {where}"
            if entry is None and len(inner) == 1 and not profile.start_funcval:
                entry = inner[0]
                how = f"entry loaded inside {start_name}, started from {where}"
            f = model.function_at(entry) if entry is not None else None
            if entry is None or f is None or entry in found:
                continue
            slot = next((s for a in call.arguments if a is not None and (s := slot_at(a.loaded_from)) is not None), None)
            if slot is not None:
                how += f"; size read from {profile.stack_sizes_symbol}[{slot}] there"
            else:
                slot = next((v for i, v in enumerate(values)
                             if i != entry_index and v is not None and 0 <= v < len(sizes)), None)
            kind = RootKind.GOROUTINE if (f.name.endswith(profile.wrapper_suffix) or sizes or profile.growth
                                          or f.name == profile.main_goroutine) else RootKind.TASK
            size = sizes[slot] if slot is not None and slot < len(sizes) else None
            found[entry] = Root(f.name, kind, entry, stack_slot=slot, stack_size=size, evidence=how)
    main = model.function(profile.main_goroutine) if profile.start_funcval and profile.main_funcval else None
    pointer = model.image.symbol(profile.main_funcval) if main is not None else None
    if main is not None and pointer is not None and main.address not in found \
            and model.code_address(model.image.read_word(pointer.address)) == main.address:
        # rt0_go stores the funcval in newproc's argument slot and reuses r0: named by the runtime
        found[main.address] = Root(main.name, RootKind.GOROUTINE, main.address,
                                   evidence=f"the main goroutine: {pointer.name}'s first word, passed to "
                                            f"{starts[0] if starts else 'the task start'} at start-up")
    for w in wrappers if machinery else ():  # without task machinery a wrapper is an ordinary call
        if w.address not in found:
            found[w.address] = _inlined_start(model, profile, w, wrappers, sizes, slot_at)
    return [r for a, r in found.items() if a not in taken]


def _funcval_entry(model: CodeModel, values: tuple[int | None, ...], start: str,
                   where: str) -> tuple[int | None, int | None, str]:
    """(argument index, entry, evidence) when an argument points at a funcval (Go's `go f(x)`
    passes newproc a static closure whose first word is the function, `main.main.gowrap1`)."""
    for i, v in enumerate(values):
        if v is None:
            continue
        section = model.image.section_at(v)
        if section is None or section.nobits or model.code_address(v) is not None:
            continue
        word = model.image.read_word(v)  # a static closure's initial value (its code word is never stored)
        entry = model.code_address(word)
        if entry is not None:
            return i, entry, f"funcval at 0x{v:x} ({section.name}) passed to {start} in {where}"
    return None, None, ""


def _inlined_start(model: CodeModel, profile: TaskProfile, wrapper: Function, wrappers: list[Function],
                   sizes: tuple[int, ...], slot_at: Callable[[int | None], int | None]) -> Root:
    """A goroutine entry no call of the task-start function passes: the start was inlined into
    the function that stores the entry's address. Its size is the one table slot that function
    reads when it stores only this entry; without a table, the one constant size it allocates."""
    wrapper_starts = {w.address for w in wrappers}
    holders = sorted(name for name, consts in model.address_constants.items()
                     if wrapper.address in consts and name not in (wrapper.name, profile.start_trampoline))
    named = f"name ends in {profile.wrapper_suffix}"
    for holder in holders:
        if len(model.address_constants[holder] & wrapper_starts) != 1:
            continue
        slots = {s for a in model.constant_loads.get(holder, ()) if (s := slot_at(a)) is not None}
        if len(slots) == 1:
            (slot,) = slots
            return Root(wrapper.name, RootKind.GOROUTINE, wrapper.address, stack_slot=slot, stack_size=sizes[slot],
                        evidence=f"{named}; its address stored by {holder} (task start inlined there), "
                                 f"size read there from {profile.stack_sizes_symbol}[{slot}]")
        if not sizes:
            allocated = _constant_allocations(model, profile, holder)
            if allocated:
                size, at = max(allocated)
                return Root(wrapper.name, RootKind.GOROUTINE, wrapper.address, stack_size=size,
                            stack_source=f"runtime.alloc({size}) at 0x{at:x} in {holder}",
                            evidence=f"{named}; its address stored by {holder} (task start inlined there), "
                                     f"stack allocated there: the largest constant allocation, {size} B at 0x{at:x}")
    if len(wrappers) == 1 and len(sizes) == 1:
        return Root(wrapper.name, RootKind.GOROUTINE, wrapper.address, stack_slot=0, stack_size=sizes[0],
                    evidence=f"{named}; the only goroutine entry and the only {profile.stack_sizes_symbol} slot")
    why = f"not tied to a slot of {profile.stack_sizes_symbol}" if sizes else "no stack size found"
    return Root(wrapper.name, RootKind.GOROUTINE, wrapper.address, evidence=f"{named}; {why}")


def _constant_allocations(model: CodeModel, profile: TaskProfile, function: str) -> list[tuple[int, int]]:
    """(size, call site) of every allocator call in `function` with a constant size."""
    out = []
    f = model.function(function)
    for c in f.calls if f is not None else ():
        if c.callee in profile.allocator:
            args = model.call_args.get(c.address, ())
            if args and args[0] is not None:
                out.append((args[0], c.address))
    return out
