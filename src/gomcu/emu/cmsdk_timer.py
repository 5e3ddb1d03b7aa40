"""Arm's CMSDK APB timer (the mps2-an385/an386 TIMER0/TIMER1), as QEMU models it, in the
machine's timer framework (gomcu.emu.timers).

Registers (CMSDK technical reference manual, ARM DDI 0479; QEMU hw/timer/cmsdk-apb-timer.c):
CTRL 0x00 (bit 0 enable, bit 3 interrupt enable), VALUE 0x04 (counts down at PCLK), RELOAD 0x08
(writing it also loads VALUE, as in QEMU), INTSTATUS/INTCLEAR 0x0C (write 1 to clear). When VALUE
reaches 0 the interrupt status sets and VALUE reloads; with the interrupt enabled the IRQ is
pended then. The line is level in hardware; here it is pended at each zero crossing (the same
for a handler that clears the status, as every CMSDK driver does).
"""

from __future__ import annotations

from gomcu.chips.runmodel import TimerSpec
from gomcu.emu.timers import Now, Pend, TimerModel

CTRL, VALUE, RELOAD, INTSTATUS = 0x00, 0x04, 0x08, 0x0C
CTRL_ENABLE, CTRL_IRQEN = 0x1, 0x8
#: CMSDK peripheral id registers (PID4..7, PID0..3, CID0..3) as QEMU returns them.
_IDS = (0x04, 0x00, 0x00, 0x00, 0x22, 0xB8, 0x1B, 0x00, 0x0D, 0xF0, 0x05, 0xB1)
KIND = "cmsdk-apb-timer"


def spec(base: int, irq: int, hz: int, name: str) -> TimerSpec:
    """A CMSDK timer on a board: its registers' base address, PCLK and IRQ."""
    return TimerSpec(KIND, base, hz, (irq,), name)


class CmsdkApbTimer(TimerModel):
    """One CMSDK APB timer. `zero_tick` is the PCLK tick at which VALUE next reaches 0."""

    def __init__(self, spec: TimerSpec, now: Now, clock_hz: int) -> None:
        super().__init__(spec, now, clock_hz)
        self.ctrl = 0
        self.reload = 0
        self.status = 0
        self.frozen = 0  # VALUE while stopped
        self.zero_tick: int | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.ctrl & CTRL_ENABLE)

    def _value(self) -> int:
        if self.zero_tick is None:
            return self.frozen
        return max(0, self.zero_tick - self.clock.ticks())

    def _start(self, value: int) -> None:
        now = self.clock.ticks()
        if value:
            self.zero_tick = now + value
        elif self.reload:
            self.zero_tick = now + self.reload + 1
        else:
            self.zero_tick = None

    def read32(self, offset: int) -> int:
        if offset == CTRL:
            return self.ctrl
        if offset == VALUE:
            return self._value()
        if offset == RELOAD:
            return self.reload
        if offset == INTSTATUS:
            return self.status
        if 0xFD0 <= offset < 0x1000:
            return _IDS[(offset - 0xFD0) // 4]
        return 0

    def write32(self, offset: int, value: int, mask: int) -> None:
        value = (self.read32(offset) & ~mask | value & mask) & 0xFFFFFFFF
        if offset == CTRL:
            was, current = self.enabled, self._value()
            self.ctrl = value & 0xF
            if was and not self.enabled:
                self.frozen, self.zero_tick = current, None
            elif not was and self.enabled:
                self._start(current)
        elif offset == VALUE:
            self.frozen = value
            if self.enabled:
                self._start(value)
        elif offset == RELOAD:
            self.reload = self.frozen = value
            if self.enabled:
                self._start(value)
        elif offset == INTSTATUS:
            self.status &= ~(value & mask) & 1

    def next_event(self, wake: bool = False) -> int | None:
        if self.zero_tick is None or (wake and not self.ctrl & CTRL_IRQEN):
            return None
        return self.clock.cycle_at(self.zero_tick)

    def fire(self, now: int) -> list[Pend]:
        pends: list[Pend] = []
        tick = self.clock.ticks(now)
        while self.zero_tick is not None and self.zero_tick <= tick:
            at = self.clock.cycle_at(self.zero_tick)
            self.status = 1
            if self.ctrl & CTRL_IRQEN and not pends:
                pends.append((self.spec.irqs[0], at))
            if self.reload:
                self.zero_tick += self.reload + 1
            else:
                self.zero_tick, self.frozen = None, 0
        return pends
