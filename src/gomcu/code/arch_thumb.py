"""Thumb / Thumb-2 (ARMv6-M, ARMv7-M, ARMv7E-M, ARMv8-M) through capstone's operands and groups."""

from __future__ import annotations

from dataclasses import fields
from operator import attrgetter
from typing import Any

import capstone
from capstone import arm as A

from gomcu.code.arch import Read, ReadWord, register_numbers
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
_GET_REST = attrgetter(*(f.name for f in fields(Insn)[1:]))  # every field after `address`, in order


def _complete(insn: Insn, **fields: object) -> Insn:
    """Set fields of a summary `_summarise` has just made and nobody else holds yet: in place,
    because copying (`dataclasses.replace`) ran once per decoded instruction and cost more than
    the decoding."""
    for name, value in fields.items():
        object.__setattr__(insn, name, value)
    return insn


def _reg_bytes(reg: int) -> int:
    if A.ARM_REG_D0 <= reg <= A.ARM_REG_D31:
        return 8
    if A.ARM_REG_Q0 <= reg <= A.ARM_REG_Q15:
        return 16
    return 4


class _Detail:
    """What `_summarise` reads of an instruction, taken from capstone's detail structure as it is:
    `CsInsn`'s own attributes copy every operand into new objects on first use, which cost more
    than the decoding itself."""

    __slots__ = ("id", "address", "size", "cc", "writeback", "groups", "operands")

    def __init__(self, ins: capstone.CsInsn) -> None:
        raw = ins._raw
        detail = raw.detail.contents
        arm = detail.arch.arm
        self.id, self.address, self.size = raw.id, raw.address, raw.size
        self.cc, self.writeback = arm.cc, arm.writeback
        self.groups = detail.groups[: detail.groups_count]
        self.operands = arm.operands[: arm.op_count]


class ThumbDecoder:
    name = "thumb"
    call_push = 0
    arg_regs: tuple[int, ...] = (A.ARM_REG_R0, A.ARM_REG_R1, A.ARM_REG_R2, A.ARM_REG_R3)
    clobbered = frozenset({A.ARM_REG_R0, A.ARM_REG_R1, A.ARM_REG_R2, A.ARM_REG_R3, A.ARM_REG_R12, LR})
    min_size = 2

    def __init__(self, core: str = "ARMv7-M") -> None:
        self.core = core
        self._cs = capstone.Cs(capstone.CS_ARCH_ARM, capstone.CS_MODE_THUMB | capstone.CS_MODE_MCLASS)
        self._cs.detail = True
        #: (encoding, mnemonic) -> the summary's fields after `address`, for instructions whose
        #: summary does not depend on their address: a firmware repeats about half its encodings.
        #: The mnemonic carries the IT block's condition, which the encoding alone does not.
        self._memo: dict[tuple[bytes, str], tuple[Any, ...]] = {}
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
        memo = self._memo
        while offset < len(code):
            start = len(out)
            for ins in self._cs.disasm(code[offset:], address + offset):
                at, size = ins.address, ins.size
                key = (code[at - address : at - address + size], ins.mnemonic)
                rest = memo.get(key)
                if rest is not None:  # the same encoding in the same IT state, seen before
                    out.append(Insn(at, *rest))
                    continue
                insn, moves = self._decode_one(ins, read_word)
                if not moves:
                    memo[key] = _GET_REST(insn)
                out.append(insn)
            decoded = sum(i.size for i in out[start:])
            offset += decoded
            if offset < len(code):  # capstone stopped: record the hole and resynchronise
                out.append(Insn(address + offset, 2, Kind.INVALID))
                offset += 2
        return out

    def _decode_one(self, ins: capstone.CsInsn, read_word: ReadWord) -> tuple[Insn, bool]:
        """The summary of one instruction, and whether it depends on where the instruction is
        (pc-relative operands, branch targets): only those that do not are reused by encoding."""
        try:
            view = _Detail(ins)
            moves = view.id in _PC_RELATIVE or not _PLACE_FREE_GROUPS.issuperset(view.groups) or any(
                (o.type == _OP_REG and o.reg == PC) or (o.type == _OP_MEM and (o.mem.base == PC or o.mem.index == PC))
                for o in view.operands)
            summary = self._summarise(view, read_word)
            read, written = ins.regs_access()
            literal = self._literal(view, summary)
        except (IndexError, AttributeError):  # operands no real code has (data read as code)
            return Insn(ins.address, ins.size, Kind.INVALID), True
        _complete(summary, reads=tuple(r for r in read if r in _CORE_REGS),
                  writes=tuple(r for r in written if r in _CORE_REGS and r != summary.dst))
        if literal is not None:
            _complete(summary, literal=literal[0], literal_bytes=literal[1])
        return summary, moves

    @staticmethod
    def _literal(ins: capstone.CsInsn, summary: Insn) -> tuple[int, int] | None:
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

    def _summarise(self, ins: capstone.CsInsn, read_word: ReadWord) -> Insn:
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
    def _add_constant(ins: capstone.CsInsn, ops: list, dst: int) -> Insn | None:
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

    def _sp_write(self, ins: capstone.CsInsn, ops: list, cond: bool) -> Insn:
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

    def _mem_writeback(self, ins: capstone.CsInsn, ops: list, cond: bool, fpu: bool) -> Insn:
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
