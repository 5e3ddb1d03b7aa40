"""Roots of the call graph: where execution starts.

Reset (vector 1 or the ELF entry), every exception and IRQ handler in the vector table (entries
that share one handler, such as the weak aliases of `Default_Handler`, collapse into one root),
RISC-V trap handlers installed with a constant `csrw mtvec`, and goroutine / task entries:
TinyGo's `$gowrapper` functions, and entries passed as constants to the task-start function.
The runtime names are data (`TINYGO`), not code paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.runtime.profile import RuntimeProfile, load_profile
from gomcu.code.types import Root, RootKind
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
        )


#: The default: TinyGo's names, read from runtime/profiles/tinygo.toml.
TINYGO = TaskProfile.from_runtime(load_profile("tinygo"))


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
    found: dict[int, Root] = {}
    wrappers = [f for f in model.functions if f.name.endswith(profile.wrapper_suffix)]

    def slot_of(values: tuple[int | None, ...], loads: tuple[int | None, ...], entry_index: int | None) -> int | None:
        for load in loads:
            if table_addr is not None and load is not None and 0 <= load - table_addr < 4 * len(sizes):
                return (load - table_addr) // 4
        for i, v in enumerate(values):
            if i != entry_index and v is not None and sizes and 0 <= v < len(sizes):
                return v  # a small constant beside the entry: an index into the size table
        return None

    for start_name in starts:
        inner = [a for a in model.address_constants.get(start_name, ())
                 if (f := model.function_at(a)) is not None and f.name != profile.start_trampoline]
        for site in model.callers_of(start_name):
            values = model.call_args.get(site.address, ())
            loads = model.call_loads.get(site.address, ())
            entry_index = None
            entry = None
            for i, v in enumerate(values):
                a = model.code_address(v)
                if a is not None:
                    entry_index, entry = i, a
                    break
            how = f"constant argument of {start_name} in {site.caller} at 0x{site.address:x}"
            if entry is None and len(inner) == 1:
                entry = inner[0]
                how = f"entry loaded inside {start_name}, started from {site.caller} at 0x{site.address:x}"
            if entry is None:
                continue
            slot = slot_of(values, loads, entry_index)
            f = model.function_at(entry)
            if f is None or entry in found:
                continue
            kind = RootKind.GOROUTINE if (f.name.endswith(profile.wrapper_suffix) or sizes or f.name == profile.main_goroutine) else RootKind.TASK
            size = sizes[slot] if slot is not None and slot < len(sizes) else None
            found[entry] = Root(f.name, kind, entry, stack_slot=slot, stack_size=size, evidence=how)
    for w in wrappers if starts else ():  # without task machinery a wrapper is an ordinary call
        if w.address not in found:
            slot = None
            if len(wrappers) == 1 and len(sizes) == 1:
                slot = 0
            found[w.address] = Root(w.name, RootKind.GOROUTINE, w.address, stack_slot=slot,
                                    stack_size=sizes[slot] if slot is not None else None,
                                    evidence=f"name ends in {profile.wrapper_suffix}")
    return [r for a, r in found.items() if a not in taken]
