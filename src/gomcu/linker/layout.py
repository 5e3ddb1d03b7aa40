"""Evaluate a parsed ld script to the layout GNU ld would produce.

The rules follow GNU ld 2.40 (`arm-none-eabi-ld`, the oracle of the tests):

* Input sections are matched to input-section descriptions once, in script order, first match
  wins; within one description sections come in file order then section order unless SORTed.
* An output section without an address starts at its region's current address (or the region
  `lang_memory_default` picks from the region attributes), aligned to the largest alignment of
  its input sections or ALIGN(); with an address it is aligned only by ALIGN().
* LMA: AT(expr); else AT>region (that region's current address, aligned only by ALIGN()); else
  the LMA region inherited from the previous output section when both share the VMA region and
  have no address; else the VMA/LMA offset of the last section placed in the VMA region; else the
  VMA. NOBITS sections do not advance their LMA region.
* Values carry ld's "section of an expression": plain numbers, absolute values, or offsets in an
  output section. Inside an output section a plain number assigned to `.` or to a symbol is an
  offset from the section start; an absolute symbol read there is a plain number.
* Forward references are resolved by iterating passes until nothing moves (ld sizes sections
  several times for the same reason); errors are reported from the final pass only.
* Empty output sections (no input bytes, no data, no assignment to `.`) are discarded, but the
  symbols they define still get the address they would have had.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gomcu.errors import LinkerScriptError
from gomcu.linker import ast
from gomcu.linker.objects import InputFile, InputSection
from gomcu.linker.orphans import (
    F_ALLOC,
    F_CODE,
    F_DATA,
    F_LOAD,
    F_READONLY,
    flags_of,
    place_orphans,
    special,
)

ABS = "*ABS*"
MAX_PASSES = 12
_MASK = (1 << 64) - 1

# bfd section flags used by region matching (lang_memory_default)
_ATTR_FLAGS = {"r": F_READONLY, "w": F_DATA, "x": F_CODE, "a": F_ALLOC, "i": F_LOAD, "l": F_LOAD}
_NOALLOC_TYPES = ("COPY", "INFO", "OVERLAY", "DSECT")
#: arm-none-eabi (armelf) values
CONSTANTS = {"MAXPAGESIZE": 0x1000, "COMMONPAGESIZE": 0x1000}
#: the length ld gives a region that no MEMORY command declares (32-bit targets)
_UNDECLARED_LENGTH = 0xFFFFFFFF


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RegionUse:
    """A MEMORY region and how much of it the layout uses (ld's --print-memory-usage)."""

    name: str
    origin: int
    length: int
    attrs: str
    used: int
    pos: ast.Pos

    @property
    def end(self) -> int:
        return self.origin + self.length

    @property
    def free(self) -> int:
        return self.length - self.used

    def contains(self, address: int) -> bool:
        return self.origin <= address < self.end

    def intersects(self, start: int, end: int) -> bool:
        return start < self.end and self.origin < end


@dataclass(frozen=True)
class PlacedInput:
    file: str
    section: str
    address: int
    size: int


@dataclass(frozen=True)
class OutputSectionLayout:
    """One output section as ld lays it out."""

    name: str
    vma: int
    lma: int
    size: int
    align: int
    region: str | None
    lma_region: str | None
    alloc: bool
    load: bool  # occupies bytes in the image (not NOBITS/NOLOAD)
    discarded: bool
    inputs: tuple[PlacedInput, ...]
    pos: ast.Pos

    @property
    def end(self) -> int:
        return self.vma + self.size


@dataclass(frozen=True)
class SymbolValue:
    name: str
    value: int
    section: str | None  # output section it is relative to; None when absolute
    provided: bool  # came from PROVIDE/PROVIDE_HIDDEN
    hidden: bool
    pos: ast.Pos


@dataclass(frozen=True)
class AssertResult:
    passed: bool
    message: str
    pos: ast.Pos


@dataclass(frozen=True)
class LayoutProblem:
    """A reason ld would fail the link (region overflow, failed ASSERT, ...)."""

    message: str
    pos: ast.Pos | None = None


@dataclass(frozen=True)
class Layout:
    regions: tuple[RegionUse, ...]
    sections: tuple[OutputSectionLayout, ...]
    symbols: Mapping[str, SymbolValue]
    asserts: tuple[AssertResult, ...]
    problems: tuple[LayoutProblem, ...]
    orphans: tuple[InputSection, ...]  # allocated input sections no description matched
    aliases: Mapping[str, str] = field(default_factory=dict)
    entry: str | None = None
    passes: int = 0
    #: False when evaluated without --input/--elf: every input section then counts as empty
    has_inputs: bool = False
    #: what ld warns about and links anyway (a region no MEMORY command declares)
    warnings: tuple[LayoutProblem, ...] = ()

    def section(self, name: str) -> OutputSectionLayout | None:
        for s in self.sections:
            if s.name == name and not s.discarded:
                return s
        return None

    def output_of(self, section: InputSection) -> str | None:
        """The output section an input section was placed in."""
        for s in self.sections:
            if any(p.file == section.file and p.section == section.name for p in s.inputs):
                return s.name
        return None

    def region(self, name: str) -> RegionUse | None:
        name = self.aliases.get(name, name)
        for r in self.regions:
            if r.name == name:
                return r
        return None


# --------------------------------------------------------------------------- internals


@dataclass
class _Val:
    """ld's etree_value: `sec` None = plain number, ABS = absolute, else an output section
    and `value` is the offset in it."""

    value: int
    sec: str | None


@dataclass
class _Region:
    name: str
    attrs: str
    origin: int
    length: int
    pos: ast.Pos
    flags: int = 0
    not_flags: int = 0
    current: int = 0
    last_os: _OS | None = None


@dataclass
class _OS:
    """Per-pass state of one output section statement."""

    stmt: ast.OutputSection
    inputs: list[list[InputSection]]  # per item index, the matched input sections
    flags: int
    vma: int = 0
    lma: int = 0
    size: int = 0
    align: int = 1
    region: _Region | None = None
    lma_region: _Region | None = None
    kept: bool = True
    placed: list[PlacedInput] = field(default_factory=list)


class _Pass:
    """One sizing pass over the script."""

    def __init__(self, ev: Evaluator, prev: _Pass | None, strict: bool) -> None:
        self.ev = ev
        self.prev = prev
        self.strict = strict
        self.symbols: dict[str, tuple[int, str]] = {}  # name -> (offset, section or ABS)
        self.sym_info: dict[str, SymbolValue] = {}
        self.sections: dict[str, _OS] = {}
        self.order: list[_OS] = []
        self.regions: dict[str, _Region] = {}
        self.default = _Region("*default*", "", 0, _MASK, ast.NOWHERE)
        self.dot = 0
        self.cur: _OS | None = None
        self.asserts: list[AssertResult] = []
        self.problems: list[LayoutProblem] = []
        self.unresolved = False

    # ------------------------------------------------------------- values

    def fail(self, message: str, pos: ast.Pos | None) -> None:
        if self.strict:
            where = f"{pos}: " if pos is not None and pos.line else ""
            raise LinkerScriptError(f"{where}{message}")
        self.unresolved = True

    def vma_of(self, sec: str | None) -> int:
        if sec is None or sec == ABS:
            return 0
        os = self.sections.get(sec)
        if os is not None:
            return os.vma
        if self.prev is not None and sec in self.prev.sections:
            return self.prev.sections[sec].vma
        return 0

    def absolute(self, v: _Val) -> int:
        return (v.value + self.vma_of(v.sec)) & _MASK

    def here(self) -> str:
        return self.cur.stmt.name if self.cur is not None else ABS

    def rel_from_abs(self, value: int) -> _Val:
        if self.cur is None:
            return _Val(value, ABS)
        return _Val(value - self.cur.vma, self.cur.stmt.name)

    def number(self, value: int) -> _Val:
        # outside output sections numbers are absolute ("insanity" preserved by ld)
        return _Val(value, None if self.cur is not None else ABS)

    def lookup_symbol(self, name: str, pos: ast.Pos) -> _Val:
        entry = self.symbols.get(name)
        if entry is None and self.prev is not None:
            entry = self.prev.symbols.get(name)
        if entry is None:
            value = self.ev.input_symbol(name, self)
            if value is not None:
                entry = value
        if entry is None:
            self.fail(f"undefined symbol `{name}' referenced in expression", pos)
            return self.number(0)
        offset, sec = entry
        if sec == ABS:
            return self.number(offset)
        return _Val(offset, sec)

    def section_state(self, name: str, pos: ast.Pos, func: str) -> _OS | None:
        os = self.sections.get(name)
        if os is None and self.prev is not None:
            os = self.prev.sections.get(name)
            if os is not None:
                self.unresolved = True
        if os is None:
            if name in self.ev.section_names:
                self.unresolved = True
                return None
            self.fail(f"undefined section `{name}' referenced in expression ({func})", pos)
        return os

    def region_of(self, name: str, pos: ast.Pos) -> _Region | None:
        region = self.regions.get(self.ev.aliases.get(name, name))
        if region is None:
            self.fail(f"undefined MEMORY region `{name}' referenced in expression", pos)
        return region

    def eval(self, e: ast.Expr) -> _Val:
        if isinstance(e, ast.Num):
            return self.number(e.value)
        if isinstance(e, ast.Sym):
            if e.name == ".":
                return self.rel_from_abs(self.dot)
            return self.lookup_symbol(e.name, e.pos)
        if isinstance(e, ast.Binary):
            return self.binary(e)
        if isinstance(e, ast.Unary):
            v = self.eval(e.operand)
            if e.op == "-":
                return _Val(-v.value, v.sec)
            if e.op == "~":
                return _Val(~v.value, v.sec)
            if e.op == "!":
                return _Val(int(not v.value), v.sec)
            return v
        if isinstance(e, ast.Cond):
            c = self.eval(e.cond)
            return self.eval(e.then) if c.value else self.eval(e.otherwise)
        if isinstance(e, ast.Call):
            return self.call(e)
        raise AssertionError(f"unknown expression node {e!r}")

    def binary(self, e: ast.Binary) -> _Val:
        op = e.op
        if op in ("&&", "||"):
            lhs = self.eval(e.left)
            if op == "&&" and not lhs.value:
                return _Val(0, None)
            if op == "||" and lhs.value:
                return _Val(1, None)
            return _Val(int(bool(self.eval(e.right).value)), None)
        lhs = self.eval(e.left)
        rhs = self.eval(e.right)
        lsec = lhs.sec
        rsec = rhs.sec
        lv, rv = lhs.value, rhs.value
        if lsec != rsec:
            if lsec is not None and rsec is not None:
                lv = self.absolute(lhs)
                rv = self.absolute(rhs)
                lsec = rsec = ABS
            elif rsec is None:
                rsec = lsec
                lsec = None
        if op in ("==", "!=", "<", "<=", ">", ">="):
            result = {"==": lv == rv, "!=": lv != rv, "<": lv < rv, "<=": lv <= rv,
                      ">": lv > rv, ">=": lv >= rv}[op]
            return _Val(int(result), None)
        if op == "+":
            value = lv + rv
        elif op == "-":
            value = lv - rv
        elif op == "*":
            value = lv * rv
        elif op in ("/", "%"):
            if rv == 0:
                self.fail(f"{'division' if op == '/' else 'modulo'} by zero", e.pos)
                return _Val(0, rsec)
            q = abs(lv) // abs(rv) * (1 if (lv >= 0) == (rv >= 0) else -1)
            value = q if op == "/" else lv - q * rv
        elif op == "<<":
            value = lv << (rv & 63)
        elif op == ">>":
            value = (lv & _MASK) >> (rv & 63)
        elif op == "&":
            value = lv & rv
        elif op == "|":
            value = lv | rv
        elif op == "^":
            value = lv ^ rv
        else:
            raise AssertionError(op)
        value &= _MASK
        if value >> 63:
            value -= 1 << 64
        return _Val(value, self.arith_section(lsec, rsec))

    def arith_section(self, lsec: str | None, rsec: str | None) -> str | None:
        """ld's arith_result_section: operands of the same section give a number (absolute
        outside output sections); otherwise the result keeps the non-number section."""
        if lsec == rsec:
            return ABS if self.cur is None else None
        return rsec

    def call(self, e: ast.Call) -> _Val:
        f = e.func
        if f == "ORIGIN":
            region = self.region_of(e.name or "", e.pos)
            return self.rel_from_abs(region.origin if region else 0)
        if f == "LENGTH":
            region = self.region_of(e.name or "", e.pos)
            return _Val(region.length if region else 0, None)
        if f in ("ADDR", "LOADADDR", "SIZEOF", "ALIGNOF"):
            name = e.name or ""
            os = self.section_state(name, e.pos, f)
            if os is None:
                return self.number(0)
            if f == "ADDR":
                return _Val(0, name) if self.sections.get(name) is os else _Val(os.vma, ABS)
            if os is self.cur and f in ("LOADADDR", "SIZEOF"):
                # inside its own description: ld's value is the one from the finished sizing
                # (the final assignment pass), which the previous pass of ours has
                done = self.prev.sections.get(name) if self.prev is not None else None
                if done is None:
                    self.unresolved = True
                    return self.number(0)
                os = done
            if f == "LOADADDR":
                return _Val(os.lma, ABS)
            if f == "SIZEOF":
                return _Val(os.size if os.kept else 0, None)
            return _Val(os.align if os.kept else 0, None)
        if f == "DEFINED":
            return _Val(int(self.defined(e.name or "")), None)
        if f == "CONSTANT":
            if e.name not in CONSTANTS:
                self.fail(f"unknown constant `{e.name}' referenced in expression", e.pos)
                return _Val(0, None)
            return _Val(CONSTANTS[e.name], None)
        if f == "SIZEOF_HEADERS":
            return _Val(52 + 32 * 3, None)
        if f == "SEGMENT_START":
            return self.eval(e.args[0])
        if f == "ALIGN":
            if len(e.args) == 1:
                align = self.eval(e.args[0]).value
                return self.rel_from_abs(_align(self.dot, align))
            base = self.eval(e.args[0])
            by = self.eval(e.args[1])
            if base.sec is not None and by.sec is not None and base.sec != by.sec:
                # values of two sections (an absolute number outside SECTIONS is one): both
                # are made absolute first, as for any binary operator
                return _Val(_align(self.absolute(base), self.absolute(by)), ABS)
            return _Val(_align(base.value, by.value), by.sec if by.sec is not None else base.sec)
        if f in ("MIN", "MAX"):
            a = self.eval(e.args[0])
            b = self.eval(e.args[1])
            if a.sec != b.sec and a.sec is not None and b.sec is not None:
                a = _Val(self.absolute(a), ABS)
                b = _Val(self.absolute(b), ABS)
            pick = (a if a.value <= b.value else b) if f == "MIN" else \
                (a if a.value >= b.value else b)
            return _Val(pick.value, a.sec if a.sec is not None else b.sec)
        if f == "ABSOLUTE":
            return _Val(self.absolute(self.eval(e.args[0])), ABS)
        if f in ("BLOCK", "NEXT"):
            align = self.eval(e.args[0]).value
            return self.rel_from_abs(_align(self.dot, align))
        if f == "LOG2CEIL":
            v = self.eval(e.args[0]).value
            return _Val(max(0, (v - 1).bit_length()) if v > 0 else 0, None)
        if f == "DATA_SEGMENT_ALIGN":
            return self.rel_from_abs(self.dot)
        if f in ("DATA_SEGMENT_END", "DATA_SEGMENT_RELRO_END"):
            return self.rel_from_abs(self.dot)
        if f == "ASSERT":
            checked = self.eval(e.args[0])
            self.check_assert(bool(checked.value), e.name or "", e.pos)
            return checked
        raise AssertionError(f)

    def defined(self, name: str) -> bool:
        return name in self.symbols or self.ev.input_symbol(name, self) is not None

    def check_assert(self, ok: bool, message: str, pos: ast.Pos) -> None:
        if self.strict:
            self.asserts.append(AssertResult(ok, message, pos))
            if not ok:
                self.problems.append(LayoutProblem(message, pos))

    # ------------------------------------------------------------- statements

    def assign(self, a: ast.Assignment) -> None:
        if a.wrapper in ("PROVIDE", "PROVIDE_HIDDEN") and not self.ev.provide_applies(a.target):
            # not referenced (or defined by an input file): ld leaves it undefined
            return
        if a.op == "=":
            value = self.eval(a.expr)
        else:
            op = a.op[:-1]
            value = self.binary(ast.Binary(op, ast.Sym(a.target, a.pos), a.expr, a.pos))
        if a.target == ".":
            self.assign_dot(value, a)
            return
        sec = value.sec if value.sec is not None else self.here()
        offset = value.value
        self.symbols[a.target] = (offset, sec)
        self.sym_info[a.target] = SymbolValue(
            a.target, 0, None if sec == ABS else sec,
            a.wrapper in ("PROVIDE", "PROVIDE_HIDDEN"),
            a.wrapper in ("PROVIDE_HIDDEN", "HIDDEN"), a.pos,
        )

    def assign_dot(self, value: _Val, a: ast.Assignment) -> None:
        if value.sec is None:
            nextdot = value.value + (self.cur.vma if self.cur is not None else 0)
        else:
            nextdot = value.value + self.vma_of(value.sec)
        nextdot &= _MASK
        if self.cur is not None:
            if nextdot < self.dot:
                self.fail(f"cannot move location counter backwards (from {self.dot:#x} to "
                          f"{nextdot:#x})", a.pos)
                return
            self.dot = nextdot
        else:
            self.dot = nextdot
            self.default.current = nextdot

    # ------------------------------------------------------------- sections

    def run(self) -> None:
        ev = self.ev
        for name, expr in ev.defsyms:
            self.assign(ast.Assignment(name, "=", expr, None, ast.NOWHERE))
        self.eval_regions()
        for item in ev.flat:
            if isinstance(item, ast.OutputSection):
                self.output_section(item)
            elif isinstance(item, ast.Overlay):
                self.overlay(item)
            elif isinstance(item, ast.Assignment):
                self.assign(item)
            elif isinstance(item, ast.Assert):
                self.check_assert(bool(self.eval(item.expr).value), item.message, item.pos)
        for region in list(self.regions.values()):
            end = region.origin + region.length
            if region.current > end and self.strict:
                self.problems.append(LayoutProblem(
                    f"region `{region.name}' overflowed by {region.current - end} bytes",
                    region.pos))

    def eval_regions(self) -> None:
        for r in self.ev.region_defs:
            origin = self.absolute(self.eval(r.origin))
            length = self.absolute(self.eval(r.length))
            region = _Region(r.name, r.attrs, origin, length, r.pos, current=origin)
            negate = False
            for ch in r.attrs.lower():
                if ch == "!":
                    negate = True
                elif negate:
                    region.not_flags |= _ATTR_FLAGS.get(ch, 0)
                else:
                    region.flags |= _ATTR_FLAGS.get(ch, 0)
            self.regions[r.name] = region
        for name, pos in self.ev.missing_regions.items():
            self.regions[name] = _Region(name, "", 0, _UNDECLARED_LENGTH, pos)

    def find_region(self, name: str | None, pos: ast.Pos) -> _Region | None:
        if name is None:
            return None
        region = self.regions.get(self.ev.aliases.get(name, name))
        if region is None:
            # unknown regions are fatal in ld whatever the pass
            raise LinkerScriptError(f"{pos}: memory region `{name}' not declared")
        return region

    def default_region(self, flags: int) -> _Region:
        if flags & (F_ALLOC | F_READONLY | F_CODE) == F_ALLOC:
            flags |= F_DATA
        for region in self.regions.values():
            if region.flags & flags and not region.not_flags & flags:
                return region
        return self.default

    def output_section(self, stmt: ast.OutputSection, overlay_vma: int | None = None,
                       overlay_lma: int | None = None) -> _OS:
        ev = self.ev
        proto = ev.mapping[id(stmt)]
        os = _OS(stmt, proto.inputs, proto.flags)
        self.sections[stmt.name] = os
        self.order.append(os)
        os.region = self.find_region(ev.region_name(stmt), stmt.pos)
        os.lma_region = self.find_region(stmt.lma_region, stmt.pos)
        if os.lma_region is None and overlay_vma is None:
            # lang_propagate_lma_regions: inherited from the previous output section
            os.lma_region = self.find_region(ev.lma_region_of.get(id(stmt)), stmt.pos)
        in_align = proto.align
        explicit_align = 1
        if stmt.align is not None:
            explicit_align = max(1, self.eval(stmt.align).value)
        os.align = max(in_align, explicit_align)
        dot_before = self.dot
        if overlay_vma is not None:
            start = overlay_vma
            align = explicit_align
        elif stmt.address is not None:
            saved, self.cur = self.cur, None
            start = self.absolute(self.eval(stmt.address))
            self.cur = saved
            align = explicit_align
        else:
            if os.region is None:
                os.region = self.default_region(os.flags)
            start = os.region.current if os.region is not self.default else self.default.current
            align = os.align
        start = _align(start, align)
        os.vma = start
        # contents
        subalign = None
        if stmt.subalign is not None:
            subalign = max(1, self.eval(stmt.subalign).value)
        elf_size = ev.elf_sizes.get(stmt.name) if ev.elf_sizes is not None else None
        blob = elf_size
        for _ in range(4):
            has_data, moves_dot, bytes_in = self.contents(os, start, subalign, blob)
            if elf_size is None or blob is None or self.dot - start == elf_size:
                break
            blob = max(0, blob - (self.dot - start - elf_size))
        self.cur = None
        if has_data:
            os.flags |= F_ALLOC | F_LOAD
        os.size = self.dot - start
        if elf_size is not None:
            os.size = elf_size  # alignment inside may make the blob unable to hit it exactly
        if ev.elf_sizes is not None:
            # --elf: the linked file says which sections ld kept
            os.kept = elf_size is not None
        else:
            os.kept = bytes_in > 0 or has_data or moves_dot
        if stmt.name == "/DISCARD/":
            os.kept = False
        if stmt.type == "NOLOAD":
            os.flags &= ~F_LOAD
        if stmt.type in _NOALLOC_TYPES and overlay_vma is None:
            os.flags &= ~F_ALLOC  # SEC_NEVER_LOAD; input contents still count for the region
        # LMA
        r = os.region or self.default
        if overlay_lma is not None:
            os.lma = overlay_lma
        elif stmt.lma is not None:
            saved, self.cur = self.cur, None
            os.lma = self.absolute(self.eval(stmt.lma))
            self.cur = saved
        elif os.lma_region is not None:
            # AT>REGION (or the load region carried on from the section before): that
            # region's next address, even when it is the VMA region itself (`.stack ADDR :
            # {} >RAM AT>RAM`); aligned as the VMA was when it is the same region, else only
            # by ALIGN()
            os.lma = _align(os.lma_region.current,
                            align if os.lma_region is os.region else explicit_align)
        elif not os.flags & F_ALLOC:
            os.lma = os.vma
        elif r.last_os is not None:
            # the same VMA-to-LMA offset as the last section of the region (NOLOAD ones too),
            # aligned as the VMA was
            last = r.last_os
            if os.vma < last.vma and os.size and os.vma + os.size <= last.vma:
                os.lma = os.vma
            else:
                os.lma = _align(os.vma + last.lma - last.vma, align)
        else:
            os.lma = os.vma
        if not os.kept:
            self.dot = self.dot_after_dropped(os, dot_before)
            return os
        if (os.flags & F_ALLOC and (os.size or (r.last_os is None and os.vma != os.lma))
                and os.lma_region is None):
            r.last_os = os
        self.dot = os.vma + os.size
        if os.region is not None and os.region is not self.default and \
                os.flags & (F_ALLOC | F_LOAD):
            os.region.current = self.dot
            if self.strict:
                self.region_check(os, os.region, os.vma)
            if os.lma_region is not None and os.lma_region is not os.region and \
                    os.flags & F_LOAD:
                os.lma_region.current = os.lma + os.size
                if self.strict:
                    self.region_check(os, os.lma_region, os.lma)
        elif os.region is self.default or os.region is None:
            self.default.current = self.dot
            if os.lma_region is not None and os.flags & F_LOAD:
                os.lma_region.current = os.lma + os.size
        return os

    def zero(self, e: ast.Expr) -> bool:
        """`0`, or a symbol the script set to the absolute value 0."""
        if isinstance(e, ast.Num):
            return e.value == 0
        return isinstance(e, ast.Sym) and self.symbols.get(e.name) == (0, ABS)

    def dot_after_dropped(self, os: _OS, dot_before: int) -> int:
        """Where `.` is after an output section ld drops. ld leaves `.` alone after /DISCARD/
        and after an empty section it ignores; only an address expression moves it. An empty
        section that assigns a symbol is sized (at its start) before being stripped, so `.`
        goes to that start."""
        stmt = os.stmt
        if stmt.name != "/DISCARD/" and any(
                isinstance(i, ast.Assignment) and i.target != "." for i in stmt.items):
            return os.vma
        if stmt.address is not None:
            saved, self.cur = self.cur, None
            at = self.absolute(self.eval(stmt.address))
            self.cur = saved
            return at
        return dot_before

    def contents(self, os: _OS, start: int, subalign: int | None,
                 blob: int | None) -> tuple[bool, bool, int]:
        """Place the items of an output section from `start`. With --elf, `blob` bytes stand
        for everything the first input-section description brought in."""
        ev = self.ev
        stmt = os.stmt
        os.placed = []
        self.cur = os
        self.dot = start
        has_data = moves_dot = False
        bytes_in = 0
        for index, item in enumerate(stmt.items):
            if isinstance(item, ast.InputSpec):
                if blob is not None:
                    self.dot += blob
                    bytes_in += blob
                    blob = None
                for section in os.inputs[index]:
                    a = subalign or section.align
                    self.dot = _align(self.dot, a)
                    size = ev.input_size(section)
                    os.placed.append(PlacedInput(section.file, section.name, self.dot, size))
                    self.dot += size
                    bytes_in += size
            elif isinstance(item, ast.Assignment):
                before = self.dot
                self.assign(item)
                if item.target == "." and not _trivial_dot(item, self.zero):
                    moves_dot = True
                if self.dot != before and not os.flags & F_ALLOC:
                    os.flags |= F_ALLOC
            elif isinstance(item, ast.Data):
                self.eval(item.expr)
                self.dot += {"BYTE": 1, "SHORT": 2, "LONG": 4, "QUAD": 8, "SQUAD": 8}[item.kind]
                has_data = True
            elif isinstance(item, ast.Assert):
                self.check_assert(bool(self.eval(item.expr).value), item.message, item.pos)
            elif isinstance(item, ast.Fill):
                self.eval(item.expr)
        for section in os.inputs[len(stmt.items)] if len(os.inputs) > len(stmt.items) else ():
            # orphans ld added after the statement's own contents
            self.dot = _align(self.dot, subalign or section.align)
            size = ev.input_size(section)
            os.placed.append(PlacedInput(section.file, section.name, self.dot, size))
            self.dot += size
            bytes_in += size
        if blob is not None:  # no input-section description: the bytes go at the end
            self.dot += blob
        self.cur = None
        return has_data, moves_dot, bytes_in

    def region_check(self, os: _OS, region: _Region, start: int) -> None:
        if region.current < region.origin or region.current - region.origin > region.length:
            if os.stmt.address is not None and region is os.region:
                msg = (f"address {region.current:#x} of section `{os.stmt.name}' is not "
                       f"within region `{region.name}'")
            else:
                msg = f"section `{os.stmt.name}' will not fit in region `{region.name}'"
            if not any(p.message == msg for p in self.problems):
                self.problems.append(LayoutProblem(msg, os.stmt.pos))

    def overlay(self, ov: ast.Overlay) -> None:
        start = self.absolute(self.eval(ov.start)) if ov.start is not None else self.dot
        region = self.find_region(ov.region, ov.pos)
        lma_region = self.find_region(ov.lma_region, ov.pos)
        if ov.start is None and region is not None:
            start = region.current
        if ov.lma is not None:
            lma = self.absolute(self.eval(ov.lma))
        elif lma_region is not None:
            lma = lma_region.current
        else:
            lma = start
        biggest = 0
        for stmt in ov.sections:
            os = self.output_section(stmt, overlay_vma=start, overlay_lma=lma)
            name = re.sub(r"[^A-Za-z0-9_]", "_", stmt.name.lstrip("."))
            for sym, value in ((f"__load_start_{name}", lma), (f"__load_stop_{name}",
                                                                  lma + os.size)):
                if self.ev.provide_applies(sym):
                    self.symbols[sym] = (value, ABS)
                    self.sym_info[sym] = SymbolValue(sym, 0, None, True, False, stmt.pos)
            lma += os.size
            biggest = max(biggest, os.size)
        self.dot = start + biggest
        if region is not None:
            region.current = self.dot
        if lma_region is not None:
            lma_region.current = lma

    # ------------------------------------------------------------- comparison

    def fingerprint(self) -> tuple:
        secs = tuple((o.stmt.name, o.vma, o.lma, o.size, o.kept) for o in self.order)
        syms = tuple(sorted((k, v) for k, v in self.symbols.items()))
        return secs, syms


def _align(value: int, align: int) -> int:
    if align <= 1:
        return value
    return (value + align - 1) // align * align


def _trivial_dot(a: ast.Assignment, zero: Callable[[ast.Expr], bool]) -> bool:
    """The assignments to `.` that do not keep an empty section (ldexp.c): `. = 0`, `. = sym`,
    `. = . + 0`, `. = . + sym` and `. += 0` where sym is a script symbol worth absolute 0,
    and `. = ALIGN(. != 0 ? expr : 1)`."""
    e = a.expr
    if a.op == "+=":
        return zero(e)
    if a.op != "=":
        return False
    if zero(e):
        return True
    if isinstance(e, ast.Binary) and e.op == "+" and isinstance(e.left, ast.Sym) \
            and e.left.name == "." and zero(e.right):
        return True
    if isinstance(e, ast.Call) and e.func == "ALIGN" and len(e.args) == 1:
        c = e.args[0]
        return (isinstance(c, ast.Cond) and isinstance(c.otherwise, ast.Num)
                and c.otherwise.value == 1 and isinstance(c.cond, ast.Binary)
                and c.cond.op == "!=" and isinstance(c.cond.left, ast.Sym)
                and c.cond.left.name == "." and isinstance(c.cond.right, ast.Num)
                and c.cond.right.value == 0)
    return False


@dataclass
class _Proto:
    """Output section facts fixed before sizing: matched inputs, flags, input alignment."""

    inputs: list[list[InputSection]]
    flags: int
    align: int
    inputs_nonempty: bool


def _glob(pattern: str) -> re.Pattern[str] | None:
    """A compiled fnmatch pattern, or None when the pattern has no wildcard."""
    if not any(c in pattern for c in "*?["):
        return None
    return re.compile(fnmatch.translate(pattern.replace("[^", "[!")))


def _match(pattern: str, compiled: re.Pattern[str] | None, name: str) -> bool:
    return name == pattern if compiled is None else compiled.match(name) is not None


_INIT_PRIORITY = re.compile(r"\.(?:init_array|fini_array|ctors|dtors)\.(\d+)$")


def _sort_key(kinds: Sequence[str], section: InputSection) -> tuple:
    keys: list = []
    for kind in kinds:
        if kind in ("SORT", "SORT_BY_NAME"):
            keys.append(section.name)
        elif kind == "SORT_BY_ALIGNMENT":
            keys.append(-section.align)
        elif kind == "SORT_BY_INIT_PRIORITY":
            m = _INIT_PRIORITY.search(section.name)
            prio = int(m.group(1)) if m else 65535
            if section.name.startswith((".ctors", ".dtors")):
                prio = 65535 - prio
            keys.append(prio)
    return tuple(keys)


class Evaluator:
    """Lays out one script for one set of inputs. Use `evaluate()` rather than this class."""

    def __init__(self, script: ast.Script, defsyms: Sequence[tuple[str, ast.Expr]],
                 inputs: Sequence[InputFile], linked: bool) -> None:
        self.script = script
        self.defsyms = list(defsyms)
        self.inputs = list(inputs)
        self.linked = linked
        self.aliases: dict[str, str] = {}
        self.region_defs: list[ast.Region] = []
        self.flat: list[ast.SectionsItem] = []
        self.entry: str | None = None
        self.section_names: set[str] = set()
        self.lma_region_of: dict[int, str | None] = {}
        self.elf_sizes: dict[str, int] | None = None
        self.missing_regions: dict[str, ast.Pos] = {}
        self.warnings: list[LayoutProblem] = []
        self._collect()
        self.input_defined: dict[str, tuple[InputSection, int]] = {}
        self.input_absolute: dict[str, int] = {}
        self.undefined: set[str] = set()
        for f in inputs:
            by_index = {s.index: s for s in f.sections}
            for name, index, value in f.defined:
                if index in by_index:
                    self.input_defined.setdefault(name, (by_index[index], value))
            for name, value in f.absolute:
                self.input_absolute.setdefault(name, value)
            self.undefined |= f.undefined
        if not linked:
            # EXTERN(sym) makes sym an undefined reference, as an object's reference does
            self.undefined |= {a for cmd in self.script.commands
                               if isinstance(cmd, ast.Directive) and cmd.name == "EXTERN"
                               for a in cmd.args}
        self.references = self._references()
        if linked:
            self.elf_sizes = {}
            for f in inputs:
                for s in f.sections:
                    self.elf_sizes.setdefault(s.name, s.size)
        self.merged_size: dict[tuple[str, int, str], int] = {}
        self.mapping: dict[int, _Proto] = {}
        self.orphans: list[InputSection] = []
        self.placement: dict[tuple[str, int, str], str] = {}
        self._map_inputs()
        self._propagate_lma_regions()
        self.input_address: dict[tuple[str, int, str], int] = {}

    # ------------------------------------------------------------- script walk

    def _collect(self) -> None:
        def add_sections(items: Iterable[ast.SectionsItem], insert_at: int | None = None) -> None:
            block: list[ast.SectionsItem] = []
            for item in items:
                if isinstance(item, ast.OutputSection):
                    self.section_names.add(item.name)
                elif isinstance(item, ast.Overlay):
                    for s in item.sections:
                        self.section_names.add(s.name)
                elif isinstance(item, ast.Directive) and item.name == "ENTRY" and item.args:
                    self.entry = item.args[0]
                block.append(item)
            self.flat.extend(block)

        pending_insert: list[tuple[ast.Insert, list[ast.SectionsItem]]] = []
        last_sections_start = 0
        for cmd in self.script.commands:
            if isinstance(cmd, ast.Memory):
                self.region_defs.extend(r for r in cmd.regions if isinstance(r, ast.Region))
            elif isinstance(cmd, ast.Sections):
                last_sections_start = len(self.flat)
                add_sections(cmd.items)
            elif isinstance(cmd, ast.RegionAlias):
                self.aliases[cmd.alias] = self.aliases.get(cmd.region, cmd.region)
            elif isinstance(cmd, ast.Insert):
                moved = self.flat[last_sections_start:]
                del self.flat[last_sections_start:]
                pending_insert.append((cmd, moved))
            elif isinstance(cmd, (ast.Assignment, ast.Assert)):
                self.flat.append(cmd)
            elif isinstance(cmd, ast.Directive) and cmd.name == "ENTRY" and cmd.args:
                self.entry = cmd.args[0]
        for insert, moved in pending_insert:
            for i, item in enumerate(self.flat):
                if isinstance(item, ast.OutputSection) and item.name == insert.section:
                    at = i + 1 if insert.after else i
                    self.flat[at:at] = moved
                    break
            else:
                where = "AFTER" if insert.after else "BEFORE"
                raise LinkerScriptError(f"{insert.pos}: INSERT {where} refers to unknown "
                                        f"section `{insert.section}'")
        names = {r.name for r in self.region_defs}
        for alias, region in self.aliases.items():
            if region not in names:
                raise LinkerScriptError(f"REGION_ALIAS {alias}: memory region `{region}' "
                                        "not declared")
        # a region no MEMORY declares: ld warns, makes it (origin 0, all of the address
        # space, no attributes) and links
        users: list[ast.OutputSection | ast.Overlay] = [
            i for i in self.flat if isinstance(i, ast.Overlay)]
        users += list(self._all_output_sections())
        for item in sorted(users, key=lambda i: (i.pos.file, i.pos.line, i.pos.col)):
            for name in (item.region, item.lma_region):
                if name is not None and self.aliases.get(name, name) not in names \
                        and name not in self.missing_regions:
                    self.missing_regions[name] = item.pos
                    self.warnings.append(LayoutProblem(
                        f"memory region `{name}' not declared", item.pos))

    def _propagate_lma_regions(self) -> None:
        """lang_propagate_lma_regions (after orphans are placed): a section with no address and
        no load address in the same region as the one before it takes that one's load region."""
        prev: ast.OutputSection | None = None
        for item in self._all_output_sections():
            lma_region = item.lma_region
            if (lma_region is None and item.lma is None and item.address is None
                    and prev is not None
                    and self._same_region(self.region_name(prev), self.region_name(item))):
                lma_region = self.lma_region_of.get(id(prev))
            self.lma_region_of[id(item)] = lma_region
            prev = item

    @staticmethod
    def region_name(stmt: ast.OutputSection) -> str | None:
        """The VMA region: `>REGION`, or with only `AT>REGION` (and no address) that region
        (lang_get_regions)."""
        if stmt.region is None and stmt.address is None and stmt.lma_region is not None:
            return stmt.lma_region
        return stmt.region

    def _same_region(self, a: str | None, b: str | None) -> bool:
        """Two region names (or aliases) that name one region; None is the default region."""
        return self.aliases.get(a or "", a) == self.aliases.get(b or "", b)

    def _all_output_sections(self) -> Iterable[ast.OutputSection]:
        for item in self.flat:
            if isinstance(item, ast.OutputSection):
                yield item
            elif isinstance(item, ast.Overlay):
                yield from item.sections

    def _references(self) -> set[str]:
        """Symbols referenced by script expressions outside the PROVIDE that defines them."""
        refs_by_stmt: list[tuple[ast.Assignment | None, set[str]]] = []

        def walk(e: ast.Expr, out: set[str]) -> None:
            out.update(n.name for n in ast.expression_nodes(e) if isinstance(n, ast.Sym))

        def visit(item: object) -> None:
            if isinstance(item, ast.Assignment):
                s: set[str] = set()
                walk(item.expr, s)
                if item.op != "=":
                    s.add(item.target)
                refs_by_stmt.append((item if item.wrapper in ("PROVIDE", "PROVIDE_HIDDEN")
                                     else None, s))
            elif isinstance(item, ast.Assert):
                s = set()
                walk(item.expr, s)
                refs_by_stmt.append((None, s))
            elif isinstance(item, ast.Data | ast.Fill):
                s = set()
                walk(item.expr, s)
                refs_by_stmt.append((None, s))
            elif isinstance(item, ast.OutputSection):
                s = set()
                for e in (item.address, item.lma, item.align, item.subalign):
                    if e is not None:
                        walk(e, s)
                refs_by_stmt.append((None, s))
                for sub in item.items:
                    visit(sub)
            elif isinstance(item, ast.Overlay):
                for section in item.sections:
                    visit(section)

        s: set[str]
        for _, e in self.defsyms:
            s = set()
            walk(e, s)
            refs_by_stmt.append((None, s))
        for r in self.region_defs:
            s = set()
            walk(r.origin, s)
            walk(r.length, s)
            refs_by_stmt.append((None, s))
        for item in self.flat:
            visit(item)
        # what the inputs leave undefined is referenced too: a PROVIDE that defines it for
        # them applies, and so do the PROVIDEs its expression names
        referenced: set[str] = set(self.undefined)
        for owner, s in refs_by_stmt:
            if owner is None:
                referenced |= s
        changed = True
        while changed:
            changed = False
            for owner, s in refs_by_stmt:
                if owner is not None and owner.target in referenced and not s <= referenced:
                    referenced |= s
                    changed = True
        return referenced

    def provide_applies(self, name: str) -> bool:
        if name in self.input_defined or name in self.input_absolute:
            return False
        if self.linked:
            return name in self.undefined  # for a linked ELF: the symbol is in its table
        return name in self.undefined or name in self.references

    def input_symbol(self, name: str, p: _Pass) -> tuple[int, str] | None:
        if name in self.input_defined:
            section, value = self.input_defined[name]
            key = (section.file, section.index, section.name)
            out = self.placement.get(key)
            if out is None:
                return None
            addr = self.input_address.get(key)
            if addr is None:
                p.unresolved = True
                return (0, ABS)
            return (addr + value, ABS)
        if name in self.input_absolute:
            return (self.input_absolute[name], ABS)
        return None

    def input_size(self, section: InputSection) -> int:
        if self.elf_sizes is not None:
            return 0
        return self.merged_size.get((section.file, section.index, section.name), section.size)

    def _merge(self, out_name: str, sections: Iterable[InputSection]) -> None:
        """SHF_MERGE inputs of one output section with the same entry size, flags and
        alignment become one blob at the first of them (bfd's merge.c): duplicates go, and
        for strings a string that ends another (at an aligned offset) shares its tail."""
        groups: dict[tuple, list[InputSection]] = {}
        for s in sections:
            if s.entries is not None:
                groups.setdefault((s.name, s.entsize, s.strings, s.align, s.write, s.exec),
                                  []).append(s)
        for (_, entsize, strings, align, _, _), members in groups.items():
            unique = list(dict.fromkeys(e for m in members for e in m.entries or ()))
            if strings:
                by_tail = sorted(unique, key=lambda b: b[::-1], reverse=True)
                kept: list[bytes] = []
                for entry in by_tail:
                    if kept and kept[-1].endswith(entry) and \
                            (len(kept[-1]) - len(entry)) % align == 0:
                        continue
                    kept.append(entry)
                size = 0
                for e in kept:
                    size = _align(size, align) + len(e) + entsize
            else:
                size = len(unique) * entsize
            first = members[0]
            self.merged_size[(first.file, first.index, first.name)] = size
            for m in members[1:]:
                self.merged_size[(m.file, m.index, m.name)] = 0

    # ------------------------------------------------------------- input mapping

    def _map_inputs(self) -> None:
        claimed: set[tuple[str, int, str]] = set()
        files = self.inputs
        compiled: dict[str, re.Pattern[str] | None] = {}

        def glob(p: str) -> re.Pattern[str] | None:
            if p not in compiled:
                compiled[p] = _glob(p)
            return compiled[p]

        for stmt in self._all_output_sections():
            per_item: list[list[InputSection]] = []
            flags = 0
            align = 1
            nonempty = False
            for item in stmt.items:
                matched: list[InputSection] = []
                if isinstance(item, ast.InputSpec) and not self.linked:
                    fp = item.file_pattern
                    fglob = glob(fp)
                    chosen_files = [f for f in files
                                    if _match(fp, fglob, f.path)
                                    and not any(_match(x, glob(x), f.path)
                                                for x in item.exclude_files)]
                    if item.file_sort:
                        chosen_files.sort(key=lambda f: f.path)
                    sorted_groups: dict[int, list[InputSection]] = {}
                    for f in chosen_files:
                        for section in f.sections:
                            key = (section.file, section.index, section.name)
                            if key in claimed:
                                continue
                            for pi, sp in enumerate(item.sections or
                                                    (ast.SectionPattern("*"),)):
                                if any(_match(x, glob(x), f.path) for x in sp.exclude_files):
                                    continue
                                if _match(sp.pattern, glob(sp.pattern), section.name):
                                    claimed.add(key)
                                    if sp.sort and sp.sort != ("SORT_NONE",):
                                        sorted_groups.setdefault(pi, []).append(section)
                                    matched.append(section)
                                    break
                    if sorted_groups:
                        specs = item.sections
                        for pi, group in sorted_groups.items():
                            ordered = sorted(group, key=functools.partial(_sort_key, specs[pi].sort))
                            slots = [i for i, s in enumerate(matched) if s in group]
                            for slot, s in zip(slots, ordered):
                                matched[slot] = s
                    for s in matched:
                        self.placement[(s.file, s.index, s.name)] = stmt.name
                        if s.size:
                            nonempty = True
                        flags |= flags_of(s)
                        align = max(align, s.align)
                per_item.append(matched)
            self._merge(stmt.name, (s for lst in per_item for s in lst))
            if self.linked and self.elf_sizes is not None:
                for f in files:
                    for s in f.sections:
                        if s.name == stmt.name:
                            # a COPY/INFO output section is not allocated but its inputs
                            # were loadable
                            flags |= flags_of(s) | (F_LOAD if s.load and s.size else 0)
                            align = max(align, s.align)
            self.mapping[id(stmt)] = _Proto(per_item, flags, align, nonempty)
        if not self.linked:
            for f in files:
                for s in f.sections:
                    if s.size and (s.file, s.index, s.name) not in claimed:
                        self.orphans.append(s)
        else:
            names = set(self.section_names)
            for f in files:
                for s in f.sections:
                    if s.size and s.name not in names:
                        self.orphans.append(s)
        if self.orphans:
            self._place_orphans()

    def _place_orphans(self) -> None:
        """Give every orphan the output section ld's orphan rules give it (see orphans.py)."""
        matched = {id(stmt): [s for lst in self.mapping[id(stmt)].inputs for s in lst]
                   for stmt in self._all_output_sections()}
        placed = place_orphans(self.flat, matched, self.orphans)
        self.flat[:] = placed.flat
        for key, sections in list(placed.created.items()) + list(placed.appended.items()):
            stmt = next(o for o in self._all_output_sections() if id(o) == key)
            self.section_names.add(stmt.name)
            proto = self.mapping.get(key)
            if proto is None:
                proto = self.mapping[key] = _Proto([[]], 0, 1, False)
            else:  # after everything the statement itself places
                proto.inputs.append([])
            proto.inputs[-1].extend(sections)
            for s in sections:
                self.placement[(s.file, s.index, s.name)] = stmt.name
                proto.flags |= flags_of(s) | (F_LOAD if self.linked and s.load else 0)
                proto.align = max(proto.align, s.align)
                proto.inputs_nonempty |= bool(s.size)
            if self.linked and self.elf_sizes is not None and stmt.name not in self.elf_sizes:
                self.elf_sizes[stmt.name] = sum(s.size for s in sections)

    # ------------------------------------------------------------- driver

    def run(self) -> Layout:
        prev: _Pass | None = None
        passes = 0
        for _ in range(MAX_PASSES):
            p = _Pass(self, prev, strict=False)
            p.run()
            passes += 1
            self._record_inputs(p)
            if prev is not None and not p.unresolved and p.fingerprint() == prev.fingerprint():
                break
            prev = p
        final = _Pass(self, prev, strict=True)
        final.run()
        passes += 1
        self._record_inputs(final)
        return self._result(final, passes)

    def _record_inputs(self, p: _Pass) -> None:
        for os in p.order:
            for placed, section in zip(os.placed, (s for lst in os.inputs for s in lst)):
                self.input_address[(section.file, section.index, section.name)] = placed.address

    def _result(self, p: _Pass, passes: int) -> Layout:
        regions = tuple(
            RegionUse(r.name, r.origin, r.length, r.attrs, max(0, r.current - r.origin), r.pos)
            for r in p.regions.values()
        )
        sections: list[OutputSectionLayout] = []
        for os in p.order:
            region = os.region.name if os.region is not None and os.region is not p.default \
                else None
            lma_region = os.lma_region.name if os.lma_region is not None else None
            if lma_region is None and region is not None and os.flags & F_LOAD:
                lma_region = region
            sections.append(OutputSectionLayout(
                name=os.stmt.name, vma=os.vma, lma=os.lma, size=os.size if os.kept else 0,
                align=os.align, region=region, lma_region=lma_region,
                alloc=bool(os.flags & F_ALLOC) or special(os.stmt.name)[1],
                load=bool(os.flags & F_LOAD) and
                bool(os.flags & F_ALLOC), discarded=not os.kept, inputs=tuple(os.placed),
                pos=os.stmt.pos,
            ))
        symbols: dict[str, SymbolValue] = {}
        for name, (offset, sec) in p.symbols.items():
            info = p.sym_info.get(name)
            value = (offset + p.vma_of(sec)) & 0xFFFFFFFF if sec != ABS else offset & 0xFFFFFFFF
            if info is None:  # --defsym
                info = SymbolValue(name, 0, None, False, False, ast.NOWHERE)
            symbols[name] = SymbolValue(name, value, info.section, info.provided, info.hidden,
                                        info.pos)
        return Layout(regions, tuple(sections), symbols, tuple(p.asserts), tuple(p.problems),
                      tuple(self.orphans), dict(self.aliases), self.entry, passes,
                      bool(self.inputs), tuple(self.warnings))


def parse_defsym(text: str) -> tuple[str, ast.Expr]:
    """`NAME=EXPR` from the command line."""
    from gomcu.linker.parser import parse_expression

    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not value.strip():
        raise LinkerScriptError(f"--defsym {text!r}: expected NAME=EXPRESSION")
    return name, parse_expression(value, f"--defsym {name}")


def evaluate(script: ast.Script, defsyms: Sequence[tuple[str, ast.Expr]] | Mapping[str, int] = (),
             inputs: Sequence[InputFile] = (), linked: bool = False) -> Layout:
    """Lay the script out as GNU ld would.

    `inputs` are relocatable objects (`objects.read_object`) or, with `linked=True`, one linked
    firmware (`objects.read_linked`) whose output-section sizes stand in for the inputs.
    """
    if isinstance(defsyms, Mapping):
        defsyms = [(k, ast.Num(v)) for k, v in defsyms.items()]
    return Evaluator(script, defsyms, inputs, linked).run()
