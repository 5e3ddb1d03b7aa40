"""The call chain at a stop, read off the emulated stack (no frame pointers, no debug frames).

Why: a panic ends the run inside the runtime's exit routine and a fault may stop in a library
routine; the place worth reporting is the chain of calls that led there. Cortex-M code keeps no
frame pointers, so the live stack (SP upward) is scanned for words that are Thumb return
addresses: odd, inside a function, right after a BL or BLX. Stale words on a stack look the same,
so a BL is taken only when its target is the function of the frame below it (the chain must
connect); an indirect BLX is taken as it is. A tail call (B, not BL) breaks the chain there: the
chain is then shorter, never wrong by a made-up frame.
"""

from __future__ import annotations

from collections.abc import Callable

ReadWord = Callable[[int], "int | None"]
Start = Callable[[int], "int | None"]  # address -> start of the function holding it, or None


def _halfword(read: ReadWord, address: int) -> int | None:
    word = read(address & ~3)
    if word is None:
        return None
    return (word >> 16) & 0xFFFF if address & 2 else word & 0xFFFF


def call_target(read: ReadWord, ret: int) -> tuple[bool, int | None] | None:
    """What the call that returns to `ret` (Thumb bit cleared) is: (True, target) for a BL,
    (False, None) for BLX through a register, None when the instruction before `ret` is no call."""
    lo = _halfword(read, ret - 2)
    if lo is not None and lo & 0xFF87 == 0x4780:  # BLX Rm
        return False, None
    hi = _halfword(read, ret - 4)
    if hi is None or lo is None or hi & 0xF800 != 0xF000 or lo & 0xD000 != 0xD000:
        return None
    s = (hi >> 10) & 1
    i1 = 1 - (((lo >> 13) & 1) ^ s)
    i2 = 1 - (((lo >> 11) & 1) ^ s)
    offset = (s << 24) | (i1 << 23) | (i2 << 22) | ((hi & 0x3FF) << 12) | ((lo & 0x7FF) << 1)
    if s:
        offset -= 1 << 25
    return True, (ret + offset) & 0xFFFFFFFF


def backtrace(read: ReadWord, start_of: Start, pc: int, lr: int, sp: int, top: int,
              limit: int = 24) -> tuple[int, ...]:
    """Return addresses (Thumb bit cleared), innermost first, of the calls that led to `pc`:
    LR first (a leaf, or a function that has not saved it yet), then the words from `sp` up to
    `top`."""
    callee = start_of(pc)
    out: list[int] = []
    candidates = [lr] if lr & 1 else []
    if callee is None and lr & 1 and start_of(lr & ~1) is not None and call_target(read, lr & ~1) is not None:
        # a call or jump to an address outside every function (a bad pointer): LR is its caller
        out.append(lr & ~1)
        callee, candidates = start_of(lr & ~1), []
    address = sp
    while callee is not None and len(out) < limit:
        if candidates:
            word: int | None = candidates.pop()
        else:
            if address + 4 > top:
                break
            word = read(address)
            address += 4
        if word is None or not word & 1:
            continue
        ret = word & ~1
        caller = start_of(ret)
        if caller is None or ret == caller:
            continue
        call = call_target(read, ret)
        if call is None or (call[0] and call[1] != callee) or (not call[0] and out and out[-1] == ret):
            continue
        out.append(ret)
        callee = caller
    return tuple(out)
