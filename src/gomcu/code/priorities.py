"""Interrupt priorities the code sets with constants, read from the binary (Cortex-M).

What counts as setting a priority:
- a store to NVIC_IPR (0xE000E400 + n: IRQ n's byte), SCB SHPR1-3 (0xE000ED18 + e - 4: system
  exception e's byte) or AIRCR (PRIGROUP, bits 10:8, written with the 0x05FA key) whose address
  is constant where it happens (constant propagation through registers). The value is a
  constant, or the bytes a read-modify-write of the same word sets: a load of that word, then
  orr/bic/and with constants and bfi of a constant field. That is TinyGo's `arm.SetPriority`
  inlined into `interrupt.Interrupt.SetPriority` (ldr; bfi; str), CMSIS `NVIC_SetPriority`
  inlined with constant arguments (strb), and SCB `StoreBits` (ldr; bic; orr; str);
- a call of one of the runtime's priority setters (profile `[interrupts] priority_setters`:
  TinyGo's `arm.SetPriority`, Embedded Go's `runtime.irqctl`) with constant arguments; the
  setters' own stores, and those of `priority_store_functions` (the system call's handler that
  does the store for `irqctl`), are what those calls pass.

A store into the NVIC or SCB through an address that is not constant (a setter nobody names, a
loop over the IPR words) could change any priority: every configurable exception is then
"unknown", none keeps its reset value for a fact. A store whose value is not known makes that
exception "unknown". An exception nothing stores to keeps its reset value, 0 (the most urgent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import weakref
from functools import lru_cache
from typing import Any

import capstone
from capstone import arm as A

from gomcu.code.constprop import Value
from gomcu.code.model import CodeModel
from gomcu.code.types import Insn, Kind
from gomcu.image import Arch
from gomcu.runtime.profile import argument_location

IPR_BASE, IPR_END = 0xE000E400, 0xE000E5F0  # 496 IRQs (ARMv7-M)
SHPR_BASE, SHPR_END = 0xE000ED18, 0xE000ED24  # exceptions 4..15
AIRCR = 0xE000ED0C
_NVIC_SCB = (0xE000E000, 0xE000ED40)  # the System Control Space up to the end of the SCB: bases code adds to
_BLOCK_BASES = (0xE000E000, 0xE000E100, 0xE000ED00)  # SCS, NVIC, SCB
_STORES = {A.ARM_INS_STR: 4, A.ARM_INS_STRB: 1, A.ARM_INS_STRH: 2}
_LOADS = {A.ARM_INS_LDR: 4, A.ARM_INS_LDRB: 1, A.ARM_INS_LDRH: 2}
_BACK = 24  # instructions looked back for a read-modify-write's constant bits


@dataclass(frozen=True)
class PrioritySet:
    """One place that sets an exception's priority byte."""

    exception: int
    value: int | None  # the byte written (its implemented bits), None when not known
    function: str
    address: int
    how: str


@dataclass(frozen=True)
class StaticPriorities:
    """Every priority the binary sets, PRIGROUP, and what makes the rest unknown."""

    sets: tuple[PrioritySet, ...]
    prigroup: int  # 0: never written (the reset value) or not known (see prigroup_known)
    prigroup_known: bool
    computed: tuple[str, ...]  # stores into NVIC/SCB at addresses not constant, and why they count
    #: setter calls whose IRQ is not constant but whose priority is: any IRQ may have that value
    anywhere: tuple[PrioritySet, ...] = ()

    def of(self, exception: int) -> tuple[str, frozenset[int]]:
        """("reset", {0}) when nothing can change it, ("set", values written) or ("unknown", {}).
        An IRQ (16 and up) may also hold any value a setter wrote to an IRQ not known."""
        if self.computed:
            return "unknown", frozenset()
        mine = [s for s in self.sets if s.exception == exception]
        if exception >= 16:
            mine += self.anywhere
        if not mine:
            return "reset", frozenset({0})
        if any(s.value is None for s in mine):
            return "unknown", frozenset()
        values = frozenset(s.value for s in mine if s.value is not None)
        if not any(s.exception == exception for s in mine):
            values |= {0}  # the IRQ not set is one of them: it may keep its reset value
        return "set", values

    def group(self, value: int, bits: int) -> int:
        """The preemption (group) part of a priority byte on a chip with `bits` implemented bits."""
        implemented = (0xFF << (8 - bits)) & 0xFF
        return value & implemented & ((0xFF << (self.prigroup + 1)) & 0xFF)


@lru_cache(maxsize=1)
def _capstone() -> capstone.Cs:
    cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
    cs.detail = True
    return cs


def _decode(model: CodeModel, ins: Insn) -> Any:
    raw = model.image.read(ins.address, ins.size)
    if not raw:
        return None
    return next(_capstone().disasm(raw, ins.address, 1), None)


class _Body:
    """One function's instructions with the registers before each, and capstone's detailed
    decoding made only for the instructions looked at (a store, or the few before it): a
    quick pass without operands names the stores."""

    def __init__(self, model: CodeModel, name: str) -> None:
        self.model = model
        self.states = model.register_states(name)
        self._cs: dict[int, Any] = {}
        self.stores: list[int] = []
        if not self.states:
            return
        start, end = self.states[0][0].address, self.states[-1][0].end
        raw = model.image.read(start, end - start) or b""
        mnemonics = {a: (size, m) for a, size, m, _ in _capstone().disasm_lite(raw, start)}
        for i, (ins, _) in enumerate(self.states):
            size, m = mnemonics.get(ins.address, (0, ""))
            if m.startswith("str") and size == ins.size:
                self.stores.append(i)

    def __len__(self) -> int:
        return len(self.states)

    def cs(self, i: int) -> Any:
        if i not in self._cs:
            self._cs[i] = _decode(self.model, self.states[i][0])
        return self._cs[i]

    def regs(self, i: int) -> dict[int, Value]:
        return self.states[i][1]


def _in_scs(v: int | None) -> bool:
    return v is not None and _NVIC_SCB[0] <= v < _NVIC_SCB[1]


def _in_ppb(v: int | None) -> bool:
    """An offset into the Private Peripheral Bus (0xE0000000..0xE00FFFFF): the NVIC/SCB base
    added to an index (`irq/4*4 + 0xE000E400` compiles to adds of 0xE0000000 and 0xE400)."""
    return v is not None and 0xE0000000 <= v & 0xFFFFFFFF < 0xE0100000


def _candidates(model: CodeModel) -> list[str]:
    """Functions that form an NVIC/SCB address somewhere (a literal, mov/movw/movt)."""
    return [f.name for f in model.functions if any(
        (ins.value is not None and _in_scs(ins.value)) or ins.value_high == 0xE000
        or (ins.add_low is not None and _in_ppb(ins.add_low)) for ins in model.instructions(f.name))]


_BODIES: weakref.WeakKeyDictionary[CodeModel, dict[str, _Body]] = weakref.WeakKeyDictionary()


def scs_bodies(model: CodeModel) -> dict[str, _Body]:
    """The functions that form an NVIC/SCB address, each read once per model: the priorities
    and the enables (gomcu.code.enables) look at the same stores."""
    found = _BODIES.get(model)
    if found is None:
        found = {name: _Body(model, name) for name in _candidates(model)}
        _BODIES[model] = found
    return found


_FOUND: weakref.WeakKeyDictionary[CodeModel, dict[tuple[str, int], StaticPriorities]] = weakref.WeakKeyDictionary()


def find(model: CodeModel, profile: object | None = None, bits: int = 8) -> StaticPriorities | None:
    """The priorities the code of `model` sets; None on a core without an NVIC (RISC-V).
    `profile`: the runtime profile (its priority setters); `bits`: the chip's implemented
    priority bits (8 when not known: every bit counts, distinct values stay distinct).
    Kept per model: the stack and the interrupt analyses of one check ask alike."""
    if model.image.arch is not Arch.ARM:
        return None
    key = (str(getattr(profile, "name", "")), bits)
    memo = _FOUND.setdefault(model, {})
    if key not in memo:
        memo[key] = _find(model, profile, bits)
    return memo[key]


def _find(model: CodeModel, profile: object | None, bits: int) -> StaticPriorities:
    implemented = (0xFF << (8 - bits)) & 0xFF
    setters = {str(s["function"]): s for s in _setters(profile) if model.function(str(s["function"])) is not None}
    # functions whose computed stores write what the setters' callers passed (a system call's handler)
    covered = set(setters) | set(getattr(profile, "interrupts", {}).get("priority_store_functions", ()))
    sets: list[PrioritySet] = []
    computed: list[str] = []
    anywhere: list[PrioritySet] = []
    prigroups: set[int | None] = set()
    for name, decoded in scs_bodies(model).items():
        for i in decoded.stores:
            (ins, regs), cs = decoded.states[i], decoded.cs(i)
            if cs is None or cs.id not in _STORES or len(cs.operands) < 2 or cs.operands[1].type != A.ARM_OP_MEM:
                continue
            mem = cs.operands[1].mem
            width = _STORES[cs.id]
            address = _address(regs, mem, len(cs.operands) > 2)
            if address is None:
                if mem.base != A.ARM_REG_SP and name not in covered and _derived(model, decoded, i, mem.base):
                    computed.append(f"{name} at 0x{ins.address:x} stores through an NVIC/SCB address that is "
                                    "not constant")
                continue
            if not (IPR_BASE <= address < IPR_END or SHPR_BASE <= address < SHPR_END or address == AIRCR):
                continue
            mask, value, preserved = _stored_bits(decoded, i, cs.operands[0].reg, address, width)
            if address == AIRCR:
                prigroups.add(_prigroup(mask, value))
                continue
            for lane in range(width):
                exc = _exception(address + lane)
                if exc is None:
                    continue
                m, v = (mask >> 8 * lane) & 0xFF, (value >> 8 * lane) & 0xFF
                if m == 0 and preserved:
                    continue  # a read-modify-write leaves this byte as it was
                known = m & implemented == implemented
                how = "read-modify-write" if preserved else "store"
                sets.append(PrioritySet(exc, v & implemented if known else None, name, ins.address, how))
    for fname, spec in setters.items():
        for call in model.calls_to(fname):
            if call.site.caller in setters:
                continue  # a setter calling another: its own callers' arguments decide
            irq = _argument(model, call.site.address, call.arguments, str(spec["irq"]))
            prio = _argument(model, call.site.address, call.arguments, str(spec["priority"]))
            where = f"{call.site.caller} at 0x{call.site.address:x}"
            signed = prio - (1 << 32) if prio is not None and prio & 0x80000000 else prio
            if signed is not None and signed < 0:
                continue  # Embedded Go's irqctl: a negative ctl enables, disables or reads, sets nothing
            byte = None if signed is None else _encode(signed, str(spec.get("encode", "raw")))
            if irq is None:
                if byte is None:
                    computed.append(f"{where} calls {fname} with an IRQ number and a priority that are not constant")
                else:
                    anywhere.append(PrioritySet(-1, byte & implemented, call.site.caller, call.site.address,
                                                f"call of {fname} with an IRQ number that is not constant"))
                continue
            sets.append(PrioritySet(int(irq) + int(spec.get("exception_offset", 16)),
                                    None if byte is None else byte & implemented, call.site.caller,
                                    call.site.address, f"call of {fname}"))
    groups = {p for p in prigroups if p is not None}
    prigroup_known = None not in prigroups and len(groups) <= 1
    return StaticPriorities(tuple(sets), max(groups) if prigroup_known and groups else 0, prigroup_known,
                            tuple(computed), tuple(anywhere))


def _setters(profile: object | None) -> tuple[Mapping[str, Any], ...]:
    table = getattr(profile, "interrupts", None) or {}
    return tuple(table.get("priority_setters", ()))


def _encode(p: int, encode: str) -> int:
    """The NVIC byte for a setter's priority argument: "raw", or "inverted" (Embedded Go's rtos
    levels, 255 = most urgent: the byte is 255 - level)."""
    return (255 - p if encode == "inverted" else p) & 0xFF


def _exception(byte_address: int) -> int | None:
    if IPR_BASE <= byte_address < IPR_END:
        return 16 + byte_address - IPR_BASE
    if SHPR_BASE <= byte_address < SHPR_END:
        exc = 4 + byte_address - SHPR_BASE
        return exc if exc in (4, 5, 6, 11, 12, 14, 15) else None
    return None


def _prigroup(mask: int, value: int) -> int | None:
    """PRIGROUP from a store to AIRCR; None when not known. A write without the 0x05FA key is
    ignored by the hardware, and one requesting a reset (SYSRESETREQ) changes nothing that lasts."""
    if mask >> 16 == 0xFFFF and value >> 16 != 0x05FA:
        return 0
    if mask & 0x4 and value & 0x4:
        return 0
    if mask & 0x700 != 0x700:
        return None
    return (value >> 8) & 7


def _address(regs: Mapping[int, Value], mem: Any, post_indexed: bool) -> int | None:
    base = regs.get(mem.base)
    if base is None or base.value is None:
        return None
    offset = 0 if post_indexed else mem.disp
    if mem.index:
        index = regs.get(mem.index)
        if index is None or index.value is None:
            return None
        offset += index.value << mem.lshift if hasattr(mem, "lshift") else index.value
    return (base.value + offset) & 0xFFFFFFFF


def _derived(model: CodeModel, decoded: _Body, at: int, reg: int, depth: int = 3,
             reaches: Callable[[int | None], bool] | None = None) -> bool:
    """Whether `reg` at instruction `at` was computed from an address that can reach a priority
    register (a base plus an index, a pointer stepped in a loop): the last write to it before, in
    address order, put such a base there (the NVIC or SCB block base, an IPR/SHPR/AIRCR address,
    or an add of a Private Peripheral Bus offset) or combined registers that held one. A pointer
    stepped from another register block (ICER, ICPR: Embedded Go's sysreset) does not count.
    `reaches`: which bases count (default: those that reach a priority register)."""
    reaches = reaches or _reaches_priorities
    for j in range(at - 1, max(-1, at - 1 - _BACK), -1):
        ins = decoded.states[j][0]
        if ins.kind in (Kind.CALL, Kind.INDIRECT_CALL) and reg in model.decoder.clobbered:
            return False
        cs = decoded.cs(j)
        if cs is None:
            return False
        read, written = cs.regs_access()
        if reg not in written:
            continue
        after = decoded.regs(j + 1).get(reg) if j + 1 < len(decoded) else None
        if after is not None and after.value is not None:
            return reaches(after.value)
        if cs.id in _LOADS and not cs.writeback or depth == 0:
            return False
        if cs.id in (A.ARM_INS_ADD, A.ARM_INS_ADDW) and any(o.type == A.ARM_OP_IMM and _in_ppb(o.imm)
                                                               for o in cs.operands):
            return True
        return any(reaches(v.value) if (v := decoded.regs(j).get(r)) is not None and v.value is not None
                   else _derived(model, decoded, j, r, depth - 1, reaches)
                   for r in read if r not in (A.ARM_REG_PC, A.ARM_REG_SP))
    return False


def _reaches_priorities(base: int | None) -> bool:
    """A base an index added to can make a priority register's address: the SCS, NVIC or SCB
    block base (CMSIS `NVIC->IP[n]`, `SCB->SHP[n]`) or an address inside IPR, SHPR or AIRCR."""
    if base is None:
        return False
    return base in _BLOCK_BASES or IPR_BASE <= base < IPR_END or SHPR_BASE <= base < SHPR_END or base == AIRCR


def _stored_bits(decoded: _Body, at: int, reg: int, address: int, width: int) -> tuple[int, int, bool]:
    """(known-bit mask, value, preserved) of register `reg` stored at instruction `at`:
    preserved when the unknown bits are those of the same word loaded before (a read-modify-write)."""
    full = (1 << 8 * width) - 1
    v = decoded.regs(at).get(reg)
    if v is not None and v.value is not None:
        return full, v.value & full, False
    ops: list[tuple[str, int, int]] = []  # applied in reverse order of discovery
    origin = "unknown"
    for j in range(at - 1, max(-1, at - 1 - _BACK), -1):
        regs, cs = decoded.regs(j), decoded.cs(j)
        if cs is None:
            break
        _, written = cs.regs_access()
        if reg not in written:
            continue
        if cs.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID):
            break
        ops_ = cs.operands
        if cs.id in (A.ARM_INS_ORR, A.ARM_INS_BIC, A.ARM_INS_AND) and ops_:
            source, other = (ops_[0].reg, ops_[1]) if len(ops_) == 2 else (ops_[1].reg, ops_[2])
            c = _operand(regs, other)
            held = regs.get(source)
            if c is None and cs.id != A.ARM_INS_BIC and other.type == A.ARM_OP_REG and held is not None \
                    and held.value is not None and other.shift.type == A.ARM_SFT_INVALID:
                source, c = other.reg, held.value  # orr/and commute: the constant was the first operand
            if c is None or source == A.ARM_REG_INVALID:
                break
            ops.append(({A.ARM_INS_ORR: "orr", A.ARM_INS_BIC: "bic", A.ARM_INS_AND: "and"}[cs.id], c, 0))
            reg = source
        elif cs.id == A.ARM_INS_BFI and len(ops_) == 4:
            c = _operand(regs, ops_[1])
            if c is None:
                break
            ops.append(("bfi", c, ops_[2].imm | ops_[3].imm << 8))
        elif cs.id == A.ARM_INS_MOV and len(ops_) == 2 and ops_[1].type == A.ARM_OP_REG:
            reg = ops_[1].reg
        elif cs.id in _LOADS and len(ops_) == 2 and ops_[1].type == A.ARM_OP_MEM:
            if _LOADS[cs.id] == width and _address(regs, ops_[1].mem, False) == address:
                origin = "load"
            break
        else:
            break
    if origin != "load":
        return 0, 0, False
    mask = value = 0
    for op, c, extra in reversed(ops):
        if op == "orr":
            mask, value = mask | c, value | c
        elif op == "bic":
            mask, value = mask | c, value & ~c
        elif op == "and":
            mask, value = mask | ~c, value & c
        else:
            lsb, bits = extra & 0xFF, extra >> 8
            field = ((1 << bits) - 1) << lsb
            mask, value = mask | field, (value & ~field) | ((c << lsb) & field)
    return mask & full, value & full, True


def _operand(regs: Mapping[int, Value], op: Any) -> int | None:
    """A constant operand: an immediate, or a register holding a known value (shifted left)."""
    if op.type == A.ARM_OP_IMM:
        return int(op.imm) & 0xFFFFFFFF
    if op.type != A.ARM_OP_REG:
        return None
    v = regs.get(op.reg)
    if v is None or v.value is None:
        return None
    if op.shift.type == A.ARM_SFT_LSL:
        return (v.value << op.shift.value) & 0xFFFFFFFF
    return v.value if op.shift.type == A.ARM_SFT_INVALID else None


def _argument(model: CodeModel, call: int, registers: tuple[Value | None, ...], where: str) -> int | None:
    """A setter's argument at one call: "r0".."r3", or "stack+N" (Go's ABI0 on Thumb passes
    arguments at sp+4, sp+8, ...: the last store to [sp, #N] before the call)."""
    kind, index = argument_location(where) or ("", -1)
    if kind == "reg":
        v = registers[index] if index < len(registers) else None
        return None if v is None or v.value is None else v.value
    if kind != "stack":
        return None
    offset = index
    caller = model.function_at(call)
    if caller is None:
        return None
    states = [(ins, regs) for ins, regs in model.register_states(caller.name) if ins.address < call]
    for ins, regs in reversed(states[-_BACK:]):
        cs = _decode(model, ins)
        if cs is None:
            return None
        slot = _stack_slot(cs, offset)
        if slot is not None:
            v = regs.get(slot)
            return None if v is None or v.value is None else v.value
        if ins.sp_delta:
            return None
    return None


def _stack_slot(cs: Any, offset: int, words_only: bool = False) -> int | None:
    """The register a store writes to [sp, #offset]: `str rt, [sp, #offset]` (or a byte/halfword
    store unless `words_only`), or either half of GCC's `strd rt, rt2, [sp, #offset-or-offset-4]`
    (Go's assembler writes one word per slot)."""
    ops = cs.operands
    if len(ops) == 2 and (cs.id == A.ARM_INS_STR or cs.id in _STORES and not words_only) \
            and ops[1].type == A.ARM_OP_MEM and ops[1].mem.base == A.ARM_REG_SP and not ops[1].mem.index:
        return int(ops[0].reg) if ops[1].mem.disp == offset else None
    if cs.id == A.ARM_INS_STRD and len(ops) == 3 and ops[2].type == A.ARM_OP_MEM \
            and ops[2].mem.base == A.ARM_REG_SP and not ops[2].mem.index:
        return {ops[2].mem.disp: int(ops[0].reg), ops[2].mem.disp + 4: int(ops[1].reg)}.get(offset)
    return None


def argument_at(model: CodeModel, call: int, where: str) -> int | None:
    """A call's constant argument by its location ("r0".."r3", or "stack+N" for Go's ABI0), for
    other analyses that read calls the way the priority setters are read (allocation sizes)."""
    found = argument_location(where)
    if found is not None and found[0] == "reg":
        args = model.call_args.get(call, ())
        return args[found[1]] if found[1] < len(args) else None
    return _argument(model, call, (), where)

