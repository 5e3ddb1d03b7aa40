"""The LM3S6965's system control block (0x400FE000), as QEMU's lm3s6965evb models it.

Drivers and the FreeRTOS lm3s6965 demo read the device identification registers (the demo
asserts DID1's part number is 6965 before it uses the OLED) and, after powering up the PLL in
RCC/RCC2, poll the raw interrupt status for PLL lock; SysCtlClockGet reads PLLCFG. Values are QEMU's (hw/arm/stellaris.c,
board LM3S6965EVB), checked by reading them back under qemu-system-arm
(tests/fixtures/emu/sysctl.c). Registers not listed keep what was written (0 at reset).
"""

from __future__ import annotations

#: DID0, DID1, DC0-DC4 of the LM3S6965EVB (LM3S6965 data sheet, section 6.5; QEMU's values).
IDS = {0x000: 0x10010002, 0x004: 0x1073402E, 0x008: 0x00FF007F, 0x010: 0x001133FF,
       0x014: 0x030F5317, 0x018: 0x0F0F87FF, 0x01C: 0x5000007F}
#: PLLCFG for each crystal RCC.XTAL selects (QEMU's table for the LM3S6965's class, read back
#: under qemu-system-arm): SysCtlClockGet computes the PLL's output from it.
PLLCFG_BY_XTAL = (0x3200, 0x1B20, 0x1900, 0xF42B, 0x37E3, 0x1B21, 0x0C80, 0x98EE,
                  0xD5B4, 0x0A00, 0x4E27, 0x1902, 0xEC1C, 0x1B23, 0x0640, 0xB11C)
RIS, IMC, MISC, RCC, PLLCFG, RCC2 = 0x050, 0x054, 0x058, 0x060, 0x064, 0x070
RCC_PWRDN, RCC2_PWRDN2 = 1 << 13, 1 << 13
PLL_LOCK = 1 << 6
RESET = {RCC: 0x078E3AD1, RCC2: 0x07802810}
SIZE = 0x1000


class StellarisSysctl:
    def __init__(self, base: int) -> None:
        self.base = base
        self.regs: dict[int, int] = dict(RESET)
        self.status = 0

    def contains(self, address: int) -> bool:
        return self.base <= address < self.base + SIZE

    def read(self, offset: int) -> int:
        offset &= ~3
        if offset in IDS:
            return IDS[offset]
        if offset == RIS:
            return self.status
        if offset == MISC:
            return self.status & self.regs.get(IMC, 0)
        if offset == PLLCFG:
            return PLLCFG_BY_XTAL[(self.regs[RCC] >> 6) & 0xF]
        return self.regs.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        offset &= ~3
        value &= 0xFFFFFFFF
        if offset in IDS or offset in (RIS, PLLCFG):
            return  # read-only
        if offset == MISC:
            self.status &= ~value  # write 1 to clear
            return
        if offset in (RCC, RCC2):
            bit = RCC_PWRDN if offset == RCC else RCC2_PWRDN2
            if self.regs.get(offset, 0) & bit and not value & bit:
                self.status |= PLL_LOCK  # the PLL locks at once
        self.regs[offset] = value
