"""Where GNU ld puts input sections that no input-section description takes (orphans).

The rules are ld's "Orphan Sections" as `ldelf_place_orphan` and `lang_insert_orphan` apply them
(GNU ld 2.40):

* COMMON goes at the end of the `.bss` output section (created at the end of the script when
  there is none).
* An orphan joins an output section of the same name when that section already holds something
  with compatible ALLOC/LOAD flags and ELF type (so orphans of one name share one section), or
  when it holds nothing at all.
* Otherwise it gets an output section of its own name, placed after the section its kind belongs
  with: code after `.text`, read-only data after `.rodata`, data after `.data`, NOBITS after
  `.bss`, TLS after `.tdata`. When the script has no section of that name, after the last section
  whose flags match (exactly, then by the looser rules of `lang_output_section_find_by_flags`).
  The new section takes that section's memory region and load region, and goes after the
  symbol assignments that follow it but before a following assignment to `.`. Orphans of one
  kind follow one another in input order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from gomcu.linker import ast
from gomcu.linker.objects import InputSection

# bfd section flags (only the ones placement looks at)
F_ALLOC, F_LOAD, F_READONLY, F_CODE, F_DATA, F_CONTENTS, F_TLS = 1, 2, 4, 8, 16, 32, 64

#: bfd's special ELF sections: an output section of such a name (or name.*) gets this type and,
#: if the flag says so, SHF_ALLOC even when it holds nothing (elf.c special_sections)
_SPECIAL: dict[str, tuple[str, bool]] = {
    ".bss": ("SHT_NOBITS", True), ".data": ("SHT_PROGBITS", True),
    ".fini_array": ("SHT_FINI_ARRAY", True), ".init_array": ("SHT_INIT_ARRAY", True),
    ".preinit_array": ("SHT_PREINIT_ARRAY", True), ".noinit": ("SHT_NOBITS", True),
    ".persistent": ("SHT_PROGBITS", True), ".rodata": ("SHT_PROGBITS", True),
    ".text": ("SHT_PROGBITS", True), ".tbss": ("SHT_NOBITS", True),
    ".tdata": ("SHT_PROGBITS", True), ".ARM.exidx": ("SHT_ARM_EXIDX", True),
}
_SPECIAL_EXACT: dict[str, tuple[str, bool]] = {
    ".init": ("SHT_PROGBITS", True), ".fini": ("SHT_PROGBITS", True),
    ".data1": ("SHT_PROGBITS", True), ".rodata1": ("SHT_PROGBITS", True),
    ".comment": ("SHT_PROGBITS", False),
}


def special(name: str) -> tuple[str, bool]:
    """The ELF type of an output section named `name`, and whether the name alone makes it
    allocated (("SHT_NULL", False) for names bfd knows nothing about)."""
    if name in _SPECIAL_EXACT:
        return _SPECIAL_EXACT[name]
    stem = name if name in _SPECIAL else "." + name.split(".")[1] if name.count(".") > 1 else name
    if stem == ".ARM" and name.startswith(".ARM.exidx"):
        stem = ".ARM.exidx"
    return _SPECIAL.get(stem, ("SHT_NULL", False))
_KINDS = (".text", ".rodata", ".tdata", ".data", ".bss")
_TEXT, _RODATA, _TDATA, _DATA, _BSS = _KINDS
#: what each kind's statement is assumed to hold when it holds nothing yet (hold[].flags)
_KIND_FLAGS = {
    _TEXT: F_CONTENTS | F_ALLOC | F_LOAD | F_READONLY | F_CODE,
    _RODATA: F_CONTENTS | F_ALLOC | F_LOAD | F_READONLY | F_DATA,
    _TDATA: F_CONTENTS | F_ALLOC | F_LOAD | F_DATA | F_TLS,
    _DATA: F_CONTENTS | F_ALLOC | F_LOAD | F_DATA,
    _BSS: F_ALLOC,
}


def flags_of(s: InputSection) -> int:
    """bfd's flags for an ELF input section."""
    flags = 0
    if s.alloc:
        flags |= F_ALLOC
        if s.load:
            flags |= F_LOAD
    if s.load:
        flags |= F_CONTENTS
    if not s.write:
        flags |= F_READONLY
    if s.exec:
        flags |= F_CODE
    elif flags & F_LOAD:
        flags |= F_DATA
    if s.tls:
        flags |= F_TLS
    return flags


@dataclass
class _Out:
    """An output section statement as orphan placement sees it."""

    stmt: ast.OutputSection
    inputs: list[InputSection]
    has_bfd: bool  # ld made its output section: it holds an input or any other statement
    flags: int = 0  # bfd flags of that section (0: none yet)
    sh_type: str = "SHT_NULL"
    kind_flags: int = 0  # `look->flags`: used while the section holds nothing
    created: bool = False

    def add(self, s: InputSection) -> None:
        f = flags_of(s)
        if self.stmt.type == "NOLOAD":
            f &= ~(F_LOAD | F_CONTENTS)
        if not self.inputs and self.sh_type == "SHT_NULL":
            self.sh_type = s.sh_type
        if self.inputs:  # read-only only while every input is
            readonly = self.flags & f & F_READONLY
            self.flags = ((self.flags | f) & ~F_READONLY) | readonly
        else:
            self.flags |= f
        self.inputs.append(s)
        self.has_bfd = True


@dataclass
class Placement:
    """The script's statements with orphan sections inserted, and where every orphan went."""

    flat: list[ast.SectionsItem]
    #: id of an output-section statement -> orphans added after its own contents
    appended: dict[int, list[InputSection]] = field(default_factory=dict)
    #: orphan output sections created here -> their inputs
    created: dict[int, list[InputSection]] = field(default_factory=dict)


def place_orphans(flat: Sequence[ast.SectionsItem], matched: dict[int, list[InputSection]],
                  orphans: Iterable[InputSection]) -> Placement:
    """Insert the orphans into `flat` (the statements of SECTIONS and around them)."""
    items = list(flat)
    outs: list[_Out] = []
    for item in items:
        if isinstance(item, ast.OutputSection):
            out = _Out(item, [], False, sh_type=special(item.name)[0])
            if any(isinstance(i, ast.Data) for i in item.items):
                out.flags = F_CONTENTS | F_ALLOC | F_LOAD | F_READONLY
            for s in matched.get(id(item), ()):
                out.add(s)
            out.has_bfd = bool(out.inputs) or any(not isinstance(i, ast.InputSpec)
                                                  for i in item.items)
            outs.append(out)
    for name in _KINDS:
        named = _find(outs, name)
        if named is not None and not named.flags:
            named.kind_flags = _KIND_FLAGS[name]
    result = Placement(items)
    tails: dict[str, int] = {}  # kind -> index in items after the last orphan of that kind
    for s in orphans:
        if s.name == "COMMON":
            bss = _find(outs, _BSS)
            if bss is None:
                stmt = ast.OutputSection(_BSS, (), pos=ast.NOWHERE)
                items.append(stmt)
                bss = _Out(stmt, [], False, created=True)
                outs.append(bss)
                result.created[id(stmt)] = bss.inputs
            _append(result, bss, s)
            continue
        same = _same_name(outs, s)
        if same is not None:
            _append(result, same, s)
            continue
        kind = _kind(flags_of(s))
        spec = (ast.InputSpec("*", (ast.SectionPattern(s.name),)),)
        if kind is None:
            # not allocated (.ARM.attributes, .comment, debug sections): at the end, address 0
            stmt = ast.OutputSection(s.name, spec, address=ast.Num(0), pos=ast.NOWHERE)
            items.append(stmt)
            new = _Out(stmt, [], False, created=True)
            new.add(s)
            outs.append(new)
            result.created[id(stmt)] = new.inputs
            continue
        after = _after(outs, kind, s)
        at = tails.get(kind)
        if at is None:
            at = _insert_index(items, after.stmt if after is not None else None)
        stmt = ast.OutputSection(
            s.name, spec, region=after.stmt.region if after is not None else None,
            lma_region=after.stmt.lma_region if after is not None else None, pos=ast.NOWHERE)
        items.insert(at, stmt)
        for k, v in tails.items():
            if v >= at:
                tails[k] = v + 1
        tails[kind] = at + 1
        new = _Out(stmt, [], False, created=True)
        new.add(s)
        outs.insert(_out_index(outs, items, stmt), new)
        result.created[id(stmt)] = new.inputs
    return result


def _find(outs: list[_Out], name: str) -> _Out | None:
    return next((o for o in outs if o.stmt.name == name and o.stmt.constraint is None), None)


def _append(result: Placement, out: _Out, s: InputSection) -> None:
    out.add(s)
    if out.created:
        return  # the created statement's inputs list is `out.inputs` itself
    result.appended.setdefault(id(out.stmt), []).append(s)


def _same_name(outs: list[_Out], s: InputSection) -> _Out | None:
    """An output section of the orphan's name that takes it (ldelf_place_orphan's first loop)."""
    unused = None
    for out in outs:
        if out.stmt.name != s.name or out.stmt.name == "/DISCARD/":
            continue
        if out.has_bfd:
            compatible = (not out.flags or (not (flags_of(s) ^ out.flags) & (F_LOAD | F_ALLOC)
                                            and out.sh_type in ("SHT_NULL", s.sh_type)))
            if compatible:
                return out
        else:
            unused = out
    return unused


def _kind(flags: int) -> str | None:
    """Which section an orphan of these flags is placed after (None: non-alloc, at the end)."""
    if not flags & F_ALLOC:
        return None
    if not flags & (F_LOAD | F_CONTENTS | F_TLS):
        return _BSS
    if flags & F_TLS:
        return _TDATA
    if not flags & F_READONLY:
        return _DATA
    if not flags & F_CODE:
        return _RODATA
    return _TEXT


def _after(outs: list[_Out], kind: str, s: InputSection) -> _Out | None:
    named = _find(outs, kind)
    if named is not None:
        return named
    flags = flags_of(s)
    return (_by_flags(outs, flags, s.sh_type) or _by_flags(outs, flags, None)
            or (outs[0] if outs else None))


def _by_flags(outs: list[_Out], flags: int, sh_type: str | None) -> _Out | None:
    """lang_output_section_find_by_flags: the last section whose flags match, exactly first."""
    looks = []
    for o in outs:
        if o.has_bfd:
            if sh_type is not None and o.sh_type != sh_type:
                continue
            looks.append((o, o.flags))
        else:
            looks.append((o, o.kind_flags))
    common = F_CONTENTS | F_ALLOC | F_LOAD | F_TLS
    found = _last(looks, flags, common | F_READONLY | F_CODE)
    if found is not None:
        return found
    if flags & F_CODE:
        return _last(looks, flags, common | F_CODE)
    if flags & F_READONLY:
        return _last(looks, flags, F_CONTENTS | F_ALLOC | F_LOAD | F_READONLY)
    if flags & F_TLS:
        return _last(looks, flags, common)
    if flags & F_CONTENTS:
        return _last(looks, flags, common)
    return _last(looks, flags, F_ALLOC)


def _last(looks: list[tuple[_Out, int]], flags: int, mask: int) -> _Out | None:
    found = None
    for out, look_flags in looks:
        if not (look_flags ^ flags) & mask:
            found = out
    return found


def _insert_index(items: list[ast.SectionsItem], after: ast.OutputSection | None) -> int:
    """insert_os_after: past the symbol assignments that follow `after`, but before an
    assignment to `.` that precedes the next output section."""
    start = next(i for i, item in enumerate(items) if item is after) + 1 \
        if after is not None else 0
    assign = None
    for i in range(start, len(items)):
        item = items[i]
        if isinstance(item, ast.Assignment):
            if assign is None and item.target == "." and after is not None:
                assign = i
            continue
        if isinstance(item, (ast.Assert, ast.Directive, ast.Include)):
            continue
        if isinstance(item, (ast.OutputSection, ast.Overlay)):
            return assign if assign is not None else i
    return len(items)


def _out_index(outs: list[_Out], items: list[ast.SectionsItem], stmt: ast.OutputSection) -> int:
    position = {id(item): i for i, item in enumerate(items)}
    at = position[id(stmt)]
    return sum(1 for o in outs if position.get(id(o.stmt), -1) < at)
