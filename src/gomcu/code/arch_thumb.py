"""Thumb / Thumb-2 (ARMv6-M, ARMv7-M, ARMv7E-M, ARMv8-M) through capstone's operands and groups."""

from __future__ import annotations

from typing import Any

import capstone
from capstone import arm as A

from gomcu.code.arch import Read, ReadWord, register_numbers
from gomcu.code.csraw import ArmDetail, Decoded, operand_at, read_int32
from gomcu.code.types import Insn, Kind

SP, PC, LR = A.ARM_REG_SP, A.ARM_REG_PC, A.ARM_REG_LR
_R0 = A.ARM_REG_R0
_FPU_GROUPS = frozenset({A.ARM_GRP_VFP2, A.ARM_GRP_VFP3, A.ARM_GRP_VFP4, A.ARM_GRP_FPARMV8})
_NO_DST = frozenset({
    A.ARM_INS_STR, A.ARM_INS_STRB, A.ARM_INS_STRH, A.ARM_INS_STRD, A.ARM_INS_STM, A.ARM_INS_STMDB,
    A.ARM_INS_PUSH, A.ARM_INS_CMP, A.ARM_INS_CMN, A.ARM_INS_TST, A.ARM_INS_TEQ, A.ARM_INS_IT,
    A.ARM_INS_NOP, A.ARM_INS_MSR, A.ARM_INS_VPUSH, A.ARM_INS_VSTMDB, A.ARM_INS_BKPT,
})
_LITERAL_LOADS = frozenset({A.ARM_INS_LDR, A.ARM_INS_LDRD, A.ARM_INS_LDRH, A.ARM_INS_LDRB, A.ARM_INS_LDRSH,
                            A.ARM_INS_LDRSB, A.ARM_INS_VLDR})
_OP_REG, _OP_IMM, _OP_MEM = A.ARM_OP_REG, A.ARM_OP_IMM, A.ARM_OP_MEM
_ADD_SUB = {A.ARM_INS_ADD: 1, A.ARM_INS_ADDW: 1, A.ARM_INS_SUB: -1, A.ARM_INS_SUBW: -1}
_ALU = {A.ARM_INS_LSL: "lsl", A.ARM_INS_LSR: "lsr", A.ARM_INS_AND: "and", A.ARM_INS_ORR: "orr",
        A.ARM_INS_EOR: "eor", A.ARM_INS_BIC: "bic"}
_CORE_REGS = frozenset(range(A.ARM_REG_R0, A.ARM_REG_R12 + 1)) | {A.ARM_REG_SB, A.ARM_REG_SL, A.ARM_REG_FP,
                                                                  A.ARM_REG_IP, LR}


#: Instructions whose summary holds an address computed from where they are (targets, adr).
_PC_RELATIVE = frozenset({A.ARM_INS_B, A.ARM_INS_BL, A.ARM_INS_BLX, A.ARM_INS_CBZ, A.ARM_INS_CBNZ, A.ARM_INS_ADR})
_PLACE_FREE_GROUPS = frozenset(range(A.ARM_GRP_ENDING)) - {
    A.ARM_GRP_JUMP, A.ARM_GRP_CALL, A.ARM_GRP_BRANCH_RELATIVE, A.ARM_GRP_INT}
_VALUE_AT, _READS, _WRITES, _LITERAL_AT, _LITERAL_BYTES = (
    Insn._fields.index(f) for f in ("value", "reads", "writes", "literal", "literal_bytes"))
#: A summary made from its fields in order, without the named tuple's keyword handling (reused
#: summaries are made once per instruction: tens of thousands of times).
_new = tuple.__new__
#: How a summary is reused for the same encoding at another address: as it is; with its branch
#: target moved by the distance; with its literal's address moved (the distance is the same
#: from the word-aligned pc), and the value it loads read again.
_SAME, _TARGET, _LITERAL_MOVED, _LITERAL_VALUE = "same", "target", "literal", "literal value"


def _placed(how: str, rest: tuple[Any, ...], operand: int, at: int, read_word: ReadWord) -> Insn:
    """The summary of an instruction at `at` whose other fields (`rest`, after `address`) are those
    of an instruction decoded before with the same operand text, from its pc-relative operand
    (see `_reuse`): the branch target, or the literal's offset from the word-aligned pc."""
    if how is _TARGET:  # rest is (size, kind, target, ...)
        return _new(Insn, (at, rest[0], rest[1], operand, *rest[3:]))
    fields = [at, *rest]
    fields[_LITERAL_AT] = literal = ((at + 4) & ~3) + operand
    if how is _LITERAL_VALUE:
        fields[_VALUE_AT] = read_word(literal)
    return _new(Insn, fields)


def _reuse(view: ArmDetail, summary: Insn) -> str | None:
    """How the summary of a pc-relative instruction moves with it, for `_placed`: a direct branch
    or call (its target, capstone's absolute immediate), a literal load into a register (its
    literal, and the value when the summary holds the word read there); None for anything else
    (adr, ldr pc, table branches, ...). Everything else in the summary follows from the
    instruction, its IT state and its operand text before the pc-relative operand."""
    ops = view.operands
    where = 1 if view.id in (A.ARM_INS_CBZ, A.ARM_INS_CBNZ) else 0
    if view.id in (A.ARM_INS_B, A.ARM_INS_BL, A.ARM_INS_CBZ, A.ARM_INS_CBNZ) and len(ops) == where + 1 \
            and ops[where].type == _OP_IMM and summary.kind in (Kind.CALL, Kind.BRANCH) \
            and summary.target == ops[where].imm:
        return _TARGET
    if view.id in _LITERAL_LOADS and len(ops) == 2 and ops[0].type == _OP_REG and ops[1].type == _OP_MEM \
            and ops[1].mem.base == PC and ops[1].mem.index == 0 and summary.kind is Kind.OTHER \
            and summary.dst not in (None, SP, PC) and summary.literal == ((view.address + 4) & ~3) + ops[1].mem.disp:
        if view.id == A.ARM_INS_LDR and not summary.conditional:
            return _LITERAL_VALUE
        return _LITERAL_MOVED if summary.value is None else None
    return None


def _reg_bytes(reg: int) -> int:
    if A.ARM_REG_D0 <= reg <= A.ARM_REG_D31:
        return 8
    if A.ARM_REG_Q0 <= reg <= A.ARM_REG_Q15:
        return 16
    return 4


#: Instructions whose pc-relative operand is all that differs between their summaries (see
#: `_reuse`): the branch target (capstone gives it absolute) or the literal's offset.
_OPERAND_AT = {A.ARM_INS_B: operand_at(0, "imm"), A.ARM_INS_BL: operand_at(0, "imm"),
               A.ARM_INS_CBZ: operand_at(1, "imm"), A.ARM_INS_CBNZ: operand_at(1, "imm"),
               **{iid: operand_at(1, "disp") for iid in _LITERAL_LOADS}}


class ThumbDecoder:
    name = "thumb"
    call_push = 0
    arg_regs: tuple[int, ...] = (A.ARM_REG_R0, A.ARM_REG_R1, A.ARM_REG_R2, A.ARM_REG_R3)
    clobbered = frozenset({A.ARM_REG_R0, A.ARM_REG_R1, A.ARM_REG_R2, A.ARM_REG_R3, A.ARM_REG_R12, LR})
    min_size = 2

    def __init__(self, core: str = "ARMv7-M", reuse: bool = True) -> None:
        self.core = core
        self.reuse = reuse  # False: every instruction summarised afresh (what the tests compare against)
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self._cs.detail = True
        #: (encoding, mnemonic) -> the summary's fields after `address`, for instructions whose
        #: summary does not depend on their address: a firmware repeats about half its encodings.
        #: The mnemonic carries the IT block's condition, which the encoding alone does not.
        self._memo: dict[tuple[bytes, bytes], tuple[Any, ...]] = {}
        #: (instruction id, mnemonic, size, operand text before the pc-relative operand) -> (how it
        #: moves, the summary's fields after `address`, where its pc-relative operand sits in the
        #: detail): branches, calls and literal loads, whose encodings all differ by their offset.
        self._memo_moved: dict[tuple[int, bytes, int, bytes], tuple[str, tuple[Any, ...], int]] = {}
        self._registers = register_numbers(self._cs, A.ARM_REG_ENDING, {
            "r9": "sb", "r10": "sl", "r11": "fp", "r12": "ip", "r13": "sp", "r14": "lr", "r15": "pc"})

    def register(self, name: str) -> int:
        try:
            return self._registers[name.lower()]
        except KeyError:
            raise ValueError(f"no Thumb register named {name!r}") from None

    def decode(self, code: bytes, address: int, read_word: ReadWord) -> list[Insn]:
        out: list[Insn] = []
        offset = 0
        while offset < len(code):
            offset = self._decode_run(code, address, offset, read_word, out)
            if offset < len(code):  # capstone stopped: record the hole and resynchronise
                out.append(Insn(address + offset, 2, Kind.INVALID))
                offset += 2
        return out

    def _decode_run(self, code: bytes, address: int, offset: int, read_word: ReadWord, out: list[Insn]) -> int:
        """Decode from `offset` until capstone stops (the end, or bytes it cannot decode), in one
        C call; returns the offset where it stopped. An encoding seen before in the same IT state
        reuses its summary (`_memo`); a branch or literal load one with the same operand text
        before its pc-relative operand (`_memo_moved`)."""
        memo, memo_moved, reuse = self._memo, self._memo_moved, self.reuse
        stop = offset
        with Decoded(self._cs, code[offset:] if offset else code, address + offset) as found:
            for k, (iid, at, size, mnemonic, detail) in enumerate(found.rows()):
                stop = at - address + size
                key = (code[stop - size : stop], mnemonic.partition(b"\0")[0])
                rest = memo.get(key) if reuse else None
                if rest is not None:  # the same encoding in the same IT state, seen before
                    out.append(_new(Insn, (at, *rest)))
                    continue
                operand_key = None
                if iid in _OPERAND_AT:  # a branch or load whose summary moves with its pc-relative operand
                    operand_key = (iid, key[1], size, found.operand_text(k).partition(b"#")[0])
                    moved = memo_moved.get(operand_key) if reuse else None
                    if moved is not None:
                        how, rest, operand = moved
                        out.append(_placed(how, rest, read_int32(detail, operand), at, read_word))
                        continue
                insn, reusable = self._decode_one(found, k, iid, at, size, detail, read_word)
                if reusable is _SAME:
                    memo[key] = insn[1:]
                elif reusable is not None and operand_key is not None:
                    memo_moved[operand_key] = (reusable, insn[1:], _OPERAND_AT[iid])
                out.append(insn)
        return stop

    def _decode_one(self, found: Decoded, k: int, iid: int, at: int, size: int, detail: int,
                    read_word: ReadWord) -> tuple[Insn, str | None]:
        """The summary of one instruction, and how it may be reused elsewhere: as it is for the
        same encoding (`_SAME`), with its branch target or literal moved (`_TARGET`,
        `_LITERAL_MOVED`, `_LITERAL_VALUE`: the value loaded is read again there), or not at all
        (None: another pc-relative operand)."""
        try:
            view = ArmDetail(iid, at, size, detail)
            moves = view.id in _PC_RELATIVE or not _PLACE_FREE_GROUPS.issuperset(view.groups) or any(
                (o.type == _OP_REG and o.reg == PC) or (o.type == _OP_MEM and (o.mem.base == PC or o.mem.index == PC))
                for o in view.operands)
            summary = self._summarise(view, read_word)
            read, written = found.regs_access(k)
            literal = self._literal(view, summary)
        except (IndexError, AttributeError):  # operands no real code has (data read as code)
            return Insn(at, size, Kind.INVALID), None
        fields = list(summary)
        fields[_READS] = tuple(r for r in read if r in _CORE_REGS)
        fields[_WRITES] = tuple(r for r in written if r in _CORE_REGS and r != summary.dst)
        if literal is not None:
            fields[_LITERAL_AT], fields[_LITERAL_BYTES] = literal
        summary = _new(Insn, fields)
        return summary, _SAME if not moves else _reuse(view, summary)

    @staticmethod
    def _literal(ins: ArmDetail, summary: Insn) -> tuple[int, int] | None:
        """The pc-relative word(s) a load reads (address, bytes): literal pool data, never code.
        (The registers an instruction reads, and those it overwrites besides its `dst` (ldm/pop
        lists, writeback bases, the second result of umull/ldrd), are recorded in `_decode_one`,
        so no stale constant survives them.)"""
        if summary.kind is Kind.INVALID or ins.id not in _LITERAL_LOADS:
            return None
        for o in ins.operands:
            if o.type == _OP_MEM and o.mem.base == PC and o.mem.index == 0:
                width = 8 if ins.id == A.ARM_INS_LDRD else _reg_bytes(ins.operands[0].reg)
                return ((ins.address + 4) & ~3) + o.mem.disp, min(width, 8)
        return None

    def _summarise(self, ins: ArmDetail, read_word: ReadWord) -> Insn:
        iid = ins.id
        addr, size = ins.address, ins.size
        ops = ins.operands
        cond = ins.cc not in (A.ARM_CC_AL, A.ARM_CC_INVALID)
        fpu = bool(_FPU_GROUPS.intersection(ins.groups))

        if iid == A.ARM_INS_BL or (iid == A.ARM_INS_BLX and ops and ops[0].type == _OP_IMM):
            return Insn(addr, size, Kind.CALL, target=ops[0].imm, conditional=cond)
        if iid in (A.ARM_INS_BLX, A.ARM_INS_BLXNS):
            return Insn(addr, size, Kind.INDIRECT_CALL, reg=ops[0].reg, conditional=cond)
        if iid == A.ARM_INS_BXNS:
            return Insn(addr, size, Kind.INDIRECT_JUMP, reg=ops[0].reg, conditional=cond)
        if iid == A.ARM_INS_B:
            return Insn(addr, size, Kind.BRANCH, target=ops[0].imm, conditional=cond)
        if iid in (A.ARM_INS_CBZ, A.ARM_INS_CBNZ):
            return Insn(addr, size, Kind.BRANCH, target=ops[1].imm, conditional=True)
        if iid == A.ARM_INS_BX:
            if ops[0].reg == LR:
                return Insn(addr, size, Kind.RETURN, conditional=cond)
            return Insn(addr, size, Kind.INDIRECT_JUMP, reg=ops[0].reg, conditional=cond)
        if iid in (A.ARM_INS_TBB, A.ARM_INS_TBH):
            return Insn(addr, size, Kind.JUMP_TABLE, value=2 if iid == A.ARM_INS_TBH else 1)
        if iid in (A.ARM_INS_PUSH, A.ARM_INS_VPUSH):
            n = sum(_reg_bytes(o.reg) for o in ops)
            return Insn(addr, size, Kind.STACK_ADJUST, sp_delta=-n, conditional=cond, fpu=fpu)
        if iid in (A.ARM_INS_POP, A.ARM_INS_VPOP):
            n = sum(_reg_bytes(o.reg) for o in ops)
            pops_pc = any(o.reg == PC for o in ops)
            return Insn(addr, size, Kind.RETURN if pops_pc else Kind.STACK_ADJUST, sp_delta=n,
                        conditional=cond, fpu=fpu)
        if iid in (A.ARM_INS_STMDB, A.ARM_INS_VSTMDB, A.ARM_INS_LDM, A.ARM_INS_VLDMIA) and ops \
                and ops[0].type == _OP_REG and ops[0].reg == SP and ins.writeback:
            n = sum(_reg_bytes(o.reg) for o in ops[1:])
            if iid in (A.ARM_INS_STMDB, A.ARM_INS_VSTMDB):
                return Insn(addr, size, Kind.STACK_ADJUST, sp_delta=-n, conditional=cond, fpu=fpu)
            pops_pc = any(o.reg == PC for o in ops[1:])
            return Insn(addr, size, Kind.RETURN if pops_pc else Kind.STACK_ADJUST, sp_delta=n,
                        conditional=cond, fpu=fpu)
        if iid == A.ARM_INS_UDF:
            return Insn(addr, size, Kind.TRAP)

        if iid in _NO_DST:  # stores, compares: op0 is a source (str sp, [...] stores sp)
            return self._mem_writeback(ins, ops, cond, fpu)
        if ops and ops[0].type == _OP_REG:
            dst = ops[0].reg
            if dst == SP:
                return self._sp_write(ins, ops, cond)
            if dst == PC:
                if iid == A.ARM_INS_MOV and len(ops) > 1 and ops[1].type == _OP_REG and ops[1].reg == LR:
                    return Insn(addr, size, Kind.RETURN, conditional=cond)
                if iid == A.ARM_INS_LDR and len(ops) > 1 and ops[1].type == _OP_MEM and ops[1].mem.base == SP:
                    delta = ops[2].imm if len(ops) > 2 and ops[2].type == _OP_IMM else 0
                    return Insn(addr, size, Kind.RETURN, sp_delta=delta if ins.writeback else 0, conditional=cond)
                if iid == A.ARM_INS_LDR and len(ops) > 1 and ops[1].type == _OP_MEM and ops[1].mem.base == PC \
                        and ops[1].mem.index == 0:
                    # ldr pc, [pc, #n]: a veneer (long branch through a literal)
                    word = read_word(((addr + 4) & ~3) + ops[1].mem.disp)
                    if word is not None:
                        return Insn(addr, size, Kind.BRANCH, target=word & ~1, conditional=cond)
                return Insn(addr, size, Kind.INDIRECT_JUMP, conditional=cond)
            if len(ops) >= 2:
                src = ops[1]
                if iid in (A.ARM_INS_MOV, A.ARM_INS_MOVS, A.ARM_INS_MOVW) and src.type == _OP_IMM and not cond:
                    return Insn(addr, size, dst=dst, value=src.imm & 0xFFFFFFFF)
                if iid == A.ARM_INS_MOVT and src.type == _OP_IMM and not cond:
                    return Insn(addr, size, dst=dst, value_high=src.imm & 0xFFFF)
                if iid in (A.ARM_INS_MOV, A.ARM_INS_MOVS) and src.type == _OP_REG and not cond:
                    if src.reg == SP:
                        return Insn(addr, size, dst=dst, sp_from_reg=dst, sp_from_offset=0)
                    return Insn(addr, size, dst=dst, copy_from=src.reg)
                if iid in (A.ARM_INS_ADD, A.ARM_INS_ADDW) and len(ops) == 3 and src.type == _OP_REG \
                        and src.reg == SP and ops[2].type == _OP_IMM:
                    return Insn(addr, size, dst=dst, sp_from_reg=dst, sp_from_offset=ops[2].imm)
                if iid in (A.ARM_INS_SUB, A.ARM_INS_SUBW) and len(ops) == 3 and src.type == _OP_REG \
                        and src.reg == SP and dst != SP and ops[2].type == _OP_IMM and not cond:
                    # Go's large-frame prologue: subw r7, sp, #N; str lr, [r7]; mov sp, r7
                    return Insn(addr, size, dst=dst, sp_from_reg=dst, sp_from_offset=-ops[2].imm)
                if iid in _ADD_SUB and not cond and src.type in (_OP_REG, _OP_IMM):
                    added = self._add_constant(ins, ops, dst)
                    if added is not None:
                        return added
                if iid in _ALU and not cond and ops[-1].type == _OP_IMM and len(ops) in (2, 3) \
                        and (len(ops) == 2 or src.type == _OP_REG) and (len(ops) == 2 or src.reg not in (SP, PC)):
                    base = dst if len(ops) == 2 else src.reg
                    return Insn(addr, size, dst=dst, copy_from=base, alu=_ALU[iid], alu_imm=ops[-1].imm & 0xFFFFFFFF)
                if iid == A.ARM_INS_ADR and src.type == _OP_IMM:
                    return Insn(addr, size, dst=dst, value=((addr + 4) & ~3) + src.imm)
                if iid == A.ARM_INS_LDR and src.type == _OP_MEM and not cond:
                    mem = src.mem
                    if mem.base == PC and mem.index == 0:
                        return Insn(addr, size, dst=dst, value=read_word(((addr + 4) & ~3) + mem.disp))
                    if mem.index == 0 and not ins.writeback and mem.base != SP:
                        return Insn(addr, size, dst=dst, load_base=mem.base, load_offset=mem.disp)
            wb = self._mem_writeback(ins, ops, cond, fpu)
            return Insn(addr, size, wb.kind, sp_delta=wb.sp_delta, conditional=cond, dst=dst, fpu=fpu)
        return Insn(addr, size, conditional=cond, fpu=fpu)

    @staticmethod
    def _add_constant(ins: ArmDetail, ops: list, dst: int) -> Insn | None:
        """add/sub rD, [rS,] #imm: rD = rS + imm (pc-relative: an address, like adr)."""
        sign = _ADD_SUB[ins.id]
        if len(ops) == 2 and ops[1].type == _OP_IMM:
            base, imm = dst, ops[1].imm
        elif len(ops) == 3 and ops[1].type == _OP_REG and ops[2].type == _OP_IMM:
            base, imm = ops[1].reg, ops[2].imm
        else:
            return None
        if base == PC:
            return Insn(ins.address, ins.size, dst=dst, value=(((ins.address + 4) & ~3) + sign * imm) & 0xFFFFFFFF)
        if base == SP:
            return None
        return Insn(ins.address, ins.size, dst=dst, copy_from=base, add_low=sign * imm)

    def _sp_write(self, ins: ArmDetail, ops: list, cond: bool) -> Insn:
        """An instruction whose destination is sp: a frame allocation, release or a switch."""
        iid, addr, size = ins.id, ins.address, ins.size
        last = ops[-1]
        if len(ops) < 2:
            return Insn(addr, size, Kind.STACK_SWITCH, reg=None)
        from_sp = len(ops) == 2 or (ops[1].type == _OP_REG and ops[1].reg == SP)
        if iid in (A.ARM_INS_SUB, A.ARM_INS_SUBW, A.ARM_INS_ADD, A.ARM_INS_ADDW):
            sign = -1 if iid in (A.ARM_INS_SUB, A.ARM_INS_SUBW) else 1
            if last.type == _OP_IMM:
                if from_sp:
                    return Insn(addr, size, Kind.STACK_ADJUST, sp_delta=sign * last.imm, conditional=cond)
                # sp = rX +/- imm: restoring sp from a frame pointer
                return Insn(addr, size, Kind.STACK_SWITCH, reg=ops[1].reg, sp_delta=sign * last.imm)
            if sign < 0:
                return Insn(addr, size, Kind.DYNAMIC_STACK, conditional=cond)
            return Insn(addr, size, Kind.STACK_SWITCH, reg=None)  # add sp, rX: release of a dynamic area
        if iid in (A.ARM_INS_MOV, A.ARM_INS_MOVS) and last.type == _OP_REG:
            return Insn(addr, size, Kind.STACK_SWITCH, reg=last.reg)
        return Insn(addr, size, Kind.STACK_SWITCH, reg=None)

    def _mem_writeback(self, ins: ArmDetail, ops: list, cond: bool, fpu: bool) -> Insn:
        """str rX, [sp, #-4]! / ldr rX, [sp], #4 and friends move sp."""
        if ins.writeback:
            for i, o in enumerate(ops):
                if o.type == _OP_MEM and o.mem.base == SP:
                    if i + 1 < len(ops) and ops[i + 1].type == _OP_IMM:  # post-indexed
                        delta = ops[i + 1].imm
                        if getattr(ops[i + 1], "subtracted", False):
                            delta = -delta
                    else:
                        delta = o.mem.disp
                    return Insn(ins.address, ins.size, Kind.STACK_ADJUST, sp_delta=delta, conditional=cond, fpu=fpu)
        return Insn(ins.address, ins.size, conditional=cond, fpu=fpu)

    def jump_table(self, insn: Insn, read: Read, limit: int) -> list[int]:
        """TBB/TBH: byte or halfword offsets (halved) from the instruction's pc, table right after it."""
        width = insn.value or 1
        table = insn.address + 4
        data = read(table, max(0, limit - table))
        if not data:
            return []
        # The table ends where the first case begins (no $d/$t need mark it: Go's linker writes none).
        targets: list[int] = []
        first = limit
        for i in range(0, len(data) - width + 1, width):
            if table + i >= first:
                break
            target = table + 2 * int.from_bytes(data[i : i + width], "little")
            if target < table + i + width:  # a case inside the table read so far: not a table entry
                break
            targets.append(target)
            first = min(first, target)
        return sorted(set(targets))
