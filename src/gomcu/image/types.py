"""Value types the ELF image exposes: plain ints and strings, no pyelftools objects."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Arch(str, enum.Enum):
    ARM = "arm"
    RISCV32 = "riscv32"


class SymbolKind(str, enum.Enum):
    FUNC = "func"
    OBJECT = "object"
    NOTYPE = "notype"
    SECTION = "section"
    FILE = "file"
    OTHER = "other"


@dataclass(frozen=True)
class Section:
    """An ELF section. `lma` is where its bytes are stored (differs from `vma` for .data)."""

    index: int
    name: str
    type: str
    flags: int
    vma: int
    lma: int
    size: int
    align: int
    offset: int
    alloc: bool
    write: bool
    exec: bool

    @property
    def nobits(self) -> bool:
        """Occupies memory but no file bytes (.bss, NOLOAD)."""
        return self.type == "SHT_NOBITS"

    @property
    def end(self) -> int:
        return self.vma + self.size

    def contains(self, address: int) -> bool:
        return self.vma <= address < self.vma + self.size


@dataclass(frozen=True)
class Segment:
    """A program header (PT_LOAD etc.)."""

    type: str
    vaddr: int
    paddr: int
    filesz: int
    memsz: int
    flags: int
    offset: int


@dataclass(frozen=True)
class Symbol:
    """A symbol; for ARM functions `address` has the Thumb bit cleared and `thumb` is True."""

    name: str
    address: int
    size: int
    kind: SymbolKind
    binding: str
    section_index: int | None
    thumb: bool = False

    @property
    def end(self) -> int:
        return self.address + self.size


@dataclass(frozen=True)
class MappingSymbol:
    """ARM `$t`/`$a`/`$d` or RISC-V `$x`/`$d`: where code and literal data start."""

    address: int
    kind: str  # "code" or "data"


@dataclass(frozen=True)
class CompileUnit:
    name: str
    producer: str
    language: str | None
    comp_dir: str | None
    ranges: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SourceLine:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Toolchain:
    """Who built the firmware, and the evidence for it."""

    name: str  # tinygo, gcc, clang, rustc, unknown
    version: str | None
    evidence: str
