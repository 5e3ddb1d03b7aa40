"""capstone's decoded instructions read as they lie in its C memory (ARM/Thumb detail).

capstone's `CsInsn` objects deep-copy every instruction and its detail: on a firmware of tens of
thousands of instructions that cost several times the decoding itself. Here one `cs_disasm`
call decodes a run, one `struct` pass reads every instruction's id, address, size, mnemonic and
detail pointer, and an instruction's ARM detail (condition, writeback, groups, operands) is
viewed where it lies, only when asked for. Every offset comes from capstone's own ctypes
declarations, so a layout change in a capstone release follows them (and a size mismatch stops
the import rather than misread).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import capstone
from capstone import arm

_INSN = capstone._cs_insn
_DETAIL = capstone._cs_detail
_CS = capstone._cs
INSN_SIZE = ctypes.sizeof(_INSN)
_OP_SIZE = ctypes.sizeof(arm.ArmOp)
_OPERANDS_AT = _DETAIL.arch.offset + arm.CsArm.operands.offset
_OP_STR_AT, _OP_STR_SIZE = _INSN.op_str.offset, _INSN.op_str.size
_POINTER = {4: "I", 8: "Q"}[ctypes.sizeof(ctypes.c_void_p)]


def _layout(size: int, fields: list[tuple[int, str]]) -> struct.Struct:
    """A little-endian struct of `size` bytes reading `fields` ((offset, format code)), which
    must come in the order they lie in (that is the order `unpack` gives them back)."""
    layout, at = "<", 0
    for offset, code in fields:
        if offset < at:  # pragma: no cover - out of order or overlapping: a capstone this code does not know
            raise ImportError(f"capstone {capstone.__version__}: field at {offset} out of order")
        layout += (f"{offset - at}x" if offset > at else "") + code
        at = offset + struct.calcsize("<" + code)
    if size > at:
        layout += f"{size - at}x"
    if struct.calcsize(layout) != size:  # pragma: no cover - a capstone this code does not know
        raise ImportError(f"capstone {capstone.__version__}: layout {layout!r} is not {size} bytes")
    return struct.Struct(layout)


#: id, address, size, mnemonic (NUL-padded, bytes after the NUL undefined), detail pointer
_ROW = _layout(INSN_SIZE, [(_INSN.id.offset, "I"), (_INSN.address.offset, "Q"), (_INSN.size.offset, "H"),
                           (_INSN.mnemonic.offset, f"{_INSN.mnemonic.size}s"), (_INSN.detail.offset, _POINTER)])
_VALUE_AT = arm.ArmOp.value.offset
if arm.ArmOpValue.imm.offset != 0 or arm.ArmOpMem.disp.size != 4:  # pragma: no cover
    raise ImportError(f"capstone {capstone.__version__}: ARM operand layout not known")


def operand_at(index: int, field: str) -> int:
    """Where operand `index`'s `imm` ("imm") or memory displacement ("disp") lies in an
    instruction's detail (read with `read_int32`)."""
    at = _OPERANDS_AT + index * _OP_SIZE + _VALUE_AT
    return at + (arm.ArmOpMem.disp.offset if field == "disp" else arm.ArmOpValue.imm.offset)


def read_int32(detail: int, at: int) -> int:
    return ctypes.c_int32.from_address(detail + at).value


class ArmDetail:
    """An instruction's id, address, size and the ARM detail the summaries read, as ctypes views
    of capstone's memory (no copy; an operand's fields are read when used): valid until its
    `Decoded` is left."""

    __slots__ = ("id", "address", "size", "cc", "writeback", "groups", "operands")

    def __init__(self, iid: int, address: int, size: int, detail: int) -> None:
        view = _DETAIL.from_address(detail)
        arm_detail = view.arch.arm
        self.id, self.address, self.size = iid, address, size
        self.cc, self.writeback = arm_detail.cc, arm_detail.writeback
        self.groups = view.groups[: view.groups_count]
        self.operands = arm_detail.operands[: arm_detail.op_count]


class Decoded:
    """One `cs_disasm` call's instructions, freed on leaving the `with` block: `rows()` gives
    (id, address, size, mnemonic, detail pointer) for each; `operand_text` and `regs_access`
    read one of them by its index."""

    def __init__(self, cs: capstone.Cs, code: bytes, address: int) -> None:
        self._handle = cs.csh
        self._found = ctypes.POINTER(_INSN)()
        self.count = _CS.cs_disasm(self._handle, code, len(code), address, 0, ctypes.byref(self._found))
        self._base = ctypes.addressof(self._found.contents) if self.count else 0
        self._access = ((ctypes.c_uint16 * 64)(), ctypes.c_uint8(), (ctypes.c_uint16 * 64)(), ctypes.c_uint8())

    def __enter__(self) -> Decoded:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.count:
            _CS.cs_free(self._found, self.count)
            self.count = 0

    def rows(self) -> Iterator[tuple[int, int, int, bytes, int]]:
        if not self.count:
            return iter(())
        return _ROW.iter_unpack(ctypes.string_at(self._base, self.count * INSN_SIZE))

    def operand_text(self, k: int) -> bytes:
        return ctypes.string_at(self._base + k * INSN_SIZE + _OP_STR_AT, _OP_STR_SIZE).partition(b"\0")[0]

    def regs_access(self, k: int) -> tuple[list[int], list[int]]:
        """Every register instruction `k` reads and writes, explicit and implicit (capstone's
        `cs_regs_access`)."""
        read, read_count, written, written_count = self._access
        insn: Any = self._found[k]
        status = _CS.cs_regs_access(self._handle, insn, ctypes.byref(read), ctypes.byref(read_count),
                                    ctypes.byref(written), ctypes.byref(written_count))
        if status != capstone.CS_ERR_OK:
            raise capstone.CsError(status)
        return read[: read_count.value], written[: written_count.value]
