"""Memory-mapped peripherals: the UARTs that carry program output, and the policy for the rest.

Unknown MMIO policy (stated, so that reports can quote it): a read returns the last value
written to that address, or 0 if none; a write is stored. Every address is logged once (first
access: read/write, PC), and reads are counted so that firmware polling a register the model
does not implement (e.g. a "ready" flag that never sets) is reported as a spin instead of a
silent budget overrun.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gomcu.emu.boards import UartSpec

#: Reads of one unimplemented address, with no write to it in between, that count as spinning.
SPIN_READS = 100_000


@dataclass
class MmioAccess:
    """The first access to an unmodelled address, and how often it was read and written."""

    address: int
    first_pc: int
    first_is_write: bool
    reads: int = 0
    writes: int = 0
    reads_since_write: int = 0


class Uart:
    """Transmit side of a UART: bytes written to the data register become output.

    stellaris: QEMU's lm3s6965evb UART (PL011 layout): DR at 0x000, FR at 0x018 reports TX FIFO
    empty and RX FIFO empty. cmsdk: DATA at 0x000, STATE at 0x004 (never full), CTRL at 0x008;
    as in QEMU, bytes are dropped unless CTRL.TXEN (bit 0) is set."""

    def __init__(self, spec: UartSpec, index: int, emit: Callable[[str, bytes], None]) -> None:
        self.spec = spec
        self.index = index
        self.emit = emit
        self.regs: dict[int, int] = {}

    @property
    def stream(self) -> str:
        return f"uart{self.index}"

    def read(self, offset: int, size: int) -> int:
        if self.spec.kind == "stellaris":
            if offset == 0x018:
                return 0x90  # TXFE | RXFE
            if offset == 0x000:
                return 0
            if 0xFE0 <= offset < 0x1000:  # PrimeCell/peripheral ids (PL011)
                return {0xFE0: 0x11, 0xFE4: 0x00, 0xFE8: 0x18, 0xFEC: 0x01,
                        0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}.get(offset, 0)
        else:
            if offset == 0x004:
                return 0  # STATE: TX not full, RX not full
            if offset == 0x000:
                return 0
        return self.regs.get(offset & ~3, 0)

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == 0x000:
            if self.spec.kind == "stellaris" or self.regs.get(0x008, 0) & 1:
                self.emit(self.stream, bytes([value & 0xFF]))
            return
        self.regs[offset & ~3] = value


@dataclass
class UnknownMmio:
    """Store-and-return for unmodelled MMIO, with a log of every address touched."""

    pc_now: Callable[[], int]
    values: dict[int, int] = field(default_factory=dict)
    accesses: dict[int, MmioAccess] = field(default_factory=dict)
    spinning: MmioAccess | None = None

    def access(self, address: int, size: int, is_write: bool, value: int) -> int:
        rec = self.accesses.get(address)
        if rec is None:
            rec = MmioAccess(address, self.pc_now(), is_write)
            self.accesses[address] = rec
        if is_write:
            rec.writes += 1
            rec.reads_since_write = 0
            self.values[address] = value
            return 0
        rec.reads += 1
        rec.reads_since_write += 1
        if rec.reads_since_write >= SPIN_READS and self.spinning is None:
            self.spinning = rec
        return self.values.get(address, 0)
