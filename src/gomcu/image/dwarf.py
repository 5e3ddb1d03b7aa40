"""DWARF views: compile units with their producer, and address -> file:line.

Built lazily on first use; the line table is one sorted array searched with bisect, so a
lookup is O(log n) after a single pass over the line programs.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from functools import cached_property
from operator import itemgetter
from typing import Any

from gomcu import diskcache
from gomcu.image import lineprog
from gomcu.image.types import CompileUnit, SourceLine

Guard = Callable[[str], AbstractContextManager[None]]

_LANGUAGES = {
    0x01: "C89", 0x02: "C", 0x04: "C++", 0x0C: "C99", 0x16: "Go", 0x1C: "Rust", 0x1D: "C11",
    0x21: "C++14", 0x2C: "C17", 0x8001: "Mips assembler",
}


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _unit_name(top: Any) -> str:
    return _text(top.attributes["DW_AT_name"].value) if "DW_AT_name" in top.attributes else "?"


#: Bump when what a stored line table or unit list holds changes meaning (the code's hash is in the key too).
_STORED_FORMAT = 1


class DwarfView:
    def __init__(self, dwarfinfo: Any, guard: Guard, digest: str | None = None) -> None:
        """`digest`: the image's content hash, under which decoded line tables are kept on disk
        (decoding a unit's line program is most of the cost of a source line)."""
        self._info = dwarfinfo
        self._guard = guard
        self._digest = digest

    @cached_property
    def _units(self) -> tuple[tuple[CompileUnit, ...], list[tuple[int, int, int, str]]]:
        """The compile units, and every (begin, end, unit offset, unit name) range, sorted (a walk
        over every unit's first DIE, so kept in the disk cache)."""
        return diskcache.remembered("dwarf-units", _STORED_FORMAT, self._digest, ("image",), self._read_units,
                                    lambda v: isinstance(v, tuple) and len(v) == 2 and isinstance(v[1], list))

    def _read_units(self) -> tuple[tuple[CompileUnit, ...], list[tuple[int, int, int, str]]]:
        units: list[CompileUnit] = []
        ranges: list[tuple[int, int, int, str]] = []
        with self._guard("DWARF compile units"):
            for cu in self._info.iter_CUs():
                top = cu.get_top_DIE()
                attrs = top.attributes
                name = _unit_name(top)
                producer = _text(attrs["DW_AT_producer"].value) if "DW_AT_producer" in attrs else ""
                lang_code = attrs["DW_AT_language"].value if "DW_AT_language" in attrs else None
                comp_dir = _text(attrs["DW_AT_comp_dir"].value) if "DW_AT_comp_dir" in attrs else None
                unit_ranges = self._cu_ranges(cu, top)
                units.append(
                    CompileUnit(
                        name=name,
                        producer=producer,
                        language=_LANGUAGES.get(lang_code, None) if lang_code is not None else None,
                        comp_dir=comp_dir,
                        ranges=unit_ranges,
                    )
                )
                ranges.extend((begin, end, cu.cu_offset, name) for begin, end in unit_ranges)
        ranges.sort()
        return tuple(units), ranges

    @property
    def compile_units(self) -> tuple[CompileUnit, ...]:
        return self._units[0]

    def unit_at(self, address: int) -> tuple[int, str] | None:
        """(offset, name) of the compile unit whose declared ranges hold `address`."""
        ranges = self._units[1]
        i = bisect.bisect_right(ranges, (address, 1 << 64, 1 << 64, "")) - 1
        while i >= 0:
            begin, end, offset, name = ranges[i]
            if begin <= address < end:
                return offset, name
            if begin < address - (1 << 24):
                break
            i -= 1
        return None

    def _unit_offset_at(self, address: int) -> int | None:
        """The compile unit holding `address`: .debug_aranges first, then the units' own ranges."""
        if self._aranges is not None:
            with self._guard("DWARF address ranges"):
                offset = self._aranges.cu_offset_at_addr(address)
            if offset is not None:
                return int(offset)
        found = self.unit_at(address)
        return found[0] if found else None

    @cached_property
    def variables(self) -> dict[int, str]:
        """Static variable address -> compile unit: a walk over every DIE, so only on demand."""
        found: dict[int, str] = {}
        with self._guard("DWARF variables"):
            for cu in self._info.iter_CUs():
                name = _unit_name(cu.get_top_DIE())
                for die in cu.iter_DIEs():
                    if die.tag != "DW_TAG_variable" or "DW_AT_location" not in die.attributes:
                        continue
                    address = _location_address(die.attributes["DW_AT_location"])
                    if address is not None:
                        found.setdefault(address, name)
        return found

    def member(self, address: int, name: str) -> tuple[int, int] | None:
        """(offset, size) of field `name` of the structure variable at `address` (found by its
        location, so a variable renamed in the symbol table is still found); None when the DWARF
        does not describe one. A walk over every DIE: only on demand."""
        with self._guard("DWARF variable types"):
            for cu in self._info.iter_CUs():
                for die in cu.iter_DIEs():
                    if die.tag == "DW_TAG_variable" and "DW_AT_location" in die.attributes \
                            and "DW_AT_type" in die.attributes \
                            and _location_address(die.attributes["DW_AT_location"]) == address:
                        return _member(_bare_type(die.get_DIE_from_attribute("DW_AT_type")), name)
        return None

    def unit_name_for(self, address: int, variables: bool = True) -> str | None:
        """The compile unit (source file) that defines the variable or code at `address`."""
        if variables and address in self.variables:
            return self.variables[address]
        found = self.unit_at(address)
        return found[1] if found else None

    @cached_property
    def _functions(self) -> tuple[dict[str, SourceLine], list[tuple[int, int, str]]]:
        """Every function's declaration (name -> file:line, the compiled copy's when there is one)
        and every inlined copy's address ranges with the inlined function's name: a walk over
        every DIE, so only on demand (the Go source join asks)."""
        declared: dict[str, SourceLine] = {}
        inlined: list[tuple[int, int, str]] = []
        with self._guard("DWARF functions"):
            for cu in self._info.iter_CUs():
                top = cu.get_top_DIE()
                program = self._info.line_program_for_CU(cu)
                files = _file_names(program, program.header["version"]) if program is not None else {}
                for die in cu.iter_DIEs():
                    if die.tag == "DW_TAG_subprogram":
                        origin = _origin(die)
                        name = _die_name(origin)
                        attrs = origin.attributes
                        if name and "DW_AT_decl_file" in attrs and "DW_AT_decl_line" in attrs and (
                                name not in declared or "DW_AT_low_pc" in die.attributes):
                            declared[name] = SourceLine(files.get(attrs["DW_AT_decl_file"].value, "?"),
                                                        int(attrs["DW_AT_decl_line"].value))
                    elif die.tag == "DW_TAG_inlined_subroutine":
                        name = _die_name(_origin(die))
                        if name:
                            inlined.extend((b, e, name) for b, e in self._cu_ranges(cu, die, top))
        inlined.sort()
        return declared, inlined

    @property
    def declarations(self) -> dict[str, SourceLine]:
        """Function name (linkage name when given) -> where the source declares it."""
        return self._functions[0]

    def inlined_at(self, address: int) -> tuple[str, ...]:
        """The functions whose inlined code holds `address`, innermost last."""
        ranges = self._functions[1]
        end = bisect.bisect_right(ranges, (address, 1 << 64, ""))
        return tuple(name for begin, stop, name in ranges[:end] if begin <= address < stop)

    def _cu_ranges(self, cu: Any, top: Any, unit: Any = None) -> tuple[tuple[int, int], ...]:
        """The address ranges of a DIE (`unit`: its compile unit's DIE, whose low_pc is the base
        of a range list; the DIE itself when it is the unit)."""
        attrs = top.attributes
        if "DW_AT_ranges" in attrs:
            lists = self._info.range_lists()
            if lists is None:
                return ()
            base_attrs = (unit if unit is not None else top).attributes
            base = base_attrs["DW_AT_low_pc"].value if "DW_AT_low_pc" in base_attrs else 0
            out = []
            for entry in lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
                if hasattr(entry, "begin_offset"):
                    begin, end = entry.begin_offset, entry.end_offset
                    if not getattr(entry, "is_absolute", False):
                        begin, end = begin + base, end + base
                    if end > begin:
                        out.append((begin, end))
                elif hasattr(entry, "base_address"):
                    base = entry.base_address
            return tuple(out)
        if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
            low = attrs["DW_AT_low_pc"].value
            high_attr = attrs["DW_AT_high_pc"]
            high = high_attr.value
            if high_attr.form not in ("DW_FORM_addr",):
                high = low + high
            if high > low:
                return ((low, high),)
        return ()

    @cached_property
    def _aranges(self) -> Any | None:
        """.debug_aranges (address -> compile unit), when the toolchain wrote it."""
        with self._guard("DWARF address ranges"):
            return self._info.get_aranges()

    @cached_property
    def _cu_tables(self) -> dict[int | None, tuple[list[int], list[SourceLine | None]]]:
        return {}

    def _rows(self, cus: Iterable[Any]) -> tuple[list[int], list[SourceLine | None]]:
        """Sorted row addresses of the given units' line programs (None ends a sequence)."""
        rows: list[tuple[int, SourceLine | None]] = []
        with self._guard("DWARF line tables"):
            for cu in cus:
                program = self._info.line_program_for_CU(cu)
                if program is None:
                    continue
                names = _file_names(program, program.header["version"])
                found = lineprog.rows(program)
                if found is None:  # something the fast runner leaves to pyelftools
                    found = [(e.state.address, e.state.file, e.state.line, e.state.end_sequence)
                             for e in program.get_entries() if e.state is not None]
                lines: dict[tuple[int, int], SourceLine] = {}
                for address, file, line, end in found:
                    if end:
                        rows.append((address, None))
                        continue
                    row = lines.get((file, line))
                    if row is None:
                        row = lines[(file, line)] = SourceLine(names.get(file, "?"), line)
                    rows.append((address, row))
        # Stable sort keeps the sequence order for rows at one address; the last row wins below.
        rows.sort(key=itemgetter(0))
        return [r[0] for r in rows], [r[1] for r in rows]

    def _table_for(self, address: int) -> tuple[list[int], list[SourceLine | None]]:
        """The line table that covers `address`: only its unit's when .debug_aranges says which
        (decoding every unit of a large TinyGo image costs a noticeable fraction of a second)."""
        tables = self._cu_tables
        offset = self._unit_offset_at(address)
        if offset is None and self._units[1]:
            return [], []  # units declare their ranges and none holds this address
        if offset is None:
            if None not in tables:
                tables[None] = self._rows(self._info.iter_CUs())
            return tables[None]
        if offset not in tables:
            tables[offset] = self._stored_rows(offset)
        return tables[offset]

    def _stored_rows(self, offset: int) -> tuple[list[int], list[SourceLine | None]]:
        """The line table of the unit at `offset`, from the disk cache when it has it."""

        def decode() -> tuple[list[int], list[SourceLine | None]]:
            with self._guard("DWARF compile unit"):
                cu = self._info.get_CU_at(offset)
            return self._rows([cu])

        return diskcache.remembered("dwarf-lines", _STORED_FORMAT, self._digest, ("image",), decode,
                                    lambda v: isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], list),
                                    (str(offset),))

    def file_of_range(self, start: int, end: int) -> str | None:
        """The source file that most bytes of [start, end) come from (inlined code at a
        function's first instruction makes that instruction's file a poor guess)."""
        addresses, lines = self._table_for(start)
        i = max(0, bisect.bisect_right(addresses, start) - 1)
        weight: dict[str, int] = {}
        while i < len(addresses) and addresses[i] < end:
            row = lines[i]
            following = addresses[i + 1] if i + 1 < len(addresses) else end
            span = min(following, end) - max(addresses[i], start)
            if row is not None and span > 0:
                weight[row.file] = weight.get(row.file, 0) + span
            i += 1
        return max(weight, key=lambda f: weight[f]) if weight else None

    def lines_in_range(self, start: int, end: int) -> list[SourceLine]:
        """The line rows covering [start, end), in address order (what `line_for` would say for
        each instruction there, one entry per row instead of per instruction)."""
        addresses, lines = self._table_for(start)
        i = max(0, bisect.bisect_right(addresses, start) - 1)
        out = []
        while i < len(addresses) and addresses[i] < end:
            following = addresses[i + 1] if i + 1 < len(addresses) else end
            row = _real_row(lines, i)
            if row is not None and following > start:
                out.append(row)
            i += 1
        return out

    def line_for(self, address: int) -> SourceLine | None:
        addresses, lines = self._table_for(address)
        i = bisect.bisect_right(addresses, address) - 1
        if i < 0:
            return None
        return _real_row(lines, i)


def _real_row(lines: list[SourceLine | None], i: int) -> SourceLine | None:
    """Row i, or, when it says line 0 ("no particular line", often a prologue), the next real
    row of the same sequence: the statement that code belongs to."""
    for j in range(i, min(i + 8, len(lines))):
        row = lines[j]
        if row is None:
            break
        if row.line != 0:
            return row
    return lines[i]


def _file_names(program: Any, version: int) -> dict[int, str]:
    """File index -> path relative to the compile directory where DWARF allows."""
    header = program.header
    dirs = [_text(d.name) if hasattr(d, "name") else _text(d) for d in header.get("include_directory", [])]
    names: dict[int, str] = {}
    first = 0 if version >= 5 else 1
    for i, entry in enumerate(header.get("file_entry", [])):
        name = _text(entry.name)
        dir_index = entry.dir_index
        directory = ""
        if version >= 5:
            directory = dirs[dir_index] if dir_index < len(dirs) else ""
            if dir_index == 0:
                directory = ""  # the compile directory itself
        elif dir_index > 0 and dir_index - 1 < len(dirs):
            directory = dirs[dir_index - 1]
        path = name if os.path.isabs(name) or not directory else os.path.join(directory, name)
        names[i + first] = os.path.normpath(path)
    return names


def _origin(die: Any) -> Any:
    """The DIE that names a concrete or inlined copy of a function (its abstract origin)."""
    for key in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if key in die.attributes:
            return die.get_DIE_from_attribute(key)
    return die


def _die_name(die: Any) -> str | None:
    for key in ("DW_AT_linkage_name", "DW_AT_name"):
        if key in die.attributes:
            return _text(die.attributes[key].value)
    return None


def _location_address(attr: Any) -> int | None:
    """The static address of a DW_AT_location that is a single DW_OP_addr (0x03)."""
    value = attr.value
    if isinstance(value, list) and len(value) == 5 and value[0] == 0x03:
        return int.from_bytes(bytes(value[1:5]), "little")
    return None


def _bare_type(die: Any) -> Any:
    """The type under typedefs and qualifiers."""
    while die.tag in ("DW_TAG_typedef", "DW_TAG_volatile_type", "DW_TAG_const_type") and "DW_AT_type" in die.attributes:
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


def _member(struct: Any, name: str) -> tuple[int, int] | None:
    """(offset, byte size) of a structure's member with a constant offset and a sized type."""
    for child in struct.iter_children():
        if child.tag != "DW_TAG_member" or _die_name(child) != name:
            continue
        offset = child.attributes.get("DW_AT_data_member_location")
        if offset is None or not isinstance(offset.value, int) or "DW_AT_type" not in child.attributes:
            return None
        size = _bare_type(child.get_DIE_from_attribute("DW_AT_type")).attributes.get("DW_AT_byte_size")
        return (int(offset.value), int(size.value)) if size is not None else None
    return None
