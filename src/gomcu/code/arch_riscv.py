"""RISC-V RV32 (I, M, A, C, F, D; ESP32-C3, FE310) through capstone's operands and groups.

Capstone gives jump and branch offsets relative to the instruction, and LUI/AUIPC immediates
unshifted; both are turned into absolute values here.
"""

from __future__ import annotations


import capstone
from capstone import riscv as R

from gomcu.code.arch import Read, ReadWord, register_numbers
from gomcu.code.types import Insn, Kind

SP, RA, ZERO = R.RISCV_REG_SP, R.RISCV_REG_RA, R.RISCV_REG_ZERO
_REG, _IMM, _MEM = R.RISCV_OP_REG, R.RISCV_OP_IMM, R.RISCV_OP_MEM
_COND_BRANCH = frozenset(getattr(R, "RISCV_INS_" + n) for n in
                         ("BEQ", "BNE", "BLT", "BGE", "BLTU", "BGEU", "C_BEQZ", "C_BNEZ"))
_ADDI = frozenset({R.RISCV_INS_ADDI, R.RISCV_INS_C_ADDI, R.RISCV_INS_C_ADDI16SP, R.RISCV_INS_C_ADDI4SPN})
_STORES = frozenset(getattr(R, "RISCV_INS_" + n) for n in (
    "SB", "SH", "SW", "C_SW", "C_SWSP", "FSW", "FSD", "C_FSW", "C_FSWSP", "C_FSD", "C_FSDSP",
))
_LOADS = frozenset({R.RISCV_INS_LW, R.RISCV_INS_C_LW, R.RISCV_INS_C_LWSP})
_FPU_GROUPS = frozenset({R.RISCV_GRP_HASSTDEXTF, R.RISCV_GRP_HASSTDEXTD})
_TRAPS = frozenset({R.RISCV_INS_C_UNIMP, R.RISCV_INS_UNIMP})
# compressed forms whose destination is also a source (c.addi rd, imm is rd = rd + imm)
_READS_DST = frozenset(getattr(R, "RISCV_INS_C_" + n) for n in (
    "ADDI", "ADD", "SUB", "AND", "OR", "XOR", "ANDI", "SLLI", "SRLI", "SRAI",
) if hasattr(R, "RISCV_INS_C_" + n))


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _addi_operands(ops: list, dst: int) -> tuple[int, int]:
    """(source register, immediate) of addi and its compressed and `mv`/`li` spellings."""
    if len(ops) == 3:
        return ops[1].reg, ops[2].imm
    if ops[1].type == _REG:
        return ops[1].reg, 0  # mv rd, rs
    return dst, ops[1].imm  # c.addi rd, imm


class RiscvDecoder:
    name = "riscv"
    call_push = 0
    arg_regs = tuple(getattr(R, f"RISCV_REG_A{i}") for i in range(4))
    clobbered = frozenset({RA} | {getattr(R, f"RISCV_REG_A{i}") for i in range(8)}
                          | {getattr(R, f"RISCV_REG_T{i}") for i in range(7)})

    def __init__(self, compressed: bool = True) -> None:
        mode = capstone.CS_MODE_RISCV32 | (capstone.CS_MODE_RISCVC if compressed else 0)
        self.min_size = 2 if compressed else 4
        self._cs = capstone.Cs(capstone.CS_ARCH_RISCV, mode)
        self._cs.detail = True
        self._registers = register_numbers(self._cs, R.RISCV_REG_ENDING, {"fp": "s0"})
        for n in range(32):
            self._registers[f"x{n}"] = R.RISCV_REG_X0 + n

    def register(self, name: str) -> int:
        try:
            return self._registers[name.lower()]
        except KeyError:
            raise ValueError(f"no RISC-V register named {name!r}") from None

    def decode(self, code: bytes, address: int, read_word: ReadWord) -> list[Insn]:
        out: list[Insn] = []
        offset = 0
        while offset < len(code):
            before = len(out)
            for ins in self._cs.disasm(code[offset:], address + offset):
                out.append(self._with_reads(ins, self._summarise(ins)))
            offset += sum(i.size for i in out[before:])
            if offset < len(code):
                out.append(Insn(address + offset, self.min_size, Kind.INVALID))
                offset += self.min_size
        # `la sp, sym` = auipc/lui sp + addi sp, sp, lo: one load of a new stack pointer
        for i in range(1, len(out)):
            if out[i].kind is Kind.STACK_ADJUST and out[i - 1].kind is Kind.STACK_SWITCH and out[i - 1].reg is None:
                out[i] = Insn(out[i].address, out[i].size, Kind.STACK_SWITCH)
        return out

    @staticmethod
    def _with_reads(ins: capstone.CsInsn, summary: Insn) -> Insn:
        """The registers it reads, from its operands (capstone has no register access lists for
        RISC-V): all but a destination, which compressed two-operand arithmetic also reads."""
        regs = [o.reg for o in ins.operands if o.type == _REG]
        if summary.dst is not None and regs and regs[0] == summary.dst and ins.id not in _READS_DST:
            regs = regs[1:]
        return summary._replace(reads=tuple(regs))

    def _summarise(self, ins: capstone.CsInsn) -> Insn:
        iid, addr, size = ins.id, ins.address, ins.size
        ops = ins.operands
        fpu = bool(_FPU_GROUPS.intersection(ins.groups))
        if iid in (R.RISCV_INS_JAL, R.RISCV_INS_C_JAL, R.RISCV_INS_C_J):
            rd = RA if iid == R.RISCV_INS_C_JAL else (ZERO if iid == R.RISCV_INS_C_J else
                                                     (ops[0].reg if len(ops) > 1 else RA))
            target = addr + ops[-1].imm
            if rd == ZERO:
                return Insn(addr, size, Kind.BRANCH, target=target)
            return Insn(addr, size, Kind.CALL, target=target)
        if iid in (R.RISCV_INS_JALR, R.RISCV_INS_C_JR, R.RISCV_INS_C_JALR):
            regs = [o.reg for o in ops if o.type == _REG]
            imm = next((o.imm for o in ops if o.type == _IMM), 0)
            mem = next((o.mem for o in ops if o.type == _MEM), None)
            if iid == R.RISCV_INS_C_JR:
                rd, rs = ZERO, regs[0]
            elif iid == R.RISCV_INS_C_JALR:
                rd, rs = RA, regs[0]
            elif mem is not None:
                rd, rs, imm = (regs[0] if regs else RA), mem.base, mem.disp
            elif len(regs) >= 2:
                rd, rs = regs[0], regs[1]
            else:
                rd, rs = RA, regs[0]
            if rd == ZERO:
                if rs == RA:
                    return Insn(addr, size, Kind.RETURN)
                return Insn(addr, size, Kind.INDIRECT_JUMP, reg=rs, add_low=imm or None)
            return Insn(addr, size, Kind.INDIRECT_CALL, reg=rs, add_low=imm or None)
        if iid in _COND_BRANCH:
            return Insn(addr, size, Kind.BRANCH, target=addr + ops[-1].imm, conditional=True)
        if iid == R.RISCV_INS_MRET:
            return Insn(addr, size, Kind.RETURN)
        if iid in _TRAPS:
            return Insn(addr, size, Kind.TRAP)
        if iid == R.RISCV_INS_CSRRW and size == 4 and ops and ops[-1].type == _REG:
            word = int.from_bytes(ins.bytes, "little")
            if (word >> 7) & 0x1F == 0:  # rd = zero: csrw
                return Insn(addr, size, csr=(word >> 20) & 0xFFF, reg=ops[-1].reg)
        if iid in _STORES:
            return Insn(addr, size, fpu=fpu)
        if not ops or ops[0].type != _REG:
            return Insn(addr, size, fpu=fpu)
        dst = ops[0].reg
        if dst == SP:
            return self._sp_write(ins, ops)
        if iid in _ADDI:
            src, imm = _addi_operands(ops, dst)
            if src == SP:
                return Insn(addr, size, dst=dst, sp_from_reg=dst, sp_from_offset=imm)
            if src == ZERO:
                return Insn(addr, size, dst=dst, value=imm & 0xFFFFFFFF)
            if src == dst:
                return Insn(addr, size, dst=dst, add_low=imm)
            return Insn(addr, size, dst=dst, copy_from=src, add_low=imm)
        if iid == R.RISCV_INS_C_LI:
            return Insn(addr, size, dst=dst, value=ops[1].imm & 0xFFFFFFFF)
        if iid in (R.RISCV_INS_LUI, R.RISCV_INS_C_LUI):
            return Insn(addr, size, dst=dst, value=(ops[1].imm << 12) & 0xFFFFFFFF)
        if iid == R.RISCV_INS_AUIPC:
            return Insn(addr, size, dst=dst, value=(addr + (ops[1].imm << 12)) & 0xFFFFFFFF)
        if iid == R.RISCV_INS_C_MV or (iid == R.RISCV_INS_ADD and len(ops) == 3 and ops[1].type == _REG
                                       and ops[1].reg == ZERO and ops[2].type == _REG):
            src = ops[1].reg if iid == R.RISCV_INS_C_MV else ops[2].reg
            if src == SP:
                return Insn(addr, size, dst=dst, sp_from_reg=dst, sp_from_offset=0)
            return Insn(addr, size, dst=dst, copy_from=src)
        if iid in _LOADS and len(ops) >= 2 and ops[1].type == _MEM and ops[1].mem.base != SP:
            return Insn(addr, size, dst=dst, load_base=ops[1].mem.base, load_offset=ops[1].mem.disp)
        return Insn(addr, size, dst=dst, fpu=fpu)

    def _sp_write(self, ins: capstone.CsInsn, ops: list) -> Insn:
        iid, addr, size = ins.id, ins.address, ins.size
        if iid in _ADDI:
            src, imm = _addi_operands(ops, SP)
            if src == SP:
                return Insn(addr, size, Kind.STACK_ADJUST, sp_delta=_s32(imm))
            return Insn(addr, size, Kind.STACK_SWITCH, reg=src, sp_delta=_s32(imm))
        if iid == R.RISCV_INS_C_MV:
            return Insn(addr, size, Kind.STACK_SWITCH, reg=ops[1].reg)
        if iid in (R.RISCV_INS_SUB, R.RISCV_INS_C_SUB):
            return Insn(addr, size, Kind.DYNAMIC_STACK)
        return Insn(addr, size, Kind.STACK_SWITCH, reg=None)

    def jump_table(self, insn: Insn, read: Read, limit: int) -> list[int]:
        return []  # RISC-V switch tables are loaded words then `jr`: listed as indirect jumps
