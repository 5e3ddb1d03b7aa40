"""The PMSAv7 MPU's registers (ARMv7-M B3.5, 0xE000ED90-0xE000EDB8) and the access check.

The firmware's configuration is kept and reported (`MpuState`). Checking every access would
slow every run, so the machine checks only the small regions that deny all access (a guard,
as Embedded Go's 64-byte region over address 0 that turns a nil dereference into a MemManage
fault): `guards()` says where, `allows()` decides an access there with the region priorities
(the highest-numbered region that matches wins, a disabled subregion does not match) and
PRIVDEFENA's background map for privileged code.
"""

from __future__ import annotations

from gomcu.emu.result import MpuRegion, MpuState

TYPE, CTRL, RNR, RBAR, RASR = 0xE000ED90, 0xE000ED94, 0xE000ED98, 0xE000ED9C, 0xE000EDA0
END = 0xE000EDBC
REGIONS = 8
GUARD_MAX = 0x10000  # a no-access region up to 64 KiB is checked on every access to it
#: AP field -> (privileged, unprivileged) access: "" none, "r" read-only, "rw"
_AP = {0: ("", ""), 1: ("rw", ""), 2: ("rw", "r"), 3: ("rw", "rw"), 5: ("r", ""), 6: ("r", "r"), 7: ("r", "r")}


class Mpu:
    def __init__(self) -> None:
        self.ctrl = 0
        self.rnr = 0
        self.rbar = [0] * REGIONS
        self.rasr = [0] * REGIONS
        self.writes = 0

    @staticmethod
    def contains(addr: int) -> bool:
        return TYPE <= addr < END

    @property
    def enabled(self) -> bool:
        return bool(self.ctrl & 1)

    def read(self, addr: int) -> int:
        a = addr & ~3
        if a == TYPE:
            return REGIONS << 8  # separate map, 8 data regions, no instruction regions
        if a == CTRL:
            return self.ctrl
        if a == RNR:
            return self.rnr
        if a in (RBAR, RBAR + 8, RBAR + 16, RBAR + 24):
            return (self.rbar[self.rnr] & ~0x1F) | self.rnr
        if a in (RASR, RASR + 8, RASR + 16, RASR + 24):
            return self.rasr[self.rnr]
        return 0

    def write(self, addr: int, value: int) -> None:
        """Returns nothing; the caller re-reads `guards()` when CTRL or a region changed."""
        a = addr & ~3
        self.writes += 1
        if a == CTRL:
            self.ctrl = value & 7
        elif a == RNR:
            self.rnr = value & (REGIONS - 1)
        elif a in (RBAR, RBAR + 8, RBAR + 16, RBAR + 24):
            if value & 0x10:  # VALID: the region number is in the low bits
                self.rnr = value & (REGIONS - 1)
            self.rbar[self.rnr] = value & ~0x1F
        elif a in (RASR, RASR + 8, RASR + 16, RASR + 24):
            self.rasr[self.rnr] = value

    def region(self, n: int) -> MpuRegion:
        rasr = self.rasr[n]
        size = 1 << (((rasr >> 1) & 0x1F) + 1)
        base = self.rbar[n] & ~(size - 1) & 0xFFFFFFFF
        ap = (rasr >> 24) & 7
        return MpuRegion(n, base, size, bool(rasr & 1), ap, "/".join(p or "-" for p in _AP.get(ap, ("?", "?"))),
                         bool(rasr >> 28 & 1), (rasr >> 8) & 0xFF)

    def state(self) -> MpuState | None:
        if not self.writes:
            return None
        regions = tuple(self.region(n) for n in range(REGIONS) if self.rasr[n] & 1)
        return MpuState(self.enabled, bool(self.ctrl & 4), bool(self.ctrl & 2), regions, self.guards())

    def _match(self, addr: int) -> MpuRegion | None:
        for n in reversed(range(REGIONS)):
            r = self.region(n)
            if not r.enabled or r.size < 32 or not r.base <= addr < r.base + r.size:
                continue
            if r.size >= 256 and r.srd >> ((addr - r.base) // (r.size // 8)) & 1:
                continue  # subregion disabled: the region does not match here
            return r
        return None

    def allows(self, addr: int, privileged: bool, write: bool) -> tuple[bool, MpuRegion | None]:
        """(allowed, the region that decided it) for a data access."""
        if not self.enabled:
            return True, None
        r = self._match(addr)
        if r is None:
            return privileged and bool(self.ctrl & 4), None
        rights = _AP.get(r.ap, ("", ""))[0 if privileged else 1]
        return ("w" in rights if write else "r" in rights), r

    def guards(self) -> tuple[tuple[int, int], ...]:
        """Ranges [start, end) of enabled no-access regions small enough to check on every access."""
        if not self.enabled:
            return ()
        return tuple((r.base, r.base + r.size) for r in map(self.region, range(REGIONS))
                     if r.enabled and r.ap == 0 and 32 <= r.size <= GUARD_MAX)
