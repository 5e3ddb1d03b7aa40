"""The heap a program can really use: RAM minus static data, the system stack, the collector's
metadata for its heap and the goroutine stacks that TinyGo carves out of the heap.

Every line of the budget is a number with its source, so that the report can show how the
figure adds up to the linker's layout and to the chip's RAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.code.model import CodeModel
from gomcu.code.types import RootKind
from gomcu.image import Image
from gomcu.limits import footprint
from gomcu.runtime.profile import RuntimeProfile

if TYPE_CHECKING:
    from gomcu.chips import Chip


@dataclass(frozen=True)
class GoroutineStack:
    root: str
    bytes: int
    source: str  # "internal/task.stackSizes[1]", "default-stack-size"


@dataclass(frozen=True)
class BlockGeometry:
    """How a block GC cuts a heap: whole blocks, their state bits at the end, and the rest."""

    blocks: int
    block_bytes: int
    metadata_bytes: int
    alignment_bytes: int  # lost rounding the heap start up to a block
    tail_bytes: int  # left over between the last block and the metadata

    @property
    def block_area(self) -> int:
        return self.blocks * self.block_bytes


def block_geometry(heap_start: int, heap_end: int, block_bytes: int, state_bits: int) -> BlockGeometry:
    """TinyGo's gc_blocks.go layout (the reference firmware copies it): n blocks of
    `block_bytes` and n*state_bits bits of metadata, as many blocks as fit together."""
    start = (heap_start + block_bytes - 1) // block_bytes * block_bytes
    size = max(0, heap_end - start)
    per_byte = 8 // state_bits
    blocks = size * per_byte // (block_bytes * per_byte + 1)
    metadata = (blocks + per_byte - 1) // per_byte
    tail = size - blocks * block_bytes - metadata
    return BlockGeometry(blocks, block_bytes, metadata, start - heap_start, tail)


@dataclass(frozen=True)
class HeapBudget:
    """RAM = data + bss + system stack + other RAM sections + heap (+ what lies outside them);
    usable = heap - GC metadata - alignment - goroutine stacks."""

    ram_bytes: int | None
    ram_source: str
    data_bytes: int
    bss_bytes: int
    system_stack_bytes: int
    other_ram_bytes: int
    heap_start: int | None
    heap_end: int | None
    heap_bytes: int | None
    gc_kind: str
    geometry: BlockGeometry | None
    gc_metadata_bytes: int
    gc_overhead_bytes: int  # metadata + alignment + tail
    goroutine_stacks: tuple[GoroutineStack, ...]
    usable_bytes: int | None
    notes: tuple[str, ...] = ()

    @property
    def goroutine_stack_bytes(self) -> int:
        return sum(g.bytes for g in self.goroutine_stacks)

    @property
    def outside_bytes(self) -> int | None:
        """RAM the budget's lines do not cover (a RAM region beyond _heap_end, a gap)."""
        if self.ram_bytes is None or self.heap_bytes is None:
            return None
        return self.ram_bytes - (self.data_bytes + self.bss_bytes + self.system_stack_bytes
                                 + self.other_ram_bytes + self.heap_bytes)


def _ram_sections(image: Image) -> list[footprint.SectionUse]:
    """Sections that occupy RAM at run time. A writable section that is loaded where it runs
    (TinyGo's `.tinygo_stacksizes`, in flash) counts only when it lies among the others."""
    sections = [s for s in footprint.measure(image).sections if s.ram_bytes]
    moved = [s for s in sections if s.kind == "bss" or s.vma != s.lma]
    low = min((s.vma for s in moved), default=None)
    return [s for s in sections if s in moved or (low is not None and s.vma >= low)]


def goroutine_stacks(model: CodeModel, profile: RuntimeProfile) -> tuple[GoroutineStack, ...]:
    """One heap-allocated stack per goroutine root, sized from the binary's table when known."""
    default = int(profile.tasks.get("default_stack_size", 0) or 0)
    table = profile.tasks.get("stack_sizes_symbol", "stack sizes")
    out = []
    for root in model.roots:
        if root.kind is not RootKind.GOROUTINE:
            continue
        if root.stack_size is not None:
            source = f"{table}[{root.stack_slot}]" if root.stack_slot is not None else "size at creation"
            out.append(GoroutineStack(root.name, root.stack_size, source))
        elif default:
            out.append(GoroutineStack(root.name, default, "default-stack-size"))
    return tuple(out)


def heap_budget(image: Image, model: CodeModel | None, profile: RuntimeProfile | None, gc_kind: str,
                chip: Chip | None = None) -> HeapBudget:
    memory = profile.memory if profile else {}
    notes: list[str] = []
    start_sym = image.symbol(memory.get("heap_start", "_heap_start"))
    end_sym = image.symbol(memory.get("heap_end", "_heap_end"))
    heap_start = start_sym.address if start_sym else None
    heap_end = end_sym.address if end_sym else None
    heap = heap_end - heap_start if heap_start is not None and heap_end is not None and heap_end >= heap_start else None
    if heap is None:
        notes.append("no _heap_start/_heap_end symbols: the heap's extent is not known")

    fp = footprint.measure(image, chip)
    stack_region = next((r for r in fp.runtime_regions if r.kind == "stack"), None)
    stack_bytes = stack_region.length or 0 if stack_region else 0
    stack_section = image.section(".stack")
    data = bss = other = 0
    for s in _ram_sections(image):
        if stack_section is not None and s.name == stack_section.name:
            continue
        if heap_start is not None and s.vma >= heap_start and (heap_end is None or s.vma < heap_end):
            other += s.size  # a section inside the heap (a .heap reservation)
            continue
        if s.kind == "data":
            data += s.size
        elif s.name in (".bss", ".sbss") or s.name.startswith((".bss.", ".sbss")):
            bss += s.size
        else:
            other += s.size

    if chip is not None:
        ram, ram_source = chip.ram_bytes, f"{chip.name} data sheet"
    elif heap_end is not None:
        ram_lows = [s.vma for s in _ram_sections(image)]
        if stack_region is not None:
            ram_lows.append(stack_region.origin)
        low = min(ram_lows) if ram_lows else heap_end
        ram, ram_source = heap_end - low, "linker: lowest RAM section to _heap_end"
    else:
        ram, ram_source = None, "unknown"

    geometry = None
    metadata = overhead = 0
    block = int(memory.get("gc_block_bytes", 0) or 0)
    bits = int(memory.get("gc_state_bits_per_block", 0) or 0)
    if heap is not None and gc_kind in ("conservative", "precise") and block and bits:
        geometry = block_geometry(heap_start, heap_end, block, bits)  # type: ignore[arg-type]
        metadata = geometry.metadata_bytes
        overhead = metadata + geometry.alignment_bytes + geometry.tail_bytes
        if gc_kind == "precise":
            notes.append("precise GC also stores a layout word per object: not counted here")
    stacks = goroutine_stacks(model, profile) if model is not None and profile is not None else ()
    usable = None if heap is None else heap - overhead - sum(g.bytes for g in stacks)
    return HeapBudget(ram, ram_source, data, bss, stack_bytes, other, heap_start, heap_end, heap, gc_kind,
                      geometry, metadata, overhead, stacks, usable, tuple(notes))
