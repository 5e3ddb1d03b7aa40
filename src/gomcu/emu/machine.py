"""The machine: unicorn set up as a board, the run loop, and the probes' hooks.

Time base: `native.py` counts instructions per translation block and stops emulation at the
first block boundary at or after the next event (SysTick expiry, an injected interrupt, the
budget, or a slice end for the wall-clock check), so no Python runs per block. Python runs
only at events, exception entry/return, semihosting and MMIO.

Probes: with the native time base the probes' hooks run in C too (`_fastblock.c`, through
`native.NativeProbes`), and Python turns their records into results after each emu_start;
with the pure-Python time base the methods below (`_open_frame`, `_ret_hook`, ...) do the same
work as Python hooks. Both give identical results (tests/test_emu.py checks it).
"""

from __future__ import annotations

import ctypes
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from unicorn import (
    UC_ARCH_ARM,
    UC_HOOK_CODE,
    UC_HOOK_INTR,
    UC_HOOK_MEM_READ,
    UC_HOOK_MEM_READ_UNMAPPED,
    UC_HOOK_MEM_WRITE,
    UC_HOOK_MEM_WRITE_UNMAPPED,
    UC_MODE_MCLASS,
    UC_MODE_THUMB,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_ERR_INSN_INVALID,
    UC_PROT_READ,
    Uc,
    UcError,
)
from unicorn import arm_const as A
from unicorn.unicorn_const import UC_MEM_READ_UNMAPPED, UC_MEM_WRITE, UC_MEM_WRITE_UNMAPPED

from gomcu.emu import clock, unwind
from gomcu.emu.boards import Board
from gomcu.emu.hooks import HOOK_BKPT, Hook, XorShift32
from gomcu.emu.native import (
    K_ALLOC,
    K_CREATE,
    K_FUNC,
    K_RESTART,
    K_SALLOC,
    S_MSP,
    STOP_TRAP,
    TRAP_LOW,
    loc_code,
    make_timebase,
    thumb_insn_count,
)
from gomcu.emu.itm import Itm
from gomcu.emu.mpu import Mpu
from gomcu.emu.nvic import SVCALL, ExceptionModel, StackingFault, exception_name
from gomcu.emu.peripherals import Uart, UnknownMmio
from gomcu.emu.polls import PollSolver
from gomcu.emu.profiler import BlockProfiler
from gomcu.emu.pl022 import Pl022
from gomcu.emu.stellaris_sysctl import StellarisSysctl
from gomcu.emu.probes import PAINT, AllocProbe, FunctionProbe, Injection, SpanProbe, StackProbe, location
from gomcu.emu.result import (
    Allocation,
    Fault,
    FunctionTiming,
    InterruptSample,
    HookUse,
    MmioRecord,
    NvicState,
    RunResult,
    Span,
    StackUse,
)
from gomcu.emu.semihosting import Semihosting
from gomcu.emu.timers import TimerModel, make_timer
from gomcu.errors import EmulationError

SLICE = 5_000_000  # instructions between wall-clock checks when no event comes sooner
PAINT_BYTES = PAINT.to_bytes(4, "little")

_CPU_MODELS = {
    "cortex-m0": "UC_CPU_ARM_CORTEX_M0", "cortex-m0plus": "UC_CPU_ARM_CORTEX_M0",
    "cortex-m3": "UC_CPU_ARM_CORTEX_M3", "cortex-m4": "UC_CPU_ARM_CORTEX_M4",
    "cortex-m4f": "UC_CPU_ARM_CORTEX_M4", "cortex-m7": "UC_CPU_ARM_CORTEX_M7",
    "cortex-m7f": "UC_CPU_ARM_CORTEX_M7", "cortex-m33": "UC_CPU_ARM_CORTEX_M33",
    "cortex-m33f": "UC_CPU_ARM_CORTEX_M33",
}
_REG_NAMES = [(f"r{i}", getattr(A, f"UC_ARM_REG_R{i}")) for i in range(13)] + [
    ("sp", A.UC_ARM_REG_SP), ("lr", A.UC_ARM_REG_LR), ("pc", A.UC_ARM_REG_PC),
    ("xpsr", A.UC_ARM_REG_XPSR), ("control", A.UC_ARM_REG_CONTROL), ("primask", A.UC_ARM_REG_PRIMASK),
    ("basepri", A.UC_ARM_REG_BASEPRI), ("msp", A.UC_ARM_REG_MSP), ("psp", A.UC_ARM_REG_PSP)]


@dataclass
class _Frame:
    """An open call of a probed function, closed when execution reaches `ret` with `sp` again."""

    ret: int
    sp: int
    insns: int
    cycles: int
    exc_insns: int
    on_return: Callable[["_Frame"], None]
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Sample:
    exc: int
    pend_cycle: int
    entry_cycle: int
    pc_at_pend: int
    active_at_pend: int
    injected: bool
    tail: bool
    entry_insns: int
    nested: int = 0
    frame: int = 0  # where entry stacked the interrupted context


@dataclass
class _Stack:
    name: str
    kind: str
    bottom: int
    top: int
    created: int
    skip: int = 0
    used: int = 0
    closed: bool = False
    paint: bytes = PAINT_BYTES
    entry: int = 0  # the create call's first argument (a goroutine's start function)
    batch: int = 0  # which create call made it
    frame: tuple[int, ...] = ()  # the top 16 words when the create call returned (its initial frame)


class Machine:
    def __init__(self, image: Any, board: Board, *, board_reason: str = "",
                 stack_probes: tuple[StackProbe, ...] = (), function_probes: tuple[FunctionProbe, ...] = (),
                 alloc_probes: tuple[AllocProbe, ...] = (), injections: tuple[Injection, ...] = (),
                 max_insns: int = 200_000_000, timeout: float | None = 60.0, stdin: bytes = b"",
                 prefer_native: bool = True, progress: Callable[[int, int], None] | None = None,
                 record_limit: int = 100_000, hooks: tuple[Hook, ...] = (),
                 milestones: tuple[str, ...] = (), profile_blocks: bool = False,
                 snapshot: bool = False, span_probes: tuple[SpanProbe, ...] = ()) -> None:
        from gomcu.image import Arch

        if image.arch != Arch.ARM:
            raise EmulationError(f"{image.path}: the emulator runs Cortex-M firmware; this ELF is {image.arch.value}")
        self.image = image
        self.board = board
        self.board_reason = board_reason
        self.timing = clock.timing_for(board.cpu)
        self.max_insns = max_insns
        self.timeout = timeout
        self.progress = progress
        self.record_limit = record_limit
        self.snapshot = snapshot
        self.uc = Uc(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS)
        model = getattr(A, _CPU_MODELS.get(board.cpu, "UC_CPU_ARM_CORTEX_M4" if board.has_fpu else "UC_CPU_ARM_CORTEX_M3"))
        self.uc.ctl_set_cpu_model(model)
        self._buffers: list[Any] = []
        self._map_memory()
        self.tb = make_timebase(self.uc, prefer_native)
        self.extra = 0  # cycles not from instructions: exception overhead and WFI sleep
        self.idle = 0
        self.streams: dict[str, bytearray] = {}
        self.output = bytearray()
        self.nvic = ExceptionModel(self.uc, board.num_irqs, board.priority_bits, board.has_fpu,
                                   self.cycles, self._pc)
        regions = tuple((m.origin, m.length, m.kind == "ram") for m in board.memory)
        names = board.run.peripheral_at if board.run is not None else None
        extra = tuple((b.base, (b.size + 0xFFF) & ~0xFFF) for b in board.run.mmio) if board.run is not None else ()
        self.unknown = UnknownMmio(self._pc, PollSolver(self.uc, image, regions, model, lambda: self.tb.count,
                                                        names, extra), self.tb.request_stop)
        self.nvic.unknown_access = self.unknown.access
        self.nvic.demcr |= 1 << 24  # TRCENA: a debugger is attached and captures the ITM (itm.py)
        self.itm = Itm(self._emit, lambda: bool(self.nvic.demcr >> 24 & 1))
        self.mpu = Mpu()
        self._guards: tuple[tuple[int, int], ...] = ()
        self._guard_hooks: list[Any] = []
        self.uarts = [Uart(spec, i, self._emit) for i, spec in enumerate(board.uarts)]
        self.timers: list[TimerModel] = []
        for spec in (board.run.timers + board.run.devices if board.run is not None else ()) + board.timers:
            t = make_timer(spec, self.cycles, board.clock_hz)
            if t is not None:
                self.timers.append(t)
        self._aliases = board.run.atomic_aliases if board.run is not None else ()
        self.sysctl = StellarisSysctl(board.stellaris_sysctl) if board.stellaris_sysctl is not None else None
        #: devices with plain register files: read(offset) / write(offset, value)
        self.devices: list[StellarisSysctl | Pl022] = ([self.sysctl] if self.sysctl is not None else []) + [
            Pl022(base) for base in board.ssp]
        self.semihosting = Semihosting(self._read, self._emit, self.cycles, board.clock_hz, stdin)
        self._map_devices()
        self.uc.hook_add(UC_HOOK_INTR, self._on_intr)
        self.exit_code: int | None = None
        self.stop: str | None = None
        self.message = ""
        self.fault: Fault | None = None
        self.exc_insns = 0
        self._exc_entry_insns: list[int] = []
        self._samples: list[_Sample] = []
        self.interrupts: list[InterruptSample] = []
        self.exception_counts: dict[str, int] = {}
        self._just_returned = False
        self.injections = [i.schedule() for i in injections]
        self.notes: list[str] = []
        # probes
        self._entry_handlers: dict[int, list[Callable[[int], None]]] = {}
        self._frames: list[_Frame] = []
        self._ret_hooked: set[int] = set()
        self.stacks: list[_Stack] = []
        self._stack_probes = stack_probes
        self._creating = 0
        self._create_arg = 0
        self._creates = 0
        self._func_stats: dict[int, dict[str, Any]] = {}
        self._func_keys: list[int] = []
        self._caller_names: dict[int, str] = {}
        self.allocations: list[Allocation] = []
        self._native = getattr(self.tb, "probes", None)
        self._install_probes(stack_probes, function_probes, alloc_probes)
        self._hooks: dict[int, Hook] = {}
        self._hook_calls: dict[int, int] = {}
        self._hook_uses: list[tuple[Hook, int | None]] = []
        self._rng = XorShift32()
        self._install_hooks(hooks)
        self.spans: list[Span] = []
        self._open_spans: dict[int, tuple[SpanProbe, str | None, int, int]] = {}
        for i, probe in enumerate(span_probes):
            self._install_span(i, probe)
        self.reached: dict[str, int] = {}
        for name in milestones:
            sym = image.symbol(name)
            if sym is not None:
                addr = int(sym.address) & ~1
                self.uc.hook_add(UC_HOOK_CODE, self._milestone(name), begin=addr, end=addr)
        self.profiler = BlockProfiler(self.uc, lambda: self.tb.count, lambda: bool(self.nvic.active)) \
            if profile_blocks else None

    # -- memory -------------------------------------------------------------------------
    def _map_memory(self) -> None:
        storage: dict[str, Any] = {}
        for m in self.board.memory:
            if m.origin % 0x1000 or m.length % 0x1000:
                raise EmulationError(f"board {self.board.name}: region {m.name} is not 4 KiB aligned")
            if m.mirror_of:
                buf = storage[m.mirror_of]
            else:
                buf = ctypes.create_string_buffer(m.length)
                storage[m.name] = buf
                self._buffers.append(buf)
            perms = UC_PROT_READ | UC_PROT_EXEC if m.kind == "rom" else UC_PROT_ALL
            self.uc.mem_map_ptr(m.origin, m.length, perms, ctypes.addressof(buf))
        # EXC_RETURN trap page: never executed (the time base stops before it), only fetched.
        self.uc.mem_map(0xFFFFF000, 0x1000, UC_PROT_READ | UC_PROT_EXEC)
        self.uc.mem_write(0xFFFFF000, b"\x00\xbe" * 0x800)
        for sec in self.image.sections:
            if not sec.alloc or sec.size == 0:
                continue
            if not self._mapped(sec.vma, sec.size):
                raise EmulationError(f"section {sec.name} at 0x{sec.vma:08x} ({sec.size} bytes) is outside "
                                     f"the memory of board {self.board.name}")
            if sec.nobits:
                continue
            if not self._mapped(sec.lma, sec.size):
                raise EmulationError(f"section {sec.name} load address 0x{sec.lma:08x} is outside "
                                     f"the memory of board {self.board.name}")
            self.uc.mem_write(sec.lma, self.image.section_bytes(sec))
        if self.board.run is not None:
            self._fill_info_pages()

    def _fill_info_pages(self) -> None:
        """Info pages read as the run model gives them: `fill` bytes, then the listed words."""
        assert self.board.run is not None
        for page in self.board.run.info:
            if not any(m.name == page.name and m.origin == page.origin for m in self.board.memory):
                continue  # overlaps a region of the chip entry: that region is kept
            self.uc.mem_write(page.origin, bytes([page.fill & 0xFF]) * page.length)
            for addr, value in page.words:
                self.uc.mem_write(addr, struct.pack("<I", value & 0xFFFFFFFF))

    def _mapped(self, addr: int, size: int) -> bool:
        return any(m.origin <= addr and addr + size <= m.origin + m.length for m in self.board.memory)

    def _map_devices(self) -> None:
        self.uc.mmio_map(0x40000000, 0x20000000, self._periph_read, None, self._periph_write, None)
        self.uc.mmio_map(0xE0000000, 0x100000, self._ppb_read, None, self._ppb_write, None)
        if self.board.bitband and any(m.origin == 0x20000000 for m in self.board.memory):
            self.uc.mmio_map(0x22000000, 0x2000000, self._bitband_read, None, self._bitband_write, None)
        if self.board.run is not None:
            for block in self.board.run.mmio:
                base = block.base
                self.uc.mmio_map(base, (block.size + 0xFFF) & ~0xFFF,
                                 lambda uc, off, size, _ud, b=base: self._block_read(b + off, size), None,
                                 lambda uc, off, size, value, _ud, b=base: self._block_write(b + off, size, value),
                                 None)

    def _block_read(self, addr: int, size: int) -> int:
        """A read in a run model's extra MMIO block (outside 0x40000000-0x5fffffff)."""
        t = self._timer_at(addr)
        return t.read(addr - t.base, size) if t is not None else self.unknown.access(addr, size, False, 0)

    def _block_write(self, addr: int, size: int, value: int) -> None:
        t = self._timer_at(addr)
        if t is not None:
            t.write(addr - t.base, size, value)
        else:
            self.unknown.access(addr, size, True, value)

    def _read(self, addr: int, size: int) -> bytes:
        return bytes(self.uc.mem_read(addr, size))

    def _word(self, addr: int) -> int:
        return int(struct.unpack("<I", self._read(addr, 4))[0])

    def _emit(self, stream: str, data: bytes) -> None:
        self.streams.setdefault(stream, bytearray()).extend(data)
        self.output.extend(data)

    def _pc(self) -> int:
        return int(self.uc.reg_read(A.UC_ARM_REG_PC))

    # -- devices --------------------------------------------------------------------------
    def _uart_at(self, addr: int) -> Uart | None:
        for u in self.uarts:
            if u.spec.base <= addr < u.spec.base + 0x1000:
                return u
        return None

    def _timer_at(self, addr: int) -> TimerModel | None:
        for t in self.timers:
            if t.base <= addr < t.base + t.size:
                return t
        return None

    def _alias(self, addr: int) -> tuple[int, int]:
        """(canonical address, operation) of an access: 0 plain, 1 XOR, 2 SET, 3 CLEAR (RP2040's
        atomic register aliases at +0x1000/+0x2000/+0x3000)."""
        for lo, hi in self._aliases:
            if lo <= addr < hi:
                return addr & ~0x3000, (addr >> 12) & 3
        return addr, 0

    def _periph_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        addr = 0x40000000 + offset
        if 0x42000000 <= addr < 0x44000000 and self.board.bitband:
            return self._periph_bitband(addr, None)
        if self._aliases:
            addr = self._alias(addr)[0]
        t = self._timer_at(addr)
        if t is not None:
            return t.read(addr - t.base, size)
        u = self._uart_at(addr)
        if u is not None:
            return u.read(addr - u.spec.base, size)
        for d in self.devices:
            if d.contains(addr):
                return d.read(addr - d.base)
        return self.unknown.access(addr, size, False, 0)

    def _periph_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        addr = 0x40000000 + offset
        if 0x42000000 <= addr < 0x44000000 and self.board.bitband:
            self._periph_bitband(addr, value)
            return
        op = 0
        if self._aliases:
            addr, op = self._alias(addr)
        t = self._timer_at(addr)
        if t is not None:
            if op:
                value = self._atomic(t.read(addr - t.base, size), value, op)
            before = t.next_event()
            t.write(addr - t.base, size, value)
            if t.next_event() != before:
                self.tb.request_stop()  # the next timer event moved: re-arm the deadline
            return
        u = self._uart_at(addr)
        if u is not None:
            u.write(addr - u.spec.base, size, value)
            return
        if op:
            value = self._atomic(self.unknown.values.get(addr, 0), value, op)
        for d in self.devices:
            if d.contains(addr):
                d.write(addr - d.base, value)
                return
        self.unknown.access(addr, size, True, value)

    @staticmethod
    def _atomic(current: int, value: int, op: int) -> int:
        return current ^ value if op == 1 else current | value if op == 2 else current & ~value

    def _periph_bitband(self, addr: int, value: int | None) -> int:
        word = 0x40000000 + ((addr - 0x42000000) >> 5 & ~3)
        bit = ((addr - 0x42000000) >> 2) & 31
        cur = self._periph_read(self.uc, word - 0x40000000, 4, None)
        if value is None:
            return (cur >> bit) & 1
        self._periph_write(self.uc, word - 0x40000000, 4, (cur & ~(1 << bit)) | ((value & 1) << bit), None)
        return 0

    def _bitband_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        word = 0x20000000 + (offset >> 5 & ~3)
        return (self._word(word) >> ((offset >> 2) & 31)) & 1

    def _bitband_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        word = 0x20000000 + (offset >> 5 & ~3)
        bit = (offset >> 2) & 31
        cur = self._word(word)
        self.uc.mem_write(word, struct.pack("<I", (cur & ~(1 << bit)) | ((value & 1) << bit)))

    def _ppb_read(self, uc: Uc, offset: int, size: int, _ud: object) -> int:
        addr = 0xE0000000 + offset
        if self._unprivileged() and self._ppb_denied(addr):
            self._set_fault(f"BusFault: unprivileged read of 0x{addr:08x} (System Control Space) at "
                            f"{self._where(self._pc())}")
            return 0
        if self.itm.contains(addr):
            return self.itm.read(addr, size)
        if self.mpu.contains(addr):
            return self.mpu.read(addr) >> ((addr & 3) * 8) & ((1 << (size * 8)) - 1)
        return self.nvic.read(addr, size)

    def _ppb_write(self, uc: Uc, offset: int, size: int, value: int, _ud: object) -> None:
        addr = 0xE0000000 + offset
        if self._unprivileged() and self._ppb_denied(addr):
            self._set_fault(f"BusFault: unprivileged write to 0x{addr:08x} (System Control Space) at "
                            f"{self._where(self._pc())}")
            return
        if self.itm.contains(addr):
            self.itm.write(addr, size, value)
            return
        if self.mpu.contains(addr):
            self.mpu.write(addr, value)
            if self.mpu.guards() != self._guards:
                self._set_guards(self.mpu.guards())
            return
        self.nvic.write(addr, size, value)
        if self.nvic.changed:
            self.tb.request_stop()  # re-evaluate delivery and the next SysTick deadline

    # -- privilege and the MPU ------------------------------------------------------------
    def _unprivileged(self) -> bool:
        """Thread mode with CONTROL.nPRIV set (handler mode is always privileged)."""
        uc = self.uc
        return not uc.reg_read(A.UC_ARM_REG_IPSR) & 0x1FF and bool(uc.reg_read(A.UC_ARM_REG_CONTROL) & 1)

    def _ppb_denied(self, addr: int) -> bool:
        """Unprivileged access to the PPB is a BusFault, except the ITM stimulus ports ITM_TPR
        opens and STIR with CCR.USERSETMPEND (ARMv7-M B3.2)."""
        if self.itm.contains(addr):
            return self.itm.privileged_only(addr)
        return not (addr & ~3 == 0xE000EF00 and self.nvic.ccr & 2)

    def _set_guards(self, guards: tuple[tuple[int, int], ...]) -> None:
        """Check every access to the MPU's no-access regions (a fault there stops the run)."""
        for h in self._guard_hooks:
            self.uc.hook_del(h)
        self._guard_hooks = []
        self._guards = guards
        for lo, hi in guards:
            for kinds in (UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, UC_HOOK_MEM_READ_UNMAPPED | UC_HOOK_MEM_WRITE_UNMAPPED):
                self._guard_hooks.append(self.uc.hook_add(kinds, self._guard_access, begin=lo, end=hi - 1))
            self._guard_hooks.append(self.uc.hook_add(UC_HOOK_CODE, self._guard_fetch, begin=lo, end=hi - 1))
            self.uc.ctl_remove_cache(lo, hi)

    def _guard_access(self, uc: Uc, access: int, address: int, size: int, value: int, _ud: object) -> bool:
        write = access in (UC_MEM_WRITE, UC_MEM_WRITE_UNMAPPED)
        allowed, region = self.mpu.allows(address, not self._unprivileged(), write)
        if allowed:
            return access not in (UC_MEM_READ_UNMAPPED, UC_MEM_WRITE_UNMAPPED)
        what = "write to" if write else "read of"
        nil = " (a nil dereference)" if address < 0x1000 else ""
        where = f"MPU region {region.number}, no access" if region is not None else "no MPU region, unprivileged"
        self._set_fault(f"MemManage fault: {what} 0x{address:08x}{nil} denied ({where}) at {self._where(self._pc())}")
        return False

    def _guard_fetch(self, uc: Uc, address: int, size: int, _ud: object) -> None:
        if not self.mpu.allows(address, not self._unprivileged(), False)[0]:
            self._set_fault(f"MemManage fault: instruction fetch from 0x{address:08x} denied by the MPU "
                            f"(jumped there from {self._where(int(uc.reg_read(A.UC_ARM_REG_LR)) & ~1)})", pc=address)

    # -- interrupts from unicorn --------------------------------------------------------
    def _on_intr(self, uc: Uc, intno: int, _ud: object) -> None:
        pc = self._pc()
        if pc >= TRAP_LOW:
            # EXC_RETURN branch: unicorn reports it as EXCEPTION_EXIT (8) or, when the code was
            # translated as thread mode, as a prefetch abort from the execute-never system region.
            uc.emu_stop()
            return
        if intno == 7 and pc in self._hooks:
            self._hook(pc)
            return
        if intno == 7:  # BKPT
            hw = int.from_bytes(self._read(pc, 2), "little")
            if hw == 0xBEAB:
                r0, r1 = uc.reg_read(A.UC_ARM_REG_R0), uc.reg_read(A.UC_ARM_REG_R1)
                try:
                    ret = self.semihosting.call(r0, r1)
                except UcError as e:
                    self._set_fault(f"semihosting call 0x{r0:x}: bad argument block at 0x{r1:08x} ({e})")
                    return
                uc.reg_write(A.UC_ARM_REG_R0, ret & 0xFFFFFFFF)
                uc.reg_write(A.UC_ARM_REG_PC, (pc + 2) | 1)
                if self.semihosting.state.exit_code is not None:
                    self.exit_code = self.semihosting.state.exit_code
                    self.stop = "exit"
                    self.tb.request_stop()
                return
            self._set_fault(f"breakpoint bkpt 0x{hw & 0xFF:02x} at 0x{pc:08x}")
            return
        if intno == 2:  # SVC: PC is after the instruction
            self.nvic.set_pending(SVCALL, pc=pc)
            self.tb.request_stop()
            return
        if intno == 8:  # EXCP_EXCEPTION_EXIT: PC holds the EXC_RETURN value
            self.tb.request_stop()
            return
        names = {1: "undefined instruction", 5: "data abort", 3: "prefetch abort", 10: "invalid state (Thumb bit clear)",
                 17: "no coprocessor (FPU disabled?)", 18: "invalid state"}
        self._set_fault(f"{names.get(intno, f'CPU exception {intno}')} at 0x{pc:08x}")

    def _set_fault(self, message: str, pc: int | None = None) -> None:
        if self.stop is None:
            self.stop = "fault"
            self.message = message
            self.fault = self._fault_record(message, pc)
        self.tb.request_stop()
        try:
            self.uc.emu_stop()
        except UcError:
            pass

    def _fault_record(self, message: str, pc: int | None) -> Fault:
        regs = {name: int(self.uc.reg_read(r)) for name, r in _REG_NAMES}
        if self._unprivileged():  # MSP and PSP read as 0 there: say what SP is instead
            del regs["msp"], regs["psp"]
            regs["psp" if regs["control"] & 2 else "msp"] = regs["sp"]
        if pc is not None:
            regs["pc"] = pc
        bt = [self._where(regs["pc"]), self._where(regs["lr"] & ~1)]
        for exc in reversed(self.nvic.active):
            bt.append(f"in {exception_name(exc)}")
        return Fault(message, regs["pc"], regs, tuple(bt))

    def _where(self, addr: int) -> str:
        f = self.image.function_at(addr)
        name = f"{f.name}+0x{addr - f.address:x}" if f else "(in no function symbol)"
        line = self.image.line_for(addr) if f else None
        return f"0x{addr:08x} {name}" + (f" ({line})" if line else "")

    # -- time -------------------------------------------------------------------------------
    def cycles(self) -> int:
        return self.tb.count + self.extra

    def _insns_at(self, pc: int) -> int:
        addr, start, n = self.tb.block
        if addr == pc:
            return start
        if addr < pc < addr + 4 * n:
            return start + thumb_insn_count(self._read(addr, pc - addr))
        return self.tb.count

    def _next_event(self, wake: bool = False) -> int | None:
        """The next cycle something happens; with `wake`, the next that can end a sleep (an
        interrupt), not a flag that only a poll would see."""
        events = [s.next_cycle for s in self.injections if s.next_cycle is not None]
        st = self.nvic.systick
        if st.enabled and st.zero_at is not None:
            events.append(st.zero_at)
        for t in self.timers:
            at = t.next_event(wake)
            if at is not None:
                events.append(at)
        return min(events) if events else None

    def _fire_events(self) -> None:
        now = self.cycles()
        st = self.nvic.systick
        while st.enabled and st.zero_at is not None and st.zero_at <= now:
            at = st.zero_at
            if st.fire():
                self.nvic.set_pending(15, cycle=at)
        for t in self.timers:
            for irq, at in t.fire(now):
                if irq < self.board.num_irqs:
                    self.nvic.set_pending(16 + irq, cycle=at)
        for s in self.injections:
            while s.next_cycle is not None and s.next_cycle <= now:
                irq = 16 + s.spec.irq
                if irq - 16 < self.board.num_irqs:
                    self.nvic.set_pending(irq, cycle=s.next_cycle, injected=True)
                s.advance()

    # -- exceptions -------------------------------------------------------------------------
    def _deliver(self) -> None:
        while True:
            exc = self.nvic.takeable()
            if exc is None:
                return
            rec = self.nvic.pending[exc]
            # Tail-chaining saves the return's cost only for an exception pending when the return
            # began: one pended during it (its cycles are already counted) is a full entry, else
            # its latency would come out below zero.
            tail = self._just_returned and rec.cycle <= self.cycles() - self.timing.exit
            overhead = self.timing.entry if not tail else self.timing.tailchain - self.timing.exit
            try:
                handler, fp = self.nvic.enter(exc)
            except StackingFault as e:
                self._set_fault(str(e))
                return
            except EmulationError as e:
                self._set_fault(str(e))
                return
            overhead += self.timing.fp_frame if fp else 0
            self.extra += overhead
            self.uc.reg_write(A.UC_ARM_REG_PC, handler | 1)
            name = exception_name(exc)
            self.exception_counts[name] = self.exception_counts.get(name, 0) + 1
            self._exc_entry_insns.append(self.tb.count)
            self._samples.append(_Sample(exc, rec.cycle, self.cycles(), rec.pc, rec.active, rec.injected,
                                         tail, self.tb.count, frame=self.nvic.stacked_at))
            self._just_returned = False

    def _return(self, exc_return: int) -> None:
        try:
            exc = self.nvic.exit(exc_return)
        except EmulationError as e:
            self._set_fault(str(e))
            return
        self.extra += self.timing.exit
        now = self.cycles()
        entry_insns = self._exc_entry_insns.pop() if self._exc_entry_insns else self.tb.count
        if not self._exc_entry_insns:
            self.exc_insns += self.tb.count - entry_insns
        if self._samples:
            s = self._samples.pop()
            duration = now - s.entry_cycle
            if self._samples:
                self._samples[-1].nested += duration + (s.entry_cycle - s.pend_cycle if s.pend_cycle > self._samples[-1].entry_cycle else 0)
            if len(self.interrupts) < self.record_limit:
                f = self.image.function_at(s.pc_at_pend)
                self.interrupts.append(InterruptSample(
                    exception=s.exc, name=exception_name(s.exc), injected=s.injected,
                    pend_cycle=s.pend_cycle, entry_cycle=s.entry_cycle,
                    latency_cycles=s.entry_cycle - s.pend_cycle, exit_cycle=now, duration_cycles=duration,
                    exclusive_cycles=duration - s.nested, pc_at_pend=s.pc_at_pend,
                    function_at_pend=f.name if f else None, active_at_pend=s.active_at_pend,
                    tail_chained=s.tail, switched=self.nvic.unstacked_from != s.frame))
        self._just_returned = True
        del exc

    # -- boundary hooks (see hooks.py) ---------------------------------------------------------
    def _install_hooks(self, hooks: tuple[Hook, ...]) -> None:
        for h in hooks:
            sym = self.image.symbol(h.function)
            addr = int(sym.address) & ~1 if sym is not None else None
            self._hook_uses.append((h, addr))
            if h.action == "yield":
                if addr is not None and self.unknown.solver is not None:
                    self.unknown.solver.skip |= {addr}
                continue
            if addr is None or not self.board.rehosted or addr in self._hooks or (
                    h.fallback and self.board.run is not None and self.board.run.timers):
                continue
            self._hooks[addr] = h
            self._hook_calls[addr] = 0
            self.uc.mem_write(addr, struct.pack("<H", HOOK_BKPT))

    def _hook_unit(self, h: Hook) -> int:
        run = self.board.run
        unit = h.unit_for(run.family if run else None, run.tick_hz if run else None)
        return unit or self.board.clock_hz

    def _reg_pair(self, bits: int) -> int:
        lo = int(self.uc.reg_read(A.UC_ARM_REG_R0))
        return lo | (int(self.uc.reg_read(A.UC_ARM_REG_R1)) << 32 if bits == 64 else 0)

    def _hook(self, pc: int) -> None:
        """Perform a hook's action, then return to the caller."""
        h = self._hooks[pc]
        self._hook_calls[pc] += 1
        uc = self.uc
        if h.action == "putchar":
            self._emit("console", bytes([int(uc.reg_read(A.UC_ARM_REG_R0)) & 0xFF]))
        elif h.action == "ticks":
            value = self.cycles() * self._hook_unit(h) // self.board.clock_hz
            uc.reg_write(A.UC_ARM_REG_R0, value & 0xFFFFFFFF)
            if h.bits == 64:
                uc.reg_write(A.UC_ARM_REG_R1, (value >> 32) & 0xFFFFFFFF)
        elif h.action == "random":
            uc.reg_write(A.UC_ARM_REG_R0, self._rng.next())
            for i in range(1, min(h.results, 4)):
                uc.reg_write(getattr(A, f"UC_ARM_REG_R{i}"), 0)
        elif h.action in ("sleep", "wait"):
            now = self.cycles()
            wake = self._next_event(wake=True)
            if h.action == "sleep":
                d = self._reg_pair(h.bits)
                if d >= 1 << (h.bits - 1):
                    d = 0  # a negative duration: no sleep
                end = now + -(-d * self.board.clock_hz // self._hook_unit(h))
                wake = end if wake is None else min(wake, end)
            if wake is None:
                self.stop = "deadlock"
                self.message = f"{h.function} waits with no interrupt that can wake it, at {self._where(int(uc.reg_read(A.UC_ARM_REG_LR)) & ~1)}"
            elif wake > now:
                self.extra += wake - now
                self.idle += wake - now
        uc.reg_write(A.UC_ARM_REG_PC, int(uc.reg_read(A.UC_ARM_REG_LR)) | 1)
        self.tb.request_stop()  # time may have moved: fire events, re-arm the deadline

    def _install_span(self, index: int, probe: SpanProbe) -> None:
        """Open a span at `begin`'s entry (unless one is open), close it when `end` returns."""
        begin, end = self._resolve(probe.begin), self._resolve(probe.end)

        def opened(uc: Uc, address: int, size: int, _ud: object) -> None:
            if index not in self._open_spans:
                insns = self._insns_at(address)
                caller = self._name(int(uc.reg_read(A.UC_ARM_REG_LR)) & ~1)
                self._open_spans[index] = (probe, caller, insns + self.extra, insns)

        def ending(uc: Uc, address: int, size: int, _ud: object) -> None:
            if index in self._open_spans:
                self._open_frame(lambda f: self._close_span(index, f))

        self.uc.hook_add(UC_HOOK_CODE, opened, begin=begin, end=begin)
        self.uc.hook_add(UC_HOOK_CODE, ending, begin=end, end=end)

    def _close_span(self, index: int, f: _Frame) -> None:
        opened = self._open_spans.pop(index, None)
        if opened is None or len(self.spans) >= self.record_limit:
            return
        probe, caller, cycle, insns = opened
        end = f.data["end_insns"]
        self.spans.append(Span(probe.name, caller, cycle, end + self.extra, end - insns))

    def _milestone(self, name: str) -> Callable[[Uc, int, int, object], None]:
        def hit(uc: Uc, address: int, size: int, _ud: object) -> None:
            if name not in self.reached:
                self.reached[name] = self._insns_at(address)
        return hit

    # -- probes -------------------------------------------------------------------------------
    def _resolve(self, fn: str | int) -> int:
        if isinstance(fn, int):
            return fn & ~1
        sym = self.image.symbol(fn)
        if sym is None:
            raise EmulationError(f"probe: the firmware has no function named {fn!r}")
        return int(sym.address) & ~1

    def _install_probes(self, stacks: tuple[StackProbe, ...], funcs: tuple[FunctionProbe, ...],
                        allocs: tuple[AllocProbe, ...]) -> None:
        for p in funcs:
            addr = self._resolve(p.function)
            name = p.function if isinstance(p.function, str) else self._name(addr)
            stats = self._func_stats.setdefault(addr, {"name": name, "calls": 0, "total": 0, "excl": 0,
                                                       "min": None, "max": 0, "max_cycles": 0, "open": 0})
            self._on_entry(addr, self._func_entry_handler(stats))
        for a in allocs:
            addr = self._resolve(a.function)
            self._on_entry(addr, self._alloc_entry_handler(a))
            for r in a.restart:
                self._on_entry(self._resolve(r), self._restart_entry_handler(a))
        for sp in stacks:
            create_addr, alloc_addr = self._resolve(sp.create), self._resolve(sp.alloc)
            self._on_entry(create_addr, self._create_entry_handler(sp))
            self._on_entry(alloc_addr, self._stack_alloc_entry_handler(sp))
        if self._native is not None:
            self._install_native(stacks, funcs, allocs)
            return
        for addr in self._entry_handlers:
            self.uc.hook_add(UC_HOOK_CODE, self._entry_hook, begin=addr, end=addr)

    def _install_native(self, stacks: tuple[StackProbe, ...], funcs: tuple[FunctionProbe, ...],
                        allocs: tuple[AllocProbe, ...]) -> None:
        """The same sites, in the same order, as native entry hooks (the Python handlers
        registered above stay unused)."""
        nat = self._native
        assert nat is not None
        sites: list[tuple[int, int, int, int, int, int]] = []
        for p in funcs:
            addr = self._resolve(p.function)
            self._func_keys.append(addr)
            sites.append((addr, K_FUNC, len(self._func_keys) - 1, 0, 0, 0))
        for a in allocs:
            sites.append((self._resolve(a.function), K_ALLOC, 0, 0, loc_code(a.size_at), loc_code(a.result_at)))
            for r in a.restart:
                sites.append((self._resolve(r), K_RESTART, loc_code(a.restart_return), 0, 0, 0))
        for i, sp in enumerate(stacks):
            flags = 1 if sp.zero_paint else 0
            sites.append((self._resolve(sp.create), K_CREATE, i, flags, 0, 0))
            sites.append((self._resolve(sp.alloc), K_SALLOC, i, flags, 0, 0))
        for site in sites:
            nat.add_site(*site)
        for addr in self._entry_handlers:  # hooks in the order the Python path adds them
            nat.hook(addr)

    def _drain_native(self) -> None:
        """Turn the native probes' records of returned calls into results (as the Python
        probes' `_func_return` / `_alloc_return` do)."""
        assert self._native is not None
        names = self._caller_names
        for (kind, aux, caller, size, result, ipsr, insns, end, cycles, end_cycles,
             exc0, exc1) in self._native.take_records():
            if kind == K_ALLOC:
                if len(self.allocations) >= self.record_limit:
                    continue
                name = names.get(caller)
                if name is None:
                    name = names[caller] = self._name(caller)
                self.allocations.append(Allocation(
                    cycle=cycles, size=size, caller=caller, caller_name=name, result=result,
                    insns=end - insns, cycles=end_cycles - cycles, in_exception=ipsr))
            elif kind == K_FUNC:
                stats = self._func_stats[self._func_keys[aux]]
                total = end - insns
                stats["calls"] += 1
                stats["total"] += total
                stats["excl"] += total - (exc1 - exc0)
                stats["min"] = total if stats["min"] is None else min(stats["min"], total)
                stats["max"] = max(stats["max"], total)
                stats["max_cycles"] = max(stats["max_cycles"], end_cycles - cycles)

    def _finish_native(self) -> None:
        """Final stack measurement, stacks and open calls from the native probes."""
        nat = self._native
        assert nat is not None
        self._drain_native()
        nat.measure_all()
        stacks: list[_Stack] = []
        n_runtime = 0
        for bottom, top, skip, used, created, paint, kind, aux, closed, entry, batch, frame in nat.stacks():
            if kind == S_MSP:
                name, k = "main (MSP)", "msp"
            else:
                name, k = self._stack_probes[aux].name, "runtime"
                n_runtime += 1
            stacks.append(_Stack(name, k, bottom, top, created, skip, used, bool(closed), paint.to_bytes(4, "little"),
                                 entry, batch, struct.unpack("<16I", frame)))
        self.stacks = stacks
        for st in self._func_stats.values():
            st["open"] = 0
        for kind, aux in nat.open_frames():
            if kind == K_FUNC:
                self._func_stats[self._func_keys[aux]]["open"] += 1

    def _name(self, addr: int) -> str:
        f = self.image.function_at(addr)
        return f.name if f else f"0x{addr:08x}"

    def _on_entry(self, addr: int, fn: Callable[[int], None]) -> None:
        self._entry_handlers.setdefault(addr, []).append(fn)

    def _entry_hook(self, uc: Uc, address: int, size: int, _ud: object) -> None:
        for fn in self._entry_handlers.get(address, ()):
            fn(address)

    def _open_frame(self, on_return: Callable[[_Frame], None], **data: Any) -> _Frame:
        uc = self.uc
        ret = int(uc.reg_read(A.UC_ARM_REG_LR)) & ~1
        sp = int(uc.reg_read(A.UC_ARM_REG_SP))
        pc = self._pc()
        insns = self._insns_at(pc)
        frame = _Frame(ret, sp, insns, insns + self.extra, self.exc_insns, on_return, dict(data))
        self._frames.append(frame)
        if ret not in self._ret_hooked and ret < TRAP_LOW:
            self._ret_hooked.add(ret)
            uc.hook_add(UC_HOOK_CODE, self._ret_hook, begin=ret, end=ret)
            uc.ctl_remove_cache(ret, ret + 2)
        return frame

    def _ret_hook(self, uc: Uc, address: int, size: int, _ud: object) -> None:
        sp = int(uc.reg_read(A.UC_ARM_REG_SP))
        done = [f for f in self._frames if f.ret == address and f.sp == sp]
        if not done:
            return
        self._frames = [f for f in self._frames if not (f.ret == address and f.sp == sp)]
        end = self._insns_at(address)
        for f in reversed(done):
            f.data["end_insns"] = end
            f.on_return(f)

    # Entry handlers bound to one probe's state (each call makes a fresh closure).
    def _func_entry_handler(self, stats: dict[str, Any]) -> Callable[[int], None]:
        return lambda pc: self._func_enter(stats)

    def _create_entry_handler(self, probe: StackProbe) -> Callable[[int], None]:
        return lambda pc: self._create_enter(probe)

    def _stack_alloc_entry_handler(self, probe: StackProbe) -> Callable[[int], None]:
        return lambda pc: self._stack_alloc_enter(probe)

    def _func_enter(self, stats: dict[str, Any]) -> None:
        stats["open"] += 1
        self._open_frame(lambda f: self._func_return(stats, f))

    def _func_return(self, stats: dict[str, Any], f: _Frame) -> None:
        end = f.data["end_insns"]
        total = end - f.insns
        excl = total - (self.exc_insns - f.exc_insns)
        stats["open"] -= 1
        stats["calls"] += 1
        stats["total"] += total
        stats["excl"] += excl
        stats["min"] = total if stats["min"] is None else min(stats["min"], total)
        stats["max"] = max(stats["max"], total)
        stats["max_cycles"] = max(stats["max_cycles"], end + self.extra - f.cycles)

    def _alloc_entry_handler(self, probe: AllocProbe) -> Callable[[int], None]:
        return lambda pc: self._alloc_enter(probe)

    def _restart_entry_handler(self, probe: AllocProbe) -> Callable[[int], None]:
        return lambda pc: self._alloc_restart(probe)

    def _at(self, spec: str, sp: int) -> int:
        """The word a probe's location names: a register, or the stack at `sp` + offset (0 when
        unreadable, as the native probes)."""
        kind, n = location(spec)
        if kind == "reg":
            return int(self.uc.reg_read(A.UC_ARM_REG_R0 + n))
        try:
            return self._word(sp + n)
        except UcError:
            return 0

    def _alloc_enter(self, probe: AllocProbe) -> None:
        uc = self.uc
        size = self._at(probe.size_at, int(uc.reg_read(A.UC_ARM_REG_SP)))
        self._open_frame(lambda f: self._alloc_return(probe, f), size=size, alloc=True,
                         ipsr=int(uc.reg_read(A.UC_ARM_REG_IPSR)) & 0x1FF, cycle=self.cycles())

    def _alloc_restart(self, probe: AllocProbe) -> None:
        """The open allocator call entered at this SP and returning to `restart_return` will be
        entered again from the top: forget this entry (the next one is recorded)."""
        ret = self._at(probe.restart_return, 0) & ~1
        sp = int(self.uc.reg_read(A.UC_ARM_REG_SP))
        self._frames = [f for f in self._frames if not (f.data.get("alloc") and f.ret == ret and f.sp == sp)]

    def _alloc_return(self, probe: AllocProbe, f: _Frame) -> None:
        if len(self.allocations) >= self.record_limit:
            return
        end = f.data["end_insns"]
        caller = f.ret
        self.allocations.append(Allocation(
            cycle=f.cycles, size=f.data["size"], caller=caller, caller_name=self._name(caller),
            result=self._at(probe.result_at, f.sp), insns=end - f.insns,
            cycles=end + self.extra - f.cycles, in_exception=f.data["ipsr"]))

    def _create_enter(self, probe: StackProbe) -> None:
        self._creating += 1
        self._create_arg = int(self.uc.reg_read(A.UC_ARM_REG_R0))
        self._creates += 1
        self._open_frame(lambda f: self._create_return(f), created_from=len(self.stacks))

    def _create_return(self, f: _Frame) -> None:
        self._creating -= 1
        for s in self.stacks[f.data["created_from"]:]:
            if s.kind == "runtime" and not s.skip:
                data = self._read(s.bottom, s.top - s.bottom)
                skip = 0
                while skip + 4 <= len(data) and data[skip:skip + 4] != s.paint:
                    skip += 4
                s.skip = skip
                top = data[-64:]
                s.frame = struct.unpack(f"<{len(top) // 4}I", top[:len(top) // 4 * 4]) + (0,) * (16 - len(top) // 4)

    def _stack_alloc_enter(self, probe: StackProbe) -> None:
        for s in self.stacks:  # the allocator may reuse a dead stack: read it while it is intact
            self._measure(s)
        size = int(self.uc.reg_read(A.UC_ARM_REG_R0))
        self._open_frame(lambda f: self._stack_alloc_return(probe, f), size=size, creating=self._creating > 0)

    def _stack_alloc_return(self, probe: StackProbe, f: _Frame) -> None:
        result = int(self.uc.reg_read(A.UC_ARM_REG_R0))
        size = f.data["size"]
        for s in self.stacks:
            if s.kind == "runtime" and not s.closed and result < s.top and s.bottom < result + size:
                self._measure(s)
                s.closed = True
        if not f.data["creating"] or not result or size < 8:
            return
        # Painting is visible to the firmware (a conservative GC scanning the stack object
        # does slightly different work), so instruction counts differ from an unprobed run by
        # a fraction of a percent. With `zero_paint`, a block the allocator zeroed is used as
        # painted with zeros instead: the firmware's view stays exact, but a zero written at
        # the deepest point is not seen (the high-water can be a few words low).
        words = size // 4
        paint = PAINT_BYTES
        if probe.zero_paint and self._read(result, words * 4) == b"\0\0\0\0" * words:
            paint = b"\0\0\0\0"
        else:
            self.uc.mem_write(result, paint * words)
        self.stacks.append(_Stack(probe.name, "runtime", result, result + words * 4, self.cycles(), paint=paint,
                                  entry=self._create_arg, batch=self._creates))

    def _measure(self, s: _Stack) -> None:
        """Raise `s.used` to the deepest word (from the bottom) that no longer holds the paint."""
        if s.closed:
            return
        lo = s.bottom + s.skip
        hi = s.top - s.used  # everything above is already known used
        if hi <= lo:
            return
        data = self._read(lo, hi - lo)
        n = len(data) // 4
        ref = s.paint * n
        if data == ref:
            return  # fast path: nothing new below the watermark
        a, b = 0, n  # longest painted prefix, by binary search on slices
        while a < b:
            mid = (a + b + 1) // 2
            if data[:mid * 4] == ref[:mid * 4]:
                a = mid
            else:
                b = mid - 1
        s.used = max(s.used, s.top - (lo + a * 4))

    def msp_size_symbol(self) -> int | None:
        """The main stack's size from a linker-script symbol, if the script defines one
        (`_stack_size` in TinyGo's layout, `_Min_Stack_Size` in STM32CubeMX scripts)."""
        for name in ("_stack_size", "_Min_Stack_Size", "__stack_size", "_STACK_SIZE"):
            sym = self.image.symbol(name)
            if sym is not None and 0 < sym.address < 0x100000:
                return int(sym.address)
        return None

    def _paint_msp(self, top: int) -> None:
        bottom = None
        for sec in self.image.sections:
            if sec.alloc and sec.nobits and "stack" in sec.name and sec.vma < top <= sec.vma + sec.size:
                bottom = sec.vma
        size_sym = self.msp_size_symbol()
        if bottom is None and size_sym:
            bottom = top - size_sym
        if bottom is None:
            ends = [s.vma + s.size for s in self.image.sections
                    if s.alloc and s.vma < top and s.vma + s.size <= top and s.vma >= 0x20000000 - 0x20000000]
            region = next((m for m in self.board.memory if m.origin < top <= m.origin + m.length), None)
            if region is None:
                return
            below = [e for e in ends if e > region.origin]
            bottom = max(below) if below else region.origin
        bottom = (bottom + 3) & ~3
        if top - bottom < 8:
            return
        self.uc.mem_write(bottom, PAINT_BYTES * ((top - bottom) // 4))
        self.stacks.append(_Stack("main (MSP)", "msp", bottom, top & ~3, 0))
        if self._native is not None:
            self._native.add_stack(bottom, top & ~3, 0, PAINT, S_MSP)

    # -- the run ----------------------------------------------------------------------------
    def _reset(self) -> None:
        vtor = 0
        vec = self.image.symbol("__isr_vector") or self.image.symbol("vectors") or self.image.symbol("g_pfnVectors")
        # A firmware linked after a bootloader (flash origin not 0) has its table elsewhere; the
        # bootloader sets VTOR to it before jumping, which is what we do here.
        image_at_0 = any(sec.lma <= 0 < sec.lma + sec.size and not sec.nobits for sec in self.image.alloc_sections)
        if vec is not None and (not self._mapped(0, 8) or not image_at_0):
            vtor = vec.address
        elif not self._mapped(0, 8):
            roms = [m.origin for m in self.board.memory if m.kind == "rom"]
            vtor = min(roms) if roms else 0
        run_vt = self.board.vector_table
        if run_vt is not None and any(s.lma <= run_vt < s.lma + s.size and not s.nobits
                                      for s in self.image.alloc_sections):
            vtor = run_vt  # where the chip's boot stage leaves it (RP2040: after boot2)
        self.nvic.vtor = vtor
        try:
            sp, pc = self._word(vtor), self._word(vtor + 4)
        except UcError:
            raise EmulationError(f"no vector table at 0x{vtor:08x}") from None
        if not self._mapped((sp - 4) & 0xFFFFFFFF, 4) or sp & 3:
            raise EmulationError(f"corrupt vector table at 0x{vtor:08x}: initial SP 0x{sp:08x} is not in RAM")
        if not pc & 1 or not self._mapped(pc & ~1, 2):
            raise EmulationError(f"corrupt vector table at 0x{vtor:08x}: reset vector 0x{pc:08x} "
                                 "is not a Thumb address in memory")
        self._paint_msp(sp)
        uc = self.uc
        uc.reg_write(A.UC_ARM_REG_CONTROL, 0)
        uc.reg_write(A.UC_ARM_REG_MSP, sp)
        uc.reg_write(A.UC_ARM_REG_SP, sp)
        uc.reg_write(A.UC_ARM_REG_LR, 0xFFFFFFFF)
        uc.reg_write(A.UC_ARM_REG_PC, pc)

    def _after_hint(self, pc: int) -> bool:
        """PC follows a WFE, WFI, YIELD or SEV (16- or 32-bit encoding)."""
        try:
            h = int.from_bytes(self._read(pc - 2, 2), "little")
            w = int.from_bytes(self._read(pc - 4, 4), "little")
        except UcError:
            return False
        return h in (0xBF10, 0xBF20, 0xBF30, 0xBF40) or w in (0x8001F3AF, 0x8002F3AF, 0x8003F3AF, 0x8004F3AF)

    def _is_wfi(self, pc: int) -> bool:
        try:
            h = int.from_bytes(self._read(pc - 2, 2), "little")
            w = int.from_bytes(self._read(pc - 4, 4), "little")
        except UcError:
            return False
        return h in (0xBF30, 0xBF20) or w in (0x8003F3AF, 0x8002F3AF)

    def run(self) -> RunResult:
        self._reset()
        uc, tb, nvic = self.uc, self.tb, self.nvic
        start = time.monotonic()
        last_pc = None
        same_pc = 0
        while self.stop is None:
            self._fire_events()
            self._deliver()
            if self.stop is not None:
                break
            now_i = tb.count
            if now_i >= self.max_insns:
                self._stop_budget()
                break
            if self.timeout is not None and time.monotonic() - start > self.timeout:
                self.stop, self.message = "timeout", f"wall-clock limit of {self.timeout:g} s reached"
                break
            deadline = min(self.max_insns, now_i + SLICE)
            nxt = self._next_event()
            if nxt is not None:
                deadline = min(deadline, max(now_i + 1, nxt - self.extra))
            tb.arm(deadline)
            best = nvic.best_pending()
            if best is not None and nvic.group_priority(best) < nvic.active_priority():
                tb.watch(nvic.group_priority(best), nvic.group_mask)
            else:
                tb.watch(None, 0)
            nvic.changed = False
            pc = self._pc()
            before = tb.count
            if self._native is not None:
                self._native.sync(self.extra, self.exc_insns)
            hint = False
            try:
                uc.emu_start(pc | 1, 0xFFFFFFFF)
            except UcError as e:
                # unicorn ends emulation with "invalid instruction" after WFE, YIELD and SEV (it has
                # no event register), with PC past the hint: a WFE sleeps below like WFI.
                hint = e.errno == UC_ERR_INSN_INVALID and self._after_hint(self._pc())
                if not hint:
                    self._set_fault(f"{e} at 0x{self._pc():08x}")
                    break
            if self._native is not None:
                self._drain_native()
            if tb.count != before:
                self._just_returned = False
            if self.progress is not None:
                self.progress(tb.count, self.max_insns)
            if self.stop is not None:
                break
            pc = self._pc()
            reason = tb.stop_reason
            if pc >= TRAP_LOW or reason & STOP_TRAP:
                self._return(pc | 1)
                continue
            solved = self.unknown.solve_pending()  # a poll seen: the run stopped for it, not idle
            if self.unknown.spinning is not None:
                r = self.unknown.spinning
                self.stop = "spin"
                self.message = self.unknown.spin_message or (
                    f"firmware spins reading unmodelled register 0x{r.address:08x} "
                    f"({r.reads_since_write} reads with no write; first at {self._where(r.first_pc)})")
                break
            if nvic.reset_requested:
                self.stop, self.message = "reset", "firmware requested a system reset (AIRCR.SYSRESETREQ)"
                break
            if (reason == 0 or hint) and self._is_wfi(pc):
                self._sleep()
                continue
            if reason == 1 and not solved and nvic.takeable() is None and self._next_event() is None:
                # no event can change anything: detect a tight loop with interrupts masked
                if pc == last_pc and (uc.reg_read(A.UC_ARM_REG_PRIMASK) & 1 or nvic.execution_priority() <= 0):
                    same_pc += 1
                    if same_pc >= 3:
                        self.stop = "spin"
                        self.message = f"tight loop with interrupts disabled at {self._where(pc)}"
                        break
                else:
                    same_pc = 0
                last_pc = pc
        if self._native is not None:
            self._finish_native()
        else:
            for s in self.stacks:
                self._measure(s)
        return self._result(time.monotonic() - start)

    def _sleep(self) -> None:
        nvic = self.nvic
        best = nvic.best_pending()
        if best is not None and nvic.group_priority(best) < nvic.active_priority():
            return  # WFI wakes on a pending exception even when PRIMASK masks it
        nxt = self._next_event(wake=True)
        if nxt is None:
            self.stop = "deadlock"
            self.message = f"WFI with no interrupt that can wake it, at {self._where(self._pc())}"
            return
        now = self.cycles()
        if nxt > now:
            self.extra += nxt - now
            self.idle += nxt - now

    def _stop_budget(self) -> None:
        pc = self._pc()
        masked = bool(self.uc.reg_read(A.UC_ARM_REG_PRIMASK) & 1)
        self.stop = "budget"
        self.message = (f"instruction budget of {self.max_insns} reached at {self._where(pc)}"
                        + (" with interrupts disabled" if masked else ""))

    def _named_stacks(self) -> tuple[StackUse, ...]:
        """Each stack named by its start function: the create call's first argument when that is a
        function's address, else the first such address in the initial frame the create call left
        at the stack's top (a runtime that passes the entry as a constant writes it there for the
        first switch). A block a create call allocated with no such frame, beside one that has it,
        is the task's bookkeeping, not a stack. `name #k` from the second stack of the same start
        on; `PROBE #n (start unknown)` when nothing names it."""
        starts: dict[int, str | None] = {}
        framed: set[int] = set()  # create calls that left an initial frame in a block
        for s in self.stacks:
            if s.kind == "runtime":
                in_frame = next((n for n in map(self._start_name, s.frame) if n), None)
                starts[id(s)] = self._start_name(s.entry) or in_frame
                if in_frame is None:
                    continue
                framed.add(s.batch)
        out: list[StackUse] = []
        seen: dict[str, int] = {}
        n = 0
        for s in self.stacks:
            name, start = s.name, starts.get(id(s))
            if s.kind == "runtime":
                if s.batch in framed and not any(map(self._start_name, s.frame)):
                    continue
                n += 1
                if start is not None:
                    seen[start] = seen.get(start, 0) + 1
                    name = start if seen[start] == 1 else f"{start} #{seen[start]}"
                else:
                    name = f"{s.name} #{n} (start unknown)"
            out.append(StackUse(name, s.kind, s.bottom, s.top, s.top - s.bottom, s.used, s.created,
                                s.used >= s.top - s.bottom - s.skip, start))
        return tuple(out)

    def _start_name(self, word: int) -> str | None:
        """The function that starts at `word` (a Thumb code address), if one does."""
        if not word & 1:
            return None
        fn = self.image.function_at(word & ~1)
        return fn.name if fn is not None and int(fn.address) & ~1 == word & ~1 else None

    def _stop_frame(self, stacks: tuple[StackUse, ...]) -> dict[str, Any]:
        """Where the run stopped and the calls that led there (RunResult.stop_pc and on)."""
        regs = self.fault.registers if self.fault is not None else \
            {"pc": self._pc(), "lr": int(self.uc.reg_read(A.UC_ARM_REG_LR)), "sp": int(self.uc.reg_read(A.UC_ARM_REG_SP))}
        pc, lr, sp = regs["pc"], regs["lr"], regs["sp"]
        top = next((s.top for s in stacks if s.bottom <= sp < s.top), sp + 4096)

        def read(address: int) -> int | None:
            try:
                return self._word(address)
            except UcError:
                return None

        def start_of(address: int) -> int | None:
            fn = self.image.function_at(address)
            return int(fn.address) & ~1 if fn is not None else None

        return {"stop_pc": pc, "stop_sp": sp,
                "return_addresses": unwind.backtrace(read, start_of, pc, lr, sp, top)}

    def _result(self, wall: float) -> RunResult:
        stacks = self._named_stacks()
        funcs = []
        for addr, st in self._func_stats.items():
            funcs.append(FunctionTiming(st["name"], addr, st["calls"], st["total"], st["excl"],
                                        st["min"] or 0, st["max"], st["max_cycles"], st["open"]))
        cycles = self.cycles()
        if self.itm.written or self.itm.dropped:
            self.notes.append(f"ITM: {self.itm.written:,} bytes captured from its stimulus ports (as a debugger "
                              "attached through SWO)" + (f", {self.itm.dropped:,} writes to a disabled port dropped"
                                                         if self.itm.dropped else ""))
        return RunResult(
            board=self.board.name, board_reason=self.board_reason, core=self.board.cpu,
            clock_hz=self.board.clock_hz, stop=self.stop or "exit", message=self.message,
            exit_code=self.exit_code, output=self.output.decode("utf-8", "replace"),
            streams={k: v.decode("utf-8", "replace") for k, v in self.streams.items()},
            instructions=self.tb.count, cycles=cycles, idle_cycles=self.idle,
            time_us=clock.cycles_to_us(cycles, self.board.clock_hz), stacks=stacks, functions=tuple(funcs),
            allocations=tuple(self.allocations), interrupts=tuple(self.interrupts),
            exception_counts=dict(self.exception_counts),
            unknown_mmio=tuple(MmioRecord(r.address, r.first_pc, r.first_is_write, r.reads, r.writes,
                                          self.board.run.peripheral_at(r.address) if self.board.run else None)
                               for r in self.unknown.accesses.values()),
            fault=self.fault, wall_seconds=wall, native_timebase=self.tb.native, notes=tuple(self.notes),
            nvic=NvicState(dict(self.nvic.prio), tuple(sorted(self.nvic.enabled)), self.nvic.prigroup,
                           self.nvic.priority_bits, self.nvic.deepest),
            hooks=tuple(HookUse(h.function, h.action, addr,
                                addr is not None and (self._hooks.get(addr) is h or h.action == "yield"),
                                self._hook_calls.get(addr, 0) if addr is not None else 0)
                        for h, addr in self._hook_uses),
            reached=dict(self.reached), polls=tuple(self.unknown.decisions),
            blocks=self.profiler.blocks() if self.profiler is not None else (),
            spans=tuple(self.spans) + tuple(Span(p.name, caller, cycle, None, None)
                                            for p, caller, cycle, _ in self._open_spans.values()),
            mpu=self.mpu.state(),
            ram=tuple((sec.vma, self._read(sec.vma, sec.size)) for sec in self.image.sections
                      if self.snapshot and sec.alloc and sec.write and sec.size),
            **self._stop_frame(stacks))

