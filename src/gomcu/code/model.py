"""The code model of an image: functions, frames and the call graph, built once and cached.

`model(image)` decodes every function once (honouring `$d` mapping symbols so literal pools
are not decoded), computes frames, resolves calls, decodes the vector table and finds roots.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
import weakref
from collections.abc import Iterable
from functools import cached_property

from gomcu.code.arch import Decoder, decoder_for
from gomcu.code.frames import analyse_frame
from gomcu.code.types import CallSite, Frame, Function, Insn, Kind, Root, VectorEntry
from gomcu.image import Image, SymbolKind

_CACHE: "weakref.WeakKeyDictionary[Image, CodeModel]" = weakref.WeakKeyDictionary()


def model(image: Image) -> CodeModel:
    """The (cached) code model of `image`."""
    found = _CACHE.get(image)
    if found is None:
        found = CodeModel(image)
        _CACHE[image] = found
    return found


class CodeModel:
    """Functions with frames and call sites; the call graph; vector table and roots."""

    def __init__(self, image: Image) -> None:
        self.image = image
        self.decoder: Decoder = decoder_for(image)
        self.notes: list[str] = []
        self._insns: dict[str, list[Insn]] = {}
        self.call_args: dict[int, tuple[int | None, ...]] = {}  # call site -> constant argument registers
        self.call_loads: dict[int, tuple[int | None, ...]] = {}  # call site -> address each argument was loaded from
        self.csr_writes: list[tuple[str, int, int]] = []  # (function, csr number, constant value) e.g. mtvec
        self.address_constants: dict[str, set[int]] = {}  # function -> code addresses it loads as constants
        self._build()

    # -- building ----------------------------------------------------------------------------

    def _extents(self) -> list[tuple[str, int, int, tuple[str, ...]]]:
        """(name, start, end, aliases) of every function; sizes checked against sections and neighbours."""
        image = self.image
        syms = [s for s in image.functions if s.section_index is not None or image.section_at(s.address)]
        if not syms:
            return self._discover_extents()
        starts = [s.address for s in syms]
        alias_map: dict[int, list[str]] = {}
        for s in image.symbols:
            if s.kind is SymbolKind.FUNC:
                alias_map.setdefault(s.address, []).append(s.name)
        out = []
        for i, s in enumerate(syms):
            section = image.section_at(s.address)
            if section is None or not section.exec or section.nobits:
                continue
            end = s.address + s.size
            nxt = starts[i + 1] if i + 1 < len(starts) else section.end
            if s.size == 0:
                end = min(nxt, self._next_data(s.address, section.end))
            if end > section.end:
                self.notes.append(f"{s.name}: size {s.size} runs past the end of {section.name}; cut at its end")
                end = section.end
            if end > nxt and nxt > s.address:
                self.notes.append(f"{s.name}: overlaps {syms[i + 1].name} at 0x{nxt:x}; cut there")
                end = nxt
            others = tuple(n for n in alias_map.get(s.address, []) if n != s.name)
            out.append((s.name, s.address, end, others))
        return out

    def _discover_extents(self) -> list[tuple[str, int, int, tuple[str, ...]]]:
        """No symbols: functions start at vector-table entries and call targets, end at the next start."""
        from gomcu.code.vectors import decode_vector_table

        self.notes.append("no function symbols: functions found from the vector table and call targets")
        starts = {e.address for e in decode_vector_table(self.image, None) if e.number >= 1 and e.address}
        if self.image.entry:
            starts.add(self.image.entry & ~1)
        starts = {a for a in starts if (sec := self.image.section_at(a)) is not None and sec.exec}
        for _ in range(64):
            ordered = sorted(starts)
            new: set[int] = set()
            for i, a in enumerate(ordered):
                section = self.image.section_at(a)
                assert section is not None
                end = ordered[i + 1] if i + 1 < len(ordered) else section.end
                code = self.image.read(a, end - a) or b""
                for ins in self.decoder.decode(code, a, self._read_const):
                    if ins.kind is Kind.CALL and ins.target is not None and ins.target not in starts:
                        sec = self.image.section_at(ins.target)
                        if sec is not None and sec.exec:
                            new.add(ins.target)
            if not new:
                break
            starts |= new
        ordered = sorted(starts)
        out: list[tuple[str, int, int, tuple[str, ...]]] = []
        for i, a in enumerate(ordered):
            section = self.image.section_at(a)
            assert section is not None
            end = ordered[i + 1] if i + 1 < len(ordered) else section.end
            out.append((f"sub_{a:x}", a, end, ()))
        return out

    def _next_data(self, address: int, limit: int) -> int:
        maps = self._mapping
        i = bisect.bisect_right(self._mapping_addrs, address)
        while i < len(maps) and maps[i].address < limit:
            if maps[i].kind == "data":
                return maps[i].address
            i += 1
        return limit

    @cached_property
    def _mapping(self) -> tuple:
        return self.image.mapping_symbols

    @cached_property
    def _mapping_addrs(self) -> list[int]:
        return [m.address for m in self._mapping]

    def _code_runs(self, start: int, end: int) -> list[tuple[int, int]]:
        """[start, end) split where `$d` marks literal data."""
        maps, addrs = self._mapping, self._mapping_addrs
        i = bisect.bisect_right(addrs, start) - 1
        kind = maps[i].kind if i >= 0 else "code"
        runs: list[tuple[int, int]] = []
        cur = start
        i += 1
        while i < len(maps) and addrs[i] < end:
            m = maps[i]
            if m.kind != kind:
                if kind == "code" and addrs[i] > cur:
                    runs.append((cur, addrs[i]))
                cur = addrs[i]
                kind = m.kind
            i += 1
        if kind == "code" and end > cur:
            runs.append((cur, end))
        return runs

    def _next_code(self, address: int, limit: int) -> int:
        maps, addrs = self._mapping, self._mapping_addrs
        i = bisect.bisect_right(addrs, address)
        while i < len(maps) and addrs[i] < limit:
            if maps[i].kind == "code":
                return addrs[i]
            i += 1
        return limit

    def _read_const(self, address: int) -> int | None:
        """A word from a read-only section (flash): constant for the whole run."""
        section = self.image.section_at(address)
        if section is None or section.write or section.nobits:
            return None
        return self.image.read_word(address)

    def _build(self) -> None:
        extents = self._extents()
        self._starts = [e[1] for e in extents]
        self._names_by_start = {e[1]: e[0] for e in extents}
        self._ends = [e[2] for e in extents]
        functions: dict[str, Function] = {}
        decoder = self.decoder
        for name, start, end, aliases in extents:
            insns: list[Insn] = []
            for lo, hi in self._code_runs(start, end):
                code = self.image.read(lo, hi - lo)
                if code:
                    insns.extend(decoder.decode(code, lo, self._read_const))
            tables = {
                ins.address: decoder.jump_table(ins, self.image.read, self._next_code(ins.address, end))
                for ins in insns if ins.kind is Kind.JUMP_TABLE
            }
            if tables:  # the table itself was decoded as code when no $d marks it: drop those
                spans = [(a + 4, min(ts) if ts else a + 4) for a, ts in tables.items()]
                insns = [i for i in insns if not any(lo <= i.address < hi for lo, hi in spans)]
            result = analyse_frame(insns, start, end, tables)
            notes = list(result.frame.notes)
            frame_bytes, frame_unknown = result.frame.bytes, result.frame.dynamic
            if any(i.kind is Kind.INVALID for i in insns):
                # What the undecodable bytes do to sp is unknown: trust the compiler's CFI if it
                # has the function, otherwise make the frame unbounded rather than guess.
                cfi = self.image.cfi_frames.get(start)
                if cfi is not None and cfi.max_offset is not None:
                    frame_bytes = max(frame_bytes, cfi.max_offset)
                    notes.append(f"bytes capstone could not decode; frame {frame_bytes} B taken from .debug_frame")
                else:
                    frame_unknown = True
                    notes.append("bytes capstone could not decode (data in code without a $d mapping symbol?); "
                                 "frame unknown")
            calls = self._calls(name, start, end, insns, result.depth_at, tables)
            if frame_bytes != result.frame.bytes:
                # The depths read at call sites came from the undecodable code: use the whole
                # frame at every call, an upper bound.
                calls = [replace(c, stack_depth=max(c.stack_depth, frame_bytes)) for c in calls]
            self._insns[name] = insns
            functions[name] = Function(
                name=name, address=start, size=end - start,
                frame=Frame(frame_bytes, frame_unknown, tuple(notes)),
                calls=tuple(calls), uses_fpu=any(i.fpu for i in insns), aliases=aliases,
                notes=tuple(notes),
            )
        self._functions = functions

    def _function_name_at(self, address: int, exact: bool = False) -> str | None:
        name = self._names_by_start.get(address)
        if name is not None or exact:
            return name
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and address < self._ends[i]:
            return self._names_by_start[self._starts[i]]
        return None

    def _calls(self, name: str, start: int, end: int, insns: list[Insn], depth_at: dict[int, int],
               tables: dict[int, list[int]]) -> list[CallSite]:
        """Direct calls, tail calls and indirect calls (resolved through constants where possible)."""
        decoder = self.decoder
        block_starts = {i.target for i in insns if i.kind is Kind.BRANCH and i.target is not None and start <= i.target < end}
        for ts in tables.values():
            block_starts.update(ts)
        regs: dict[int, int] = {}
        how: dict[int, str] = {}
        loads: dict[int, int] = {}
        calls: list[CallSite] = []
        consts: set[int] = set()
        for ins in insns:
            if ins.address in block_starts:
                regs.clear()
                loads.clear()
            if ins.csr is not None and ins.reg is not None and ins.reg in regs:
                self.csr_writes.append((name, ins.csr, regs[ins.reg]))
            k = ins.kind
            d = depth_at.get(ins.address, 0)
            if k is Kind.CALL and ins.target is not None:
                callee = self._function_name_at(ins.target)
                self.call_args[ins.address] = tuple(regs.get(r) for r in decoder.arg_regs)
                self.call_loads[ins.address] = tuple(loads.get(r) for r in decoder.arg_regs)
                calls.append(CallSite(ins.address, name, callee, ins.target, "call", d,
                                      None if callee is None or self._names_by_start.get(ins.target) else "into the middle"))
            elif k is Kind.BRANCH and ins.target is not None and not (start <= ins.target < end):
                callee = self._function_name_at(ins.target)
                self.call_args[ins.address] = tuple(regs.get(r) for r in decoder.arg_regs)
                self.call_loads[ins.address] = tuple(loads.get(r) for r in decoder.arg_regs)
                calls.append(CallSite(ins.address, name, callee, ins.target, "tail-call", d))
            elif k in (Kind.INDIRECT_CALL, Kind.INDIRECT_JUMP):
                value = regs.get(ins.reg) if ins.reg is not None else None
                if value is not None and ins.add_low:
                    value = (value + ins.add_low) & 0xFFFFFFFF
                target = self._code_address(value)
                callee = self._function_name_at(target, exact=True) if target is not None else None
                kind = "indirect-call" if k is Kind.INDIRECT_CALL else "indirect-jump"
                if callee is not None:
                    kind = "call" if k is Kind.INDIRECT_CALL else "tail-call"
                    self.call_args[ins.address] = tuple(regs.get(r) for r in decoder.arg_regs)
                calls.append(CallSite(ins.address, name, callee, target if callee else None, kind, d,
                                      how.get(ins.reg) if callee is not None and ins.reg is not None else None))
            if k in (Kind.CALL, Kind.INDIRECT_CALL):
                for r in decoder.clobbered:
                    regs.pop(r, None)
                    loads.pop(r, None)
            if ins.dst is not None:
                loads.pop(ins.dst, None)
                if ins.load_base is not None and ins.load_base in regs:
                    loads[ins.dst] = regs[ins.load_base] + ins.load_offset
                self._track(ins, regs, how)
                if ins.dst in regs:
                    t = self._code_address(regs[ins.dst])
                    if t is not None and t in self._names_by_start:
                        consts.add(t)
        if consts:
            self.address_constants[name] = consts
        return calls

    def _track(self, ins: Insn, regs: dict[int, int], how: dict[int, str]) -> None:
        dst = ins.dst
        assert dst is not None
        if ins.value is not None:
            regs[dst] = ins.value & 0xFFFFFFFF
            how[dst] = "constant"
        elif ins.value_high is not None and dst in regs:
            regs[dst] = (regs[dst] & 0xFFFF) | (ins.value_high << 16)
            how[dst] = "movw/movt"
        elif ins.add_low is not None and dst in regs:
            regs[dst] = (regs[dst] + ins.add_low) & 0xFFFFFFFF
            how[dst] = "auipc/lui+addi"
        elif ins.load_base is not None and ins.load_base in regs:
            word = self._read_const(regs[ins.load_base] + ins.load_offset)
            if word is None:
                regs.pop(dst, None)
            else:
                regs[dst] = word
                how[dst] = "load from read-only data"
        elif ins.copy_from is not None and ins.copy_from in regs:
            regs[dst] = regs[ins.copy_from]
            how[dst] = how.get(ins.copy_from, "constant")
        else:
            regs.pop(dst, None)

    def _code_address(self, value: int | None) -> int | None:
        """A constant that points at code (Thumb bit cleared on ARM)."""
        if value is None:
            return None
        address = value & ~1 if self.decoder.name == "thumb" else value
        if self.decoder.name == "thumb" and not value & 1:
            return None
        return address if self._function_name_at(address, exact=True) is not None else None

    # -- queries -----------------------------------------------------------------------------

    @property
    def functions(self) -> tuple[Function, ...]:
        return tuple(self._functions.values())

    def function(self, name: str) -> Function | None:
        return self._functions.get(name)

    def function_at(self, address: int) -> Function | None:
        name = self._function_name_at(address)
        return self._functions.get(name) if name else None

    def instructions(self, name: str) -> list[Insn]:
        """The decoded instructions of a function (summaries)."""
        return list(self._insns.get(name, []))

    @cached_property
    def _callers(self) -> dict[str, list[CallSite]]:
        out: dict[str, list[CallSite]] = {}
        for f in self._functions.values():
            for c in f.calls:
                if c.callee is not None:
                    out.setdefault(c.callee, []).append(c)
        return out

    def callers_of(self, name: str) -> tuple[CallSite, ...]:
        return tuple(self._callers.get(name, ()))

    def reachable_from(self, root: str) -> frozenset[str]:
        """Every function the root can reach through resolved calls (the root included)."""
        seen = {root} if root in self._functions else set()
        stack = list(seen)
        while stack:
            f = self._functions[stack.pop()]
            for c in f.calls:
                if c.callee is not None and c.callee not in seen and c.callee in self._functions:
                    seen.add(c.callee)
                    stack.append(c.callee)
        return frozenset(seen)

    @property
    def unresolved_calls(self) -> tuple[CallSite, ...]:
        return tuple(c for f in self._functions.values() for c in f.calls if c.callee is None)

    @cached_property
    def vector_table(self) -> tuple[VectorEntry, ...]:
        from gomcu.code.vectors import decode_vector_table

        return decode_vector_table(self.image, self)

    @cached_property
    def roots(self) -> tuple[Root, ...]:
        from gomcu.code.roots import find_roots

        return find_roots(self)

    def edges(self) -> Iterable[tuple[str, str]]:
        for f in self._functions.values():
            for c in f.calls:
                if c.callee is not None:
                    yield f.name, c.callee
