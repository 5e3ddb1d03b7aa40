"""What a Go runtime needs from a linker script, as data (a profile), not code paths.

The TinyGo facts come from its targets/arm.ld and src/runtime/baremetal.go (see
TINYGO-FACTS.md): region names, the symbols the runtime reads, the system stack at the bottom of
RAM, .data loaded from flash, the vector table kept at the flash origin and the stack-size table
kept. The checker (`check.py`) walks these fields; the adapter (`adapt.py`) writes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolNeed:
    """A symbol the runtime or its startup code reads, and why."""

    name: str
    why: str
    #: names vendor scripts use for the same thing (pointed out when the symbol is missing)
    vendor_names: tuple[str, ...] = ()
    #: required alignment of its value in bytes
    align: int = 4


@dataclass(frozen=True)
class RuntimeProfile:
    name: str
    flash_region: str
    ram_region: str
    symbols: tuple[SymbolNeed, ...]
    stack_section: str
    stack_top: str
    stack_size: str
    stack_align: int  # AAPCS: the stack pointer is 8-byte aligned at public interfaces
    vector_section: str
    kept_sections: tuple[tuple[str, str], ...]  # (input section, why it must be KEEP'd)
    data_section: str
    bss_section: str
    heap_start: str
    heap_end: str
    default_stack_size: int
    #: vendor names for the stack top at the END of RAM (CubeMX `_estack`, CMSIS `__StackTop`)
    top_of_ram_stack_names: tuple[str, ...]
    target_json_ldflag: str  # how TinyGo's target JSON passes the stack size


TINYGO = RuntimeProfile(
    name="tinygo",
    flash_region="FLASH_TEXT",
    ram_region="RAM",
    symbols=(
        SymbolNeed("_stack_top", "initial MSP: word 0 of the vector table and the system stack "
                   "interrupts and the scheduler run on", ("_estack", "__StackTop", "__stack"), 8),
        SymbolNeed("_heap_start", "start of the GC heap (runtime reads it in baremetal.go)",
                   ("end", "_end", "__end__", "__HeapBase")),
        SymbolNeed("_heap_end", "end of the GC heap (runtime reads it in baremetal.go)",
                   ("__HeapLimit", "_estack")),
        SymbolNeed("_globals_start", "start of the globals the GC scans as roots",
                   ("_sdata", "__data_start__")),
        SymbolNeed("_globals_end", "end of the globals the GC scans as roots",
                   ("_ebss", "__bss_end__")),
        SymbolNeed("_sdata", "start of .data in RAM (copied at reset)", ("__data_start__",)),
        SymbolNeed("_edata", "end of .data in RAM", ("__data_end__",)),
        SymbolNeed("_sidata", "load address of .data in flash", ("__etext", "__data_load__")),
        SymbolNeed("_sbss", "start of .bss (zeroed at reset)", ("__bss_start__",)),
        SymbolNeed("_ebss", "end of .bss", ("__bss_end__",)),
    ),
    stack_section=".stack",
    stack_top="_stack_top",
    stack_size="_stack_size",
    stack_align=8,
    vector_section=".isr_vector",
    kept_sections=(
        (".isr_vector", "the vector table is referenced by nothing; without KEEP, "
         "--gc-sections drops it"),
        (".tinygo_stacksizes", "TinyGo writes each goroutine's computed stack size here "
         "(internal/task.stackSizes); dropped or orphaned, automatic stack sizes break"),
    ),
    data_section=".data",
    bss_section=".bss",
    heap_start="_heap_start",
    heap_end="_heap_end",
    default_stack_size=2048,
    top_of_ram_stack_names=("_estack", "__StackTop", "__stack", "_stack_top"),
    target_json_ldflag="--defsym=_stack_size={size}",
)

PROFILES = {"tinygo": TINYGO}


def profile(name: str) -> RuntimeProfile:
    from gomcu.errors import GomcuError

    try:
        return PROFILES[name]
    except KeyError:
        raise GomcuError(f"unknown runtime {name!r} (known: {', '.join(PROFILES)})") from None
