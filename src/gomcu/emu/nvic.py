"""The Cortex-M exception model unicorn lacks: NVIC, SCB, SysTick, DWT and exception entry/return.

Unicorn executes Thumb-2 but performs no M-profile exception entry or return and has no System
Control Space. This module holds that state (enabled/pending/active exceptions, priorities with
the chip's implemented bits, PRIGROUP, VTOR, CCR, SysTick, DWT CYCCNT), serves the SCS
registers at 0xE000E000 (plus DWT at 0xE0001000), and performs entry (stacking r0-r3, r12, lr,
pc, xPSR with the alignment bit; extended FP frame when CONTROL.FPCA is set; EXC_RETURN
F1/F9/FD or E1/E9/ED) and return (unstacking, SPSEL, FPCA) through the CPU registers.

Interrupts are taken between translation blocks, as QEMU does without -icount; the machine
stops emulation at the first block boundary after an exception becomes pending and takeable.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from unicorn.arm_const import (
    UC_ARM_REG_CONTROL,
    UC_ARM_REG_FAULTMASK,
    UC_ARM_REG_BASEPRI,
    UC_ARM_REG_FPSCR,
    UC_ARM_REG_IPSR,
    UC_ARM_REG_LR,
    UC_ARM_REG_PC,
    UC_ARM_REG_PRIMASK,
    UC_ARM_REG_R0,
    UC_ARM_REG_R1,
    UC_ARM_REG_R2,
    UC_ARM_REG_R3,
    UC_ARM_REG_R12,
    UC_ARM_REG_S0,
    UC_ARM_REG_SP,
    UC_ARM_REG_XPSR,
)

from gomcu.errors import EmulationError

RESET, NMI, HARDFAULT, MEMMANAGE, BUSFAULT, USAGEFAULT = 1, 2, 3, 4, 5, 6
SVCALL, DEBUGMON, PENDSV, SYSTICK = 11, 12, 14, 15
EXC_NAMES = {1: "Reset", 2: "NMI", 3: "HardFault", 4: "MemManage", 5: "BusFault", 6: "UsageFault",
             11: "SVCall", 12: "DebugMon", 14: "PendSV", 15: "SysTick"}

THREAD_PRIORITY = 256  # execution priority with nothing active and no masking

SCS = 0xE000E000
DWT = 0xE0001000


def exception_name(n: int) -> str:
    return EXC_NAMES.get(n, f"IRQ{n - 16}" if n >= 16 else f"exception{n}")


@dataclass
class PendRecord:
    """When and over what an exception became pending (for latency samples)."""

    cycle: int
    pc: int
    active: int  # IPSR at pend time: 0 thread, else the exception running
    injected: bool = False


class SysTick:
    """SysTick on the emulated clock (CLKSOURCE 0 and 1 both count core cycles; stated)."""

    def __init__(self) -> None:
        self.csr = 0
        self.rvr = 0
        self.zero_at: int | None = None  # cycle of the next 1 -> 0 transition
        self.countflag = False
        self.frozen_cvr = 0

    @property
    def enabled(self) -> bool:
        return bool(self.csr & 1)

    def cvr(self, now: int) -> int:
        if self.zero_at is None:
            return self.frozen_cvr
        left = self.zero_at - now
        if left < 0:
            return 0
        return min(left, self.rvr) if left <= self.rvr else left & 0xFFFFFF

    def start(self, now: int, current: int) -> None:
        if self.rvr == 0 and current == 0:
            self.zero_at = None
            return
        self.zero_at = now + (current if current else self.rvr + 1)

    def write_csr(self, now: int, value: int) -> None:
        was = self.enabled
        if was and not value & 1:
            self.frozen_cvr = self.cvr(now)
            self.zero_at = None
        self.csr = value & 0x7
        if not was and self.enabled:
            self.start(now, self.frozen_cvr)

    def write_cvr(self, now: int) -> None:
        self.countflag = False
        self.frozen_cvr = 0
        if self.enabled:
            self.start(now, 0)

    def read_csr(self) -> int:
        v = self.csr | (0x10000 if self.countflag else 0)
        self.countflag = False
        return v

    def fire(self) -> bool:
        """Advance past the transition at `zero_at`; True when the interrupt must be pended."""
        assert self.zero_at is not None
        self.countflag = True
        if self.rvr == 0:
            self.zero_at = None
        else:
            self.zero_at += self.rvr + 1
        return bool(self.csr & 2)


class ExceptionModel:
    """NVIC + SCB state and the exception entry/return sequences."""

    def __init__(self, uc: object, num_irqs: int, priority_bits: int, has_fpu: bool,
                 now: Callable[[], int], pc_now: Callable[[], int]) -> None:
        self.uc = uc
        self.num_irqs = num_irqs
        self.priority_bits = priority_bits
        self.prio_mask = (0xFF << (8 - priority_bits)) & 0xFF
        self.has_fpu = has_fpu
        self.now = now
        self.pc_now = pc_now
        self.enabled: set[int] = set()
        self.pending: dict[int, PendRecord] = {}
        self.active: list[int] = []
        self.deepest: tuple[int, ...] = ()  # the longest chain of nested exceptions seen
        self.prio: dict[int, int] = {}
        self.prigroup = 0
        self.vtor = 0
        self.ccr = 0x200  # STKALIGN set at reset (Cortex-M3 r2p0 and later, M4, M7)
        self.cpacr = 0
        self.fpccr = 0xC0000000  # ASPEN | LSPEN at reset
        self.scr = 0
        self.shcsr = 0
        self.systick = SysTick()
        self.dwt_ctrl = 0x40000000
        self.cyccnt_base = 0
        self.cyccnt_frozen = 0
        self.demcr = 0
        self.reset_requested = False
        self.fault_status = {0xED28: 0, 0xED2C: 0, 0xED34: 0, 0xED38: 0}
        self.changed = False  # set when pending/enable/priority state changed (recheck delivery)
        self.stacked_at = 0  # where the last entry pushed its frame
        self.unstacked_from = 0  # where the last return popped its frame (another stack: a switch)
        self.unknown_access: Callable[[int, int, bool, int], int] | None = None

    # -- priorities ---------------------------------------------------------------------
    def priority(self, exc: int) -> int:
        if exc == RESET:
            return -3
        if exc == NMI:
            return -2
        if exc == HARDFAULT:
            return -1
        return self.prio.get(exc, 0) & self.prio_mask

    @property
    def group_mask(self) -> int:
        return (0xFF << (self.prigroup + 1)) & 0xFF

    def group_priority(self, exc: int) -> int:
        p = self.priority(exc)
        return p if p < 0 else p & self.group_mask

    def execution_priority(self) -> int:
        prio = THREAD_PRIORITY
        for exc in self.active:
            prio = min(prio, self.group_priority(exc))
        regs = self._masks()
        if regs[1] & 0xFF:
            prio = min(prio, (regs[1] & 0xFF) & self.prio_mask & self.group_mask)
        if regs[0] & 1:
            prio = min(prio, 0)
        if regs[2] & 1:
            prio = min(prio, -1)
        return prio

    def active_priority(self) -> int:
        prio = THREAD_PRIORITY
        for exc in self.active:
            prio = min(prio, self.group_priority(exc))
        return prio

    def _masks(self) -> tuple[int, int, int]:
        uc = self.uc
        return (uc.reg_read(UC_ARM_REG_PRIMASK), uc.reg_read(UC_ARM_REG_BASEPRI),  # type: ignore[attr-defined]
                uc.reg_read(UC_ARM_REG_FAULTMASK))  # type: ignore[attr-defined]

    def is_enabled(self, exc: int) -> bool:
        return exc < 16 or exc in self.enabled

    def best_pending(self) -> int | None:
        """The pending, enabled exception that would be taken first (ignoring masking)."""
        best = None
        key = None
        for exc in self.pending:
            if not self.is_enabled(exc):
                continue
            k = (self.group_priority(exc), self.priority(exc), exc)
            if key is None or k < key:
                best, key = exc, k
        return best

    def takeable(self) -> int | None:
        exc = self.best_pending()
        if exc is None:
            return None
        if self.group_priority(exc) < self.execution_priority():
            return exc
        return None

    def set_pending(self, exc: int, pc: int | None = None, cycle: int | None = None,
                    injected: bool = False) -> None:
        if exc not in self.pending:
            self.pending[exc] = PendRecord(self.now() if cycle is None else cycle,
                                           self.pc_now() if pc is None else pc,
                                           self.active[-1] if self.active else 0, injected)
        self.changed = True

    # -- entry and return ----------------------------------------------------------------
    def enter(self, exc: int) -> tuple[int, bool]:
        """Exception entry. Returns (handler address, extended frame used)."""
        uc = self.uc
        rd, wr = uc.reg_read, uc.reg_write  # type: ignore[attr-defined]
        ipsr = rd(UC_ARM_REG_IPSR) & 0x1FF
        control = rd(UC_ARM_REG_CONTROL)
        fp_frame = self.has_fpu and bool(control & 4)
        sp = rd(UC_ARM_REG_SP)
        regs = [rd(r) for r in (UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                UC_ARM_REG_R12, UC_ARM_REG_LR)]
        ret = rd(UC_ARM_REG_PC) & ~1
        xpsr = rd(UC_ARM_REG_XPSR)
        size = 0x68 if fp_frame else 0x20
        frame = sp - size
        align = False
        if (self.ccr & 0x200 or fp_frame) and frame & 4:
            frame -= 4
            align = True
        xpsr_st = (xpsr & ~0x200) | (0x200 if align else 0)
        data = struct.pack("<8I", *(v & 0xFFFFFFFF for v in regs), ret, xpsr_st)
        if fp_frame:
            sregs = [rd(UC_ARM_REG_S0 + i) for i in range(16)]
            data += struct.pack("<18I", *sregs, rd(UC_ARM_REG_FPSCR), 0)
        try:
            uc.mem_write(frame, data)  # type: ignore[attr-defined]
        except Exception as e:  # unicorn UcError: stacking to unmapped memory
            raise StackingFault(frame, f"exception stacking to 0x{frame:08x} failed ({e})") from e
        wr(UC_ARM_REG_SP, frame)
        self.stacked_at = frame
        if ipsr == 0:
            using_psp = bool(control & 2)
            exc_return = 0xFFFFFFFD if using_psp else 0xFFFFFFF9
        else:
            exc_return = 0xFFFFFFF1
        if fp_frame:
            exc_return &= ~0x10
        # Order matters: entering handler mode (IPSR) moves the core to MSP by itself when SPSEL
        # was set; SPSEL and FPCA are dropped after, in handler mode, which is privileged (in
        # unprivileged thread mode - CONTROL.nPRIV - the core ignores writes to CONTROL).
        wr(UC_ARM_REG_XPSR, (xpsr & 0xF80F0000) | 0x01000000 | exc)
        wr(UC_ARM_REG_IPSR, exc)
        wr(UC_ARM_REG_CONTROL, control & ~0x6)
        wr(UC_ARM_REG_LR, exc_return)
        vector = self._read_word(self.vtor + 4 * exc)
        if vector is None or vector & 1 == 0:
            raise EmulationError(
                f"vector table entry for {exception_name(exc)} at 0x{self.vtor + 4 * exc:08x} "
                f"is {'unreadable' if vector is None else f'0x{vector:08x} (not a Thumb address)'}")
        self.pending.pop(exc, None)
        self.active.append(exc)
        if len(self.active) > len(self.deepest):
            self.deepest = tuple(self.active)
        self.changed = True
        return vector & ~1, fp_frame

    def exit(self, exc_return: int) -> int:
        """Exception return through EXC_RETURN; returns the exception that returned."""
        uc = self.uc
        rd, wr = uc.reg_read, uc.reg_write  # type: ignore[attr-defined]
        if exc_return & 0xFFFFFF00 != 0xFFFFFF00 or (exc_return & 0xF) not in (1, 9, 0xD) or \
                (not self.has_fpu and not exc_return & 0x10) or (exc_return & 0xE0) != 0xE0:
            raise EmulationError(f"bad EXC_RETURN 0x{exc_return:08x}")
        if not self.active:
            raise EmulationError(f"EXC_RETURN 0x{exc_return:08x} with no active exception")
        exc = self.active.pop()
        to_thread = (exc_return & 0xF) != 1
        use_psp = bool(exc_return & 4)
        fp_frame = not exc_return & 0x10
        if to_thread and self.active:
            raise EmulationError(f"return to thread mode with {exception_name(self.active[-1])} still active")
        control = rd(UC_ARM_REG_CONTROL)
        # Select the stack while still in handler mode (privileged; the core stays on MSP), then
        # leave it: thread mode moves to PSP by itself when SPSEL is set, even with nPRIV set.
        if to_thread:
            wr(UC_ARM_REG_CONTROL, (control & ~0x6) | (2 if use_psp else 0) | (4 if fp_frame else 0))
            wr(UC_ARM_REG_IPSR, 0)
        else:
            wr(UC_ARM_REG_CONTROL, (control & ~0x4) | (4 if fp_frame else 0))
        sp = rd(UC_ARM_REG_SP)
        self.unstacked_from = sp
        size = 0x68 if fp_frame else 0x20
        try:
            raw = bytes(uc.mem_read(sp, size))  # type: ignore[attr-defined]
        except Exception as e:
            raise EmulationError(f"exception return: unstacking from 0x{sp:08x} failed ({e})") from e
        vals = struct.unpack("<8I", raw[:32])
        for reg, v in zip((UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                           UC_ARM_REG_R12, UC_ARM_REG_LR), vals[:6]):
            wr(reg, v)
        if fp_frame:
            fvals = struct.unpack("<18I", raw[32:])
            for i in range(16):
                wr(UC_ARM_REG_S0 + i, fvals[i])
            wr(UC_ARM_REG_FPSCR, fvals[16])
        xpsr = vals[7]
        new_sp = sp + size + (4 if xpsr & 0x200 else 0)
        wr(UC_ARM_REG_SP, new_sp)
        wr(UC_ARM_REG_XPSR, (xpsr & ~0x200) | 0x01000000)
        if not to_thread:
            wr(UC_ARM_REG_IPSR, xpsr & 0x1FF)
        wr(UC_ARM_REG_PC, vals[6] | 1)
        self.changed = True
        return exc

    def _read_word(self, addr: int) -> int | None:
        try:
            return int.from_bytes(self.uc.mem_read(addr, 4), "little")  # type: ignore[attr-defined]
        except Exception:
            return None

    # -- registers -------------------------------------------------------------------------
    def read(self, addr: int, size: int) -> int:
        word = addr & ~3
        shift = (addr & 3) * 8
        v = self._read32(word)
        mask = (1 << (size * 8)) - 1
        return (v >> shift) & mask

    def write(self, addr: int, size: int, value: int) -> None:
        word = addr & ~3
        shift = (addr & 3) * 8
        if size < 4:
            # byte/halfword writes: merge with the current word for storage registers
            mask = ((1 << (size * 8)) - 1) << shift
            if 0xE000E400 <= word < 0xE000E400 + self.num_irqs or 0xE000ED18 <= word <= 0xE000ED20:
                cur = self._read32(word)
                value = (cur & ~mask) | ((value << shift) & mask)
            else:
                value = (value << shift) & mask
        self._write32(word, value & 0xFFFFFFFF)

    def _irq_bits(self, base: int, word: int, which: set[int] | dict[int, PendRecord]) -> int:
        first = 16 + (word - base) * 8
        v = 0
        for i in range(32):
            if first + i in which:
                v |= 1 << i
        return v

    def _read32(self, a: int) -> int:
        now = self.now()
        st = self.systick
        if a == 0xE000E004:  # ICTR
            return max(0, (self.num_irqs + 31) // 32 - 1)
        if a == 0xE000E010:
            return st.read_csr()
        if a == 0xE000E014:
            return st.rvr
        if a == 0xE000E018:
            return st.cvr(now)
        if a == 0xE000E01C:  # CALIB: no reference, skewed
            return 0xC0000000
        if 0xE000E100 <= a < 0xE000E140:
            return self._irq_bits(0xE000E100, a, self.enabled)
        if 0xE000E180 <= a < 0xE000E1C0:
            return self._irq_bits(0xE000E180, a, self.enabled)
        if 0xE000E200 <= a < 0xE000E240:
            return self._irq_bits(0xE000E200, a, self.pending)
        if 0xE000E280 <= a < 0xE000E2C0:
            return self._irq_bits(0xE000E280, a, self.pending)
        if 0xE000E300 <= a < 0xE000E340:
            return self._irq_bits(0xE000E300, a, set(self.active))
        if 0xE000E400 <= a < 0xE000E400 + 240:
            n = 16 + (a - 0xE000E400)
            return sum((self.priority(n + i) if n + i - 16 < self.num_irqs else 0) << (8 * i) for i in range(4))
        if a == 0xE000ED00:  # CPUID
            return 0x410FC241 if self.has_fpu else 0x412FC231
        if a == 0xE000ED04:
            return self._icsr()
        if a == 0xE000ED08:
            return self.vtor
        if a == 0xE000ED0C:
            return 0xFA050000 | (self.prigroup << 8)
        if a == 0xE000ED10:
            return self.scr
        if a == 0xE000ED14:
            return self.ccr
        if a in (0xE000ED18, 0xE000ED1C, 0xE000ED20):
            n = 4 + (a - 0xE000ED18)
            return sum(self.priority(n + i) << (8 * i) for i in range(4) if n + i >= 4)
        if a == 0xE000ED24:
            return self.shcsr
        if a in self.fault_status:
            return self.fault_status[a]
        if a == 0xE000ED88:
            return self.cpacr
        if a == 0xE000EF34:
            return self.fpccr
        if a == 0xE000EDFC:
            return self.demcr
        if a == DWT:
            return self.dwt_ctrl
        if a == DWT + 4:
            if self.dwt_ctrl & 1:
                return (now - self.cyccnt_base) & 0xFFFFFFFF
            return self.cyccnt_frozen
        if self.unknown_access is not None:
            return self.unknown_access(a, 4, False, 0)
        return 0

    def _icsr(self) -> int:
        v = 0
        if self.active:
            v |= self.active[-1] & 0x1FF
        best = self.best_pending()
        if best is not None:
            v |= (best & 0x1FF) << 12
            if best >= 16:
                v |= 1 << 22  # ISRPENDING
        if len(self.active) <= 1:
            v |= 1 << 11  # RETTOBASE
        if PENDSV in self.pending:
            v |= 1 << 28
        if SYSTICK in self.pending:
            v |= 1 << 26
        if NMI in self.pending:
            v |= 1 << 31
        return v

    def _write32(self, a: int, v: int) -> None:
        now = self.now()
        st = self.systick
        if a == 0xE000E010:
            st.write_csr(now, v)
            self.changed = True
        elif a == 0xE000E014:
            st.rvr = v & 0xFFFFFF
        elif a == 0xE000E018:
            st.write_cvr(now)
            self.changed = True
        elif 0xE000E100 <= a < 0xE000E140:
            self._bits(0xE000E100, a, v, lambda n: self._enable(n, now))
        elif 0xE000E180 <= a < 0xE000E1C0:
            self._bits(0xE000E180, a, v, lambda n: self.enabled.discard(n))
        elif 0xE000E200 <= a < 0xE000E240:
            self._bits(0xE000E200, a, v, lambda n: self.set_pending(n))
        elif 0xE000E280 <= a < 0xE000E2C0:
            self._bits(0xE000E280, a, v, lambda n: self.pending.pop(n, None))
        elif 0xE000E400 <= a < 0xE000E400 + 240:
            n = 16 + (a - 0xE000E400)
            for i in range(4):
                if n + i - 16 < self.num_irqs:
                    self.prio[n + i] = (v >> (8 * i)) & self.prio_mask
            self.changed = True
        elif a == 0xE000EF00:  # STIR
            irq = v & 0x1FF
            if irq < self.num_irqs:
                self.set_pending(16 + irq)
        elif a == 0xE000ED04:
            if v & (1 << 28):
                self.set_pending(PENDSV)
            if v & (1 << 27):
                self.pending.pop(PENDSV, None)
            if v & (1 << 26):
                self.set_pending(SYSTICK)
            if v & (1 << 25):
                self.pending.pop(SYSTICK, None)
            if v & (1 << 31):
                self.set_pending(NMI)
            self.changed = True
        elif a == 0xE000ED08:
            self.vtor = v & 0xFFFFFF80
        elif a == 0xE000ED0C:
            if v >> 16 == 0x05FA:
                self.prigroup = (v >> 8) & 7
                if v & 4:
                    self.reset_requested = True
                self.changed = True
        elif a == 0xE000ED10:
            self.scr = v & 0x16
        elif a == 0xE000ED14:
            self.ccr = v & 0x31B
        elif a in (0xE000ED18, 0xE000ED1C, 0xE000ED20):
            n = 4 + (a - 0xE000ED18)
            for i in range(4):
                if n + i in (MEMMANAGE, BUSFAULT, USAGEFAULT, SVCALL, DEBUGMON, PENDSV, SYSTICK):
                    self.prio[n + i] = (v >> (8 * i)) & self.prio_mask
            self.changed = True
        elif a == 0xE000ED24:
            self.shcsr = v
        elif a in self.fault_status:
            self.fault_status[a] &= ~v
        elif a == 0xE000ED88:
            self.cpacr = v
        elif a == 0xE000EF34:
            self.fpccr = v
        elif a == 0xE000EDFC:
            self.demcr = v
        elif a == DWT:
            if v & 1 and not self.dwt_ctrl & 1:
                self.cyccnt_base = now - self.cyccnt_frozen
            elif not v & 1 and self.dwt_ctrl & 1:
                self.cyccnt_frozen = (now - self.cyccnt_base) & 0xFFFFFFFF
            self.dwt_ctrl = (self.dwt_ctrl & 0xF0000000) | (v & 0x0FFFFFFF)
        elif a == DWT + 4:
            self.cyccnt_base = now - v
            self.cyccnt_frozen = v
        elif self.unknown_access is not None:
            self.unknown_access(a, 4, True, v)

    def _enable(self, exc: int, now: int) -> None:
        """Enable an IRQ. One already pending becomes takeable only now: its latency counts from
        here, since the time it waited disabled is the firmware's choice, not interrupt latency."""
        rec = self.pending.get(exc)
        if exc not in self.enabled and rec is not None and rec.cycle < now:
            rec.cycle, rec.pc = now, self.pc_now()
            rec.active = self.active[-1] if self.active else 0
        self.enabled.add(exc)

    def _bits(self, base: int, a: int, v: int, fn: Callable[[int], object]) -> None:
        first = 16 + (a - base) * 8
        for i in range(32):
            if v >> i & 1 and first + i - 16 < self.num_irqs:
                fn(first + i)
        self.changed = True


class StackingFault(EmulationError):
    """Exception entry could not push the frame (stack overflow into unmapped memory)."""

    def __init__(self, address: int, message: str) -> None:
        super().__init__(message)
        self.address = address
