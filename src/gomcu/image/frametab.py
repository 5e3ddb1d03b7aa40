"""`.debug_frame` read straight over its bytes: for each FDE, its range and the CFA offsets
its rows give, as pyelftools' decoded call-frame tables give them, several times faster.

pyelftools parses every CFI instruction through `construct`, builds every row of every table
and, to get there, reads every debug section of the file into memory; `gomcu.image.cfi` needs
only the CFA rule of each row. This runner keeps pyelftools' row semantics exactly (a row is
recorded at each location advance and at the end when the entry says anything; an FDE starts
from its CIE's last row; remember/restore state; DW_CFA_def_cfa_sf scaled by the code alignment
factor, as pyelftools does). Sections compressed in place (SHF_COMPRESSED: Go's linker) are
inflated by pyelftools' section reader. Anything it does not know (.eh_frame only, .zdebug
sections, 64-bit DWARF, a CIE augmentation, a CFA expression, an opcode pyelftools would refuse,
a truncated entry) returns None, and the caller uses pyelftools, which says what is wrong.
"""

from __future__ import annotations

from typing import Any

from gomcu.image.lineprog import leb

Frame = tuple[int, int, "int | None", bool]  # start, size, largest CFA offset from sp, CFA ever off sp

_ADVANCE_LOC, _OFFSET, _RESTORE = 0x40, 0x80, 0xC0
_NOP, _SET_LOC, _ADVANCE1, _ADVANCE2, _ADVANCE4 = 0x00, 0x01, 0x02, 0x03, 0x04
_OFFSET_EXT, _RESTORE_EXT, _UNDEFINED, _SAME_VALUE, _REGISTER = 0x05, 0x06, 0x07, 0x08, 0x09
_REMEMBER, _RESTORE_STATE, _DEF_CFA, _DEF_CFA_REGISTER, _DEF_CFA_OFFSET = 0x0A, 0x0B, 0x0C, 0x0D, 0x0E
_EXPRESSION, _OFFSET_EXT_SF, _DEF_CFA_SF, _DEF_CFA_OFFSET_SF = 0x10, 0x11, 0x12, 0x13  # 0x0f, a CFA expression: unknown
_VAL_OFFSET, _VAL_OFFSET_SF, _VAL_EXPRESSION, _NEGATE_RA_STATE = 0x14, 0x15, 0x16, 0x2D
_LOCATION_BYTES = {_ADVANCE1: 1, _ADVANCE2: 2, _ADVANCE4: 4}  # operand bytes of the location advances


class _Unknown(Exception):
    """Something this runner leaves to pyelftools."""


def frames(elf: Any, sp: int) -> list[Frame] | None:
    """(start, size, largest CFA offset from sp or None, CFA based on another register at some
    row) of every FDE in `.debug_frame`, in section order; None when pyelftools must read it."""
    if not elf.has_dwarf_info() or elf.has_section(".zdebug_info") or elf.has_section(".gnu_debuglink"):
        return None
    section = elf.get_section_by_name(".debug_frame")
    if section is None or not elf.little_endian:
        return None
    try:
        return _entries(section.data(), elf.elfclass // 8, sp)
    except (_Unknown, IndexError):
        return None


class _Cie:
    """A CIE's alignment factors and the last row of its own table (the start of its FDEs')."""

    __slots__ = ("code_align", "data_align", "cfa", "regs", "has_row")

    def __init__(self, code_align: int, data_align: int) -> None:
        self.code_align, self.data_align = code_align, data_align
        self.cfa: tuple[int | None, int] = (None, 0)  # (register or None for an expression, offset)
        self.regs: frozenset[int] = frozenset()  # registers with a rule in that row
        self.has_row = False


def _entries(data: bytes, address_size: int, sp: int) -> list[Frame]:
    cies: dict[int, _Cie] = {}
    out: list[Frame] = []
    offset, n = 0, len(data)
    while offset < n:
        length = int.from_bytes(data[offset : offset + 4], "little")
        if length == 0xFFFFFFFF or length < 4:
            raise _Unknown  # 64-bit DWARF, or an entry too short to hold its id
        end = offset + 4 + length
        if end > n:
            raise _Unknown
        ident = int.from_bytes(data[offset + 4 : offset + 8], "little")
        if ident == 0xFFFFFFFF:
            cies[offset] = _cie(data, offset + 8, end, address_size)
        else:
            cie = cies.get(ident)
            if cie is None:
                raise _Unknown  # a CIE after its FDE, or none there
            i = offset + 8
            start = int.from_bytes(data[i : i + address_size], "little")
            size = int.from_bytes(data[i + address_size : i + 2 * address_size], "little")
            rows = _run(data, i + 2 * address_size, end, cie, address_size, fde=True)
            offsets = [o for reg, o in rows if reg == sp]
            other = any(reg is not None and reg != sp for reg, _ in rows)
            out.append((start, size, max(offsets) if offsets else None, other))
        offset = end
    return out


def _cie(data: bytes, i: int, end: int, address_size: int) -> _Cie:
    version = data[i]
    i += 1
    if version not in (1, 3, 4):
        raise _Unknown
    if data[i] != 0:
        raise _Unknown  # an augmentation string
    i += 1
    if version >= 4:
        i += 2  # address size, segment selector size
    code_align, i = leb(data, i)
    data_align, i = leb(data, i, signed=True)
    if version == 1:
        i += 1
    else:
        _, i = leb(data, i)
    cie = _Cie(code_align, data_align)
    _run(data, i, end, cie, address_size, fde=False)
    return cie


def _run(data: bytes, i: int, end: int, cie: _Cie, address_size: int, fde: bool) -> list[tuple[int | None, int]]:
    """The CFA rule (register, offset) of every row the instructions in data[i:end] record; for
    a CIE, its last row is kept on `cie` for its FDEs."""
    if fde and cie.has_row:
        cfa, regs = cie.cfa, set(cie.regs)
    else:
        cfa, regs = (None, 0), set()
    rows: list[tuple[int | None, int]] = []
    saved: list[tuple[tuple[int | None, int], set[int]]] = []
    code_align, data_align = cie.code_align, cie.data_align
    while i < end:
        op = data[i]
        i += 1
        high = op & 0xC0
        if high == _ADVANCE_LOC or op in (_SET_LOC, _ADVANCE1, _ADVANCE2, _ADVANCE4):
            if not fde:
                raise _Unknown  # a CIE with rows of its own: its last row's registers are not tracked
            rows.append(cfa)
            i += _LOCATION_BYTES.get(op, address_size if op == _SET_LOC else 0)
        elif high == _OFFSET:
            _, i = leb(data, i)
            regs.add(op & 0x3F)
        elif high == _RESTORE:
            _restore(op & 0x3F, regs, cie, fde)
        elif op in (_NOP, _NEGATE_RA_STATE):
            pass
        elif op in (_OFFSET_EXT, _REGISTER, _VAL_OFFSET):
            reg, i = leb(data, i)
            _, i = leb(data, i)
            regs.add(reg)
        elif op in (_OFFSET_EXT_SF, _VAL_OFFSET_SF):
            reg, i = leb(data, i)
            _, i = leb(data, i, signed=True)
            regs.add(reg)
        elif op in (_UNDEFINED, _SAME_VALUE):
            reg, i = leb(data, i)
            regs.add(reg)
        elif op == _RESTORE_EXT:
            reg, i = leb(data, i)
            _restore(reg, regs, cie, fde)
        elif op == _DEF_CFA:
            reg, i = leb(data, i)
            off, i = leb(data, i)
            cfa = (reg, off)
        elif op == _DEF_CFA_SF:
            reg, i = leb(data, i)
            off, i = leb(data, i, signed=True)
            cfa = (reg, off * code_align)  # pyelftools scales by the code alignment factor
        elif op == _DEF_CFA_REGISTER:
            reg, i = leb(data, i)
            cfa = (reg, cfa[1])
        elif op == _DEF_CFA_OFFSET:
            off, i = leb(data, i)
            cfa = (cfa[0], off)
        elif op == _DEF_CFA_OFFSET_SF:
            off, i = leb(data, i, signed=True)
            cfa = (cfa[0], off * data_align)
        elif op in (_EXPRESSION, _VAL_EXPRESSION):
            reg, i = leb(data, i)
            size, i = leb(data, i)
            i += size
            regs.add(reg)
        elif op == _REMEMBER:
            saved.append((cfa, set(regs)))
        elif op == _RESTORE_STATE:
            if not saved:
                raise _Unknown
            cfa, regs = saved.pop()
        else:
            raise _Unknown  # a CFA expression, DW_CFA_GNU_args_size, anything newer: pyelftools decides
    if i != end:
        raise _Unknown
    if cfa[0] is not None or regs:
        rows.append(cfa)
    if not fde:
        cie.has_row = bool(rows)
        if rows:
            cie.cfa, cie.regs = rows[-1], frozenset(regs)
    return rows


def _restore(reg: int, regs: set[int], cie: _Cie, fde: bool) -> None:
    if not fde or not cie.has_row:
        raise _Unknown  # pyelftools refuses a restore in a CIE, or one with no row to restore from
    if reg in cie.regs:
        regs.add(reg)
    else:
        regs.discard(reg)
