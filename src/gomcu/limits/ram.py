"""One RAM account, shared by `check` (the memory verdict) and `chips --fits`.

RAM a program needs before its first object: its static RAM (data + bss, which holds the system
stack section), the goroutine stacks the runtime carves out of the heap, and the collector's
metadata for that much heap. What a chip has beyond that is the heap left for the program's
objects (its headroom). A chip whose RAM is below the need cannot run the program, whatever
the static sections alone say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gomcu.image import Image
from gomcu.limits import footprint
from gomcu.limits.gc_budget import goroutine_stacks

if TYPE_CHECKING:
    from gomcu.runtime.profile import RuntimeProfile


@dataclass(frozen=True)
class RamAccount:
    static_bytes: int  # data + bss (the system stack section included)
    goroutine_stack_bytes: int  # carved out of the heap at run time
    block_bytes: int  # the block GC's block size; 0 when no block collector is linked
    state_bits: int

    def metadata_bytes(self, heap_bytes: int) -> int:
        """The block collector's state bits for a heap of `heap_bytes` (TinyGo gc_blocks.go)."""
        if not self.block_bytes or not self.state_bits or heap_bytes <= 0:
            return 0
        per_byte = 8 // self.state_bits
        blocks = heap_bytes * per_byte // (self.block_bytes * per_byte + 1)
        return (blocks + per_byte - 1) // per_byte

    @property
    def needed_bytes(self) -> int:
        """Static RAM + goroutine stacks + the metadata of the heap that holds them."""
        stacks = self.goroutine_stack_bytes
        return self.static_bytes + stacks + self.metadata_bytes(stacks + self.metadata_bytes(stacks) + 1)

    def headroom(self, ram_bytes: int) -> int:
        """Heap left for the program's objects on a chip with `ram_bytes` of RAM (negative: short)."""
        heap = ram_bytes - self.static_bytes
        return heap - self.metadata_bytes(heap) - self.goroutine_stack_bytes


def account(image: Image, profile: RuntimeProfile | None = None) -> RamAccount:
    """The firmware's RAM account (goroutine stacks and GC metadata need a runtime profile)."""
    fp = footprint.measure(image)
    stacks = block = bits = 0
    if profile is not None:
        from gomcu.code import model as code_model

        names = {s.name for s in image.symbols}
        if profile.gc_kind(names) in ("conservative", "precise"):
            block = int(profile.memory.get("gc_block_bytes", 0) or 0)
            bits = int(profile.memory.get("gc_state_bits_per_block", 0) or 0)
        stacks = sum(g.bytes for g in goroutine_stacks(code_model(image), profile))
    return RamAccount(fp.ram_bytes, stacks, block, bits)
