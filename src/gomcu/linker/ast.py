"""The syntax tree of a GNU ld script: frozen dataclasses, one per construct.

The parser builds these and nothing else; the evaluator reads them. Every node carries the
`Pos` (file, line, column) it came from so that findings and errors can point at the script.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Pos:
    """A place in a script file (1-based line and column)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Pos("<command line>", 0, 0)


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Num:
    """An integer literal (after K/M suffixes)."""

    value: int
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Sym:
    """A symbol reference; the location counter is `Sym(".")`."""

    name: str
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Unary:
    op: str  # "-", "!", "~", "+"
    operand: Expr
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Binary:
    op: str  # C operators: * / % + - << >> < <= > >= == != & ^ | && ||
    left: Expr
    right: Expr
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Cond:
    """`cond ? then : otherwise`."""

    cond: Expr
    then: Expr
    otherwise: Expr
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


@dataclass(frozen=True)
class Call:
    """A builtin: ORIGIN, LENGTH, ADDR, LOADADDR, SIZEOF, ALIGNOF, ALIGN, DEFINED, MIN, MAX,
    ABSOLUTE, BLOCK, NEXT, CONSTANT, SIZEOF_HEADERS, LOG2CEIL, SEGMENT_START, DATA_SEGMENT_*.

    Builtins that take a name (a region, section, symbol or constant) have it in `name`.
    """

    func: str
    args: tuple[Expr, ...] = ()
    name: str | None = None
    pos: Pos = field(default=NOWHERE, compare=False)
    depth: int = field(default=1, compare=False)


Expr = Union[Num, Sym, Unary, Binary, Cond, Call]


def expression_nodes(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression tree, iteratively (scripts can nest deeply)."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Binary):
            stack += (node.left, node.right)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Cond):
            stack += (node.cond, node.then, node.otherwise)
        elif isinstance(node, Call):
            stack += node.args


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Assignment:
    """`target op expr` where op is `=`, `+=`, ...; `wrapper` is PROVIDE, PROVIDE_HIDDEN,
    HIDDEN or None."""

    target: str
    op: str
    expr: Expr
    wrapper: str | None = None
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Assert:
    expr: Expr
    message: str
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Include:
    path: str
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Directive:
    """A command the layout does not depend on, kept for completeness: ENTRY, OUTPUT_FORMAT,
    OUTPUT_ARCH, SEARCH_DIR, GROUP, INPUT, EXTERN, TARGET, STARTUP, OUTPUT, NOCROSSREFS,
    FORCE_COMMON_ALLOCATION, LD_FEATURE, PHDRS, VERSION ..."""

    name: str
    args: tuple[str, ...] = ()
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class RegionAlias:
    alias: str
    region: str
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Region:
    """One MEMORY line: `name (attrs) : ORIGIN = expr, LENGTH = expr`."""

    name: str
    attrs: str
    origin: Expr
    length: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Memory:
    regions: tuple[Region | Include, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class SectionPattern:
    """One section-name pattern inside `file(...)`, with its sort and EXCLUDE_FILE list."""

    pattern: str
    sort: tuple[str, ...] = ()  # outermost first, e.g. ("SORT_BY_NAME", "SORT_BY_ALIGNMENT")
    exclude_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class InputSpec:
    """An input-section description: `[KEEP(] file_pattern(section patterns) [)]`."""

    file_pattern: str
    sections: tuple[SectionPattern, ...]  # empty means every section of the matching files
    keep: bool = False
    file_sort: tuple[str, ...] = ()
    exclude_files: tuple[str, ...] = ()
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Data:
    """BYTE/SHORT/LONG/QUAD/SQUAD(expr)."""

    kind: str
    expr: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Fill:
    expr: Expr
    pos: Pos = field(default=NOWHERE, compare=False)


OutputItem = Union[Assignment, Assert, InputSpec, Data, Fill, Include, Directive]


@dataclass(frozen=True)
class OutputSection:
    """`name [addr] [(type)] : [AT(lma)] [ALIGN(a)] [SUBALIGN(s)] { ... } [>region]
    [AT>region] [:phdr] [=fill]`."""

    name: str
    items: tuple[OutputItem, ...]
    address: Expr | None = None
    type: str | None = None  # NOLOAD, COPY, INFO, OVERLAY, DSECT, READONLY
    lma: Expr | None = None
    align: Expr | None = None
    align_with_input: bool = False
    subalign: Expr | None = None
    constraint: str | None = None  # ONLY_IF_RO / ONLY_IF_RW
    region: str | None = None
    lma_region: str | None = None
    phdrs: tuple[str, ...] = ()
    fill: Expr | None = None
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Overlay:
    """`OVERLAY [start] : [NOCROSSREFS] [AT(ldaddr)] { secname { ... } ... } [>region]
    [AT>region] [=fill]`."""

    sections: tuple[OutputSection, ...]
    start: Expr | None = None
    lma: Expr | None = None
    nocrossrefs: bool = False
    region: str | None = None
    lma_region: str | None = None
    fill: Expr | None = None
    pos: Pos = field(default=NOWHERE, compare=False)


SectionsItem = Union[OutputSection, Overlay, Assignment, Assert, Include, Directive]


@dataclass(frozen=True)
class Sections:
    items: tuple[SectionsItem, ...]
    pos: Pos = field(default=NOWHERE, compare=False)


@dataclass(frozen=True)
class Insert:
    """`INSERT AFTER|BEFORE section`: the script's SECTIONS go next to that section."""

    after: bool
    section: str
    pos: Pos = field(default=NOWHERE, compare=False)


Command = Union[Memory, Sections, Assignment, Assert, Include, Directive, RegionAlias, Insert]


@dataclass(frozen=True)
class Script:
    """A parsed script (INCLUDEs already expanded when it comes from `load_script`)."""

    commands: tuple[Command, ...]
    files: tuple[str, ...] = ()  # every file read, the main script first
