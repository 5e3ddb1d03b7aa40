"""ARM semihosting (`bkpt 0xAB`, operation in r0, argument block in r1), as QEMU implements it.

Output operations append to the machine's output; SYS_EXIT / SYS_EXIT_EXTENDED end the run
with QEMU's exit status (ADP_Stopped_ApplicationExit -> the given code, or 0 for SYS_EXIT;
any other reason -> 1). Time operations read the emulated clock, so runs stay deterministic.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

SYS_OPEN, SYS_CLOSE, SYS_WRITEC, SYS_WRITE0, SYS_WRITE, SYS_READ, SYS_READC = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
SYS_ISERROR, SYS_ISTTY, SYS_SEEK, SYS_FLEN, SYS_CLOCK, SYS_TIME = 0x08, 0x09, 0x0A, 0x0C, 0x10, 0x11
SYS_ERRNO, SYS_GET_CMDLINE, SYS_HEAPINFO, SYS_EXIT, SYS_EXIT_EXTENDED = 0x13, 0x15, 0x16, 0x18, 0x20
SYS_ELAPSED, SYS_TICKFREQ = 0x30, 0x31
ADP_STOPPED_APPLICATION_EXIT = 0x20026


@dataclass
class SemihostingState:
    """What the firmware did through semihosting."""

    stdin: bytes = b""
    stdin_pos: int = 0
    exit_code: int | None = None
    exit_reason: int | None = None
    unsupported: dict[int, int] = field(default_factory=dict)


class Semihosting:
    def __init__(self, read: Callable[[int, int], bytes], write_out: Callable[[str, bytes], None],
                 now_cycles: Callable[[], int], clock_hz: int, stdin: bytes = b"") -> None:
        self.read = read
        self.out = write_out
        self.now_cycles = now_cycles
        self.clock_hz = clock_hz
        self.state = SemihostingState(stdin=stdin)

    def _word(self, addr: int) -> int:
        return int(struct.unpack("<I", self.read(addr, 4))[0])

    def _cstring(self, addr: int) -> bytes:
        out = bytearray()
        while len(out) < 65536:
            chunk = self.read(addr + len(out), 64)
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                break
            out += chunk
        return bytes(out)

    def call(self, op: int, arg: int) -> int:
        """Perform one operation; returns the value for r0."""
        st = self.state
        if op == SYS_WRITEC:
            self.out("semihosting", self.read(arg, 1))
            return 0
        if op == SYS_WRITE0:
            self.out("semihosting", self._cstring(arg))
            return 0
        if op == SYS_WRITE:
            handle, ptr, n = (self._word(arg + 4 * i) for i in range(3))
            data = self.read(ptr, n) if n else b""
            self.out("semihosting" if handle in (1, 2) else f"handle{handle}", data)
            return 0
        if op == SYS_READC:
            if st.stdin_pos < len(st.stdin):
                st.stdin_pos += 1
                return st.stdin[st.stdin_pos - 1]
            return 0xFFFFFFFF
        if op == SYS_OPEN:
            name = self._cstring(self._word(arg))
            return 1 if name == b":tt" else 0xFFFFFFFF
        if op in (SYS_CLOSE, SYS_ISERROR):
            return 0
        if op == SYS_ISTTY:
            return 1
        if op == SYS_CLOCK:
            return (self.now_cycles() * 100 // self.clock_hz) & 0xFFFFFFFF
        if op == SYS_TIME:
            return self.now_cycles() // self.clock_hz
        if op == SYS_ERRNO:
            return 0
        if op == SYS_ELAPSED:
            # r1 points to a doubleword that receives the tick count: the caller writes it.
            return 0
        if op == SYS_TICKFREQ:
            return self.clock_hz
        if op == SYS_EXIT:
            st.exit_reason = arg
            st.exit_code = 0 if arg == ADP_STOPPED_APPLICATION_EXIT else 1
            return 0
        if op == SYS_EXIT_EXTENDED:
            reason, sub = self._word(arg), self._word(arg + 4)
            st.exit_reason = reason
            st.exit_code = sub if reason == ADP_STOPPED_APPLICATION_EXIT else 1
            return 0
        st.unsupported[op] = st.unsupported.get(op, 0) + 1
        return 0xFFFFFFFF
