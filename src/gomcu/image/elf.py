"""Load a firmware ELF once and expose what every analysis needs.

All pyelftools access goes through `Image`, and every parsing failure funnels through
`_guard` into `ImageError`, so a corrupt file is one line for the user, never a traceback.
Everything beyond the header is read lazily and cached.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import os
import struct
from collections.abc import Iterator
from functools import cached_property
from typing import IO, Any

from gomcu import diskcache
from gomcu.errors import ImageError
from gomcu.image import arch as archmod
from gomcu.image.cfi import CfiFrame
from gomcu.image.dwarf import DwarfView
from gomcu.image.types import (
    Arch,
    CompileUnit,
    MappingSymbol,
    Section,
    Segment,
    SourceLine,
    Symbol,
    SymbolKind,
    Toolchain,
)
from gomcu.image.toolchain import detect_toolchain

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4

_SYMBOL_KINDS_BY_CODE = {
    0: SymbolKind.NOTYPE,
    1: SymbolKind.OBJECT,
    2: SymbolKind.FUNC,
    3: SymbolKind.SECTION,
    4: SymbolKind.FILE,
}
_BINDINGS = {0: "local", 1: "global", 2: "weak"}

@functools.cache
def _parse_errors() -> tuple[type[BaseException], ...]:
    """Exceptions pyelftools (and construct underneath it) raise on malformed input. pyelftools
    is imported when the first image is opened, not with this module: a check read back from
    the cache (`check_cache`) opens none."""
    from elftools.common.exceptions import DWARFError, ELFError, ELFParseError

    errors: tuple[type[BaseException], ...] = (
        ELFError, ELFParseError, DWARFError, struct.error, ValueError, IndexError, KeyError, TypeError,
        AssertionError, AttributeError, UnicodeDecodeError, EOFError, OverflowError,
    )
    try:  # construct's own error base, when pyelftools exposes it
        from elftools.construct.core import ConstructError

        errors += (ConstructError,)
    except ImportError:  # pragma: no cover
        pass
    return errors


class Image:
    """A firmware ELF image: architecture, sections, segments, symbols, DWARF lines, toolchain."""

    def __init__(self, path: str) -> None:
        from elftools.elf.elffile import ELFFile

        self.path = path
        self._stream: IO[bytes] = _open(path)
        with self._guard("ELF header"):
            self._elf = ELFFile(self._stream)
            self.elfclass: int = self._elf.elfclass
            self.entry: int = self._elf.header["e_entry"]
            self.elf_type: str = self._elf.header["e_type"]
            e_machine = self._elf.header["e_machine"]
            self._e_flags: int = self._elf.header["e_flags"]
        if self.elf_type not in ("ET_EXEC", "ET_DYN"):
            raise ImageError(f"{path}: not a linked firmware image (ELF type {self.elf_type})")
        self.core_info = self._decode_core(e_machine)
        # Touch the section table now: a corrupt one is reported at load time, not mid-analysis.
        _ = self.sections

    # -- error chokepoint -------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except ImageError:
            raise
        except _parse_errors() as error:
            detail = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ImageError(f"{self.path}: corrupt or truncated ELF ({what}: {detail})") from error

    def close(self) -> None:
        self._stream.close()

    def __enter__(self) -> Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- architecture -----------------------------------------------------------------------

    def _decode_core(self, e_machine: Any) -> archmod.CoreInfo:
        try:
            if e_machine == "EM_ARM":
                return archmod.decode_arm(self._arm_attributes(), self._e_flags)
            if e_machine == "EM_RISCV":
                return archmod.decode_riscv(self.elfclass, self._e_flags, self._riscv_arch_string())
        except archmod.UnsupportedArchitecture as error:
            raise ImageError(f"{self.path}: {error}") from None
        raise ImageError(
            f"{self.path}: unsupported architecture {archmod.machine_name(e_machine)}: "
            "gomcu reads ARM Cortex-M and RISC-V 32 firmware"
        )

    def _attributes(self, section_name: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._guard(f"{section_name} section"):
            section = self._elf.get_section_by_name(section_name)
            if section is None or not hasattr(section, "iter_subsections"):
                return found
            for sub in section.iter_subsections():
                for subsub in sub.iter_subsubsections():
                    for attribute in subsub.iter_attributes():
                        found[attribute.tag] = attribute.value
        return found

    def _arm_attributes(self) -> dict[str, Any]:
        return self._attributes(".ARM.attributes")

    def _riscv_arch_string(self) -> str | None:
        value = self._attributes(".riscv.attributes").get("TAG_ARCH")
        return value if isinstance(value, str) else None

    @property
    def arch(self) -> Arch:
        return self.core_info.arch

    @property
    def core(self) -> str:
        return self.core_info.core

    @property
    def hard_float(self) -> bool:
        return self.core_info.hard_float

    @property
    def file_size(self) -> int:
        return os.path.getsize(self.path)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the file's bytes: the key under which results about it are cached."""
        stream = self._stream
        at = stream.tell()
        stream.seek(0)
        digest = hashlib.sha256()
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
        stream.seek(at)
        return digest.hexdigest()

    # -- sections and segments --------------------------------------------------------------

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        with self._guard("program headers"):
            return tuple(
                Segment(
                    type=str(seg["p_type"]),
                    vaddr=seg["p_vaddr"],
                    paddr=seg["p_paddr"],
                    filesz=seg["p_filesz"],
                    memsz=seg["p_memsz"],
                    flags=seg["p_flags"],
                    offset=seg["p_offset"],
                )
                for seg in self._elf.iter_segments()
            )

    @cached_property
    def sections(self) -> tuple[Section, ...]:
        out: list[Section] = []
        with self._guard("section table"):
            if self._elf.num_sections() == 0 and self._elf.header["e_shoff"] != 0:
                raise ImageError(f"{self.path}: corrupt ELF (section table unreadable)")
            file_size = self.file_size
            for index, sec in enumerate(self._elf.iter_sections()):
                header = sec.header
                flags = header["sh_flags"]
                kind = str(header["sh_type"])
                if kind != "SHT_NOBITS" and header["sh_size"] and (
                    header["sh_offset"] + header["sh_size"] > file_size
                ):
                    raise ImageError(
                        f"{self.path}: corrupt or truncated ELF (section {sec.name or index} "
                        f"extends past the end of the file)"
                    )
                vma = header["sh_addr"]
                out.append(
                    Section(
                        index=index,
                        name=sec.name,
                        type=kind,
                        flags=flags,
                        vma=vma,
                        lma=self._load_address(vma, header["sh_offset"], kind, flags),
                        size=header["sh_size"],
                        align=header["sh_addralign"],
                        offset=header["sh_offset"],
                        alloc=bool(flags & SHF_ALLOC),
                        write=bool(flags & SHF_WRITE),
                        exec=bool(flags & SHF_EXECINSTR),
                    )
                )
        return tuple(out)

    def _load_address(self, vma: int, offset: int, kind: str, flags: int) -> int:
        """The LMA: the segment holding the section's file bytes maps vaddr to paddr."""
        if not flags & SHF_ALLOC:
            return vma
        for seg in self.segments:
            if seg.type != "PT_LOAD":
                continue
            if kind == "SHT_NOBITS":
                if seg.vaddr <= vma < seg.vaddr + seg.memsz:
                    return seg.paddr + (vma - seg.vaddr)
            elif seg.offset <= offset < seg.offset + seg.filesz and seg.vaddr <= vma < seg.vaddr + seg.memsz:
                return seg.paddr + (vma - seg.vaddr)
        return vma

    def section(self, name: str) -> Section | None:
        for sec in self.sections:
            if sec.name == name:
                return sec
        return None

    @cached_property
    def alloc_sections(self) -> tuple[Section, ...]:
        return tuple(s for s in self.sections if s.alloc and s.size > 0)

    @cached_property
    def _alloc_ranges(self) -> tuple[tuple[int, int, Section], ...]:
        return tuple((s.vma, s.vma + s.size, s) for s in self.alloc_sections)

    def section_at(self, address: int) -> Section | None:
        """The allocated section whose VMA range holds `address` (asked for every literal word
        the decoder reads: kept to a scan of plain ranges)."""
        for lo, hi, sec in self._alloc_ranges:
            if lo <= address < hi:
                return sec
        return None

    def section_bytes(self, section: Section) -> bytes:
        return self._section_bytes(section.index)

    @cached_property
    def _data_cache(self) -> dict[int, bytes]:
        return {}

    def _section_bytes(self, index: int) -> bytes:
        cache = self._data_cache
        if index not in cache:
            sec = self.sections[index]
            if sec.nobits:
                cache[index] = b""
            else:
                with self._guard(f"section {sec.name} data"):
                    self._stream.seek(sec.offset)
                    data = self._stream.read(sec.size)
                if len(data) != sec.size:
                    raise ImageError(f"{self.path}: truncated ELF (section {sec.name})")
                cache[index] = data
        return cache[index]

    def read(self, address: int, size: int) -> bytes | None:
        """`size` bytes at a VMA from the file's section contents; None if not all there."""
        sec = self.section_at(address)
        if sec is None or sec.nobits or address + size > sec.end:
            return None
        start = address - sec.vma
        return self.section_bytes(sec)[start : start + size]

    def read_word(self, address: int) -> int | None:
        data = self.read(address, 4)
        if data is None:
            return None
        return int.from_bytes(data, "little")

    # -- symbols ----------------------------------------------------------------------------

    @cached_property
    def _symbol_tables(self) -> tuple[tuple[Symbol, ...], tuple[MappingSymbol, ...]]:
        """Symbols and mapping symbols, unpacked straight from `.symtab` (pyelftools' per-symbol
        parsing dominated the load time of large TinyGo images)."""
        symbols: list[Symbol] = []
        mapping: list[MappingSymbol] = []
        is_arm = self.arch is Arch.ARM
        with self._guard("symbol table"):
            for raw in self._raw_symbols():
                name, value, size, info, shndx = raw
                kind = _SYMBOL_KINDS_BY_CODE.get(info & 0xF, SymbolKind.OTHER)
                if name.startswith("$") and len(name) >= 2 and name[1] in "atdx":
                    is_code = name[1] in "atx"
                    mapping.append(MappingSymbol(value & ~1 if is_arm and is_code else value,
                                                 "code" if is_code else "data"))
                    continue
                if not name or kind is SymbolKind.SECTION:
                    continue
                thumb = is_arm and kind is SymbolKind.FUNC and bool(value & 1)
                symbols.append(
                    Symbol(
                        name=name,
                        address=value & ~1 if thumb else value,
                        size=size,
                        kind=kind,
                        binding=_BINDINGS.get(info >> 4, "other"),
                        section_index=shndx if 0 < shndx < 0xFF00 else None,
                        thumb=thumb,
                    )
                )
        mapping.sort(key=lambda m: m.address)
        return tuple(symbols), tuple(mapping)

    def _raw_symbols(self) -> Iterator[tuple[str, int, int, int, int]]:
        """(name, value, size, st_info, st_shndx) for every entry of the SHT_SYMTAB sections."""
        little = self._elf.little_endian
        if self.elfclass == 32:
            layout = struct.Struct(("<" if little else ">") + "IIIBBH")
        else:
            layout = struct.Struct(("<" if little else ">") + "IBBHQQ")
        for sec in self.sections:
            if sec.type != "SHT_SYMTAB":
                continue
            header = self._elf.get_section(sec.index).header
            strtab_index = header["sh_link"]
            if not 0 < strtab_index < len(self.sections):
                raise ImageError(f"{self.path}: corrupt ELF (symbol table links to no string table)")
            strings = self.section_bytes(self.sections[strtab_index])
            data = self.section_bytes(sec)
            usable = len(data) - len(data) % layout.size
            for entry in layout.iter_unpack(data[:usable]):
                if self.elfclass == 32:
                    name_off, value, size, info, _other, shndx = entry
                else:
                    name_off, info, _other, shndx, value, size = entry
                end = strings.find(b"\0", name_off)
                if name_off >= len(strings) or end < 0:
                    raise ImageError(f"{self.path}: corrupt ELF (symbol name outside the string table)")
                yield strings[name_off:end].decode("utf-8", "replace"), value, size, info, shndx

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        """All named symbols except mapping symbols, in symbol-table order."""
        return self._symbol_tables[0]

    @property
    def mapping_symbols(self) -> tuple[MappingSymbol, ...]:
        return self._symbol_tables[1]

    @property
    def stripped(self) -> bool:
        return not any(s.kind in (SymbolKind.FUNC, SymbolKind.OBJECT) for s in self.symbols)

    @cached_property
    def _symbols_by_name(self) -> dict[str, Symbol]:
        table: dict[str, Symbol] = {}
        for sym in self.symbols:
            if sym.kind is SymbolKind.FILE:
                continue
            current = table.get(sym.name)
            # Prefer a global definition over a local one of the same name.
            if current is None or (current.binding == "local" and sym.binding != "local"):
                table[sym.name] = sym
        return table

    def symbol(self, name: str) -> Symbol | None:
        return self._symbols_by_name.get(name)

    def has_symbol(self, name: str) -> bool:
        return name in self._symbols_by_name

    @cached_property
    def functions(self) -> tuple[Symbol, ...]:
        """Function symbols in address order, one per address (aliases collapsed, globals first)."""
        by_address: dict[int, Symbol] = {}
        for sym in self.symbols:
            if sym.kind is not SymbolKind.FUNC:
                continue
            current = by_address.get(sym.address)
            if current is None or _prefer(sym, current):
                by_address[sym.address] = sym
        return tuple(sorted(by_address.values(), key=lambda s: s.address))

    @cached_property
    def _function_starts(self) -> list[int]:
        return [f.address for f in self.functions]

    def function_at(self, address: int) -> Symbol | None:
        """The function symbol whose range holds `address` (or that starts there)."""
        starts = self._function_starts
        i = bisect.bisect_right(starts, address) - 1
        if i < 0:
            return None
        fn = self.functions[i]
        if fn.address == address or address < fn.address + max(fn.size, 1):
            return fn
        return None

    def aliases(self, address: int) -> tuple[str, ...]:
        """Every function name at an address (weak aliases such as *_Handler -> Default_Handler)."""
        return tuple(
            s.name for s in self.symbols if s.kind is SymbolKind.FUNC and s.address == address
        )

    # -- DWARF ------------------------------------------------------------------------------

    @cached_property
    def dwarf(self) -> DwarfView | None:
        """The debug information, or None when absent (a note in `warnings` if unreadable)."""
        try:
            with self._guard("DWARF"):
                if not self._elf.has_dwarf_info() or self._elf.get_section_by_name(".debug_info") is None:
                    return None
                # A linked image needs no relocation of its debug sections; some toolchains
                # leave .rel.debug_* behind with types pyelftools does not know.
                return DwarfView(self._elf.get_dwarf_info(relocate_dwarf_sections=False), self._guard, self.digest)
        except ImageError as error:
            self.warnings.append(f"debug information unreadable, source lines unavailable: {error}")
            return None

    @cached_property
    def warnings(self) -> list[str]:
        """Things the loader could not read but that do not make the image unusable."""
        return []

    @property
    def compile_units(self) -> tuple[CompileUnit, ...]:
        return self.dwarf.compile_units if self.dwarf else ()

    def file_of_range(self, start: int, end: int) -> str | None:
        """The source file most of the code in [start, end) comes from, by DWARF line rows."""
        return self.dwarf.file_of_range(start, end) if self.dwarf else None

    def lines_in_range(self, start: int, end: int) -> list[SourceLine]:
        """The DWARF line rows covering [start, end), in address order."""
        return self.dwarf.lines_in_range(start, end) if self.dwarf else []

    def line_for(self, address: int) -> SourceLine | None:
        """file:line of the instruction at `address`, when DWARF line tables cover it."""
        return self.dwarf.line_for(address) if self.dwarf else None

    @cached_property
    def cfi_frames(self) -> dict[int, CfiFrame]:
        """Function address -> the compiler's call-frame information for it (.debug_frame)."""
        from gomcu.image.cfi import read_cfi

        try:
            return diskcache.remembered("cfi", 1, self.digest, ("image",),
                                        lambda: read_cfi(self._elf, self.arch.value, self._guard),
                                        lambda v: isinstance(v, dict))
        except ImageError as error:
            self.warnings.append(f"call-frame information unreadable: {error}")
            return {}

    def compile_unit_of(self, address: int, variables: bool = True) -> str | None:
        """The compile unit (source file) that defines the function or variable at `address`.

        `variables=False` looks only at code ranges, skipping the costly walk over every DIE."""
        return self.dwarf.unit_name_for(address, variables) if self.dwarf else None

    @cached_property
    def toolchain(self) -> Toolchain:
        return detect_toolchain(self.compile_units, self._symbols_by_name.keys())


def _prefer(candidate: Symbol, current: Symbol) -> bool:
    """Which of two function symbols at one address names it: global, then sized, then shorter."""
    rank = {"global": 0, "weak": 1, "local": 2}
    a = (rank.get(candidate.binding, 3), candidate.size == 0, len(candidate.name))
    b = (rank.get(current.binding, 3), current.size == 0, len(current.name))
    return a < b


def _open(path: str) -> IO[bytes]:
    if not os.path.exists(path):
        raise ImageError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ImageError(f"{path}: is a directory, not an ELF file")
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise ImageError(f"{path}: cannot read ({error.strerror})") from None
    magic = stream.read(4)
    stream.seek(0)
    if magic != b"\x7fELF":
        stream.close()
        raise ImageError(f"{path}: not an ELF file")
    return stream


def load(path: str | os.PathLike[str]) -> Image:
    """Open and validate a firmware ELF. Raises ImageError on anything unusable."""
    return Image(os.fspath(path))
