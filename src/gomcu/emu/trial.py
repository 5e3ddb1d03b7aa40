"""A second unicorn engine on which the poll solver tries answers without touching the run.

Why a second engine: the solver must know what the firmware does with a value before answering
it, and the firmware's own code is the only exact description of that (flag tricks such as
TinyGo's `HasBits` compile to `ands; subs; sbcs; lsls; beq`). So a trial starts from the
registers of the moment of the read, on a private copy of RAM (restored before every trial),
answers the candidate at the polled address and reports whether the code came back to the same
read ("stay") or not within the limit ("left"). Nothing here runs during the main run: trials
happen only when a spin is detected, a few dozen short runs per decision.
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
    """The run at the moment of a read: registers and the contents of every RAM region."""

    regs: tuple[int, ...]
    ram: tuple[tuple[int, bytes], ...]


@dataclass
class Outcome:
    """What one trial did. `kind`: STAY (came back to the read), LEFT (ran an instruction outside
    the loop), ERROR (faulted) or "" (neither within the limit). `trace`: the instructions of one
    iteration (pc, registers r0-r12, sp, lr before each), for the first trial; `exit_pc`: the
    last loop instruction before leaving."""

    kind: str
    trace: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    exit_pc: int | None = None
    readers: frozenset[int] = frozenset()


class TrialEngine:
    """Unicorn set up like the run's board (memory copied, MMIO answered from the model)."""

    def __init__(self, cpu_model: int, regions: tuple[tuple[int, int, bool], ...],
                 read: Callable[[int, int], bytes], mmio_value: Callable[[int, int], int]) -> None:
        """`regions`: (origin, length, writable) of every memory region; `read` reads the run's
        memory; `mmio_value(address, pc)` is what the model answers there now (other registers)."""
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
        self.uc.hook_add(UC_HOOK_MEM_INVALID, lambda *a: False)
        self._poll: tuple[int, int] = (0, 0)
        self._value = self._reads = self._stop_at = 0
        self._stayed = self._tracing = False
        self._loop: frozenset[int] | None = None
        self._exit: int | None = None
        self._last = 0
        self._trace: list[tuple[int, tuple[int, ...]]] = []
        self._marks: list[int] = []
        self._readers: set[int] = set()
        self._answer_at: frozenset[int] = frozenset()
        # One code hook for the engine's life: hooks added later miss code already translated.
        self.uc.hook_add(UC_HOOK_CODE, self._code)

    def snapshot(self, main: Uc) -> Snapshot:
        regs = tuple(int(main.reg_read(r)) for r in STATE_REGS)
        return Snapshot(regs, tuple((o, self.read(o, n)) for o, n in self.ram))

    def iteration(self, snap: Snapshot, pc: int, address: int, value: int, limit: int) -> Outcome:
        """Answer `value` at the read of `address` by `pc` and record the loop around it: STAY
        with the trace of one iteration when the next two iterations run the same instructions
        (a loop that does not depend on anything but this value), else "" (not a poll)."""
        self._start(snap, pc, address, value, reads=3, loop=None, trace=True)
        self._go(pc, limit)
        marks, trace = self._marks, self._trace
        if len(marks) == 3 and [a for a, _ in trace[marks[0]:marks[1]]] == [a for a, _ in trace[marks[1]:marks[2]]]:
            return Outcome(STAY, trace[marks[0]:marks[1] + 1], readers=frozenset(self._readers))
        return Outcome("")

    def attempt(self, snap: Snapshot, pc: int, address: int, value: int, loop: frozenset[int],
                readers: frozenset[int], limit: int) -> Outcome:
        """Answer `value` to the reads of `address` by `readers` (the instructions of the loop
        that read it) and see whether the code leaves `loop` (the pcs of one iteration)."""
        self._start(snap, pc, address, value, reads=2, loop=loop, trace=False)
        self._answer_at = readers
        failed = self._go(pc, limit)
        if self._exit is not None:
            return Outcome(LEFT, exit_pc=self._exit)
        return Outcome(STAY if self._stayed else ERROR if failed else "")

    def _start(self, snap: Snapshot, pc: int, address: int, value: int, reads: int,
               loop: frozenset[int] | None, trace: bool) -> None:
        uc = self.uc
        for origin, data in snap.ram:
            uc.mem_write(origin, data)
        for reg, v in zip(STATE_REGS, snap.regs):
            uc.reg_write(reg, v)
        self._poll, self._value, self._reads, self._stop_at = (pc, address), value, 0, reads
        self._stayed, self._loop, self._exit, self._last = False, loop, None, pc
        self._tracing, self._trace, self._marks = trace, [], []
        self._readers, self._answer_at = {pc}, frozenset({pc})

    def _go(self, pc: int, limit: int) -> bool:
        try:
            self.uc.emu_start(pc | 1, 0xFFFFFFFF, count=limit)
        except UcError:
            return True
        return False

    def _code(self, uc: Uc, address: int, size: int, _ud: object) -> None:
        if self._tracing:
            self._trace.append((address, tuple(int(uc.reg_read(r)) for r in TRACE_REGS)))
        elif self._loop is not None:
            if address not in self._loop:
                self._exit = self._last
                uc.emu_stop()
            self._last = address

    def _mmio_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        address = 0x40000000 + offset
        pc = int(uc.reg_read(A.UC_ARM_REG_PC))
        if address == self._poll[1] and pc != self._poll[0]:
            if self._tracing and len(self._marks) < 2:
                self._readers.add(pc)
            if pc in self._answer_at:
                return self._value & ((1 << (8 * size)) - 1)
        if (pc, address) == self._poll:
            self._reads += 1
            if self._tracing:
                self._marks.append(len(self._trace) - 1)
            if self._reads >= self._stop_at:
                self._stayed = True
                uc.emu_stop()
            return self._value & ((1 << (8 * size)) - 1)
        return self.mmio_value(address, pc) & ((1 << (8 * size)) - 1)

    def _mmio_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        return None
