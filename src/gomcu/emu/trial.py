"""A second unicorn engine on which the poll solver tries answers without touching the run.

Why a second engine: the solver must know what the firmware does with a value before answering
it, and the firmware's own code is the only exact description of that (flag tricks such as
TinyGo's `HasBits` compile to `ands; subs; sbcs; lsls; beq`). So a trial starts from the
registers of the run stopped at a block boundary inside the loop (unicorn reports exact
registers there; inside an MMIO callback its PC is only the start of the block), on a private
copy of RAM (restored before every trial), answers the candidate at every read of the polled
address and reports whether the code came back to the same read (STAY) or ran an instruction
outside the loop (LEFT). Nothing here runs during the main run: trials happen only when a spin
is detected, a few dozen short runs per decision; they trace in Python, instruction by
instruction, which costs little at that scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_CODE,
    UC_HOOK_MEM_INVALID,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    Uc,
    UcError,
)
from unicorn import arm_const as A

#: Registers copied from the run into a trial (CONTROL first: it selects which SP is banked).
STATE_REGS = (A.UC_ARM_REG_CONTROL, A.UC_ARM_REG_MSP, A.UC_ARM_REG_PSP, *(
    getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)), A.UC_ARM_REG_SP, A.UC_ARM_REG_LR,
    A.UC_ARM_REG_XPSR, A.UC_ARM_REG_PRIMASK, A.UC_ARM_REG_BASEPRI)
TRACE_REGS = tuple(getattr(A, f"UC_ARM_REG_R{i}") for i in range(13)) + (A.UC_ARM_REG_SP, A.UC_ARM_REG_LR)

STAY, LEFT, ERROR = "stay", "left", "error"


@dataclass
class Snapshot:
    """The run stopped at a block boundary: pc, registers and the contents of every RAM region."""

    pc: int
    regs: tuple[int, ...]
    ram: tuple[tuple[int, bytes], ...]


@dataclass
class Outcome:
    """What one trial did. `kind`: STAY (came back to the read), LEFT (ran an instruction outside
    the loop), ERROR (faulted) or "" (neither within the limit). For the first trial: `pc` the
    instruction that reads the address first, `trace` one iteration from that read to the next
    (pc, registers r0-r12, sp, lr before each) and `readers` every instruction of the loop that
    reads the address. `exit_pc`: the last loop instruction before leaving."""

    kind: str
    pc: int = 0
    trace: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    readers: frozenset[int] = frozenset()
    exit_pc: int | None = None


class TrialEngine:
    """Unicorn set up like the run's board (memory copied, MMIO answered from the model)."""

    def __init__(self, cpu_model: int, regions: tuple[tuple[int, int, bool], ...],
                 read: Callable[[int, int], bytes], mmio_value: Callable[[int], int],
                 mmio: tuple[tuple[int, int], ...] = ()) -> None:
        """`regions`: (origin, length, writable) of every memory region; `read` reads the run's
        memory; `mmio_value(address)` is what the model answers there now (other registers);
        `mmio`: (base, size) of device blocks outside the peripheral region."""
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        self.uc.ctl_set_cpu_model(cpu_model)
        self.read = read
        self.mmio_value = mmio_value
        self.ram = tuple((o, n) for o, n, writable in regions if writable)
        for origin, length, writable in regions:
            self.uc.mem_map(origin, length, UC_PROT_ALL)
            if not writable:  # code and constants: copied once
                self.uc.mem_write(origin, read(origin, length))
        self.uc.mmio_map(0x40000000, 0x20000000, self._mmio_read, None, self._mmio_write, None)
        self.uc.mmio_map(0xE0000000, 0x100000, lambda *a: 0, None, lambda *a: None, None)
        for base, size in mmio:
            self.uc.mmio_map(base, size, lambda uc, off, n, _ud, b=base: self._read_at(uc, b + off, n), None,
                             self._mmio_write, None)
        self.uc.hook_add(UC_HOOK_MEM_INVALID, lambda *a: False)
        self._address = self._value = self._stop_at = 0
        self._poll_pc: int | None = None
        self._reads = 0
        self._tracing = self._registers = False
        self._loop: frozenset[int] | None = None
        self._exit: int | None = None
        self._pc = self._last = 0
        self._trace: list[tuple[int, tuple[int, ...]]] = []
        self._marks: list[int] = []
        self._readers: set[int] = set()
        self.skip: frozenset[int] = frozenset()  # functions to return from at once (a yield)
        # One code hook for the engine's life: hooks added later miss code already translated.
        self.uc.hook_add(UC_HOOK_CODE, self._code)

    def snapshot(self, main: Uc) -> Snapshot:
        regs = tuple(int(main.reg_read(r)) for r in STATE_REGS)
        return Snapshot(int(main.reg_read(A.UC_ARM_REG_PC)), regs, tuple((o, self.read(o, n)) for o, n in self.ram))

    def iteration(self, snap: Snapshot, address: int, value: int, limit: int) -> Outcome:
        """Answer `value` at every read of `address` and record the loop: STAY with the trace of
        one iteration when the next two run the same instructions (a loop whose only input is
        this value), else "" (not a poll). The first run records pcs only; registers are read
        in a second run, for one iteration, only when it is a loop."""
        self._start(snap, address, value, None, reads=3, loop=None, trace=True)
        self._go(snap.pc, limit)
        marks, pcs = self._marks, [a for a, _ in self._trace]
        if len(marks) != 3 or pcs[marks[0]:marks[1]] != pcs[marks[1]:marks[2]]:
            return Outcome("")
        self._start(snap, address, value, None, reads=2, loop=None, trace=True)
        self._registers = True
        self._go(snap.pc, limit)
        self._registers = False
        m0, m1 = self._marks[0], self._marks[-1]
        return Outcome(STAY, self._trace[m0][0], self._trace[m0:m1 + 1], frozenset(self._readers))

    def attempt(self, snap: Snapshot, address: int, value: int, pc: int, loop: frozenset[int],
                limit: int) -> Outcome:
        """Answer `value` at every read of `address` and see whether the code leaves `loop` (the
        pcs of one iteration) after the read by `pc`, or comes back to that read."""
        self._start(snap, address, value, pc, reads=2, loop=loop, trace=False)
        failed = self._go(snap.pc, limit)
        if self._exit is not None:
            return Outcome(LEFT, exit_pc=self._exit)
        return Outcome(STAY if self._reads >= 2 else ERROR if failed else "")

    def _start(self, snap: Snapshot, address: int, value: int, pc: int | None, reads: int,
               loop: frozenset[int] | None, trace: bool) -> None:
        uc = self.uc
        for origin, data in snap.ram:
            uc.mem_write(origin, data)
        for reg, v in zip(STATE_REGS, snap.regs):
            uc.reg_write(reg, v)
        self._address, self._value, self._poll_pc, self._reads, self._stop_at = address, value, pc, 0, reads
        self._loop, self._exit, self._last = loop, None, snap.pc
        self._tracing, self._trace, self._marks, self._readers = trace, [], [], set()

    def _go(self, pc: int, limit: int) -> bool:
        try:
            self.uc.emu_start(pc | 1, 0xFFFFFFFF, count=limit)
        except UcError:
            return True
        return False

    def _code(self, uc: Uc, address: int, size: int, _ud: object) -> None:
        if address in self.skip:
            uc.reg_write(A.UC_ARM_REG_PC, int(uc.reg_read(A.UC_ARM_REG_LR)) | 1)
            return
        self._pc = address
        if self._tracing:
            self._trace.append((address, tuple(int(uc.reg_read(r)) for r in TRACE_REGS) if self._registers else ()))
        elif self._loop is not None:
            if self._reads and address not in self._loop:
                self._exit = self._last
                uc.emu_stop()
            self._last = address

    def _mmio_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        return self._read_at(uc, 0x40000000 + offset, size)

    def _read_at(self, uc: Uc, address: int, size: int) -> int:
        mask = (1 << (8 * size)) - 1
        if address != self._address:
            return self.mmio_value(address) & mask
        if self._poll_pc is None:
            self._poll_pc = self._pc  # the first read in the loop is the one to follow
        if self._tracing and len(self._marks) < 2:
            self._readers.add(self._pc)
        if self._pc == self._poll_pc:
            self._reads += 1
            if self._tracing:
                self._marks.append(len(self._trace) - 1)
            if self._reads >= self._stop_at:
                uc.emu_stop()
        return self._value & mask

    def _mmio_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        return None
