"""What a Go runtime needs from a linker script, as data (a profile), not code paths.

The facts live in the runtime profile's `[linker]` table (runtime/profiles/tinygo.toml: from
TinyGo's targets/arm.ld and src/runtime/baremetal.go, see TINYGO-FACTS.md): region names, the
symbols the runtime reads, the system stack at the bottom of RAM, .data loaded from flash, the
vector table kept at the flash origin and the stack-size table kept. The checker (`check.py`)
walks these fields; the adapter (`adapt.py`) writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


def from_runtime(runtime: Any) -> RuntimeProfile:
    """The linker needs a runtime profile states in its `[linker]` table (runtime/profiles/*.toml
    or the user's file), as the checker and adapter use them."""
    from gomcu.errors import GomcuError

    table = runtime.linker
    if not table:
        raise GomcuError(f"runtime profile {runtime.name!r} says nothing about linker scripts (no [linker] table)")
    try:
        return RuntimeProfile(
            name=runtime.name,
            flash_region=str(table["flash_region"]),
            ram_region=str(table["ram_region"]),
            symbols=tuple(
                SymbolNeed(str(s["name"]), str(s["why"]), tuple(s.get("vendor_names", ())), int(s.get("align", 4)))
                for s in table.get("symbols", ())
            ),
            stack_section=str(table["stack_section"]),
            stack_top=str(table["stack_top"]),
            stack_size=str(table["stack_size"]),
            stack_align=int(table.get("stack_align", 8)),
            vector_section=str(table["vector_section"]),
            kept_sections=tuple((str(k["section"]), str(k["why"])) for k in table.get("keep", ())),
            data_section=str(table.get("data_section", ".data")),
            bss_section=str(table.get("bss_section", ".bss")),
            heap_start=str(table["heap_start"]),
            heap_end=str(table["heap_end"]),
            default_stack_size=int(table["default_stack_size"]),
            top_of_ram_stack_names=tuple(table.get("top_of_ram_stack_names", ())),
            target_json_ldflag=str(table.get("target_json_ldflag", "")),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise GomcuError(f"runtime profile {runtime.name!r}: invalid [linker] table ({error})") from None


def profile(name: str) -> RuntimeProfile:
    """A runtime's linker needs: a built-in profile by name, or a user's .toml file."""
    from gomcu.runtime.profile import load_profile

    return from_runtime(load_profile(name))


#: TinyGo's needs, from runtime/profiles/tinygo.toml.
TINYGO = profile("tinygo")
