"""Input sections for the evaluator: from relocatable objects, or from a linked ELF.

`gomcu.image` reads linked firmware; relocatable `.o` files are read here with pyelftools (the
pyelftools objects stay in this module). From an object we need what ld needs to place its
sections: name, size, alignment, flags, the symbols it defines (to resolve script references to
them) and the symbols it leaves undefined (they decide which PROVIDEs take effect).
"""

from __future__ import annotations

from dataclasses import dataclass

from gomcu.errors import GomcuError, LinkerScriptError

SHF_WRITE = 0x1
SHF_ALLOC = 0x2
SHF_EXECINSTR = 0x4
SHF_MERGE = 0x10
SHF_STRINGS = 0x20
SHF_TLS = 0x400

_SKIPPED_TYPES = {
    "SHT_NULL", "SHT_SYMTAB", "SHT_STRTAB", "SHT_REL", "SHT_RELA", "SHT_GROUP",
    "SHT_SYMTAB_SHNDX",
}


@dataclass(frozen=True)
class InputSection:
    """One section of one input file, as ld sees it before placing it."""

    file: str
    name: str
    size: int
    align: int
    alloc: bool
    load: bool  # has contents (not NOBITS)
    write: bool
    exec: bool
    index: int = 0
    #: SHF_MERGE sections: entry size and the entries (strings without their NUL when
    #: `strings`), which ld de-duplicates across all inputs of one output section
    entsize: int = 0
    strings: bool = False
    entries: tuple[bytes, ...] | None = None
    #: the ELF section type and SHF_TLS: orphan placement matches sections by them
    sh_type: str = "SHT_PROGBITS"
    tls: bool = False


@dataclass(frozen=True)
class InputFile:
    """An input file: its sections in file order, and its symbols."""

    path: str
    sections: tuple[InputSection, ...]
    #: name -> (section index, offset) for symbols defined in a section of this file
    defined: tuple[tuple[str, int, int], ...] = ()
    #: absolute symbols defined by this file: name -> value
    absolute: tuple[tuple[str, int], ...] = ()
    undefined: frozenset[str] = frozenset()


def read_object(path: str) -> InputFile:
    """Sections and symbols of a relocatable object (ET_REL)."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    try:
        handle = open(path, "rb")
    except OSError as error:
        raise GomcuError(f"{path}: cannot open input object: {error.strerror}") from None
    try:
        with handle:
            elf = ELFFile(handle)
            if elf.header["e_type"] != "ET_REL":
                raise LinkerScriptError(
                    f"{path}: not a relocatable object (it is {elf.header['e_type']}); "
                    "use --elf for a linked firmware"
                )
            sections: list[InputSection] = []
            commons: list[tuple[int, int]] = []
            defined: list[tuple[str, int, int]] = []
            absolute: list[tuple[str, int]] = []
            undefined: set[str] = set()
            for index, section in enumerate(elf.iter_sections()):
                kind = section["sh_type"]
                if kind in _SKIPPED_TYPES:
                    continue
                flags = section["sh_flags"]
                entsize = section["sh_entsize"]
                merge = bool(flags & SHF_MERGE) and entsize > 0 and kind == "SHT_PROGBITS"
                is_strings = merge and bool(flags & SHF_STRINGS)
                entries = _entries(section.data(), entsize, is_strings,
                                   max(1, section["sh_addralign"])) if merge else None
                sections.append(InputSection(
                    file=path,
                    name=section.name,
                    size=section["sh_size"],
                    align=max(1, section["sh_addralign"]),
                    alloc=bool(flags & SHF_ALLOC),
                    load=kind != "SHT_NOBITS",
                    write=bool(flags & SHF_WRITE),
                    exec=bool(flags & SHF_EXECINSTR),
                    index=index,
                    entsize=entsize if merge else 0,
                    strings=is_strings,
                    entries=entries,
                    sh_type=kind,
                    tls=bool(flags & SHF_TLS),
                ))
            symtab = elf.get_section_by_name(".symtab")
            if symtab is not None and not isinstance(symtab, SymbolTableSection):
                raise LinkerScriptError(f"{path}: corrupt ELF object (.symtab is not a symbol table)")
            if symtab is not None:
                for symbol in symtab.iter_symbols():
                    name = symbol.name
                    shndx = symbol["st_shndx"]
                    bind = symbol["st_info"]["bind"]
                    if not name or symbol["st_info"]["type"] in ("STT_SECTION", "STT_FILE"):
                        continue
                    if shndx == "SHN_UNDEF":
                        if bind != "STB_LOCAL":
                            undefined.add(name)
                    elif bind == "STB_LOCAL":
                        continue
                    elif shndx == "SHN_COMMON":
                        commons.append((symbol["st_size"], max(1, symbol["st_value"])))
                    elif shndx == "SHN_ABS":
                        absolute.append((name, symbol["st_value"]))
                    elif isinstance(shndx, int):
                        defined.append((name, shndx, symbol["st_value"]))
            if commons:
                # ld puts common symbols in a COMMON input section, largest alignment first
                # only with --sort-common; in file order otherwise.
                size = 0
                align = 1
                for sym_size, sym_align in commons:
                    size = (size + sym_align - 1) // sym_align * sym_align + sym_size
                    align = max(align, sym_align)
                sections.append(InputSection(path, "COMMON", size, align, True, False, True,
                                             False, -1, sh_type="SHT_NOBITS"))
    except ELFError as error:
        raise LinkerScriptError(f"{path}: not a valid ELF object ({error})") from None
    except (ValueError, KeyError, AssertionError) as error:
        raise LinkerScriptError(f"{path}: corrupt ELF object ({error})") from None
    return InputFile(path, tuple(sections), tuple(defined), tuple(absolute),
                     frozenset(undefined))


def _entries(data: bytes, entsize: int, strings: bool, align: int) -> tuple[bytes, ...]:
    """The entries of an SHF_MERGE section; strings start at aligned offsets (the
    assembler pads between them), so the padding is not an entry."""
    if not strings:
        return tuple(data[i:i + entsize] for i in range(0, len(data), entsize))
    out: list[bytes] = []
    i = 0
    terminator = b"\0" * entsize
    step = max(align, entsize)
    while i < len(data):
        j = i
        while j < len(data) and data[j:j + entsize] != terminator:
            j += entsize
        out.append(data[i:j])
        i = (j + entsize + step - 1) // step * step
    return tuple(out)


def read_linked(path: str) -> InputFile:
    """Output sections of a linked firmware, each as one input section of its final size,
    and its symbol names (a PROVIDE took effect if its symbol is in the table)."""
    from gomcu import image

    with image.load(path) as img:
        sections = tuple(
            InputSection(path, s.name, s.size, max(1, s.align), s.alloc, not s.nobits,
                         s.write, s.exec, s.index, sh_type=s.type, tls=bool(s.flags & SHF_TLS))
            for s in img.sections if s.name and s.type not in _SKIPPED_TYPES
        )
        names = frozenset(sym.name for sym in img.symbols if sym.name)
    return InputFile(path, sections, (), (), names)
