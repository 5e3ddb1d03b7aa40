"""The ELF image: the only place that touches pyelftools."""

from gomcu.image.elf import Image, load
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

__all__ = [
    "Arch", "CompileUnit", "Image", "MappingSymbol", "Section", "Segment", "SourceLine",
    "Symbol", "SymbolKind", "Toolchain", "load",
]
