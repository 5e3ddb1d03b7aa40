"""The poll solver: answer a value that lets firmware leave a loop on a register nothing models.

When the firmware has read one unmodelled address a few dozen times with no write in between,
the solver looks at the loop around the read (the instruction at `pc`):
1. it runs one iteration on a trial engine (`trial.py`) with the value the model answers now,
   and records the instructions; if the code does not come back to the same read, it is no poll;
2. it follows the loaded value through that trace with capstone (the load may sit in an accessor
   such as TinyGo's `(*runtime/volatile.Register32).Get`, the test in its callers): the masks,
   shifts and field extractions applied to it, the test or compare whose flags a conditional
   branch reads (tst/ands/lsls/cmp/subs/sbcs/cbz/cbnz ...);
3. from those tests it derives candidate values (tested bits all set, all clear, one by one, the
   field equal to the compared value) and tries each on the trial engine; the first that leaves
   the loop is the answer, and the branch where the two runs part is the loop's exit;
4. a loop that leaves only because the value grows past a run-time value (a magnitude compare
   with a register: a counter) or differs from an earlier read (waiting for a change) is not
   answered: time has to move it, which is a timer model's job, so the run stops and says so.

Decisions are per (pc, address) and depend only on the emulated state, so a run is repeatable.
An answer replaces only the bits that matter (`mask`); the other bits read what was written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import capstone
from capstone import arm as C

from gomcu.emu.result import PollDecision
from gomcu.emu.trial import LEFT, STAY, Outcome, TrialEngine

#: Instructions a candidate may run in the loop before it counts as not leaving it.
TRIAL_LIMIT = 4096
#: Instructions one iteration of a poll loop may take (three are run to see it repeat).
TRACE_LIMIT = 2048
MAX_CANDIDATES = 80
WORD = 0xFFFFFFFF

_ORDERED = {C.ARM_CC_HI: "hi", C.ARM_CC_LS: "ls", C.ARM_CC_HS: "hs", C.ARM_CC_LO: "lo",
            C.ARM_CC_GE: "ge", C.ARM_CC_LT: "lt", C.ARM_CC_GT: "gt", C.ARM_CC_LE: "le"}
_UNARY = {"mov", "mvn", "uxtb", "uxth", "sxtb", "sxth", "rev", "rev16", "clz", "rbit", "ubfx", "sbfx"}
_COMPARES = {"cmp": "cmp", "cmn": "cmn", "tst": "and", "teq": "eor"}
_REG_INDEX = {**{C.ARM_REG_R0 + i: i for i in range(13)}, C.ARM_REG_SP: 13, C.ARM_REG_LR: 14}

Op = tuple[str, int, int]  # (operation, argument, second argument): a step applied to the value


def evaluate(ops: tuple[Op, ...], x: int) -> int:
    """The loaded value `x` after the masks, shifts and field extractions of `ops`."""
    for name, a, b in ops:
        if name == "and":
            x &= a
        elif name == "orr":
            x |= a
        elif name == "eor":
            x ^= a
        elif name == "lsl":
            x <<= a
        elif name == "lsr":
            x >>= a
        elif name == "asr":
            x = (x - (1 << 32) if x & 0x80000000 else x) >> a
        elif name == "ubfx":
            x = (x >> a) & ((1 << b) - 1)
        elif name == "add":
            x += a
        elif name == "mvn":
            x = ~x
        x &= WORD
    return x


def relevant_bits(ops: tuple[Op, ...], base: int) -> int:
    """The bits of the loaded value that change what `ops` compute (from `base`)."""
    ref = evaluate(ops, base)
    return sum(1 << i for i in range(32) if evaluate(ops, base ^ (1 << i)) != ref)


@dataclass(frozen=True)
class Test:
    """An instruction that sets flags (or a cbz/cbnz) from the polled value."""

    pc: int
    text: str
    kind: str                 # "cmp" (also cmn/subs/sbcs), "and" (tst/ands), "value" (movs/lsls...), "zero" (cbz)
    ops: tuple[Op, ...] | None  # what was computed from the value (None: not followed, e.g. through sbcs)
    operand: int | None = None  # the compared value or mask, as the firmware had it
    operand_reg: str | None = None  # the register it was in (None: an immediate)


@dataclass
class _Taint:
    """The loaded value's flow through one trace: what each register holds of it."""

    regs: dict[int, tuple[Op, ...] | None] = field(default_factory=dict)
    memory: dict[int, tuple[Op, ...] | None] = field(default_factory=dict)
    flags: Test | None = None
    tests: list[Test] = field(default_factory=list)
    deciders: dict[int, Test] = field(default_factory=dict)  # conditional pc -> the test it reads


@dataclass(frozen=True)
class Unsolved:
    """A poll the solver will not answer, and why (the run stops with this)."""

    why: str


class PollSolver:
    """Decides answers for polled addresses; holds the trial engine and a capstone decoder."""

    def __init__(self, uc: Any, image: Any, regions: tuple[tuple[int, int, bool], ...], cpu_model: int,
                 count: Callable[[], int], names: Callable[[int], str | None] | None = None,
                 mmio: tuple[tuple[int, int], ...] = ()) -> None:
        """`regions`: (origin, length, writable) of the board's memory; `mmio`: (base, size) of
        device blocks outside 0x40000000-0x5fffffff that the model serves (RP2040 SIO)."""
        self.uc = uc
        self.mmio = mmio
        self.image = image
        self.regions = regions
        self.cpu_model = cpu_model
        self.count = count
        self.names = names
        self._engine: TrialEngine | None = None
        #: entries of the functions a poll loop yields through: trials return from them at once
        self.skip: frozenset[int] = frozenset()
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self._cs.detail = True
        self._insns: dict[int, Any] = {}

    # -- decoding ---------------------------------------------------------------------------
    def _insn(self, pc: int) -> Any:
        ins = self._insns.get(pc)
        if ins is None:
            code = bytes(self.uc.mem_read(pc, 4))
            ins = next(self._cs.disasm(code, pc, 1), None)
            self._insns[pc] = ins
        return ins

    def where(self, pc: int) -> tuple[str | None, str | None]:
        f = self.image.function_at(pc)
        line = self.image.line_for(pc) if f else None
        return (f.name if f else None), (str(line) if line else None)

    def _describe(self, pc: int) -> str:
        name, line = self.where(pc)
        f = self.image.function_at(pc)
        at = f"{name}+0x{pc - f.address:x}" if f and name else f"0x{pc:08x}"
        return at + (f" ({line})" if line else "")

    # -- solving ----------------------------------------------------------------------------
    def solve(self, address: int, size: int, base: int, reads: int,
              mmio_value: Callable[[int], int]) -> PollDecision | Unsolved | None:
        """A decision for the loop the run (stopped at a block boundary inside it) spins in
        reading `address`, an Unsolved poll, or None if it is no poll (the code does not come
        back to the read, or its path does not depend on the value)."""
        engine = self._trial(mmio_value)
        snap = engine.snapshot(self.uc)
        stay = engine.iteration(snap, address, base, 3 * TRACE_LIMIT)
        if stay.kind != STAY:
            return None
        pc = stay.pc
        taint = self._follow(stay, stay.readers)
        loop = frozenset(a for a, _ in stay.trace)
        candidates = self._candidates(taint, base, size, len(stay.readers) > 1)
        found = next(((c, left) for c in candidates
                      if (left := engine.attempt(snap, address, c[0], pc, loop, TRIAL_LIMIT)).kind == LEFT), None)
        if found is None:
            return self._no_answer(taint, pc, address, len(candidates))
        (value, test, ops), left = found
        exit_pc = left.exit_pc
        decider = taint.deciders.get(exit_pc) if exit_pc is not None else None
        refused = self._refuse(decider, exit_pc, base, value)
        if refused is not None:
            return Unsolved(f"the poll of {self._reg_name(address)} at {self._describe(pc)} {refused}")
        if test is None:  # found bit by bit: explain by the first test that sees the changed bits
            test = next((x for x in taint.tests if x.ops is not None and relevant_bits(x.ops, base) & (base ^ value)),
                        None)
            ops = test.ops if test is not None else None
        return self._decision(pc, address, base, value, reads, test, ops, exit_pc, stay.readers - {pc})

    def _trial(self, mmio_value: Callable[[int], int]) -> TrialEngine:
        if self._engine is None:
            self._engine = TrialEngine(self.cpu_model, self.regions, lambda a, n: bytes(self.uc.mem_read(a, n)),
                                       mmio_value, self.mmio)
        self._engine.mmio_value = mmio_value
        self._engine.skip = self.skip
        return self._engine

    def _reg_name(self, address: int) -> str:
        name = self.names(address) if self.names else None
        return f"0x{address:08x}" + (f" ({name})" if name else "")

    def _no_answer(self, taint: _Taint, pc: int, address: int, tried: int) -> Unsolved | None:
        if not taint.deciders:
            return None  # the loop does not branch on this value: not a poll on it
        tests = ", ".join(f"`{t.text}`" for t in taint.tests[:4])
        return Unsolved(f"none of {tried} values tried for {self._reg_name(address)} read at {self._describe(pc)} "
                        f"leaves the loop (it tests the value with {tests}); nothing models the register")

    def _refuse(self, test: Test | None, exit_pc: int | None, base: int, value: int) -> str | None:
        """Why a leaving value must not be answered: the exit needs time to pass, not a value."""
        if test is None or exit_pc is None or test.kind != "cmp":
            return None
        branch = self._insn(exit_pc)
        cond = _ORDERED.get(branch.cc) if branch is not None else None
        against = f"{test.operand_reg} = 0x{(test.operand or 0):x}"
        offset = next((op for op in test.ops or () if op[0] == "add" and op[2]), None)
        if cond is not None and (test.operand_reg is not None or offset is not None):
            what = against if test.operand_reg else f"after subtracting 0x{(-offset[1]) & WORD:x} read earlier" \
                if offset else ""
            return (f"compares it by magnitude (`{test.text}`, `{branch.mnemonic}`) with a value computed at run "
                    f"time ({what}): a counter that has to advance with time, which no timer model answers here")
        if test.operand_reg is None:
            return None
        if test.ops is not None and evaluate(test.ops, base) == test.operand and evaluate(test.ops, value) != test.operand:
            return (f"waits for the register to differ from a value read before (`{test.text}`, {against}): "
                    "it has to change with time, which nothing models")
        return None

    def _decision(self, pc: int, address: int, base: int, value: int, reads: int, test: Test | None,
                  ops: tuple[Op, ...] | None, exit_pc: int | None, others: frozenset[int]) -> PollDecision:
        mask = base ^ value
        if ops is not None:
            mask |= relevant_bits(ops, value)
        function, line = self.where(pc)
        loop_function, loop_line = self.where(exit_pc) if exit_pc is not None else (None, None)
        return PollDecision(
            address=address, peripheral=self.names(address) if self.names else None, pc=pc, function=function,
            line=line, value=value, mask=mask, previous=base, reads=reads, instructions=self.count(),
            exit_pc=exit_pc, exit_function=loop_function, exit_line=loop_line,
            why=self._why(base, value, test, ops, exit_pc), also_at=tuple(sorted(others)))

    def _why(self, base: int, value: int, test: Test | None, ops: tuple[Op, ...] | None, exit_pc: int | None) -> str:
        bits = relevant_bits(ops, value) if ops is not None else 0
        if test is not None and test.kind == "cmp" and bits & (bits - 1):
            what = f"field 0x{bits:x} read as 0x{value & bits:x}" + (
                f", compared with {test.operand_reg} = 0x{test.operand:x}" if test.operand_reg and test.operand is not None
                else "") + _written_field(base, value, bits)
        else:
            bits = bits or (base ^ value)
            on, off = value & bits, bits & ~value
            what = " and ".join(f"bit{'s' if b & (b - 1) else ''} 0x{b:x} {state}" for b, state in
                                ((on, "set"), (off, "clear")) if b)
            what = f"loop leaves when {what}" if what else f"0x{value:x} leaves the loop"
        parts = [what]
        if test is not None:
            operand = f" ({test.operand_reg} = 0x{test.operand:x})" if test.operand_reg and test.operand is not None \
                and test.kind != "cmp" else ""
            parts.append(f"test `{test.text}`{operand} at {self._describe(test.pc)}")
        if exit_pc is not None:
            branch = self._insn(exit_pc)
            parts.append(f"exit `{branch.mnemonic} {branch.op_str}` at {self._describe(exit_pc)}" if branch
                         else f"exit at 0x{exit_pc:08x}")
        return "; ".join(parts)

    # -- following the value ------------------------------------------------------------
    def _follow(self, stay: Outcome, readers: frozenset[int]) -> _Taint:
        """Which registers (and stack words) hold what of the loaded value along the iteration
        (every read of the address in the loop loads the same answer)."""
        t = _Taint()
        for at, regs in stay.trace[:-1]:
            ins = self._insn(at)
            if ins is None:
                break
            if at in readers and ins.operands and ins.operands[0].type == C.ARM_OP_REG:
                t.regs[ins.operands[0].reg] = ()
                continue
            self._step(t, ins, regs)
        return t

    def _step(self, t: _Taint, ins: Any, regs: tuple[int, ...]) -> None:
        name = ins.insn_name()
        ops = list(ins.operands)
        conditional = ins.cc not in (C.ARM_CC_AL, C.ARM_CC_INVALID) and name != "it"

        def value_of(op: Any) -> tuple[int | None, str | None, bool]:
            """(concrete value, register name, tainted) of a source operand."""
            if op.type == C.ARM_OP_IMM:
                return op.imm & WORD, None, False
            if op.type == C.ARM_OP_REG:
                if op.reg in t.regs:
                    return None, ins.reg_name(op.reg), True
                i = _REG_INDEX.get(op.reg)
                v = regs[i] if i is not None else None
                if v is not None and op.shift.type != C.ARM_SFT_INVALID:
                    v = _shifted(v, op.shift.type, op.shift.value)
                name = ins.reg_name(op.reg) + (f", shifted #{op.shift.value}" if op.shift.type else "")
                return v, name, False
            return None, None, False

        if name in ("cbz", "cbnz"):
            reg = ops[0].reg
            if reg in t.regs:
                test = Test(ins.address, f"{ins.mnemonic} {ins.op_str}", "zero", t.regs[reg])
                t.tests.append(test)
                t.deciders[ins.address] = test
            return
        if conditional and t.flags is not None and name == "b":
            t.deciders[ins.address] = t.flags
            return
        if name in ("b", "bl", "bx", "blx", "it", "nop"):
            return
        if name in ("push", "pop", "stmdb", "ldm"):
            self._stack(t, name, ops, regs)
            return
        if name.startswith("str") or name.startswith("ldr"):
            self._memory(t, name, ops, regs)
            return
        if name in _COMPARES:
            a, b = ops[0], ops[1]
            va, ra, ta = value_of(a)
            vb, rb, tb = value_of(b)
            if ta == tb:
                t.flags = None if not ta else Test(ins.address, f"{ins.mnemonic} {ins.op_str}", "cmp", None)
                return
            src, (val, reg) = (a, (vb, rb)) if ta else (b, (va, ra))
            src_ops = t.regs[src.reg]
            kind = _COMPARES[name]
            if kind == "and" and src_ops is not None and val is not None:
                test = Test(ins.address, f"{ins.mnemonic} {ins.op_str}", "and", src_ops + (("and", val, 0),), val, reg)
            else:
                test = Test(ins.address, f"{ins.mnemonic} {ins.op_str}", "cmp" if kind in ("cmp", "cmn") else "value",
                            src_ops, val, reg)
            t.flags = test
            t.tests.append(test)
            return
        if not ops or ops[0].type != C.ARM_OP_REG:
            return
        dst = ops[0].reg
        srcs = ops[1:] if (len(ops) >= 3 or name in _UNARY) else ops[:2]
        values = [value_of(o) for o in srcs]
        tainted = [i for i, v in enumerate(values) if v[2]]
        reads_flags = conditional or name in ("adc", "sbc", "rrx")
        flag_taint = reads_flags and t.flags is not None
        if not tainted and not flag_taint:
            t.regs.pop(dst, None)
            if ins.update_flags:
                t.flags = None
            return
        result: tuple[Op, ...] | None = None
        src_ops = t.regs.get(srcs[tainted[0]].reg) if tainted else None
        if tainted and not flag_taint and len(tainted) == 1 and src_ops is not None:
            others = [v for i, v in enumerate(values) if i != tainted[0]]
            result = _apply(name, src_ops, others, tainted[0])
        t.regs[dst] = result
        if not ins.update_flags:
            return
        text = f"{ins.mnemonic} {ins.op_str}"
        other = next((v for i, v in enumerate(values) if i not in tainted), (None, None, False))
        if name in ("sub", "sbc", "add", "adc", "rsb"):
            operand = other[0]
            if name in ("add", "adc") and operand is not None:
                operand = (-operand) & WORD
            test = Test(ins.address, text, "cmp", src_ops if name in ("sub", "add") else None, operand, other[1])
        elif name == "and" and other[0] is not None:
            test = Test(ins.address, text, "and", result, other[0], other[1])
        else:
            test = Test(ins.address, text, "value", result)
        t.flags = test
        t.tests.append(test)

    def _stack(self, t: _Taint, name: str, ops: list[Any], regs: tuple[int, ...]) -> None:
        if name == "stmdb" or name == "ldm":
            if not ops or ops[0].reg != C.ARM_REG_SP:
                return
            ops = ops[1:]
        sp = regs[13]
        if name in ("push", "stmdb"):
            at = sp - 4 * len(ops)
            for i, op in enumerate(ops):
                if op.reg in t.regs:
                    t.memory[at + 4 * i] = t.regs[op.reg]
                else:
                    t.memory.pop(at + 4 * i, None)
        else:
            for i, op in enumerate(ops):
                if sp + 4 * i in t.memory:
                    t.regs[op.reg] = t.memory[sp + 4 * i]
                else:
                    t.regs.pop(op.reg, None)

    def _memory(self, t: _Taint, name: str, ops: list[Any], regs: tuple[int, ...]) -> None:
        if len(ops) < 2 or ops[0].type != C.ARM_OP_REG or ops[1].type != C.ARM_OP_MEM:
            return
        mem = ops[1].mem
        base_i = _REG_INDEX.get(mem.base)
        index_i = _REG_INDEX.get(mem.index) if mem.index else None
        if base_i is None or (mem.index and index_i is None):
            t.regs.pop(ops[0].reg, None)
            return
        addr = (regs[base_i] + mem.disp + (regs[index_i] if index_i is not None else 0)) & WORD
        reg = ops[0].reg
        if name.startswith("str"):
            if reg in t.regs and name == "str":
                t.memory[addr] = t.regs[reg]
            else:
                t.memory.pop(addr, None)
        elif name == "ldr" and addr in t.memory:
            t.regs[reg] = t.memory[addr]
        else:
            t.regs.pop(reg, None)

    # -- candidates ---------------------------------------------------------------------
    def _tested(self, t: _Taint) -> list[tuple[Test, tuple[Op, ...]]]:
        """The tests with what they compute, the ones a branch reads first; a bmi/bpl reads
        only the sign of a result, so only the bit that lands in bit 31 is tested there."""
        out = []
        for pc, test in t.deciders.items():
            branch = self._insn(pc)
            if test.ops is None:
                continue
            if branch is not None and branch.cc in (C.ARM_CC_MI, C.ARM_CC_PL) and test.kind in ("value", "and"):
                out.append((test, test.ops + (("and", 0x80000000, 0),)))
            out.append((test, test.ops))
        return out + [(x, x.ops) for x in t.tests if x.ops is not None and x not in t.deciders.values()]

    def _candidates(self, t: _Taint, base: int, size: int,
                    several: bool) -> list[tuple[int, Test | None, tuple[Op, ...] | None]]:
        """Values to try, most specific first, each with the test (and what it computes) that
        suggested it: from the tests on the value, then bit by bit. `several`: other reads in
        the loop answer the candidate too (so `base` itself is one)."""
        width = (1 << (8 * size)) - 1
        out: list[tuple[int, Test | None, tuple[Op, ...] | None]] = []
        seen: set[int] = set()

        def add(v: int, test: Test | None = None, ops: tuple[Op, ...] | None = None) -> None:
            v &= width
            if (v != base or several) and v not in seen and len(out) < MAX_CANDIDATES:
                seen.add(v)
                out.append((v, test, ops))

        for test, ops in self._tested(t):
            bits = relevant_bits(ops, base) & width
            if test.kind == "cmp" and test.operand is not None:
                for target in (test.operand, test.operand + 1, test.operand - 1):
                    v = _field_value(ops, base, bits, target & WORD)
                    if v is not None:
                        add(v, test, ops)
            add(base | bits, test, ops)
            add(base & ~bits, test, ops)
            for i in range(32):
                if bits >> i & 1:
                    add(base ^ (1 << i), test, ops)
        for i in range(8 * size):
            add(base ^ (1 << i))
        add(0)
        add(WORD)
        return out


def _apply(name: str, ops: tuple[Op, ...], others: list[tuple[int | None, str | None, bool]],
           position: int) -> tuple[Op, ...] | None:
    """`ops` extended by the data instruction `name` with its other (untainted) operands."""
    vals = [v for v, _, _ in others]
    if name in ("mov",) and not vals:
        return ops
    if name == "mvn" and not vals:
        return ops + (("mvn", 0, 0),)
    if name == "uxtb":
        return ops + (("and", 0xFF, 0),)
    if name == "uxth":
        return ops + (("and", 0xFFFF, 0),)
    if name == "ubfx" and len(vals) == 2 and None not in vals:
        return ops + (("ubfx", vals[0] or 0, vals[1] or 0),)
    if len(vals) != 1 or vals[0] is None:
        return None
    k = vals[0]
    if name in ("and", "orr", "eor"):
        return ops + ((name, k, 0),)
    if name == "bic":
        return ops + (("and", ~k & WORD, 0),)
    if name in ("lsl", "lsr", "asr") and position == 0:
        return ops + ((name, k & 0xFF, 0),)
    from_register = int(others[0][1] is not None)  # a run-time value, not a constant
    if name == "add":
        return ops + (("add", k, from_register),)
    if name == "sub" and position == 0:
        return ops + (("add", (-k) & WORD, from_register),)
    return None


def _shifted(v: int, kind: int, amount: int) -> int:
    """A register operand's value after its shift (`cmp r3, r0, lsl #2`)."""
    if kind == C.ARM_SFT_LSL:
        return (v << amount) & WORD
    if kind == C.ARM_SFT_LSR:
        return v >> amount
    if kind == C.ARM_SFT_ASR:
        return ((v - (1 << 32) if v & 0x80000000 else v) >> amount) & WORD
    if kind == C.ARM_SFT_ROR:
        return ((v >> amount) | (v << (32 - amount))) & WORD
    return v


def _written_field(written: int, value: int, bits: int) -> str:
    """How the answered field derives from another field of the value written to the register
    (STM32 RCC: CFGR.SWS reads back CFGR.SW, two bits higher), if it does."""
    field = value & bits
    if not field:
        return ""
    for shift in range(1, 32):
        if (written << shift) & bits == field and (written << shift) & WORD & ~bits & bits == 0 and written & (bits >> shift):
            return f" = bits 0x{bits >> shift:x} as written (0x{written & (bits >> shift):x}) read back {shift} bits higher"
        if (written >> shift) & bits == field and written & ((bits << shift) & WORD):
            return f" = bits 0x{(bits << shift) & WORD:x} as written read back {shift} bits lower"
    return ""


def _field_value(ops: tuple[Op, ...], base: int, bits: int, target: int) -> int | None:
    """A value equal to `base` outside `bits` for which `ops` computes `target` (bit-selection ops)."""
    x = start = base & ~bits
    zero = evaluate(ops, start)
    for i in range(32):
        if bits >> i & 1 and (evaluate(ops, start | (1 << i)) ^ zero) & target:
            x |= 1 << i
    return x if evaluate(ops, x) == target else None
