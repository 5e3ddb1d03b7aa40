"""The code model of an image: functions, frames and the call graph, built once and cached.

`model(image)` decodes every function once (honouring `$d` mapping symbols so literal pools
are not decoded), computes frames, resolves calls, decodes the vector table and finds roots.

Register values (constant propagation, `gomcu.code.constprop`) are public, for any analysis that
needs a call's arguments or a constant the code builds (task entries, stack sizes, names):

- `registers_at(address)`: what each register is known to hold before that instruction;
- `call_arguments(site)`: the argument registers (r0-r3 / a0-a7) at a call site;
- `calls_to(name)`: every call of a function with its argument registers, including calls made
  from a helper (an LLVM `OUTLINED_FUNCTION_n`) with the registers of the helper's caller;
- `word(address)`: a word of the image that is constant at run time (flash).

Indirect calls and jumps through a register that holds a function address are direct calls;
one that a function makes through a register its caller set (an outlined helper ending in
`bx r9`) is resolved per call site, with each caller's registers.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, replace
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING
from functools import cached_property

from gomcu import diskcache
from gomcu.code.arch import Decoder, decoder_for
from gomcu.code.codeflow import reachable_code
from gomcu.code.constprop import Propagation, State, Value, entry_value_read
from gomcu.code.frames import analyse_frame
from gomcu.code.types import CallSite, Frame, Function, Insn, Kind, Root, VectorEntry
from gomcu.image import Image, SymbolKind

if TYPE_CHECKING:
    from gomcu.runtime.profile import RuntimeProfile

_CACHE: "weakref.WeakKeyDictionary[Image, CodeModel]" = weakref.WeakKeyDictionary()
#: Writable sections the linker places in flash, so their words are constant at run time:
#: TinyGo's goroutine stack-size table (`.tinygo_stacksizes`, flagged WA, written at link time).
FLASH_DATA_SECTIONS = frozenset({".tinygo_stacksizes"})


@dataclass(frozen=True)
class CallState:
    """One call of a function with what its argument registers hold there.

    `via` is the call of the helper that makes this call when the values come from the helper's
    caller (an outlined function tail-calling through registers its caller loaded)."""

    site: CallSite
    arguments: tuple[Value | None, ...]
    via: CallSite | None = None


def _value_of(v: Value | None) -> int | None:
    return None if v is None else v.value


def _loaded_from(v: Value | None) -> int | None:
    return None if v is None else v.loaded_from


def model(image: Image) -> CodeModel:
    """The code model of `image`: built once per image in a process, and kept on disk by the
    image's content hash (`gomcu.diskcache`) for the next process that analyses the same bytes."""
    found = _CACHE.get(image)
    if found is None:
        found = _stored_model(image)
        _CACHE[image] = found
    return found


#: Bump when the attributes a stored model keeps change meaning (the code's own hash is in the key too).
_STORED_FORMAT = 1
#: The packages whose code decides a model: decoding, the image's reading, the runtime profiles.
_MODEL_PACKAGES = ("code", "image", "runtime")
#: What a stored model keeps: everything `CodeModel.__init__` computes. Not the image and the decoder
#: (pyelftools and capstone objects, made again for the image at hand) nor lazily derived values.
_STORED = frozenset({"_bodies", "_contexts", "_ends", "_functions", "_insns", "_names_by_start", "_site_states",
                     "_starts", "address_constants", "call_args", "call_loads", "constant_loads", "csr_writes",
                     "notes"})


def _stored_model(image: Image) -> CodeModel:
    import capstone

    entry = diskcache.key("code-model", _STORED_FORMAT, image.digest, _MODEL_PACKAGES, (capstone.__version__,))
    state = diskcache.load("code-model", entry)
    if isinstance(state, dict) and state.keys() == _STORED:
        found = CodeModel.__new__(CodeModel)
        found.__dict__.update(state)
        found.image = image
        found.decoder = decoder_for(image)
        return found
    found = CodeModel(image)
    diskcache.store("code-model", entry, {k: v for k, v in found.__dict__.items() if k in _STORED})
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
        self.constant_loads: dict[str, set[int]] = {}  # function -> constant addresses it loads words from
        self._bodies: dict[str, tuple[int, int, dict[int, list[int]]]] = {}  # name -> (start, end, jump tables)
        self._site_states: dict[int, State] = {}  # call/jump site -> register values before it
        self._contexts: dict[int, list[tuple[CallSite, State]]] = {}  # site in a helper -> (caller's call, state)
        self._build()
        self._context_restores()
        self._dispatch_table()
        self._resolve_per_call_site()

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

    def word(self, address: int) -> int | None:
        """The word at `address` when it is constant for the whole run (read-only data or code,
        or a writable section the linker keeps in flash); None otherwise."""
        section = self.image.section_at(address)
        if section is None or section.nobits or (section.write and section.name not in FLASH_DATA_SECTIONS):
            return None
        return self.image.read_word(address)

    _read_const = word

    def _table_reader(self, end: int) -> Callable[[Insn], list[int]]:
        return lambda ins: self.decoder.jump_table(ins, self.image.read, end)

    def _decode_span(self, start: int, end: int) -> list[Insn]:
        code = self.image.read(start, end - start)
        return self.decoder.decode(code, start, self._read_const) if code else []

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
            if not self._mapping and insns:  # no $t/$d (Go's linker, stripped images): code is what flow reaches
                insns = reachable_code(insns, start, end, self._decode_span, self._table_reader(end))
            tables = {
                ins.address: decoder.jump_table(ins, self.image.read, self._next_code(ins.address, end))
                for ins in insns if ins.kind is Kind.JUMP_TABLE
            }
            if tables:  # the table itself was decoded as code when no $d marks it: drop those
                spans = [(a + 4, min(ts) if ts else a + 4) for a, ts in tables.items()]
                insns = [i for i in insns if not any(lo <= i.address < hi for lo, hi in spans)]
            self._insns[name] = insns
            self._bodies[name] = (start, end, tables)
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

    def _context_restores(self) -> None:
        """Routines the runtime profile names as context restores (tinygo_longjmp): their computed
        jump returns into a frame already on this stack, so it is no unresolved call."""
        profile = self._runtime
        if profile is None:
            return
        for name, f in list(self._functions.items()):
            if f.unresolved and profile.is_context_restore(name):
                note = (f"restores a context saved earlier on the same stack ({profile.name} profile): "
                        "its computed jump adds no stack and ends the path")
                self._functions[name] = replace(f, calls=tuple(c for c in f.calls if c.callee is not None),
                                                notes=f.notes + (note,))

    @cached_property
    def _runtime(self) -> RuntimeProfile | None:
        from gomcu.runtime.profile import detect_family

        return detect_family(s.name for s in self.image.symbols)

    def _dispatch_table(self) -> None:
        """The runtime's system-call dispatch (Embedded Go's svcallHandler jumps through
        `runtime.syscalls`): its unresolved jumps go to every handler the table holds, as a word
        that is a code address or points at one (a Go func value). The table is the linker's
        initial data, which the runtime never rewrites."""
        profile = self._runtime
        if profile is None or not profile.tasks.get("syscall_table"):
            return
        entry = self._functions.get(str(profile.tasks.get("syscall_entry", "")))
        table = self.image.symbol(str(profile.tasks["syscall_table"]))
        if entry is None or table is None or not table.size:
            return
        targets: dict[str, int] = {}
        for at in range(table.address, table.address + table.size, 4):
            word = self.image.read_word(at)
            address = self.code_address(word)
            if address is None and word is not None:
                address = self.code_address(self.image.read_word(word))
            name = self._function_name_at(address, exact=True) if address is not None else None
            if name is not None and address is not None:
                targets.setdefault(name, address)
        if not targets:
            return
        how = f"{table.name}, the runtime's system call table ({profile.name} profile)"
        computed = [f for n in profile.tasks.get("computed_entries", ()) if (f := self._functions.get(str(n)))]
        insns = self.instructions(entry.name)
        index = {ins.address: i for i, ins in enumerate(insns)}

        def setter(address: int) -> Insn | None:  # the instruction that last set the call's register
            i = index.get(address)
            reg = insns[i].reg if i is not None else None
            for back in range(i - 1, max(-1, i - 9), -1) if i is not None and reg is not None else ():
                if insns[back].dst == reg:
                    return insns[back]
            return None

        calls: list[CallSite] = []
        for c in entry.calls:
            prev = setter(c.address) if c.callee is None else None
            # the register was just read from the table (ldr r0, [r0, r4, lsl #2]; blx r0) or
            # computed from an address inside a function made to be entered anywhere (Go's
            # duffcopy: `duffcopy+1024 - n*2`); a jump through the table (ldr pc, ...) is the former
            regs = self.registers_at(prev.address) if prev is not None else {}
            read = {v.value for r in ((prev.reads or ()) if prev is not None else ())
                    if (v := regs.get(r)) is not None and v.value is not None}
            into = next((f for f in computed if any(f.address <= v <= f.address + f.size for v in read)), None)
            kind = "call" if c.kind == "indirect-call" else "tail-call"
            if c.callee is None and (c.kind == "indirect-jump" or table.address in read):
                calls.extend(replace(c, callee=n, callee_address=a, kind=kind, resolved_by=how)
                             for n, a in sorted(targets.items()))
            elif c.callee is None and into is not None:
                calls.append(replace(c, callee=into.name, callee_address=into.address, kind=kind,
                                     resolved_by=f"computed entry into {into.name} ({profile.name} profile)"))
            else:
                calls.append(c)
        self._functions[entry.name] = replace(entry, calls=tuple(calls))

    def _resolve_per_call_site(self) -> None:
        """Indirect calls and jumps through a register the function never set (LLVM's outlined
        helpers: `ldr r2, [r7]; mov r0, r5; bx r9`): analyse the function once per call site with
        the caller's registers. Targets found in every context replace the unresolved site (one
        edge per target); a context that leaves it unknown keeps it unresolved."""
        callers: dict[str, list[CallSite]] = {}
        for f in self._functions.values():
            for c in f.calls:
                if c.callee is not None and c.callee_address == self._functions[c.callee].address:
                    callers.setdefault(c.callee, []).append(c)
        for name, f in list(self._functions.items()):
            open_sites = {c.address for c in f.calls if c.callee is None}
            entries = callers.get(name, [])
            if not open_sites or not entries:
                continue
            found: dict[int, dict[str, CallSite]] = {a: {} for a in open_sites}
            unknown: set[int] = set()
            for caller_site in entries:
                state = dict(self._site_states.get(caller_site.address, {}))
                where = f"{caller_site.caller} at 0x{caller_site.address:x}"
                for ins, regs in self._propagation(name, state).states():
                    if ins.address not in open_sites:
                        continue
                    depth = next(c.stack_depth for c in f.calls if c.address == ins.address)
                    site = self._indirect_site(name, ins, regs, depth, via=where)
                    if site.callee is None:
                        unknown.add(ins.address)
                        continue
                    found[ins.address].setdefault(site.callee, site)
                    self._contexts.setdefault(ins.address, []).append((caller_site, dict(regs)))
            if not any(found.values()):
                continue
            calls: list[CallSite] = []
            for c in f.calls:
                if c.address in open_sites and found[c.address]:
                    targets = list(found[c.address].values())
                    if len(targets) > 1 or len(entries) > 1:
                        targets = [replace(t, resolved_by=f"{t.resolved_by.split(' (')[0]} in the caller's "
                                           f"registers, per call site ({len(entries)} callers)")
                                   if t.resolved_by else t for t in targets]
                    calls.extend(targets)
                    if c.address in unknown:
                        calls.append(c)
                else:
                    calls.append(c)
            self._functions[name] = replace(f, calls=tuple(calls))

    def _propagation(self, name: str, entry: State | None = None) -> Propagation:
        start, end, tables = self._bodies[name]
        return Propagation(self._insns[name], start, end, tables, self.word, self.decoder.clobbered, entry)

    def _calls(self, name: str, start: int, end: int, insns: list[Insn], depth_at: dict[int, int],
               tables: dict[int, list[int]]) -> list[CallSite]:
        """Direct calls, tail calls and indirect calls (resolved through constants where possible)."""
        arg_regs = self.decoder.arg_regs
        calls: list[CallSite] = []
        consts: set[int] = set()
        loaded: set[int] = set()
        prop = self._propagation(name)
        thumb, starts = self.decoder.name == "thumb", self._names_by_start
        for ins, regs, written in prop.steps():
            if ins.csr is not None and ins.reg is not None and (v := regs.get(ins.reg)) is not None \
                    and v.value is not None:
                self.csr_writes.append((name, ins.csr, v.value))
            k = ins.kind
            site: CallSite | None = None
            if k is Kind.CALL and ins.target is not None:
                callee = self._function_name_at(ins.target)
                site = CallSite(ins.address, name, callee, ins.target, "call", depth_at.get(ins.address, 0),
                                None if callee is None or self._names_by_start.get(ins.target) else "into the middle")
            elif k is Kind.BRANCH and ins.target is not None and not (start <= ins.target < end):
                callee = self._function_name_at(ins.target)
                site = CallSite(ins.address, name, callee, ins.target, "tail-call", depth_at.get(ins.address, 0))
            elif k is Kind.INDIRECT_CALL or k is Kind.INDIRECT_JUMP:
                site = self._indirect_site(name, ins, regs, depth_at.get(ins.address, 0))
            if site is not None:
                calls.append(site)
                self._site_states[ins.address] = dict(regs)
                if site.callee is not None:
                    self.call_args[ins.address] = tuple(_value_of(regs.get(r)) for r in arg_regs)
                    self.call_loads[ins.address] = tuple(_loaded_from(regs.get(r)) for r in arg_regs)
            if written is not None:
                value = written.value
                if value is not None and (value & 1 or not thumb):
                    target = value & ~1 if thumb else value
                    if target in starts:  # a function's address (`code_address` inline: asked per constant)
                        consts.add(target)
                if ins.load_base is not None and written.loaded_from is not None:
                    loaded.add(written.loaded_from)
        if consts:
            self.address_constants[name] = consts
        if loaded:
            self.constant_loads[name] = loaded
        return calls

    def _indirect_site(self, name: str, ins: Insn, regs: State, depth: int, via: str | None = None) -> CallSite:
        """An indirect call or jump, resolved when its register holds a function's address."""
        held = regs.get(ins.reg) if ins.reg is not None else None
        value = held.value if held is not None else None
        if value is not None and ins.add_low:
            value = (value + ins.add_low) & 0xFFFFFFFF
        target = self.code_address(value)
        callee = self._function_name_at(target, exact=True) if target is not None else None
        indirect = ins.kind is Kind.INDIRECT_CALL
        if callee is None:
            return CallSite(ins.address, name, None, None, "indirect-call" if indirect else "indirect-jump", depth)
        how = held.how if held is not None else "constant"
        return CallSite(ins.address, name, callee, target, "call" if indirect else "tail-call", depth,
                        how if via is None else f"{how} in the caller's registers ({via})")

    def code_address(self, value: int | None) -> int | None:
        """The function start a constant points at (Thumb bit set and cleared on ARM), else None."""
        if value is None:
            return None
        address = value & ~1 if self.decoder.name == "thumb" else value
        if self.decoder.name == "thumb" and not value & 1:
            return None
        return address if self._function_name_at(address, exact=True) is not None else None

    def with_resolved(self, targets: dict[int, tuple[str, ...]], how: str,
                      partial: frozenset[int] = frozenset()) -> CodeModel:
        """A copy in which the unresolved indirect calls at the given addresses call the named
        functions (evidence from outside the machine code, e.g. the Go source: `how` says which);
        those in `partial` may call something else too, so they also stay unresolved. The cached
        model of the image is left as it is."""
        out = copy.copy(self)
        out.__dict__.pop("_callers", None)
        out.__dict__.pop("roots", None)
        functions = dict(self._functions)
        for name, fn in self._functions.items():
            if not any(c.callee is None and c.address in targets for c in fn.calls):  # nothing to resolve here
                continue
            calls: list[CallSite] = []
            for c in fn.calls:
                names = [t for t in targets.get(c.address, ()) if t in self._functions] if c.callee is None else []
                if not names or c.address in partial:
                    calls.append(c)
                if not names:
                    continue
                kind = "call" if c.kind == "indirect-call" else "tail-call"
                calls.extend(replace(c, callee=t, callee_address=self._functions[t].address, kind=kind,
                                     resolved_by=how) for t in names)
            functions[name] = replace(fn, calls=tuple(calls))
        out._functions = functions
        return out

    def without_calls_to(self, names: frozenset[str], edges: frozenset[tuple[str, str]] = frozenset()) -> CodeModel:
        """A copy in which no function calls `names` (Embedded Go's morestack: a growth point
        moves the goroutine to another stack, and in a handler it only throws), nor a caller the
        callee of an `edges` pair (calls made on another stack). The cached model of the image is
        left as it is."""
        def cut(f: Function, c: CallSite) -> bool:
            return c.callee in names or (f.name, c.callee or "") in edges

        touched = {n for n, f in self._functions.items() if any(cut(f, c) for c in f.calls)}
        if not touched:
            return self
        out = copy.copy(self)
        out.__dict__.pop("_callers", None)
        out.__dict__.pop("roots", None)
        out._functions = {n: replace(f, calls=tuple(c for c in f.calls if not cut(f, c))) if n in touched else f
                          for n, f in self._functions.items()}
        return out

    # -- queries -----------------------------------------------------------------------------

    def registers_at(self, address: int) -> dict[int, Value]:
        """What each register is known to hold just before the instruction at `address` (keys are
        the decoder's register numbers; `decoder.arg_regs` lists the argument registers)."""
        known = self._site_states.get(address)
        if known is not None:
            return dict(known)
        name = self._function_name_at(address)
        if name is None or name not in self._bodies:
            return {}
        for ins, regs in self._propagation(name).states():
            if ins.address == address:
                return dict(regs)
        return {}

    def register_states(self, name: str) -> list[tuple[Insn, dict[int, Value]]]:
        """Every instruction of function `name` with what the registers hold before it, from one
        propagation (a scan of a whole function; `registers_at` per instruction repeats it)."""
        if name not in self._bodies:
            return []
        return [(ins, dict(regs)) for ins, regs in self._propagation(name).states()]

    def argument_read(self, name: str, index: int) -> int | None | bool:
        """Whether function `name` uses its argument number `index`: the address of the first
        instruction that reads it, False when every path overwrites the register first, None
        when that cannot be told (no such function or argument, or a decoder without reads)."""
        body = self._bodies.get(name)
        if body is None or not 0 <= index < len(self.decoder.arg_regs):
            return None
        start, end, tables = body
        return entry_value_read(self._insns[name], start, end, tables, self.decoder.arg_regs[index],
                                self.decoder.clobbered)

    def register(self, name: str) -> int:
        """The number `registers_at` uses for a register named in assembly ("r9", "a0")."""
        return self.decoder.register(name)

    def call_arguments(self, address: int) -> tuple[Value | None, ...]:
        """The argument registers (in order) before the call at `address`."""
        regs = self.registers_at(address)
        return tuple(regs.get(r) for r in self.decoder.arg_regs)

    def calls_to(self, name: str) -> tuple[CallState, ...]:
        """Every call (or tail call) of `name` with its argument registers. A call a helper makes
        through its caller's registers appears once per call of the helper, with `via` set."""
        out: list[CallState] = []
        arg_regs = self.decoder.arg_regs
        for site in self.callers_of(name):
            contexts = self._contexts.get(site.address)
            if contexts:
                for via, regs in contexts:
                    out.append(CallState(site, tuple(regs.get(r) for r in arg_regs), via))
                continue
            own = CallState(site, self.call_arguments(site.address))
            if all(a is not None for a in own.arguments) or site.caller not in self._functions:
                out.append(own)
                continue
            # A helper's call whose arguments its callers set (registers it never wrote): one entry
            # per call of the helper, when the callers' registers tell more than the helper's own.
            per_caller: list[CallState] = []
            for via in self.callers_of(site.caller):
                entry = dict(self._site_states.get(via.address, {}))
                for ins, regs in self._propagation(site.caller, entry).states():
                    if ins.address == site.address:
                        per_caller.append(CallState(site, tuple(regs.get(r) for r in arg_regs), via))
                        break
            richer = any(c.arguments != own.arguments for c in per_caller)
            out.extend(per_caller if richer else [own])
        return tuple(out)

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
        from gomcu.code.roots import find_roots, task_profile_of

        return find_roots(self, task_profile_of(s.name for s in self.image.symbols))

    def edges(self) -> Iterable[tuple[str, str]]:
        for f in self._functions.values():
            for c in f.calls:
                if c.callee is not None:
                    yield f.name, c.callee
