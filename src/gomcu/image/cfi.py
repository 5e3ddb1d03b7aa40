"""Call-frame information (.debug_frame): how far each function moves the stack pointer.

The canonical frame address (CFA) of a function is sp plus an offset; the largest offset while
the CFA is still expressed against sp is the function's static frame. This is the compiler's own
account of the frame, independent of gomcu's reading of the prologue, so the stack analysis
cross-checks the two.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from gomcu.image import frametab

#: DWARF register number of the stack pointer (ARM: r13; RISC-V: x2).
SP_REGISTER = {"arm": 13, "riscv32": 2}


@dataclass(frozen=True)
class CfiFrame:
    address: int
    size: int
    max_offset: int | None  # largest CFA offset from sp; None when the CFA moves to another register
    other_register: bool  # the CFA is at some point based on a frame pointer


def read_cfi(elf: Any, arch: str, guard: Callable[[str], AbstractContextManager[None]]) -> dict[int, CfiFrame]:
    """Function start address -> its CFI frame, for every FDE in .debug_frame (or .eh_frame)."""
    out: dict[int, CfiFrame] = {}
    sp = SP_REGISTER[arch]
    with guard("call-frame information"):
        fast = frametab.frames(elf, sp)
        if fast is not None:
            for start, size, max_offset, other in fast:
                start = start & ~1 if arch == "arm" else start
                if start in out and out[start].size >= size:
                    continue
                out[start] = CfiFrame(start, size, max_offset, other)
            return out
        info = elf.get_dwarf_info(relocate_dwarf_sections=False) if elf.has_dwarf_info() else None
        if info is None:
            return out
        if info.has_CFI():
            entries = info.CFI_entries()
        elif info.has_EH_CFI():
            entries = info.EH_CFI_entries()
        else:
            return out
        for entry in entries:
            if type(entry).__name__ != "FDE":
                continue
            start = entry["initial_location"] & ~1 if arch == "arm" else entry["initial_location"]
            size = entry["address_range"]
            offsets: list[int] = []
            other = False
            for row in entry.get_decoded().table:
                rule = row.get("cfa")
                if rule is None or rule.reg is None:
                    continue
                if rule.reg == sp:
                    offsets.append(rule.offset)
                else:
                    other = True
            # Functions dropped by --gc-sections leave FDEs at address 0; a later real one wins.
            if start in out and out[start].size >= size:
                continue
            out[start] = CfiFrame(start, size, max(offsets) if offsets else None, other)
    return out
