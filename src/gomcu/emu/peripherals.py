"""Memory-mapped peripherals: the UARTs that carry program output, and the policy for the rest.

Unknown MMIO policy (stated, so that reports can quote it): a read returns the last value
written to that address, or 0 if none; a write is stored. Every address is logged once (first
access: read/write, PC), and reads are counted: when one address has been read POLL_READS times
with no write, the poll solver (`polls.py`) decides a value for that (pc, address) that leaves
the firmware's loop, and from then on reads there answer it (in the bits it decided; the rest
is what was written). A poll it cannot answer stops the run as a spin with its explanation;
reads it finds are no poll keep the old limit of SPIN_READS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from gomcu.emu.boards import UartSpec
from gomcu.emu.polls import PollSolver, Unsolved
from gomcu.emu.result import PollDecision

#: Reads of one unimplemented address, with no write to it in between, that count as spinning.
SPIN_READS = 100_000
#: Reads of one address with no write after which the poll solver looks at the loop.
POLL_READS = 32
#: Decisions for one (pc, address) after which its answers are taken not to hold.
MAX_DECISIONS = 8


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
    """Store-and-return for unmodelled MMIO, with a log of every address touched and the poll
    solver's answers (`answers`: (pc, address) -> (mask, bits); `decisions`: each one made)."""

    pc_now: Callable[[], int]
    solver: PollSolver | None = None
    on_spin: Callable[[], None] | None = None
    values: dict[int, int] = field(default_factory=dict)
    accesses: dict[int, MmioAccess] = field(default_factory=dict)
    spinning: MmioAccess | None = None
    spin_message: str = ""
    answers: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    state: dict[int, tuple[int, int]] = field(default_factory=dict)  # address -> latest (mask, bits)
    decisions: list[PollDecision] = field(default_factory=list)
    wait: dict[tuple[int, int], int] = field(default_factory=dict)  # reads before looking again
    pending: tuple[int, int, int] | None = None  # (block pc, address, size) to solve

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
        if rec.reads_since_write < POLL_READS or self.spinning is not None:
            return self.value_at(address, self.pc_now()) if self.answers else self.values.get(address, 0)
        pc = self.pc_now()
        if self.solver is not None and self.pending is None \
                and rec.reads_since_write >= self.wait.get((pc, address), POLL_READS):
            self.pending = (pc, address, size)  # solved at the next block boundary (exact registers)
            if self.on_spin is not None:
                self.on_spin()
        if rec.reads_since_write >= SPIN_READS and self.spinning is None:
            self.spinning = rec
        return self.value_at(address, pc)

    def value_at(self, address: int, pc: int) -> int:
        """What a read of `address` by the block at `pc` returns now: the answer decided for
        that loop, else the bits the latest decision on the address gave (a ready bit that was
        answered set stays set for the checks after the loop, as in hardware)."""
        value = self.values.get(address, 0)
        answer = self.answers.get((pc, address)) or self.state.get(address)
        return value if answer is None else (value & ~answer[0]) | answer[1]

    def solve_pending(self) -> bool:
        """Run the solver for the spin seen last (the run is stopped at a block boundary);
        False if there was none."""
        if self.pending is None or self.solver is None:
            return False
        pc, address, size = self.pending
        self.pending = None
        rec = self.accesses[address]
        key = (pc, address)
        made = sum(1 for d in self.decisions if d.address == address and d.key_pc == pc)
        outcome = self.solver.solve(address, size, self.value_at(address, pc), rec.reads_since_write,
                                    lambda a: self.value_at(a, -1))
        if outcome is None:  # not a loop on this value (yet): look again after twice as many reads
            self.wait[key] = 2 * rec.reads_since_write
        elif isinstance(outcome, Unsolved) or made >= MAX_DECISIONS:
            self.spinning = rec
            self.spin_message = outcome.why if isinstance(outcome, Unsolved) else (
                f"the answers for 0x{address:08x} do not hold: the loop came back to the read after {made} "
                f"decisions (last: {self.decisions[-1].why if self.decisions else '-'})")
        else:
            outcome = replace(outcome, key_pc=pc)
            new = (outcome.mask, outcome.value & outcome.mask)
            self.answers[key] = _merge(self.answers.get(key), new)
            self.state[address] = _merge(self.state.get(address), new)
            self.decisions.append(outcome)
            rec.reads_since_write = 0
        return True


def _merge(old: tuple[int, int] | None, new: tuple[int, int]) -> tuple[int, int]:
    """`new` (mask, bits) over `old`: bits decided earlier that `new` does not touch are kept."""
    if old is None:
        return new
    return new[0] | old[0], new[1] | (old[1] & ~new[0])
