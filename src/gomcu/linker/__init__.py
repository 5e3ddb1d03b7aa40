"""GNU ld linker scripts: parse (`load_script`), lay out (`evaluate`), check and adapt.

The fourth limit of docs/architecture.md. The parser builds a frozen AST (`gomcu.linker.ast`); the
evaluator reproduces GNU ld's layout from relocatable objects or a linked firmware; the checker
judges a layout against a runtime's requirements (`requirements.py`, data); the adapter writes a
script that satisfies them.
"""

from gomcu.linker.layout import (
    AssertResult,
    Layout,
    LayoutProblem,
    OutputSectionLayout,
    RegionUse,
    SymbolValue,
    evaluate,
    parse_defsym,
)
from gomcu.linker.objects import InputFile, InputSection, read_linked, read_object
from gomcu.linker.parser import load_script, parse_expression, parse_text

__all__ = [
    "AssertResult", "InputFile", "InputSection", "Layout", "LayoutProblem",
    "OutputSectionLayout", "RegionUse", "SymbolValue", "evaluate", "load_script",
    "parse_defsym", "parse_expression", "parse_text", "read_linked", "read_object",
]
