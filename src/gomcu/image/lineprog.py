"""A DWARF line program run straight over its bytes: the rows (address, file, line, end of
sequence) that pyelftools' `LineProgram.get_entries` gives, about ten times faster.

pyelftools parses each opcode through `construct` and copies the whole state for every row; a
large TinyGo image has tens of thousands of rows, and looking up a source line costs the decoding
of its unit's whole program. The header is still pyelftools' (`program.header`). Anything this
runner does not know (an opcode beyond DWARF 5, a truncated program) returns None, and the caller
uses pyelftools, which says what is wrong.
"""

from __future__ import annotations

from typing import Any

Row = tuple[int, int, int, bool]  # address, file index, line, end of sequence

_COPY, _ADVANCE_PC, _ADVANCE_LINE, _SET_FILE, _SET_COLUMN, _NEGATE_STMT, _SET_BASIC_BLOCK = 1, 2, 3, 4, 5, 6, 7
_CONST_ADD_PC, _FIXED_ADVANCE_PC, _SET_PROLOGUE_END, _SET_EPILOGUE_BEGIN, _SET_ISA = 8, 9, 10, 11, 12
_END_SEQUENCE, _SET_ADDRESS, _DEFINE_FILE, _SET_DISCRIMINATOR = 1, 2, 3, 4
_NO_OPERAND = frozenset({_COPY, _NEGATE_STMT, _SET_BASIC_BLOCK, _CONST_ADD_PC, _SET_PROLOGUE_END, _SET_EPILOGUE_BEGIN})


class _Unknown(Exception):
    """Something this runner leaves to pyelftools."""


def leb(data: bytes, i: int, signed: bool = False) -> tuple[int, int]:
    """An (S)LEB128 number at data[i]: its value and the index after it."""
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            if signed and byte & 0x40:
                value -= 1 << shift
            return value, i


def rows(program: Any) -> list[Row] | None:
    """Every row of `program` (a pyelftools LineProgram) in program order, or None."""
    header = program.header
    structs = program.structs
    stream = program.stream
    start, end = program.program_start_offset, program.program_end_offset
    stream.seek(start)
    data = stream.read(end - start)
    if len(data) != end - start:
        return None
    try:
        return _run(data, header, structs.address_size, "little" if structs.little_endian else "big")
    except (_Unknown, IndexError):
        return None


def _run(data: bytes, header: Any, address_size: int, order: str) -> list[Row]:
    opcode_base = header["opcode_base"]
    line_base, line_range = header["line_base"], header["line_range"]
    min_length = header["minimum_instruction_length"]
    max_ops = header["maximum_operations_per_instruction"]
    if line_range == 0 or max_ops == 0:
        raise _Unknown
    const_add = ((255 - opcode_base) // line_range) * min_length
    out: list[Row] = []
    address, file, line, op_index = 0, 1, 1, 0
    i, n = 0, len(data)
    while i < n:
        op = data[i]
        i += 1
        if op >= opcode_base:  # special opcode (DWARF 6.2.5.1)
            adjusted = op - opcode_base
            advance = adjusted // line_range
            address += min_length * ((op_index + advance) // max_ops)
            op_index = (op_index + advance) % max_ops
            line += line_base + adjusted % line_range
            out.append((address, file, line, False))
        elif op == 0:  # extended opcode: length, sub-opcode, operands
            length, i = leb(data, i)
            sub = data[i]
            i += 1
            if sub == _END_SEQUENCE:
                out.append((address, file, line, True))
                address, file, line, op_index = 0, 1, 1, 0
            elif sub == _SET_ADDRESS:
                address = int.from_bytes(data[i : i + address_size], order)  # type: ignore[arg-type]
                i += address_size
            elif sub == _DEFINE_FILE:  # name, directory, time, length (names come from the header)
                i = data.index(0, i) + 1
                for _ in range(3):
                    _, i = leb(data, i)
            elif sub == _SET_DISCRIMINATOR:
                _, i = leb(data, i)
            else:
                i += length - 1
        elif op == _COPY:
            out.append((address, file, line, False))
        elif op == _ADVANCE_PC:
            operand, i = leb(data, i)
            address += operand * min_length
        elif op == _ADVANCE_LINE:
            operand, i = leb(data, i, signed=True)
            line += operand
        elif op == _SET_FILE:
            file, i = leb(data, i)
        elif op in (_SET_COLUMN, _SET_ISA):
            _, i = leb(data, i)
        elif op == _CONST_ADD_PC:
            address += const_add
        elif op == _FIXED_ADVANCE_PC:
            address += int.from_bytes(data[i : i + 2], order)  # type: ignore[arg-type]
            i += 2
        elif op in _NO_OPERAND:
            pass
        else:  # a standard opcode newer than DWARF 5
            raise _Unknown
        if i > n:
            raise _Unknown
    return out
