"""Arm PrimeCell SSP (PL022), the LM3S6965's SSI0 that drives the evaluation board's OLED, as
QEMU's lm3s6965evb models it (hw/ssi/pl022.c): a word written to DR is transferred at once and the
word the device answers (the OLED controller answers 0) enters the 8-entry receive FIFO; SR
reports the transmit FIFO empty and not full (bits 0, 1), the receive FIFO not empty / full
(bits 2, 3) and never busy. Drivers poll SR (SSIDataPut waits for TNF, drains with RNE), so
without a model they spin on a register that never changes.
"""

from __future__ import annotations

DR, SR = 0x008, 0x00C
SR_TFE, SR_TNF, SR_RNE, SR_RFF = 0x1, 0x2, 0x4, 0x8
FIFO = 8
#: PrimeCell peripheral and cell ids (PL022 TRM, 3.3.12-3.3.13).
_IDS = {0xFE0: 0x22, 0xFE4: 0x10, 0xFE8: 0x04, 0xFEC: 0x00, 0xFF0: 0x0D, 0xFF4: 0xF0, 0xFF8: 0x05, 0xFFC: 0xB1}
SIZE = 0x1000


class Pl022:
    def __init__(self, base: int) -> None:
        self.base = base
        self.regs: dict[int, int] = {}
        self.rx: list[int] = []

    def contains(self, address: int) -> bool:
        return self.base <= address < self.base + SIZE

    def read(self, offset: int) -> int:
        offset &= ~3
        if offset == DR:
            return self.rx.pop(0) if self.rx else 0
        if offset == SR:
            return SR_TFE | SR_TNF | (SR_RNE if self.rx else 0) | (SR_RFF if len(self.rx) >= FIFO else 0)
        if offset in _IDS:
            return _IDS[offset]
        return self.regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        offset &= ~3
        if offset == DR:
            if len(self.rx) < FIFO:
                self.rx.append(0)  # the device's answer to the word sent
            return
        if offset == SR or offset in _IDS:
            return
        self.regs[offset] = value & 0xFFFF
