"""The time base: exact instruction counting and event deadlines at translation-block starts.

Two implementations behind one interface: the native hook in `_fastblock.c` (built as the
extension module `gomcu.emu._fastblock`), and a pure-Python block hook that does the same at
about a fifth of the speed, used when the extension is not built (or GOMCU_EMU_PURE=1).

Semantics shared by both: at each block start, if `count >= deadline` emulation stops *before*
the block runs (it is not counted); else, while `watch_mask` is set and the pending exception's
group priority is no longer masked by PRIMASK/BASEPRI/FAULTMASK, it stops; else the block's
instruction count (Thumb lengths decoded once per block and cached) is added to `count`.
Blocks in the EXC_RETURN trap page stop emulation and are never counted. Other hooks request a
stop with `request_stop()` (deadline 0), never with uc.emu_stop(), so no block is counted twice.
"""

from __future__ import annotations

import ctypes
import os
import weakref
from typing import Any

from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE, Uc
from unicorn.arm_const import (
    UC_ARM_REG_BASEPRI,
    UC_ARM_REG_FAULTMASK,
    UC_ARM_REG_IPSR,
    UC_ARM_REG_LR,
    UC_ARM_REG_PRIMASK,
    UC_ARM_REG_R0,
    UC_ARM_REG_SP,
)
from unicorn.unicorn_const import UC_CTL_IO_WRITE, UC_CTL_TB_REMOVE_CACHE

from gomcu.emu.probes import location

_uclib: ctypes.CDLL | None
try:
    from unicorn.unicorn_py3.unicorn import uclib as _uclib
except ImportError:  # pragma: no cover - other binding layouts
    _uclib = None

try:
    if os.environ.get("GOMCU_EMU_PURE"):
        raise ImportError("pure Python time base requested")
    from gomcu.emu import _fastblock  # type: ignore[attr-defined]
    if getattr(_fastblock, "ABI", 1) != 3:  # keep in step with FASTBLOCK_ABI in _fastblock.c
        raise ImportError("the extension module gomcu.emu._fastblock was built from an older _fastblock.c: "
                          "rebuild it (python setup.py build_ext --inplace, or reinstall gomcu)")
    _stale = ""
except ImportError as error:
    _stale = str(error) if "older _fastblock.c" in str(error) else ""
    _fastblock = None

#: How to get the native hook when it is missing (said by `gomcu --version` and the run warning).
NATIVE_HINT = ("install a C compiler and the Python headers (Debian/Ubuntu: apt-get install gcc python3-dev), "
               "then reinstall gomcu")
#: Why the last run that asked for the native time base got the pure-Python one (None: it did not).
_fell_back: str | None = None

TRAP_LOW = 0xFFFFFF00
STOP_DEADLINE, STOP_UNMASKED, STOP_TRAP = 1, 2, 4
# native probes (keep in step with _fastblock.c): site kinds and stack kinds
K_FUNC, K_ALLOC, K_CREATE, K_SALLOC, K_RESTART = 1, 2, 3, 4, 5
#: a probe location as the native probes read it: a stack offset with this bit, else a register id
LOC_STACK = 1 << 31
S_MSP, S_RUNTIME = 0, 1


class _State(ctypes.Structure):
    _fields_ = [
        ("count", ctypes.c_uint64), ("deadline", ctypes.c_uint64), ("block_start", ctypes.c_uint64),
        ("block_addr", ctypes.c_uint32), ("block_insns", ctypes.c_uint32), ("watch_mask", ctypes.c_uint32),
        ("pending_prio", ctypes.c_uint32), ("prigroup_mask", ctypes.c_uint32), ("stop_reason", ctypes.c_uint32),
        ("trap_low", ctypes.c_uint32), ("reg_primask", ctypes.c_uint32), ("reg_basepri", ctypes.c_uint32),
        ("reg_faultmask", ctypes.c_uint32), ("fn_emu_stop", ctypes.c_void_p), ("fn_mem_read", ctypes.c_void_p),
        ("fn_reg_read", ctypes.c_void_p), ("blocks", ctypes.c_uint64), ("misses", ctypes.c_uint64),
        ("cache", ctypes.c_void_p),
        ("extra", ctypes.c_uint64), ("exc_insns", ctypes.c_uint64), ("uc", ctypes.c_void_p),
        ("fn_mem_write", ctypes.c_void_p), ("fn_hook_add", ctypes.c_void_p), ("fn_ctl", ctypes.c_void_p),
        ("ctl_remove_cache", ctypes.c_uint32), ("reg_r0", ctypes.c_uint32), ("reg_sp", ctypes.c_uint32),
        ("reg_lr", ctypes.c_uint32), ("reg_ipsr", ctypes.c_uint32), ("pad0", ctypes.c_uint32),
        ("probes", ctypes.c_void_p),
    ]


def loc_code(spec: str) -> int:
    """A probe location ("r0", "sp+16") as the native probes take it."""
    kind, n = location(spec)
    return LOC_STACK | n if kind == "stack" else UC_ARM_REG_R0 + n


def thumb_insn_count(code: bytes, limit: int | None = None) -> int:
    """Instructions in a run of Thumb code (32-bit encodings start 0b11101/0b11110/0b11111)."""
    n = off = 0
    end = len(code) if limit is None else min(limit, len(code))
    while off < end:
        hw = code[off] | (code[off + 1] << 8) if off + 1 < len(code) else 0
        off += 4 if (hw >> 11) >= 0x1D else 2
        n += 1
    return n


class NativeTimebase:
    native = True

    def __init__(self, uc: Uc) -> None:
        assert _fastblock is not None and _uclib is not None
        if _fastblock.state_size() != ctypes.sizeof(_State):
            raise ImportError("gomcu.emu._fastblock does not match native.py")
        self.uc = uc
        self.st = _State()
        self._cache = ctypes.create_string_buffer(_fastblock.cache_bytes())
        st = self.st
        st.cache = ctypes.addressof(self._cache)
        st.fn_emu_stop = ctypes.cast(_uclib.uc_emu_stop, ctypes.c_void_p).value
        st.fn_mem_read = ctypes.cast(_uclib.uc_mem_read, ctypes.c_void_p).value
        st.fn_reg_read = ctypes.cast(_uclib.uc_reg_read, ctypes.c_void_p).value
        st.trap_low = TRAP_LOW
        st.reg_primask, st.reg_basepri, st.reg_faultmask = UC_ARM_REG_PRIMASK, UC_ARM_REG_BASEPRI, UC_ARM_REG_FAULTMASK
        st.deadline = 0
        st.uc = uc._uch.value if hasattr(uc._uch, "value") else uc._uch
        st.fn_mem_write = ctypes.cast(_uclib.uc_mem_write, ctypes.c_void_p).value
        st.fn_hook_add = ctypes.cast(_uclib.uc_hook_add, ctypes.c_void_p).value
        st.fn_ctl = ctypes.cast(_uclib.uc_ctl, ctypes.c_void_p).value
        st.ctl_remove_cache = (UC_CTL_IO_WRITE << 30) | (2 << 26) | UC_CTL_TB_REMOVE_CACHE
        st.reg_r0, st.reg_sp, st.reg_lr, st.reg_ipsr = UC_ARM_REG_R0, UC_ARM_REG_SP, UC_ARM_REG_LR, UC_ARM_REG_IPSR
        _fastblock.init_probes(ctypes.addressof(st))
        weakref.finalize(self, _fastblock.release, ctypes.addressof(st))
        self.probes = NativeProbes(self)
        assert _uclib is not None  # NativeTimebase (self.tb) exists only when it was found
        handle = ctypes.c_size_t()
        err = _uclib.uc_hook_add(uc._uch, ctypes.byref(handle), UC_HOOK_BLOCK,
                                 ctypes.c_void_p(_fastblock.callback_address()),
                                 ctypes.c_void_p(ctypes.addressof(st)), ctypes.c_uint64(1), ctypes.c_uint64(0))
        if err:
            raise ImportError(f"uc_hook_add failed ({err})")

    # the interface ------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return int(self.st.count)

    def add(self, n: int) -> None:
        self.st.count += n

    def arm(self, deadline: int) -> None:
        self.st.deadline = deadline
        self.st.stop_reason = 0

    def request_stop(self) -> None:
        self.st.deadline = 0

    @property
    def stop_reason(self) -> int:
        return int(self.st.stop_reason)

    def watch(self, group_prio: int | None, group_mask: int) -> None:
        st = self.st
        if group_prio is None:
            st.watch_mask = 0
        else:
            st.watch_mask = 1
            st.pending_prio = group_prio & 0xFFFFFFFF
            st.prigroup_mask = group_mask

    @property
    def block(self) -> tuple[int, int, int]:
        """(address, count before it, instructions) of the block running now."""
        st = self.st
        return int(st.block_addr), int(st.block_start), int(st.block_insns)

    @property
    def stats(self) -> dict[str, Any]:
        return {"native": True, "blocks": int(self.st.blocks), "translations_counted": int(self.st.misses)}


class NativeProbes:
    """The probes' bookkeeping in `_fastblock.c` (entry/return hooks, frames, stacks, records).

    machine.py turns what it returns into the same results its Python probes produce."""

    def __init__(self, tb: NativeTimebase) -> None:
        self.tb = tb
        self.addr = ctypes.addressof(tb.st)
        self._hooked: set[int] = set()

    def add_site(self, addr: int, kind: int, aux: int = 0, flags: int = 0, size_loc: int = 0,
                 result_loc: int = 0) -> None:
        """A probed function entry; sites at one address run in the order they were added.
        `size_loc`/`result_loc` (allocation sites; `loc_code`): where the size is read at entry
        and the result at the return."""
        _fastblock.add_site(self.addr, addr, kind, aux, flags, size_loc, result_loc)

    def hook(self, addr: int) -> None:
        """Install the native entry hook at `addr` (once per address)."""
        if addr in self._hooked:
            return
        self._hooked.add(addr)
        assert _uclib is not None  # NativeTimebase (self.tb) exists only when it was found
        handle = ctypes.c_size_t()
        err = _uclib.uc_hook_add(self.tb.uc._uch, ctypes.byref(handle), UC_HOOK_CODE,
                                 ctypes.c_void_p(_fastblock.entry_callback_address()),
                                 ctypes.c_void_p(self.addr), ctypes.c_uint64(addr), ctypes.c_uint64(addr))
        if err:
            raise RuntimeError(f"uc_hook_add failed ({err})")

    def add_stack(self, bottom: int, top: int, created: int, paint: int, kind: int, aux: int = 0) -> None:
        _fastblock.add_stack(self.addr, bottom, top, created, paint, kind, aux)

    def sync(self, extra: int, exc_insns: int) -> None:
        """Hand the machine's Python-side time figures to the hooks before an emu_start."""
        st = self.tb.st
        st.extra = extra
        st.exc_insns = exc_insns

    def take_records(self) -> list[tuple[int, ...]]:
        """(kind, aux, caller, size, result, ipsr, insns, end_insns, cycles, end_cycles,
        exc_insns, end_exc_insns) of each call that returned since the last take, in order."""
        return _fastblock.take_records(self.addr)

    def measure_all(self) -> None:
        _fastblock.measure_all(self.addr)

    def stacks(self) -> list[tuple[int, ...]]:
        """(bottom, top, skip, used, created, paint, kind, aux, closed) of every stack."""
        return _fastblock.stacks(self.addr)

    def open_frames(self) -> list[tuple[int, int]]:
        return _fastblock.open_frames(self.addr)


class PythonTimebase:
    """The same contract as the native hook, in Python (about 7 M instructions/s)."""

    native = False

    def __init__(self, uc: Uc) -> None:
        self.uc = uc
        self._count = 0
        self.deadline = 0
        self._stop = 0
        self._watch: tuple[int, int] | None = None
        self._cache: dict[tuple[int, int], int] = {}
        self._block = (0, 0, 0)
        self.blocks = 0
        uc.hook_add(UC_HOOK_BLOCK, self._hook)

    def _hook(self, uc: Uc, address: int, size: int, _user: object) -> None:
        if address >= TRAP_LOW:
            self._stop |= STOP_TRAP
            uc.emu_stop()
            return
        if self._count >= self.deadline:
            self._stop |= STOP_DEADLINE
            uc.emu_stop()
            return
        if self._watch is not None:
            prio, gmask = self._watch
            primask = uc.reg_read(UC_ARM_REG_PRIMASK)
            basepri = uc.reg_read(UC_ARM_REG_BASEPRI) & 0xFF
            faultmask = uc.reg_read(UC_ARM_REG_FAULTMASK)
            masked = (faultmask & 1 and prio >= -1) or (primask & 1 and prio >= 0) or \
                (basepri and prio >= 0 and prio >= (basepri & gmask))
            if not masked:
                self._stop |= STOP_UNMASKED
                self._watch = None
                uc.emu_stop()
                return
        key = (address, size)
        n = self._cache.get(key)
        if n is None:
            n = thumb_insn_count(bytes(uc.mem_read(address, size)))
            self._cache[key] = n
        self.blocks += 1
        self._block = (address, self._count, n)
        self._count += n

    @property
    def count(self) -> int:
        return self._count

    def add(self, n: int) -> None:
        self._count += n

    def arm(self, deadline: int) -> None:
        self.deadline = deadline
        self._stop = 0

    def request_stop(self) -> None:
        self.deadline = 0

    @property
    def stop_reason(self) -> int:
        return self._stop

    def watch(self, group_prio: int | None, group_mask: int) -> None:
        self._watch = None if group_prio is None else (group_prio, group_mask)

    @property
    def block(self) -> tuple[int, int, int]:
        return self._block

    @property
    def stats(self) -> dict[str, Any]:
        return {"native": False, "blocks": self.blocks, "translations_counted": len(self._cache)}


def make_timebase(uc: Uc, prefer_native: bool = True) -> NativeTimebase | PythonTimebase:
    global _fell_back
    if prefer_native and _fastblock is not None and _uclib is not None:
        try:
            return NativeTimebase(uc)
        except ImportError as e:
            _fell_back = str(e)
    elif prefer_native and not os.environ.get("GOMCU_EMU_PURE"):
        _fell_back = unavailable_reason()
    return PythonTimebase(uc)


def native_available() -> bool:
    return _fastblock is not None and _uclib is not None


def unavailable_reason() -> str:
    """Why the native hook cannot be used ("" when it can)."""
    if os.environ.get("GOMCU_EMU_PURE"):
        return "GOMCU_EMU_PURE is set"
    if _fastblock is None:
        return _stale or "the extension module gomcu.emu._fastblock was not built when gomcu was installed"
    if _uclib is None:
        return "this unicorn binding does not expose its C library"
    return ""


def fell_back() -> str | None:
    """Why a run in this process wanted the native time base and ran the pure-Python one, if one did."""
    return _fell_back
