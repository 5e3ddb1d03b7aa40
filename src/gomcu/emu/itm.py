"""The ITM (Instrumentation Trace Macrocell, ARMv7-M C1.7) at 0xE0000000, seen by a debugger
that captures its stimulus ports (SWO), as `openocd itm ports on` does.

Embedded Go's print writes to stimulus port 2 (runtime.defaultWrite: fd n is port n) and never
enables the ITM itself: the debugger does (DEMCR.TRCENA, ITM_TCR.ITMENA, ITM_TER). So at reset
the ITM is enabled on every port as an attached debugger leaves it, and the software lock
(ITM_LAR/LSR) is locked: firmware that configures the ITM itself unlocks it first, and what it
writes then holds (a port it disables drops what is written to it, as the hardware does).
A stimulus read answers FIFOREADY (1) while the port can take data (the capture never stalls).
Unprivileged code may write port n when ITM_TPR bit n/8 is clear; the other registers are
privileged only (`privileged_only`).
"""

from __future__ import annotations

from collections.abc import Callable

ITM = 0xE0000000
STIM_END = ITM + 0x400      # 256 stimulus ports (a Cortex-M4 implements 32; the rest read 0)
TER, TPR, TCR = ITM + 0xE00, ITM + 0xE40, ITM + 0xE80
LAR, LSR = ITM + 0xFB0, ITM + 0xFB4
UNLOCK = 0xC5ACCE55
ITMENA = 1
#: CoreSight identification registers of the ARM ITM (PID4, PID0-3, CID0-3)
_IDS = {0xFD0: 0x04, 0xFE0: 0x01, 0xFE4: 0xB0, 0xFE8: 0x3B, 0xFEC: 0x00,
        0xFF0: 0x0D, 0xFF4: 0xE0, 0xFF8: 0x05, 0xFFC: 0xB1}


class Itm:
    """Stimulus ports 0-31 with their enables; bytes written go to `emit(stream, data)` with
    stream "itmN" for port N."""

    def __init__(self, emit: Callable[[str, bytes], None], trcena: Callable[[], bool]) -> None:
        self.emit = emit
        self.trcena = trcena
        self.ter = [0xFFFFFFFF] + [0] * 7
        self.tpr = 0
        self.tcr = ITMENA
        self.locked = True
        self.written = 0      # stimulus bytes captured
        self.dropped = 0      # stimulus writes to a disabled port or with the ITM off
        self.configured = False  # the firmware wrote TER/TCR/TPR (after unlocking)

    @staticmethod
    def contains(addr: int) -> bool:
        return ITM <= addr < ITM + 0x1000

    def privileged_only(self, addr: int) -> bool:
        """Whether an unprivileged access to `addr` is a BusFault."""
        if addr < STIM_END:
            return bool(self.tpr >> (((addr - ITM) >> 2) // 8) & 1)
        return True

    def _port_on(self, port: int) -> bool:
        return self.trcena() and bool(self.tcr & ITMENA) and port < 32 and bool(self.ter[port // 32] >> (port % 32) & 1)

    def read(self, addr: int, size: int) -> int:
        word = addr & ~3
        if word < STIM_END:
            value = 1 if self._port_on((word - ITM) >> 2) else 0
        elif TER <= word < TER + 32:
            value = self.ter[(word - TER) >> 2]
        elif word == TPR:
            value = self.tpr
        elif word == TCR:
            value = self.tcr
        elif word == LSR:
            value = 0x3 if self.locked else 0x1
        else:
            value = _IDS.get(word - ITM, 0)
        return (value >> ((addr & 3) * 8)) & ((1 << (size * 8)) - 1)

    def write(self, addr: int, size: int, value: int) -> None:
        word = addr & ~3
        if word < STIM_END:
            port = (word - ITM) >> 2
            if self._port_on(port):
                self.emit(f"itm{port}", (value & ((1 << (size * 8)) - 1)).to_bytes(size, "little"))
                self.written += size
            else:
                self.dropped += 1
            return
        if word == LAR:
            self.locked = value != UNLOCK
            return
        if self.locked:
            return  # the software lock ignores writes to the ITM's registers
        if TER <= word < TER + 32:
            self.ter[(word - TER) >> 2] = value & 0xFFFFFFFF
        elif word == TPR:
            self.tpr = value & 0xF
        elif word == TCR:
            self.tcr = value & 0x00FF0F1F
        else:
            return
        self.configured = True
