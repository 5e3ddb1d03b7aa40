"""Timers firmware can see: counters that read the emulated time and compares that fire at it.

Each model keeps its counter as a function of the machine's cycle count (no per-instruction
work): a counter read computes the value from `now()`, and an armed compare or overflow is an
event at a cycle the machine plugs into its deadline (`next_event`), then `fire` raises the
flags and returns the interrupt lines to pend. Register layouts are from the datasheets named
in the chip run models (chips/runmodels/*.toml).

Accesses arrive as (offset, size, value); `_lanes` turns byte and halfword accesses into a
32-bit register with a byte-lane mask, so 8- and 16-bit registers packed in one word work.
"""

from __future__ import annotations

from collections.abc import Callable

from gomcu.chips.runmodel import TimerSpec

Now = Callable[[], int]
Pend = tuple[int, int]  # (irq, cycle)


class _Clock:
    """Ticks of a `hz` clock since reset, from machine cycles at `clock_hz`."""

    def __init__(self, now: Now, clock_hz: int, hz: int) -> None:
        self.now, self.clock_hz, self.hz = now, clock_hz, hz

    def ticks(self, cycle: int | None = None) -> int:
        return (self.now() if cycle is None else cycle) * self.hz // self.clock_hz

    def cycle_at(self, tick: int) -> int:
        """The first cycle at which `ticks()` reaches `tick`."""
        return -(-tick * self.clock_hz // self.hz)


def _lanes(offset: int, size: int, value: int) -> tuple[int, int, int]:
    """(aligned offset, value shifted into its lanes, lane mask) of an access."""
    shift = (offset & 3) * 8
    mask = ((1 << (8 * size)) - 1) << shift
    return offset & ~3, (value << shift) & mask, mask


class TimerModel:
    """Common interface: read/write registers, say when the next event is, fire it."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        self.spec = spec
        self.name = spec.name
        self.base = spec.base
        self.size = spec.size
        self.clock = _Clock(now, clock_hz, spec.hz)

    def read(self, offset: int, size: int) -> int:
        aligned = offset & ~3
        word = self.read32(aligned)
        return (word >> ((offset & 3) * 8)) & ((1 << (8 * size)) - 1)

    def write(self, offset: int, size: int, value: int) -> None:
        aligned, v, mask = _lanes(offset, size, value)
        self.write32(aligned, v, mask)

    def read32(self, offset: int) -> int:
        raise NotImplementedError

    def write32(self, offset: int, value: int, mask: int) -> None:
        raise NotImplementedError

    def next_event(self, wake: bool = False) -> int | None:
        """The cycle of the next event; with `wake`, of the next one that raises an interrupt."""
        raise NotImplementedError

    def fire(self, now: int) -> list[Pend]:
        raise NotImplementedError


class Rp2040Timer(TimerModel):
    """RP2040 TIMER (datasheet 4.6): 64-bit µs counter, four 32-bit alarms on its low word.

    TIMEHR/TIMELR latch the high word on a low read; TIMERAWH/L read without latching. Writing
    ALARMn arms it; it fires when the low word equals it, sets INTR bit n and disarms. ARMED
    and INTR are write-1-to-clear; INTS = (INTR | INTF) & INTE drives TIMER_IRQ_n."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.offset = 0           # time = ticks + offset (firmware may write TIMEHW/TIMELW)
        self.latched_hi = 0
        self.pending_lw = 0
        self.alarms = [0, 0, 0, 0]
        self.armed = 0
        self.intr = self.inte = self.intf = 0
        self.due: list[int | None] = [None] * 4  # absolute tick of each armed alarm

    def time(self) -> int:
        return (self.clock.ticks() + self.offset) & 0xFFFFFFFFFFFFFFFF

    def read32(self, offset: int) -> int:
        t = self.time()
        if offset == 0x0C:
            self.latched_hi = t >> 32
            return t & 0xFFFFFFFF
        regs = {0x08: self.latched_hi, 0x24: t >> 32, 0x28: t & 0xFFFFFFFF, 0x20: self.armed,
                0x2C: 7, 0x30: 0, 0x34: self.intr, 0x38: self.inte, 0x3C: self.intf,
                0x40: (self.intr | self.intf) & self.inte}
        if 0x10 <= offset < 0x20:
            return self.alarms[(offset - 0x10) // 4]
        return regs.get(offset, 0)

    def write32(self, offset: int, value: int, mask: int) -> None:
        if offset == 0x04:
            self.pending_lw = value
        elif offset == 0x00:
            self.offset = ((value << 32) | self.pending_lw) - self.clock.ticks()
            self._rearm()
        elif 0x10 <= offset < 0x20:
            n = (offset - 0x10) // 4
            self.alarms[n] = value & 0xFFFFFFFF
            self.armed |= 1 << n
            self._arm(n)
        elif offset == 0x20:
            self.armed &= ~value
            for n in range(4):
                if value >> n & 1:
                    self.due[n] = None
        elif offset == 0x34:
            self.intr &= ~value
        elif offset == 0x38:
            self.inte = (self.inte & ~mask) | value
        elif offset == 0x3C:
            self.intf = (self.intf & ~mask) | value

    def _arm(self, n: int) -> None:
        t = self.time()
        target = (t & ~0xFFFFFFFF) | self.alarms[n]
        if target <= t:
            target += 1 << 32  # the low word passed it: it matches after the next wrap
        self.due[n] = target - self.offset

    def _rearm(self) -> None:
        for n in range(4):
            if self.armed >> n & 1:
                self._arm(n)

    def next_event(self, wake: bool = False) -> int | None:
        dues = [d for n, d in enumerate(self.due) if d is not None and (not wake or self.inte >> n & 1)]
        return self.clock.cycle_at(min(dues)) if dues else None

    def fire(self, now: int) -> list[Pend]:
        t = self.clock.ticks(now)
        out: list[Pend] = []
        for n, d in enumerate(self.due):
            if d is not None and d <= t:
                self.due[n] = None
                self.armed &= ~(1 << n)
                self.intr |= 1 << n
                if (self.inte >> n & 1) and n < len(self.spec.irqs):
                    out.append((self.spec.irqs[n], self.clock.cycle_at(d)))
        return out


class _CountCompare(TimerModel):
    """A counter with a running flag, a divider, compares and an overflow, all in ticks.

    Subclasses map registers onto `count()`, `set_count()`, `compares`, `flags`, `inten`."""

    width = 32
    n_compares = 1

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.running = False
        self.div = 1
        self.anchor_tick = 0      # input ticks at the last anchor
        self.anchor_count = 0
        self.compares = [0] * self.n_compares
        self.flags = 0
        self.inten = 0
        self.period = 1 << self.width   # the counter wraps to 0 after period - 1
        self.checked = 0                # events up to this input tick have been raised

    def _elapsed(self, tick: int) -> int:
        return (tick - self.anchor_tick) // self.div if self.running else 0

    def count(self, tick: int | None = None) -> int:
        t = self.clock.ticks() if tick is None else tick
        return (self.anchor_count + self._elapsed(t)) % self.period

    def set_count(self, value: int) -> None:
        self.anchor_tick = self.checked = max(self.checked, self.clock.ticks())
        self.anchor_count = value % self.period

    def set_running(self, on: bool) -> None:
        if on != self.running:
            c = self.count()
            self.running = on
            self.set_count(c)

    def set_div(self, div: int) -> None:
        c = self.count()
        self.div = max(1, div)
        self.set_count(c)

    def compare_bit(self, i: int) -> int:
        """The flag bit compare `i` sets (the overflow sets `overflow_bit`)."""
        raise NotImplementedError

    overflow_bit = 0

    def _events(self) -> list[tuple[int, int]]:
        """(input tick, flag bit) of the next occurrence of each event after `checked`."""
        if not self.running:
            return []
        ref = max(self.checked, self.anchor_tick)
        c = self.count(ref)
        step = self.anchor_tick + ((ref - self.anchor_tick) // self.div + 1) * self.div  # next change
        out = []
        for i, cmp in enumerate(self.compares):
            if cmp < self.period:
                ahead = (cmp - c) % self.period or self.period
                out.append((step + (ahead - 1) * self.div, self.compare_bit(i)))
        out.append((step + (self.period - c - 1) * self.div, self.overflow_bit))
        return out

    def next_event(self, wake: bool = False) -> int | None:
        ev = [t for t, bit in self._events() if not wake or self.inten & bit]
        return self.clock.cycle_at(min(ev)) if ev else None

    def fire(self, now: int) -> list[Pend]:
        t_now = self.clock.ticks(now)
        out: list[Pend] = []
        for _ in range(64):  # at most this many events per call (a stuck compare cannot loop)
            ev = [(t, b) for t, b in self._events() if t <= t_now]
            if not ev:
                break
            t = min(t for t, _ in ev)
            for te, bit in ev:
                if te == t:
                    self.flags |= bit
                    if self.inten & bit and self.spec.irqs:
                        out.append((self.spec.irqs[0], self.clock.cycle_at(t)))
            self.checked = t
        else:
            self.checked = t_now
        return out


class SamRtcMode0(_CountCompare):
    """SAM D5x/E5x RTC in mode 0 (DS60001507 25.8): 32-bit COUNT, COMP0/1, OVF.

    CTRLA 0x00 (SWRST 0, ENABLE 1, PRESCALER 11:8), INTENCLR 0x08, INTENSET 0x0A, INTFLAG
    0x0C (CMP0 bit 8, CMP1 bit 9, OVF bit 15; write 1 to clear), SYNCBUSY 0x10 (always
    synchronised), COUNT 0x18, COMP0/1 0x20/0x24."""

    n_compares = 2
    overflow_bit = 1 << 15
    CTRL, INTEN_WORD, FLAGS, COUNT, COMP = 0x00, 0x08, 0x0C, 0x18, 0x20

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.ctrl = 0

    def compare_bit(self, i: int) -> int:
        return 1 << (8 + i)

    @staticmethod
    def _divider(prescaler: int) -> int:
        return 1 if prescaler <= 1 else 1 << (prescaler - 1)

    def read32(self, offset: int) -> int:
        if offset == self.CTRL:
            return self.ctrl
        if offset == self.INTEN_WORD:
            return self.inten | (self.inten << 16)
        if offset == self.FLAGS:
            return self.flags
        if offset == self.COUNT:
            return self.count()
        if self.COMP <= offset < self.COMP + 4 * self.n_compares:
            return self.compares[(offset - self.COMP) // 4]
        return 0  # SYNCBUSY and the rest: synchronised, unused

    def write32(self, offset: int, value: int, mask: int) -> None:
        if offset == self.CTRL:
            self._ctrl((self.ctrl & ~mask) | value)
        elif offset == self.INTEN_WORD:
            if mask & 0xFFFF:
                self.inten &= ~(value & 0xFFFF)
            if mask & 0xFFFF0000:
                self.inten |= value >> 16
        elif offset == self.FLAGS:
            self.flags &= ~value
        elif offset == self.COUNT:
            self.set_count(value)
        elif self.COMP <= offset < self.COMP + 4 * self.n_compares:
            self.compares[(offset - self.COMP) // 4] = value & 0xFFFFFFFF

    def _ctrl(self, value: int) -> None:
        if value & 1:  # SWRST: back to reset values, bit clears itself
            self.ctrl = 0
            self.running = False
            self.set_count(0)
            self.compares = [0] * self.n_compares
            self.flags = self.inten = 0
            return
        self.ctrl = value & 0xFFFF
        self.set_div(self._divider((value >> 8) & 0xF))
        self.set_running(bool(value & 2))


class Samd21RtcMode0(SamRtcMode0):
    """SAM D21 RTC in mode 0 (DS40001882 19.8): CTRL 0x00 (SWRST 0, ENABLE 1, PRESCALER
    11:8 = DIV 2^n), READREQ 0x02, INTENCLR 0x06, INTENSET 0x07, INTFLAG 0x08 (CMP0 bit 0,
    OVF bit 7), STATUS 0x0A (SYNCBUSY never set), COUNT 0x10, COMP0 0x18."""

    n_compares = 1
    overflow_bit = 1 << 7
    COUNT, COMP = 0x10, 0x18

    def compare_bit(self, i: int) -> int:
        return 1 << i

    @staticmethod
    def _divider(prescaler: int) -> int:
        return 1 << prescaler

    def read32(self, offset: int) -> int:
        if offset == 0x00:
            return self.ctrl
        if offset == 0x04:
            return (self.inten << 16) | (self.inten << 24)
        if offset == 0x08:
            return self.flags
        if offset == self.COUNT:
            return self.count()
        if offset == self.COMP:
            return self.compares[0]
        return 0

    def write32(self, offset: int, value: int, mask: int) -> None:
        if offset == 0x00:
            if mask & 0xFFFF:
                self._ctrl((self.ctrl & ~mask & 0xFFFF) | (value & 0xFFFF))
        elif offset == 0x04:
            if mask & 0xFF0000:
                self.inten &= ~((value >> 16) & 0xFF)
            if mask & 0xFF000000:
                self.inten |= (value >> 24) & 0xFF
        elif offset == 0x08:
            if mask & 0xFF:
                self.flags &= ~(value & 0xFF)
        elif offset == self.COUNT:
            self.set_count(value)
        elif offset == self.COMP:
            self.compares[0] = value & 0xFFFFFFFF


class NrfRtc(_CountCompare):
    """nRF52 RTC (PS v1.7 6.22): 24-bit COUNTER at 32768/(PRESCALER+1) Hz, CC[0..3].

    TASKS_START/STOP/CLEAR/TRIGOVRFLW at 0x000-0x00C; EVENTS_OVRFLW 0x104 and
    EVENTS_COMPARE[n] 0x140+4n read 1 once generated (written 0 by firmware); INTENSET 0x304 /
    INTENCLR 0x308 (OVRFLW bit 1, COMPARE n bit 16+n); COUNTER 0x504, PRESCALER 0x508, CC[n]
    0x540+4n. Events are kept as flag bits in the INTEN layout."""

    width = 24
    n_compares = 4
    overflow_bit = 1 << 1

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.prescaler = 0
        self.evten = 0

    def compare_bit(self, i: int) -> int:
        return 1 << (16 + i)

    def _event_bit(self, offset: int) -> int | None:
        if offset == 0x100:
            return 1
        if offset == 0x104:
            return self.overflow_bit
        if 0x140 <= offset < 0x150:
            return self.compare_bit((offset - 0x140) // 4)
        return None

    def read32(self, offset: int) -> int:
        bit = self._event_bit(offset)
        if bit is not None:
            return 1 if self.flags & bit else 0
        if offset in (0x304, 0x308):
            return self.inten
        if offset in (0x340, 0x344, 0x348):
            return self.evten
        if offset == 0x504:
            return self.count()
        if offset == 0x508:
            return self.prescaler
        if 0x540 <= offset < 0x550:
            return self.compares[(offset - 0x540) // 4]
        return 0

    def write32(self, offset: int, value: int, mask: int) -> None:
        bit = self._event_bit(offset)
        if bit is not None:
            self.flags = (self.flags | bit) if value & 1 else (self.flags & ~bit)
        elif offset == 0x000 and value & 1:
            self.set_running(True)
        elif offset == 0x004 and value & 1:
            self.set_running(False)
        elif offset == 0x008 and value & 1:
            self.set_count(0)
        elif offset == 0x00C and value & 1:
            self.set_count(0xFFFFF0)
        elif offset == 0x304:
            self.inten |= value
        elif offset == 0x308:
            self.inten &= ~value
        elif offset == 0x340:
            self.evten = value
        elif offset == 0x344:
            self.evten |= value
        elif offset == 0x348:
            self.evten &= ~value
        elif offset == 0x508:
            self.prescaler = value & 0xFFF
            self.set_div(self.prescaler + 1)
        elif 0x540 <= offset < 0x550:
            self.compares[(offset - 0x540) // 4] = value & 0xFFFFFF


class Stm32Tim(_CountCompare):
    """STM32 general-purpose timer TIM2-5 (RM0090 18.4 / RM0008 15.4), up-counting.

    CR1 0x00 (CEN bit 0), DIER 0x0C (UIE bit 0, CCxIE bits 1-4), SR 0x10 (UIF bit 0, CCxIF bits
    1-4; write 0 to clear), EGR 0x14 (UG: counter and prescaler reload), CNT 0x24, PSC 0x28,
    ARR 0x2C (the counter counts 0..ARR), CCR1-4 0x34-0x40. PSC takes effect at once (the
    preload to the next update is not modelled)."""

    n_compares = 4
    overflow_bit = 1

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.cr1 = 0
        self.psc = 0
        self.arr = 0xFFFF
        self.period = self.arr + 1
        self.compares = [1 << 32] * 4  # no compare until CCRx is written

    def compare_bit(self, i: int) -> int:
        return 1 << (1 + i)

    def read32(self, offset: int) -> int:
        regs = {0x00: self.cr1, 0x0C: self.inten, 0x10: self.flags, 0x24: self.count(),
                0x28: self.psc, 0x2C: self.arr}
        if 0x34 <= offset < 0x44:
            v = self.compares[(offset - 0x34) // 4]
            return v if v < 1 << 32 else 0
        return regs.get(offset, 0)

    def write32(self, offset: int, value: int, mask: int) -> None:
        if offset == 0x00:
            self.cr1 = value & 0xFFFF
            self.set_running(bool(value & 1))
        elif offset == 0x0C:
            self.inten = value & 0x1F
        elif offset == 0x10:
            self.flags &= value
        elif offset == 0x14 and value & 1:
            self.set_count(0)
            self.flags |= 1
        elif offset == 0x24:
            self.set_count(value)
        elif offset == 0x28:
            self.psc = value & 0xFFFF
            self.set_div(self.psc + 1)
        elif offset == 0x2C:
            c = self.count()
            self.arr = value & 0xFFFFFFFF
            self.period = self.arr + 1
            self.set_count(c)
        elif 0x34 <= offset < 0x44:
            self.compares[(offset - 0x34) // 4] = value & 0xFFFFFFFF


class Rp2040Spinlocks(TimerModel):
    """RP2040 SIO spinlocks (datasheet 2.3.1.3): reading SPINLOCKn (0x100 + 4n from the block
    base given, SIO + 0x100) claims the lock and returns 1 << n, or 0 if it was already claimed;
    any write releases it. SPINLOCK_ST (SIO + 0x5C, here offset -0xA4) is not modelled."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.claimed = 0

    def read32(self, offset: int) -> int:
        n = offset // 4
        if self.claimed >> n & 1:
            return 0
        self.claimed |= 1 << n
        return 1 << n

    def write32(self, offset: int, value: int, mask: int) -> None:
        self.claimed &= ~(1 << (offset // 4))

    def next_event(self, wake: bool = False) -> int | None:
        return None

    def fire(self, now: int) -> list[Pend]:
        return []


class Rp2040Core1Fifo(TimerModel):
    """Core 0's side of the RP2040 inter-core FIFOs (datasheet 2.3.1.5) with core 1 held in its
    boot ROM, which answers the launch handshake (2.8.2: 0, 0, 1, VTOR, SP, entry) by echoing each
    word it receives. FIFO_ST (+0x0): VLD bit 0 when an echo waits, RDY bit 1 always; FIFO_WR
    (+0x4) queues the echo; FIFO_RD (+0x8) pops it. Core 1 itself is not run."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.rx: list[int] = []

    def read32(self, offset: int) -> int:
        if offset == 0x0:
            return (1 if self.rx else 0) | 2
        if offset == 0x8:
            return self.rx.pop(0) if self.rx else 0
        return 0

    def write32(self, offset: int, value: int, mask: int) -> None:
        if offset == 0x4 and len(self.rx) < 8:
            self.rx.append(value)
        elif offset == 0x0:
            pass  # WOF/ROE error flags: never set here

    def next_event(self, wake: bool = False) -> int | None:
        return None

    def fire(self, now: int) -> list[Pend]:
        return []


class NrfClock(TimerModel):
    """nRF52 CLOCK (PS v1.7 6.4): the start tasks complete at once, as if each oscillator were
    ready the moment it is asked for (the crystal's start-up time is not modelled).

    TASKS_HFCLKSTART 0x000 / HFCLKSTOP 0x004 / LFCLKSTART 0x008 / LFCLKSTOP 0x00C; EVENTS_
    HFCLKSTARTED 0x100 and LFCLKSTARTED 0x104 read 1 once generated (written 0 by firmware);
    INTENSET 0x304 / INTENCLR 0x308 (bits 0, 1) pend POWER_CLOCK's IRQ 0; HFCLKRUN 0x408,
    HFCLKSTAT 0x40C (SRC bit 0: 1 = crystal; STATE bit 16: the CPU always keeps HFCLK running),
    LFCLKRUN 0x414, LFCLKSTAT 0x418 (SRC 1:0, STATE bit 16), LFCLKSRCCOPY 0x41C (LFCLKSRC when
    LFCLKSTART was triggered), LFCLKSRC 0x518. Other registers read back what was written."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.now = now
        self.hf_xtal = self.lf_running = False
        self.hf_run = self.lf_run = 0
        self.lf_src = self.lf_src_copy = 0
        self.events = self.inten = 0
        self.due: int | None = None  # the cycle an enabled event asks for the interrupt
        self.other: dict[int, int] = {}

    def _event(self, bit: int) -> None:
        self.events |= bit
        if self.inten & bit:
            self.due = self.now()

    def read32(self, offset: int) -> int:
        if offset in (0x100, 0x104):
            return 1 if self.events & (1 << ((offset - 0x100) // 4)) else 0
        if offset in (0x304, 0x308):
            return self.inten
        if offset == 0x408:
            return self.hf_run
        if offset == 0x40C:
            return (1 << 16) | int(self.hf_xtal)
        if offset == 0x414:
            return self.lf_run
        if offset == 0x418:
            return ((1 << 16) | self.lf_src_copy) if self.lf_running else 0
        if offset == 0x41C:
            return self.lf_src_copy
        if offset == 0x518:
            return self.lf_src
        return self.other.get(offset, 0)

    def write32(self, offset: int, value: int, mask: int) -> None:
        trig = bool(value & 1)
        if offset == 0x000 and trig:
            self.hf_xtal, self.hf_run = True, 1
            self._event(1)
        elif offset == 0x004 and trig:
            self.hf_xtal, self.hf_run = False, 0
        elif offset == 0x008 and trig:
            self.lf_running, self.lf_run, self.lf_src_copy = True, 1, self.lf_src
            self._event(2)
        elif offset == 0x00C and trig:
            self.lf_running, self.lf_run = False, 0
        elif offset in (0x100, 0x104):
            bit = 1 << ((offset - 0x100) // 4)
            self.events = (self.events | bit) if trig else (self.events & ~bit)
        elif offset == 0x304:
            self.inten |= value & 3
            if self.inten & self.events:
                self.due = self.now()
        elif offset == 0x308:
            self.inten &= ~value
        elif offset == 0x518:
            self.lf_src = value & 3
        else:
            self.other[offset] = (self.other.get(offset, 0) & ~mask) | (value & mask)

    def next_event(self, wake: bool = False) -> int | None:
        return self.due

    def fire(self, now: int) -> list[Pend]:
        if self.due is None or now < self.due:
            return []
        self.due = None
        return [(irq, now) for irq in self.spec.irqs] if self.inten & self.events else []


_MODELS: dict[str, type[TimerModel]] = {
    "rp2040-core1-fifo": Rp2040Core1Fifo,
    "rp2040-spinlocks": Rp2040Spinlocks,
    "rp2040-timer": Rp2040Timer,
    "sam-rtc-mode0": SamRtcMode0,
    "samd21-rtc-mode0": Samd21RtcMode0,
    "nrf-rtc": NrfRtc,
    "nrf-clock": NrfClock,
    "stm32-tim": Stm32Tim,
}


def make_timer(spec: TimerSpec, now: Now, clock_hz: int) -> TimerModel | None:
    """The model for a run model's timer (None for SysTick, which the NVIC model has)."""
    cls = _MODELS.get(spec.kind)
    if spec.kind == "cmsdk-apb-timer":  # its own module (imports this one)
        from gomcu.emu.cmsdk_timer import CmsdkApbTimer

        cls = CmsdkApbTimer
    return cls(spec, now, clock_hz) if cls else None
