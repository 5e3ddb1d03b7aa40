"""The Cortex-M vector table: word 0 the initial sp, word 1 reset, 2..15 exceptions, 16+n IRQ n.

Found by symbol (`__isr_vector` and the CMSIS names), else the `.isr_vector` section, else the
table at the start of the flash section that holds the entry point. Its length is the symbol's
or section's size, else the run of words that are Thumb code addresses (or 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gomcu.code.types import VectorEntry
from gomcu.image import Arch, Image

if TYPE_CHECKING:
    from gomcu.code.model import CodeModel

TABLE_SYMBOLS = ("runtime.vectors", "__isr_vector", "isr_vector", "__Vectors", "__vectors", "g_pfnVectors", "_vector_table", "vector_table")
EXCEPTION_NAMES = {
    0: "InitialSP", 1: "Reset", 2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault",
    6: "UsageFault", 7: "SecureFault", 11: "SVCall", 12: "DebugMonitor", 14: "PendSV", 15: "SysTick",
}
MAX_ENTRIES = 16 + 496


def vector_name(number: int) -> str:
    if number >= 16:
        return f"IRQ{number - 16}"
    return EXCEPTION_NAMES.get(number, f"Reserved{number}")


def _is_code(image: Image, word: int) -> bool:
    if not word & 1:
        return False
    section = image.section_at(word & ~1)
    return section is not None and section.exec


def _locate(image: Image) -> tuple[int, int | None] | None:
    """(address, byte length or None) of the vector table."""
    for name in TABLE_SYMBOLS:
        sym = image.symbol(name)
        if sym is not None and image.section_at(sym.address) is not None:
            return sym.address, sym.size or None
    section = image.section(".isr_vector")
    if section is not None and section.size >= 8 and not section.nobits:
        return section.vma, section.size
    entry = image.entry & ~1
    holder = image.section_at(entry)
    candidates = [s for s in image.alloc_sections if s.exec and not s.nobits]
    if holder is not None:
        candidates.insert(0, holder)
    for section in candidates:
        reset = image.read_word(section.vma + 4)
        if reset is not None and _is_code(image, reset):
            return section.vma, None
    return None


def decode_vector_table(image: Image, model: CodeModel | None) -> tuple[VectorEntry, ...]:
    """The decoded table (empty when the image has none, e.g. RISC-V)."""
    if image.arch is not Arch.ARM:
        return ()
    found = _locate(image)
    if found is None:
        return ()
    base, length = found
    count = length // 4 if length else MAX_ENTRIES
    entries: list[VectorEntry] = []
    for n in range(min(count, MAX_ENTRIES)):
        word = image.read_word(base + 4 * n)
        if word is None:
            break
        if n == 0:
            entries.append(VectorEntry(0, vector_name(0), word, None))
            continue
        if word == 1:  # no handler: Go's linker leaves 1 where it dropped runtime.unhandledException
            entries.append(VectorEntry(n, vector_name(n), 0, None))
            continue
        if length is None and word != 0 and not _is_code(image, word):
            break  # the end of a table found by scanning
        address = word & ~1 if word else 0
        handler = None
        if address:
            if model is not None:
                f = model.function_at(address)
                handler = f.name if f is not None and f.address == address else (f.name if f else None)
            else:
                sym = image.function_at(address)
                handler = sym.name if sym is not None else None
        entries.append(VectorEntry(n, vector_name(n), address, handler))
    # Trailing zero words of a scanned table are not vectors.
    if length is None:
        while entries and entries[-1].address == 0 and entries[-1].number > 15:
            entries.pop()
    return tuple(entries)
